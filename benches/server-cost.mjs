// npm run bench:server-cost: what one client costs the sync server as the document grows,
// yreplica next to a Yjs client (y-websocket's provider, @hocuspocus/provider) on the same
// server and document: the server's CPU time while the client sits idle, and per write
// (yreplica: each awaited until acknowledged, flush()). Reads the server's CPU time from
// /proc (Linux).
//
//   node benches/server-cost.mjs [--sizes 10000,100000] [--servers y-websocket,hocuspocus]
import { parseArgs } from 'node:util'
import { readFileSync } from 'node:fs'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { HocuspocusProvider } from '@hocuspocus/provider'
import { WebSocket } from 'ws'
import { Replica } from '../js/node.js'
import { YServer, HocuspocusServer } from '../dev/servers.mjs'
import { makeRecords, updatedPrio } from './scale/records.mjs'

const { values: options } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000' },
    servers: { type: 'string', default: 'y-websocket,hocuspocus' },
    'idle-ms': { type: 'string', default: '10000' },
    writes: { type: 'string', default: '50' },
  },
})
const IDLE_MS = Number(options['idle-ms'])
const WRITES = Number(options.writes)
const ROOM = 'server-cost'

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** The process' user + system CPU time in ms (clock ticks of 10 ms). */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}

async function during(pid, fn) {
  const cpu = cpuMs(pid)
  const start = performance.now()
  await fn()
  return { cpu: cpuMs(pid) - cpu, ms: performance.now() - start }
}

/** Measures a yreplica client that writes the document; returns it still open. */
async function measureYreplica(server, kind, records) {
  const protocol = kind === 'hocuspocus' ? { protocol: 'hocuspocus' } : {}
  const replica = await Replica.open({ name: 'cost', room: ROOM, storage: 'memory', endpoints: [server.url], WebSocket, ...protocol })
  try {
    const todos = replica.collection('todos')
    await todos.insertMany(records)
    // every record updated once: the document keeps a deletion per record, as a used one does
    await Promise.all(records.map((record, i) => todos.update(record.id, { prio: updatedPrio(i) })))
    await replica.flush({ timeoutMs: 600_000 })
    await sleep(1000)
    const idle = await during(server.proc.pid, () => sleep(IDLE_MS))
    const latencies = []
    const writes = await during(server.proc.pid, async () => {
      for (let i = 0; i < WRITES; i++) {
        const start = performance.now()
        await todos.update(records[i].id, { prio: 100 + i })
        await replica.flush({ timeoutMs: 60_000 })
        latencies.push(performance.now() - start)
      }
    })
    latencies.sort((a, b) => a - b)
    return { replica, idle: (idle.cpu / idle.ms) * 1000, perWrite: writes.cpu / WRITES, latency: latencies[latencies.length >> 1] }
  } catch (error) {
    await replica.close()
    throw error
  }
}

/** Measures a Yjs client syncing the document `writer` holds; closes `writer` once synced (a
 * Hocuspocus server unloads a document nobody is connected to). */
async function measureYjs(server, kind, records, writer) {
  const doc = new Y.Doc()
  const provider =
    kind === 'hocuspocus'
      ? new HocuspocusProvider({ url: server.url, name: ROOM, document: doc, WebSocketPolyfill: WebSocket })
      : new WebsocketProvider(server.url, ROOM, doc, { WebSocketPolyfill: WebSocket, disableBc: true })
  try {
    const todos = doc.getMap('todos')
    const deadline = Date.now() + 600_000
    while (todos.size < records.length && Date.now() < deadline) await sleep(100)
    if (todos.size < records.length) throw new Error(`the Yjs client did not sync (${todos.size} of ${records.length} records)`)
    await writer.close()
    await sleep(1000)
    const idle = await during(server.proc.pid, () => sleep(IDLE_MS))
    const writes = await during(server.proc.pid, async () => {
      for (let i = 0; i < WRITES; i++) {
        todos.get(records[i].id).set('prio', 200 + i)
        await sleep(10) // Yjs has no acknowledgement to wait for
      }
      await sleep(500)
    })
    return { idle: (idle.cpu / idle.ms) * 1000, perWrite: writes.cpu / WRITES, latency: null }
  } finally {
    provider.destroy()
    await writer.close()
  }
}

const rows = []
for (const kind of options.servers.split(',')) {
  for (const n of options.sizes.split(',').map(Number)) {
    const server = kind === 'hocuspocus' ? await HocuspocusServer.start() : await YServer.start()
    try {
      const records = makeRecords(n)
      // yreplica first: it writes the document the Yjs client then syncs from the server
      const ours = await measureYreplica(server, kind, records)
      const theirs = await measureYjs(server, kind, records, ours.replica)
      rows.push({ kind, n, ours, theirs })
      console.error(`${kind} ${n}: done`)
    } finally {
      await server.kill()
    }
  }
}

const f = (x) => (x === null ? '—' : x.toFixed(x < 10 ? 1 : 0))
console.log('| server, records | idle: server CPU ms per s (yreplica / Yjs) | server CPU ms per write (yreplica / Yjs) | yreplica write acknowledged, median ms |')
console.log('| --- | --: | --: | --: |')
for (const { kind, n, ours, theirs } of rows) {
  console.log(`| ${kind}, ${n.toLocaleString('en-US')} | ${f(ours.idle)} / ${f(theirs.idle)} | ${f(ours.perWrite)} / ${f(theirs.perWrite)} | ${f(ours.latency)} |`)
}
