// A flood of remote updates: does the app's event loop stay responsive while a replica takes
// in thousands of updates? A plain Yjs writer (in its own process) sends N one-record
// transactions as fast as it can through a real @y/websocket-server; the reader here measures
// how late a 5 ms interval timer fires (event-loop lag) while applying them, for yreplica and,
// in the same run, for a plain Yjs doc behind y-websocket. `npm run bench:flood [N]`.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { WebSocket } from 'ws'
import { Replica } from '../js/node.js'
import { startServers, stopServers } from '../dev/servers.mjs'
import { waitFor } from '../dev/wait.mjs'

const { positionals } = parseArgs({ allowPositionals: true })
const N = Number(positionals[0] ?? 20_000)
if (!Number.isInteger(N) || N < 1) {
  console.error(`bench:flood: N must be a whole number of updates, got '${positionals[0]}'`)
  process.exit(2)
}
const WRITER = fileURLToPath(new URL('../dev/flood-writer.mjs', import.meta.url))

/** Samples event-loop lag: how much later than due each 5 ms tick runs. */
function lagMeter() {
  const lags = []
  let due = performance.now() + 5
  const timer = setInterval(() => {
    const now = performance.now()
    lags.push(Math.max(0, now - due))
    due = now + 5
  }, 5)
  return {
    stop() {
      clearInterval(timer)
      lags.sort((a, b) => a - b)
      const at = (q) => lags[Math.min(lags.length - 1, Math.floor(q * lags.length))] ?? 0
      return { p50: at(0.5), p99: at(0.99), max: lags.at(-1) ?? 0, ticks: lags.length }
    },
  }
}

function runWriter(url, room) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, url, room, String(N)], { stdio: ['ignore', 'inherit', 'inherit'] })
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer exited with ${code}`))))
  })
}

async function floodReplica(server) {
  const replica = await Replica.open({ name: 'flood', room: 'flood-a', storage: 'memory', endpoints: [server.url] })
  await waitFor(() => replica.status.connection === 'online', 10_000, 'replica online')
  const todos = replica.collection('todos')
  const meter = lagMeter()
  const start = performance.now()
  await runWriter(server.url, 'flood-a')
  await waitFor(() => todos.count() === N, 120_000, 'all records at the replica')
  const took = performance.now() - start
  const lag = meter.stop()
  await replica.close()
  return { took, lag }
}

async function floodYjs(server) {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(server.url, 'flood-y', doc, { WebSocketPolyfill: WebSocket, disableBc: true })
  await waitFor(() => provider.synced, 10_000, 'yjs synced')
  const meter = lagMeter()
  const start = performance.now()
  await runWriter(server.url, 'flood-y')
  await waitFor(() => doc.getMap('todos').size === N, 120_000, 'all records at the Yjs doc')
  const took = performance.now() - start
  const lag = meter.stop()
  provider.destroy()
  doc.destroy()
  return { took, lag }
}

const [server] = await startServers(1)
try {
  const fmt = ({ took, lag }) => `${(took / 1000).toFixed(2)} s to take in; lag p50 ${lag.p50.toFixed(1)} ms, p99 ${lag.p99.toFixed(1)} ms, max ${lag.max.toFixed(1)} ms (${lag.ticks} ticks)`
  const ours = await floodReplica(server)
  const theirs = await floodYjs(server)
  console.log(`flood of ${N} one-record updates through @y/websocket-server:`)
  console.log(`  yreplica          ${fmt(ours)}`)
  console.log(`  Yjs + y-websocket ${fmt(theirs)}`)
} finally {
  await stopServers([server])
}
