// Entry point for Node.js: the `nodejs` wasm-pack build, which loads its .wasm synchronously.
import core from '../pkg/node/yreplica.js'
import { WebSocket } from 'ws'
import { createReplicaClass, Collection } from './replica.js'
import { openFileStore } from './file-store.js'

const { WasmReplica, checkSyncOptions, syncOptionNames, takePanicMessage } = core
const loaded = Promise.resolve({ WasmReplica, checkSyncOptions, syncOptionNames, takePanicMessage })

/**
 * Node 20 has no global WebSocket: the `ws` package stands in unless the app passes one. The
 * driver constructs every WebSocket as `(url, undefined, { maxPayload })`, maxPayload being the
 * replica's maxFrameBytes: `ws` then refuses a larger message before reading it, and takes
 * every message up to it (its own default, 100 MiB, refused the sync answer of a large
 * document; the replica then retried forever). Compression stays off: offered, a server could
 * inflate a small message into maxFrameBytes of memory.
 */
class NodeWebSocket extends WebSocket {
  constructor(url, protocols, options) {
    super(url, protocols, { ...options, perMessageDeflate: false })
  }
}

export const Replica = createReplicaClass(() => loaded, { defaultWebSocket: NodeWebSocket, openFileStore })
export { Collection }
