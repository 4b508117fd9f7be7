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
import { syncLimits, largeFrameWebSocketClass } from './limits.mjs'
import { whenTrue, heapUsedAfterGc, wasmMemoryBytes } from './measure.mjs'

async function syncYreplica({ dialect, url, room, n }, timeoutMs, note) {
  const heapBefore = heapUsedAfterGc()
  const wasmBefore = wasmMemoryBytes()
  const errors = []
  const limits = await syncLimits()
  const start = performance.now()
  const replica = await Replica.open({ name: 'fresh-client', room, storage: 'memory', endpoints: [url], protocol: dialect, ...limits })
  onExit(() => replica.close())
  replica.on('error', (error) => errors.push(`${error.code}: ${error.message}`))
  const todos = replica.collection(COLLECTION)
  let ms
  try {
    ms = await whenTrue(() => replica.status.connection === 'online' && todos.count() === n, start, { timeoutMs, what: `online with ${n} records` })
  } catch (error) {
    throw new Error(`${error.message}; status ${JSON.stringify(replica.status)}, ${todos.count()} records; errors: ${errors.slice(0, 3).join(' | ') || 'none'}`)
  }
  if (errors.length > 0) note(`yreplica ${dialect} client: ${errors.length} 'error' events before it got online, first: ${errors[0]}`)
  const memory = { heapBytes: heapUsedAfterGc() - heapBefore, wasmBytes: wasmMemoryBytes() - wasmBefore }
  await replica.close()
  return { ms, ...memory }
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
