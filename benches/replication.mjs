// npm run bench:replication: replication to several servers (`servers`, `writeConcern`)
// against real @y/websocket-server processes on loopback. Three parts, each next to
// `servers: 1`:
//   failover  SIGSTOP of the primary -> online on another server, per heartbeat interval
//   herd      many replicas in one process, over many rooms, all frozen out of their primary
//   bytes     traffic of one replica (idle, per local write, per remote write) and the latency
//             of `await insert(); await flush()` per writeConcern
// Options: node benches/replication.mjs --help
import { parseArgs } from 'node:util'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { readFileSync, writeFileSync } from 'node:fs'
import { WebSocket } from 'ws'
import { Replica } from '../js/node.js'
import { startServers, stopServers } from '../dev/servers.mjs'
import { waitFor, sleep } from '../dev/wait.mjs'

const USAGE = `node benches/replication.mjs [options]
  --only LIST          parts to run, of failover,herd,bytes (default: all)
  --trials N           failover trials per heartbeat interval and servers setting (default 20)
  --heartbeats LIST    failover heartbeat intervals in ms (default 500,1000)
  --replicas N         herd: replicas in this process (default 1000)
  --rooms N            herd: rooms they are spread over (default 100)
  --herd-heartbeat MS  herd: heartbeatIntervalMs (default 1000)
  --herd-servers LIST  herd: the servers settings to run (default 1,2)
  --idle-seconds N     bytes: how long the idle replica is counted (default 10)
  --writes N           bytes: writes per measurement, and latency samples (default 200)
  --json FILE          also write every figure and sample to FILE`

const { values: args } = parseArgs({
  options: {
    only: { type: 'string', default: 'failover,herd,bytes' },
    trials: { type: 'string', default: '20' },
    heartbeats: { type: 'string', default: '500,1000' },
    replicas: { type: 'string', default: '1000' },
    rooms: { type: 'string', default: '100' },
    'herd-heartbeat': { type: 'string', default: '1000' },
    'herd-servers': { type: 'string', default: '1,2' },
    'idle-seconds': { type: 'string', default: '10' },
    writes: { type: 'string', default: '200' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
})
if (args.help) {
  console.log(USAGE)
  process.exit(0)
}

function positive(name, text) {
  const n = Number(text)
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name}: a whole number above 0, got '${text}'\n\n${USAGE}`)
    process.exit(2)
  }
  return n
}
const list = (name) => args[name].split(',').map((x) => positive(name, x.trim()))
const PARTS = args.only.split(',').map((x) => x.trim())
for (const part of PARTS) {
  if (!['failover', 'herd', 'bytes'].includes(part)) {
    console.error(`--only: unknown part '${part}'\n\n${USAGE}`)
    process.exit(2)
  }
}
const TRIALS = positive('trials', args.trials)
const HEARTBEATS = list('heartbeats')
const REPLICAS = positive('replicas', args.replicas)
const ROOMS = positive('rooms', args.rooms)
const HERD_HEARTBEAT = positive('herd-heartbeat', args['herd-heartbeat'])
const HERD_SERVERS = list('herd-servers')
const IDLE_SECONDS = positive('idle-seconds', args['idle-seconds'])
const WRITES = positive('writes', args.writes)
const MISSED = 2
const BYTES_HEARTBEAT = 1000

const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]
const summary = (xs) => (xs.length === 0 ? { n: 0 } : { n: xs.length, p50: pct(xs, 50), p99: pct(xs, 99), max: Math.max(...xs) })
const ms = (x) => (x === undefined ? '—' : x >= 100 ? `${x.toFixed(0)} ms` : `${x.toFixed(1)} ms`)
const fmt = (s) => `p50 ${ms(s.p50)}, p99 ${ms(s.p99)}, max ${ms(s.max)} (n=${s.n})`
const bound = (hb) => (MISSED + 1) * hb
const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(0)} MiB`
const log = (...xs) => console.log(...xs)

/** Resident memory of process `pid` (this one by default), in bytes. */
function rss(pid) {
  if (pid === undefined) return process.memoryUsage().rss
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))
  return Number(line.split(/\s+/)[1]) * 1024
}

const byteLength = (data) =>
  typeof data === 'string' ? Buffer.byteLength(data) : Array.isArray(data) ? data.reduce((n, d) => n + d.byteLength, 0) : data.byteLength

