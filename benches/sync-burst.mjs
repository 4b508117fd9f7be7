// npm run bench:sync-burst: a client writes a document to a fresh server in one burst, as an
// import does: every record inserted, then every record updated in its own call, all in one
// tick. yreplica (insertMany, then one `update` per record under Promise.all, then flush())
// next to a Yjs client (one transaction of inserts, then one `set` per record). For each,
// the time until the writes were made, and until a fresh Yjs client that connects then has
// every update (yreplica also: until flush() resolved). Prints yreplica's connection changes
// as they happen, since with a large burst the link may drop and come back.
//
//   node benches/sync-burst.mjs [--records 100000] [--servers y-websocket,hocuspocus]
//                               [--timeout-s 600]
import { parseArgs } from 'node:util'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { HocuspocusProvider } from '@hocuspocus/provider'
import { WebSocket } from 'ws'
import { Replica } from '../js/node.js'
import { YServer, HocuspocusServer } from '../dev/servers.mjs'
import { COLLECTION, makeRecords, updatedPrio } from './scale/records.mjs'

globalThis.WebSocket ??= WebSocket // @hocuspocus/provider needs a global WebSocket in Node

const { values: options } = parseArgs({
  options: {
    records: { type: 'string', default: '100000' },
    servers: { type: 'string', default: 'y-websocket,hocuspocus' },
    'timeout-s': { type: 'string', default: '600' },
  },
})
const N = Number(options.records)
const TIMEOUT_MS = Number(options['timeout-s']) * 1000
const ROOM = 'sync-burst'
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function yjsClient(kind, url, doc) {
  return kind === 'hocuspocus'
    ? new HocuspocusProvider({ url, name: ROOM, document: doc, WebSocketPolyfill: WebSocket })
    : new WebsocketProvider(url, ROOM, doc, { WebSocketPolyfill: WebSocket, disableBc: true })
}

/** ms until a fresh Yjs client of `url` holds every record's updated prio (null: not in time). */
async function readerSeesAll(kind, url, records, started) {
  const doc = new Y.Doc()
  const provider = yjsClient(kind, url, doc)
  try {
    const todos = doc.getMap(COLLECTION)
    const complete = () =>
      todos.size === records.length && records.every((r, i) => todos.get(r.id)?.get('prio') === updatedPrio(i))
    while (performance.now() - started < TIMEOUT_MS) {
      if (todos.size === records.length && complete()) return performance.now() - started
      await sleep(250)
    }
    return null
  } finally {
    provider.destroy()
    doc.destroy() // also stops the awareness timer
  }
}

async function burstYreplica(kind, server, records) {
  const log = []
  const replica = await Replica.open({
    name: 'burst', room: ROOM, storage: 'memory', endpoints: [server.url], WebSocket,
    ...(kind === 'hocuspocus' ? { protocol: 'hocuspocus' } : {}),
  })
  const started = performance.now()
  let last = null
  replica.on('status', (s) => {
    if (s.connection === last) return
    last = s.connection
    log.push(`${((performance.now() - started) / 1000).toFixed(1)} s ${s.connection}`)
  })
  try {
    const todos = replica.collection(COLLECTION)
    await todos.insertMany(records)
    await Promise.all(records.map((record, i) => todos.update(record.id, { prio: updatedPrio(i) })))
    const written = performance.now() - started
    let acknowledged = null
    try {
      await replica.flush({ timeoutMs: TIMEOUT_MS })
      acknowledged = performance.now() - started
    } catch (error) {
      if (error.code !== 'TIMEOUT') throw error
    }
    const seen = acknowledged === null ? null : await readerSeesAll(kind, server.url, records, started)
    return { written, acknowledged, seen, log }
  } finally {
    await replica.close()
  }
}

async function burstYjs(kind, server, records) {
  const doc = new Y.Doc()
  const provider = yjsClient(kind, server.url, doc)
  try {
    const deadline = Date.now() + 30_000
    while (!provider.synced && Date.now() < deadline) await sleep(50)
    const started = performance.now()
    const todos = doc.getMap(COLLECTION)
    doc.transact(() => {
      for (const { id, ...fields } of records) todos.set(id, new Y.Map(Object.entries(fields)))
    })
    records.forEach((record, i) => todos.get(record.id).set('prio', updatedPrio(i)))
    const written = performance.now() - started
    const seen = await readerSeesAll(kind, server.url, records, started)
    return { written, acknowledged: null, seen, log: [] }
  } finally {
    provider.destroy()
    doc.destroy() // also stops the awareness timer
  }
}

const s = (ms) => (ms === null ? 'not within the timeout' : `${(ms / 1000).toFixed(1)} s`)
const rows = []
const records = makeRecords(N)
for (const kind of options.servers.split(',')) {
  for (const [client, burst] of [['yreplica', burstYreplica], ['Yjs', burstYjs]]) {
    const server = kind === 'hocuspocus' ? await HocuspocusServer.start() : await YServer.start()
    try {
      const result = await burst(kind, server, records)
      rows.push({ kind, client, ...result })
      console.error(`${kind}, ${client}: written ${s(result.written)}, seen by a new client ${s(result.seen)}${result.log.length ? `; ${result.log.join(', ')}` : ''}`)
    } finally {
      await server.kill()
    }
  }
}

console.log(`| server, client (${N.toLocaleString('en-US')} records) | writes made | acknowledged (flush) | a new client has them all |`)
console.log('| --- | --: | --: | --: |')
for (const r of rows) console.log(`| ${r.kind}, ${r.client} | ${s(r.written)} | ${r.client === 'Yjs' ? '—' : s(r.acknowledged)} | ${s(r.seen)} |`)
