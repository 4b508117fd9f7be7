// npm run bench:sync: failover time, replication latency and heartbeat cost against real
// @y/websocket-server processes on loopback, next to y-websocket in the same run.
import * as Y from 'yjs'
import { measureLatency } from './latency.mjs'
import { WebsocketProvider } from 'y-websocket'
import { WebSocket } from 'ws'
import { readFileSync } from 'node:fs'
import { Replica } from '../js/node.js'
import { startServers, stopServers } from '../dev/servers.mjs'
import { waitFor, sleep } from '../dev/wait.mjs'

const TRIALS = Number(process.env.BENCH_TRIALS ?? 20)
// Each y-websocket provider adds a process 'exit' listener.
process.setMaxListeners(0)
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]
const fmt = (xs) => `p50 ${pct(xs, 50).toFixed(0)} ms, p99 ${pct(xs, 99).toFixed(0)} ms (n=${xs.length})`

async function failoverTrial(heartbeatIntervalMs) {
  const servers = await startServers(2)
  const r = await Replica.open({
    name: 'bench', storage: 'memory', endpoints: servers.map((s) => s.url), heartbeatIntervalMs, missedHeartbeats: 2,
  })
  try {
    await waitFor(() => r.status.connection === 'online', 10_000, 'online')
    await sleep(50 + Math.random() * heartbeatIntervalMs) // freeze at a random point of the heartbeat cycle
    const frozenAt = performance.now()
    servers[0].freeze()
    await waitFor(() => r.status.connection === 'online' && r.status.endpoint === servers[1].url, 30_000, 'failover')
    return performance.now() - frozenAt
  } finally {
    await r.close()
    servers[0].resume()
    await stopServers(servers)
  }
}

/** y-websocket has one URL: how long until it notices that the frozen server is dead at all. */
async function yWebsocketDetection(trials) {
  const servers = await startServers(trials)
  const providers = servers.map((s) => {
    const doc = new Y.Doc()
    return new WebsocketProvider(s.url, 'bench', doc, { WebSocketPolyfill: WebSocket, disableBc: true })
  })
  try {
    await waitFor(() => providers.every((p) => p.synced), 20_000, 'providers synced')
    const frozenAt = performance.now()
    const detected = providers.map(
      (p) => new Promise((resolve) => p.on('status', ({ status }) => status === 'disconnected' && resolve(performance.now() - frozenAt))),
    )
    servers.forEach((s) => s.freeze())
    return await Promise.all(detected)
  } finally {
    providers.forEach((p) => { p.destroy(); p.doc.destroy() })
    servers.forEach((s) => s.resume())
    await stopServers(servers)
  }
}

async function replicationLatency(samples) {
  const [server] = await startServers(1)
  const open = (name) => Replica.open({ name, room: 'latency', storage: 'memory', endpoints: [server.url] })
  const a = await open('a')
  const b = await open('b')
  const docA = new Y.Doc()
  const docB = new Y.Doc()
  const pa = new WebsocketProvider(server.url, 'yjs-latency', docA, { WebSocketPolyfill: WebSocket, disableBc: true })
  const pb = new WebsocketProvider(server.url, 'yjs-latency', docB, { WebSocketPolyfill: WebSocket, disableBc: true })
  try {
    await waitFor(() => a.status.connection === 'online' && b.status.connection === 'online' && pa.synced && pb.synced, 10_000, 'all synced')
    return await measureLatency({ a, b, docA, docB, YMap: Y.Map }, samples)
  } finally {
    pa.destroy(); pb.destroy(); docA.destroy(); docB.destroy()
    await a.close(); await b.close()
    await stopServers([server])
  }
}

function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100 // utime + stime, in clock ticks of 10 ms
}

/** Bytes per second an idle client exchanges, and server CPU, with a 10,000-record document. */
async function heartbeatCost(heartbeatIntervalMs, seconds) {
  const [server] = await startServers(1)
  let bytes = 0
  class CountingWebSocket extends WebSocket {
    constructor(...args) {
      super(...args)
      this.on('message', (data) => { bytes += data.length ?? data.byteLength })
    }
    send(data, ...rest) {
      bytes += data.length ?? data.byteLength
      return super.send(data, ...rest)
    }
  }
  const seeder = await Replica.open({ name: 'seed', room: 'big', storage: 'memory', endpoints: [server.url] })
  await waitFor(() => seeder.status.connection === 'online', 10_000, 'seeder online')
  await seeder.collection('todos').insertMany(Array.from({ length: 10_000 }, (_, i) => ({ title: `Task ${i}`, done: false, prio: i % 5 })))
  await seeder.flush({ timeoutMs: 20_000 })
  await seeder.close()
  const r = await Replica.open({ name: 'idle', room: 'big', storage: 'memory', endpoints: [server.url], heartbeatIntervalMs, WebSocket: CountingWebSocket })
  try {
    await waitFor(() => r.status.connection === 'online', 20_000, 'idle client online')
    await sleep(1000)
    bytes = 0
    const cpuBefore = cpuMs(server.proc.pid)
    await sleep(seconds * 1000)
    return { bytesPerSecond: bytes / seconds, serverCpuPercent: ((cpuMs(server.proc.pid) - cpuBefore) / (seconds * 1000)) * 100 }
  } finally {
    await r.close()
    await stopServers([server])
  }
}

console.log(`sync benchmark, Node ${process.version}, ${TRIALS} trials each, servers: @y/websocket-server on 127.0.0.1`)
const only = process.env.BENCH_ONLY // e.g. "latency,heartbeat" to skip the failover trials
const run = (part) => !only || only.split(',').includes(part)
for (const hb of run('failover') ? [500, 1000] : []) {
  const times = []
  for (let i = 0; i < TRIALS; i++) times.push(await failoverTrial(hb))
  console.log(`failover (SIGSTOP -> online on the next server), heartbeatIntervalMs ${hb}, missedHeartbeats 2: ${fmt(times)}`)
}
if (run('failover')) {
  const detection = await yWebsocketDetection(TRIALS)
  console.log(`y-websocket WebsocketProvider noticing the frozen server at all (all frozen at once): ${fmt(detection)}`)
}
if (run('latency')) {
  const { ours, theirs } = await replicationLatency(200)
  console.log(`replication latency A -> B through one server: yreplica ${fmt(ours)}; two y-websocket clients ${fmt(theirs)}`)
}
for (const hb of run('heartbeat') ? [1000] : []) {
  const cost = await heartbeatCost(hb, 10)
  console.log(`idle client, heartbeatIntervalMs ${hb}, 10,000-record document: ${cost.bytesPerSecond.toFixed(0)} B/s, server CPU ${cost.serverCpuPercent.toFixed(1)} %`)
}
