// Child: one fresh client syncing the N-record document from a filled server; the time from
// opening until it is online (synced) and all N records are present, and of that time, how
// long until the largest message (the document) had arrived whole: the server's encoding and
// the transfer, before the client's own work on it.
//   client 'yreplica': Replica.open({ endpoints: [url], protocol }) with `storage: 'memory'`
//   client 'yjs':      Yjs 13 with y-websocket's WebsocketProvider or @hocuspocus/provider
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { HocuspocusProvider } from '@hocuspocus/provider'
import { Replica } from '../../js/node.js'
import { runChild, onExit } from './child.mjs'
import { COLLECTION } from './records.mjs'
import { largeFrameWebSocketClass, RELAXED_TIMEOUTS } from './limits.mjs'
import { whenTrue, heapUsedAfterGc, wasmBytesInUse, wasmMemoryBytes } from './measure.mjs'

/** Notes when the largest message a socket of `Base` receives has arrived, since `start`. */
function arrivalTimed(Base) {
  const largest = { bytes: 0, atMs: undefined, start: 0 }
  class ArrivalTimedWebSocket extends Base {
    constructor(...args) {
      super(...args)
      this.on('message', (data) => {
        const bytes = data.byteLength ?? data.length ?? 0
        if (bytes > largest.bytes) Object.assign(largest, { bytes, atMs: performance.now() - largest.start })
      })
    }
  }
  return { WebSocket: ArrivalTimedWebSocket, largest }
}

/**
 * With `timeouts: 'default'`, a link dropped before the client is online ends the attempt
 * early with { dropped } (run.mjs then measures again with 'relaxed' timeouts).
 */
async function syncYreplica({ dialect, url, room, n, timeouts }, timeoutMs, note) {
  const heapBefore = heapUsedAfterGc()
  const wasmBefore = wasmMemoryBytes()
  const inUseBefore = wasmBytesInUse()
  const errors = []
  const extra = timeouts === 'relaxed' ? RELAXED_TIMEOUTS : {}
  // the library's default limits: `ws` only to see when the document has arrived
  const { WebSocket: Timed, largest } = arrivalTimed((await import('ws')).WebSocket)
  const start = performance.now()
  largest.start = start
  const replica = await Replica.open({ name: 'fresh-client', room, storage: 'memory', endpoints: [url], protocol: dialect, WebSocket: Timed, ...extra })
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
  return { ms, arrivedMs: largest.atMs, timeouts, ...memory }
}

async function syncYjs({ dialect, url, room, n }, timeoutMs) {
  const heapBefore = heapUsedAfterGc()
  const { WebSocket: LargeFrameWebSocket, largest } = arrivalTimed(await largeFrameWebSocketClass())
  const doc = new Y.Doc()
  const todos = doc.getMap(COLLECTION)
  const start = performance.now()
  largest.start = start
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
  return { ms, arrivedMs: largest.atMs, heapBytes: heapUsedAfterGc() - heapBefore }
}

runChild(async (task, note) => {
  const timeoutMs = 60_000 + task.n
  return task.client === 'yreplica' ? syncYreplica(task, timeoutMs, note) : syncYjs(task, timeoutMs)
})
