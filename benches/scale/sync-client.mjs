// Child: one fresh client syncing the N-record document from a filled server; the time from
// opening until it is online (synced) and all N records are present.
//   client 'yreplica': Replica.open({ endpoints: [url], protocol }) with `storage: 'memory'`
//   client 'yjs':      Yjs 13 with y-websocket's WebsocketProvider or @hocuspocus/provider
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { HocuspocusProvider } from '@hocuspocus/provider'
import { Replica } from '../../js/node.js'
import { runChild, onExit } from './child.mjs'
import { COLLECTION } from './records.mjs'
import { syncLimits, largeFrameWebSocketClass, RELAXED_TIMEOUTS } from './limits.mjs'
import { whenTrue, heapUsedAfterGc, wasmBytesInUse, wasmMemoryBytes } from './measure.mjs'

/**
 * With `timeouts: 'default'`, a link dropped before the client is online ends the attempt
 * early with { dropped } (run.mjs then measures again with 'relaxed' timeouts).
 */
async function syncYreplica({ dialect, url, room, n, timeouts }, timeoutMs, note) {
  const heapBefore = heapUsedAfterGc()
  const wasmBefore = wasmMemoryBytes()
  const inUseBefore = wasmBytesInUse()
  const errors = []
  const limits = await syncLimits()
  const extra = timeouts === 'relaxed' ? RELAXED_TIMEOUTS : {}
  const start = performance.now()
  const replica = await Replica.open({ name: 'fresh-client', room, storage: 'memory', endpoints: [url], protocol: dialect, ...limits, ...extra })
  onExit(() => replica.close())
  replica.on('error', (error) => errors.push(`${error.code}: ${error.message}`))
  const statuses = []
  let opened = false
  let droppedAt = null
  replica.on('status', ({ connection }) => {
    statuses.push(`${connection} at ${Math.round(performance.now() - start)} ms`)
    if (connection === 'syncing' || connection === 'online') opened = true
    else if (opened && droppedAt === null) droppedAt = performance.now() - start
  })
  const todos = replica.collection(COLLECTION)
  const online = () => replica.status.connection === 'online' && todos.count() === n
  const giveUp = () => timeouts === 'default' && droppedAt !== null
  let ms
  try {
    ms = await whenTrue(() => online() || giveUp(), start, { timeoutMs, what: `online with ${n} records` })
  } catch (error) {
    throw new Error(`${error.message}; status ${JSON.stringify(replica.status)}, ${todos.count()} records; statuses: ${statuses.slice(0, 6).join(', ')}; errors: ${errors.slice(0, 3).join(' | ') || 'none'}`)
  }
  if (!online()) {
    await replica.close()
    return { dropped: true, droppedAfterMs: droppedAt, statuses: statuses.slice(0, 10), errors: errors.slice(0, 3) }
  }
  if (errors.length > 0) note(`yreplica ${dialect} client (${timeouts} timeouts): ${errors.length} 'error' events before it got online, first: ${errors[0]}`)
  const inUse = wasmBytesInUse()
  const memory = {
    heapBytes: heapUsedAfterGc() - heapBefore,
    wasmBytes: wasmMemoryBytes() - wasmBefore,
    wasmInUse: inUse === undefined ? undefined : inUse - inUseBefore,
  }
  await replica.close()
  return { ms, timeouts, ...memory }
}

async function syncYjs({ dialect, url, room, n }, timeoutMs) {
  const heapBefore = heapUsedAfterGc()
  const LargeFrameWebSocket = await largeFrameWebSocketClass()
  const doc = new Y.Doc()
  const todos = doc.getMap(COLLECTION)
  const start = performance.now()
  let synced
  if (dialect === 'hocuspocus') {
    const provider = new HocuspocusProvider({ url, name: room, document: doc, WebSocketPolyfill: LargeFrameWebSocket })
    onExit(() => provider.destroy())
    synced = () => provider.isSynced
  } else {
    const provider = new WebsocketProvider(url, room, doc, { WebSocketPolyfill: LargeFrameWebSocket, disableBc: true })
    onExit(() => provider.destroy())
    synced = () => provider.synced
  }
  const ms = await whenTrue(() => synced() && todos.size === n, start, { timeoutMs, what: `synced with ${n} records` })
  return { ms, heapBytes: heapUsedAfterGc() - heapBefore }
}

runChild(async (task, note) => {
  const timeoutMs = 60_000 + task.n
  return task.client === 'yreplica' ? syncYreplica(task, timeoutMs, note) : syncYjs(task, timeoutMs)
})