/**
 * A `ws` WebSocket (compression off, as js/node.js makes it) that adds the payload bytes and
 * the messages it sends and receives to `counter`. WebSocket frame headers (2–8 bytes a
 * message, plus a 4-byte mask from the client) and TCP are not counted.
 */
function countingWebSocket(counter) {
  return class CountingWebSocket extends WebSocket {
    constructor(url, protocols, options) {
      super(url, protocols, { ...options, perMessageDeflate: false })
      this.on('message', (data) => {
        counter.down += byteLength(data)
        counter.downMessages++
      })
    }

    send(data, ...rest) {
      counter.up += byteLength(data)
      counter.upMessages++
      return super.send(data, ...rest)
    }
  }
}
const newCounter = () => ({ up: 0, down: 0, upMessages: 0, downMessages: 0 })
const minus = (a, b) => Object.fromEntries(Object.keys(a).map((k) => [k, a[k] - b[k]]))

const open = (options) => Replica.open({ storage: 'memory', missedHeartbeats: MISSED, failback: false, ...options })

/** Online at `url` with `servers` links in sync (the primary and its standbys). */
const inSync = (r, url, servers) => r.status.connection === 'online' && r.status.endpoint === url && r.status.servers === servers

/**
 * A promise of the moment (performance.now()) replica `r` is next online at an endpoint other
 * than `url`, taken in its 'status' listener; `cancel()` removes the listener.
 */
function onlineElsewhere(r, url) {
  let off
  const promise = new Promise((resolve) => {
    off = r.on('status', (s) => {
      if (s.connection === 'online' && s.endpoint !== url) {
        off()
        resolve(performance.now())
      }
    })
  })
  return { promise, cancel: () => off() }
}

