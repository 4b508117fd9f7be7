// npm run bench:cluster: the Hocuspocus dialect on a Redis-backed cluster of real
// @hocuspocus/server processes: failover time, and replication latency across servers next
// to two @hocuspocus/provider clients doing the same.
import * as Y from 'yjs'
import { measureLatency } from './latency.mjs'
import { WebSocket } from 'ws'
import { HocuspocusProvider } from '@hocuspocus/provider'
import { Replica } from '../js/node.js'
import { startCluster } from '../dev/cluster.mjs'
import { waitFor, sleep } from '../dev/wait.mjs'

globalThis.WebSocket ??= WebSocket
const TRIALS = Number(process.env.BENCH_TRIALS ?? 20)
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]
const fmt = (xs) => `p50 ${pct(xs, 50).toFixed(0)} ms, p99 ${pct(xs, 99).toFixed(0)} ms (n=${xs.length})`
const options = (name, endpoints) => ({ name, room: 'bench', storage: 'memory', endpoints, protocol: 'hocuspocus', heartbeatIntervalMs: 500, missedHeartbeats: 2 })

async function failoverTrials(cluster) {
  const times = []
  for (let i = 0; i < TRIALS; i++) {
    const [s1, s2] = cluster.servers
    const r = await Replica.open(options(`f${i}`, [s1.url, s2.url]))
    await waitFor(() => r.status.connection === 'online' && r.status.endpoint === s1.url, 10_000, 'online')
    await sleep(50 + Math.random() * 500)
    const frozenAt = performance.now()
    s1.freeze()
    await waitFor(() => r.status.connection === 'online' && r.status.endpoint === s2.url, 20_000, 'failover')
    times.push(performance.now() - frozenAt)
    await r.close()
    s1.resume()
    await sleep(200)
  }
  return times
}

async function latency(cluster, samples) {
  const [s1, s2] = cluster.servers
  const a = await Replica.open(options('a', [s1.url]))
  const b = await Replica.open(options('b', [s2.url]))
  const docA = new Y.Doc()
  const docB = new Y.Doc()
  const pa = new HocuspocusProvider({ url: s1.url, name: 'bench-providers', document: docA })
  const pb = new HocuspocusProvider({ url: s2.url, name: 'bench-providers', document: docB })
  try {
    await waitFor(() => a.status.connection === 'online' && b.status.connection === 'online' && pa.isSynced && pb.isSynced, 10_000, 'synced')
    return await measureLatency({ a, b, docA, docB, YMap: Y.Map }, samples)
  } finally {
    pa.destroy(); pb.destroy(); docA.destroy(); docB.destroy()
    await a.close(); await b.close()
  }
}

const cluster = await startCluster(2)
try {
  console.log(`Hocuspocus cluster benchmark (2 servers + Redis on 127.0.0.1), Node ${process.version}`)
  const times = await failoverTrials(cluster)
  console.log(`failover (SIGSTOP of the server in use -> online on the other), heartbeatIntervalMs 500: ${fmt(times)}`)
  const { ours, theirs } = await latency(cluster, 200)
  console.log(`replication latency, replica A on server 1 -> replica B on server 2 through Redis: ${fmt(ours)}`)
  console.log(`the same with two @hocuspocus/provider clients: ${fmt(theirs)}`)
} finally {
  await cluster.stop()
}
process.exit(0)