const timeout = (limit, what) => new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out after ${limit} ms waiting for ${what}`)), limit).unref())

// ---------------------------------------------------------------------------------------------
// Failover: SIGSTOP of the primary -> online on another server.

async function failoverTrial(servers, hb, n, trial) {
  const [s0] = servers
  const id = `failover-${hb}-${n}-${trial}`
  const r = await open({ name: id, room: id, endpoints: servers.map((s) => s.url), servers: n, heartbeatIntervalMs: hb })
  let event = null
  const offFailover = r.on('failover', (e) => { event ??= e })
  let online
  try {
    await waitFor(() => inSync(r, s0.url, n), { timeoutMs: 15_000, what: `trial ${id} in sync on ${n} server(s)` })
    await r.collection('todos').insert({ title: `trial ${trial}`, done: false })
    await r.flush({ timeoutMs: 10_000 })
    await sleep(50 + Math.random() * hb) // freeze at a random point of the heartbeat cycle
    online = onlineElsewhere(r, s0.url)
    const frozenAt = performance.now()
    s0.freeze()
    const at = await Promise.race([online.promise, timeout(30_000, `trial ${id} online elsewhere`)])
    return { ms: at - frozenAt, warm: event?.warm ?? null, reason: event?.reason ?? null, to: r.status.endpoint }
  } finally {
    online?.cancel()
    offFailover()
    await r.close()
    s0.resume()
    await sleep(200)
  }
}

async function failoverPart() {
  const servers = await startServers(3)
  const results = []
  try {
    for (const hb of HEARTBEATS) {
      for (const n of [1, 2]) {
        const trials = []
        for (let i = 0; i < TRIALS; i++) trials.push(await failoverTrial(servers, hb, n, i))
        const times = summary(trials.map((t) => t.ms))
        const warm = trials.filter((t) => t.warm === true).length
        const notS1 = trials.filter((t) => t.to !== servers[1].url).length
        results.push({ heartbeatIntervalMs: hb, servers: n, bound: bound(hb), ...times, warm, trials })
        log(`failover, heartbeatIntervalMs ${hb}, servers: ${n}: ${fmt(times)}; warm ${warm}/${trials.length}` +
          `${notS1 ? `, ${notS1} not to the second endpoint` : ''} (detection bound ${bound(hb)} ms)`)
      }
    }
  } finally {
    await stopServers(servers)
  }
  return results
}

// ---------------------------------------------------------------------------------------------
// The herd: REPLICAS replicas over ROOMS rooms, all frozen out of their primary at once.

async function inBatches(items, size, fn) {
  const out = []
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map((x, j) => fn(x, i + j)))))
  return out
}

async function herdRun(n) {
  const hb = HERD_HEARTBEAT
  const servers = await startServers(3)
  const [s0] = servers
  const endpoints = servers.map((s) => s.url)
  const replicas = []
  const listeners = []
  const errors = {} // 'error' events by code
  const startedAt = performance.now()
  try {
    // Opened 100 at a time, each hundred given up to a minute to be in sync before the next.
    // On a loaded machine some fail over while the herd forms (a connect timeout, missed
    // heartbeats); with failback off they would stay away from s0, so they are sent back
    // with switchTo + unpin, and counted.
    let setupFailovers = 0
    for (let i = 0; i < REPLICAS; i += 100) {
      const batch = await Promise.all(Array.from({ length: Math.min(100, REPLICAS - i) }, (_, j) =>
        open({ name: `herd-${n}-${i + j}`, room: `herd-${(i + j) % ROOMS}`, endpoints, servers: n, heartbeatIntervalMs: hb })))
      for (const r of batch) {
        listeners.push(r.on('error', (e) => { errors[e.code] = (errors[e.code] ?? 0) + 1 }))
        listeners.push(r.on('failover', (e) => { if (e.reason !== 'manual') setupFailovers++ }))
      }
      replicas.push(...batch)
      await waitFor(() => batch.every((r) => inSync(r, s0.url, n)), { timeoutMs: 60_000, intervalMs: 100, what: 'a hundred in sync' }).catch(() => {})
    }
    let strays = 0
    const gather = async () => {
      const away = replicas.filter((r) => !inSync(r, s0.url, n))
      strays += away.length
      await Promise.all(away.map(async (r) => {
        await r.switchTo(s0.url)
        r.unpin()
      }))
      await waitFor(() => replicas.every((r) => inSync(r, s0.url, n)), { timeoutMs: 120_000, intervalMs: 200, what: 'the herd in sync' })
        .catch((error) => {
          const behind = replicas.filter((r) => !inSync(r, s0.url, n))
          for (const r of behind.slice(0, 5)) {
            log(`  not in sync: ${r.name} ${JSON.stringify(r.status)} ${JSON.stringify(r.endpoints.map((e) => [e.state, e.role, e.failures]))}`)
          }
          throw new Error(`${error.message}: ${behind.length} of ${REPLICAS} were not in sync on ${n} server(s); errors ${JSON.stringify(errors)}`)
        })
    }
    await gather()
    // One write each, at a random point of one heartbeat interval: it sets the phase of the
    // replica's probe cycle, so the freeze falls at a random point of each one's cycle (written
    // all at once, the herd probes in step and is frozen at the same phase).
    await Promise.all(replicas.map(async (r, i) => {
      await sleep(Math.random() * hb)
      await r.collection('todos').insert({ title: `replica ${i}`, done: false })
      await r.flush({ timeoutMs: 60_000 })
    }))
    await sleep(2 * hb) // settle: heartbeats back to their idle rhythm
    await gather()
    const setupMs = performance.now() - startedAt
    const failoversBefore = setupFailovers
    const memory = { client: rss(), servers: servers.map((s) => rss(s.proc.pid)) }

    const times = new Array(REPLICAS).fill(null)
    const warm = new Array(REPLICAS).fill(null)
    const detected = new Array(REPLICAS).fill(null) // when the 'failover' event came
    replicas.forEach((r, i) => {
      listeners.push(r.on('failover', (e) => {
        warm[i] ??= e.warm
        detected[i] ??= performance.now()
      }))
      listeners.push(r.on('status', (s) => {
        if (times[i] === null && s.connection === 'online' && s.endpoint !== s0.url) times[i] = performance.now()
      }))
    })
    const lag = monitorEventLoopDelay({ resolution: 10 })
    lag.enable()
    const frozenAt = performance.now()
    s0.freeze()
    let failed = 0
    try {
      await waitFor(() => times.every((t) => t !== null), { timeoutMs: 60_000, intervalMs: 100, what: 'every replica online elsewhere' })
    } catch {
      failed = times.filter((t) => t === null).length
    }
    lag.disable()
    const eventLoopDelay = { p99: lag.percentile(99) / 1e6, max: lag.max / 1e6 }
    const elapsed = times.filter((t) => t !== null).map((t) => t - frozenAt)
    const detection = summary(detected.filter((t) => t !== null).map((t) => t - frozenAt))
    const result = {
      servers: n, replicas: REPLICAS, rooms: ROOMS, heartbeatIntervalMs: hb, bound: bound(hb), ...summary(elapsed), failed,
      warm: warm.filter((w) => w === true).length, setupMs, rssClient: memory.client, rssServers: memory.servers, errors,
      setupFailovers: failoversBefore, strays, detection, eventLoopDelay, samples: elapsed,
    }
    log(`herd, ${REPLICAS} replicas over ${ROOMS} rooms, heartbeatIntervalMs ${hb}, servers: ${n}: ${fmt(result)}; ` +
      `warm ${result.warm}/${REPLICAS}${failed ? `, ${failed} NOT online within 60 s` : ''} ` +
      `(bound ${bound(hb)} ms; p99 - bound ${elapsed.length ? (result.p99 - bound(hb)).toFixed(0) : '—'} ms)`)
    log(`  'failover' events: ${fmt(detection)}; event-loop delay during the failover p99 ${ms(eventLoopDelay.p99)}, max ${ms(eventLoopDelay.max)}`)
    if (Object.keys(errors).length > 0) log(`  'error' events by code: ${JSON.stringify(errors)}`)
    log(`  set-up ${(setupMs / 1000).toFixed(1)} s (${failoversBefore} failovers while the herd formed, ${strays} times a replica was sent back to s0); RSS before the freeze: this process ${mib(memory.client)}, ` +
      `servers ${memory.servers.map(mib).join(' / ')}`)
    return result
  } finally {
    listeners.forEach((off) => off())
    const closing = performance.now()
    await inBatches(replicas, 100, (r) => r.close())
    s0.resume()
    await stopServers(servers)
    log(`  closed ${replicas.length} replicas in ${((performance.now() - closing) / 1000).toFixed(1)} s`)
  }
}

async function herdPart() {
  const results = []
  for (const n of HERD_SERVERS) results.push(await herdRun(n))
  return results
}

// ---------------------------------------------------------------------------------------------
// Bytes and write latency.

async function bytesRun(servers, n, writeConcern) {
  const room = `bytes-${n}-${writeConcern}`
  const endpoints = servers.map((s) => s.url)
  const counter = newCounter()
  const common = { room, endpoints, servers: n, writeConcern, heartbeatIntervalMs: BYTES_HEARTBEAT }
  const r = await open({ ...common, name: `${room}-a`, WebSocket: countingWebSocket(counter) })
  const peer = await open({ ...common, name: `${room}-b` }) // the other client in the room, as configured alike
  try {
    await waitFor(() => inSync(r, servers[0].url, n) && inSync(peer, servers[0].url, n), { timeoutMs: 15_000, what: `${room} in sync` })
    await sleep(2000)
    const settled = () => waitFor(() => r.status.pending === 0 && peer.status.pending === 0, { timeoutMs: 30_000, what: 'pending 0' })

    let before = { ...counter }
    await sleep(IDLE_SECONDS * 1000)
    const idle = minus(counter, before)

    const col = r.collection('todos')
    before = { ...counter }
    for (let i = 0; i < WRITES; i++) await col.insert({ title: `Task ${i}`, done: false, prio: i % 5 })
    await settled()
    await sleep(100)
    const local = minus(counter, before)

    const peerCol = peer.collection('todos')
    before = { ...counter }
    const seen = waitFor(() => col.count() === 2 * WRITES, { timeoutMs: 30_000, what: 'the peer\'s writes' })
    for (let i = 0; i < WRITES; i++) await peerCol.insert({ title: `Peer task ${i}`, done: false, prio: i % 5 })
    await seen
    await settled()
    await sleep(200)
    const remote = minus(counter, before)

    const latency = []
    for (let i = 0; i < WRITES; i++) {
      const start = performance.now()
      await col.insert({ title: `Timed ${i}`, done: false, prio: i % 5 })
      await r.flush({ timeoutMs: 10_000 })
      latency.push(performance.now() - start)
    }
    const per = (x) => x / WRITES
    const result = {
      servers: n, writeConcern,
      idleUpBps: idle.up / IDLE_SECONDS, idleDownBps: idle.down / IDLE_SECONDS,
      idleUpMessagesPerSecond: idle.upMessages / IDLE_SECONDS, idleDownMessagesPerSecond: idle.downMessages / IDLE_SECONDS,
      localWriteUp: per(local.up), localWriteDown: per(local.down), localWriteUpMessages: per(local.upMessages),
      remoteWriteUp: per(remote.up), remoteWriteDown: per(remote.down), remoteWriteDownMessages: per(remote.downMessages),
      latency: summary(latency), latencySamples: latency,
    }
    log(`bytes, servers: ${n}, writeConcern ${writeConcern}: idle ${result.idleUpBps.toFixed(0)} B/s up, ` +
      `${result.idleDownBps.toFixed(0)} B/s down; per local write ${result.localWriteUp.toFixed(0)} B up ` +
      `(${result.localWriteUpMessages.toFixed(1)} messages), ${result.localWriteDown.toFixed(0)} B down; per remote write ` +
      `${result.remoteWriteDown.toFixed(0)} B down, ${result.remoteWriteUp.toFixed(0)} B up; ` +
      `insert + flush ${fmt(result.latency)}`)
    return result
  } finally {
    await r.close()
    await peer.close()
  }
}

async function bytesPart() {
  const servers = await startServers(3)
  const results = []
  try {
    for (const [n, wc] of [[1, 1], [2, 1], [2, 2]]) results.push(await bytesRun(servers, n, wc))
  } finally {
    await stopServers(servers)
  }
  return results
}

// ---------------------------------------------------------------------------------------------

log(`replication benchmark, Node ${process.version}, @y/websocket-server × 3 on 127.0.0.1, missedHeartbeats ${MISSED}, failback off`)
const startedAt = performance.now()
const report = { node: process.version, options: args, failover: null, herd: null, bytes: null }
if (PARTS.includes('failover')) report.failover = await failoverPart()
if (PARTS.includes('herd')) report.herd = await herdPart()
if (PARTS.includes('bytes')) report.bytes = await bytesPart()
report.seconds = (performance.now() - startedAt) / 1000

log('')
log('| measurement | servers: 1 | servers: 2 |')
log('|---|--:|--:|')
const pair = (rows, key, pick) => {
  const one = rows.find((x) => x.servers === 1 && key(x))
  const two = rows.find((x) => x.servers === 2 && key(x))
  return `${one ? pick(one) : '—'} | ${two ? pick(two) : '—'}`
}
const p50p99 = (x) => `p50 ${ms(x.p50)}, p99 ${ms(x.p99)}`
for (const hb of report.failover ? HEARTBEATS : []) {
  log(`| failover SIGSTOP → online, heartbeat ${hb} ms (bound ${bound(hb)} ms) | ${pair(report.failover, (x) => x.heartbeatIntervalMs === hb, p50p99)} |`)
}
if (report.herd) {
  const herd = (x) => `p99 ${ms(x.p99)} (max ${ms(x.max)}${x.failed ? `, ${x.failed} failed` : ''})`
  log(`| herd of ${REPLICAS} over ${ROOMS} rooms, online again, heartbeat ${HERD_HEARTBEAT} ms (bound ${bound(HERD_HEARTBEAT)} ms) | ${pair(report.herd, () => true, herd)} |`)
  log(`| herd: RSS of this process | ${pair(report.herd, () => true, (x) => mib(x.rssClient))} |`)
}
if (report.bytes) {
  const wc1 = (x) => x.writeConcern === 1
  log(`| idle, heartbeat ${BYTES_HEARTBEAT} ms: B/s up / down | ${pair(report.bytes, wc1, (x) => `${x.idleUpBps.toFixed(0)} / ${x.idleDownBps.toFixed(0)}`)} |`)
  log(`| per local write: B up / down | ${pair(report.bytes, wc1, (x) => `${x.localWriteUp.toFixed(0)} / ${x.localWriteDown.toFixed(0)}`)} |`)
  log(`| per remote write: B down / up | ${pair(report.bytes, wc1, (x) => `${x.remoteWriteDown.toFixed(0)} / ${x.remoteWriteUp.toFixed(0)}`)} |`)
  log(`| insert + flush, writeConcern 1 | ${pair(report.bytes, wc1, (x) => p50p99(x.latency))} |`)
  log(`| insert + flush, writeConcern 2 | — | ${pair(report.bytes, (x) => x.writeConcern === 2, (x) => p50p99(x.latency)).split(' | ')[1]} |`)
}
log(`\ntook ${(report.seconds / 60).toFixed(1)} min`)
if (args.json) {
  writeFileSync(args.json, JSON.stringify(report, null, 2) + '\n')
  log(`wrote ${args.json}`)
}
process.exit(0)
