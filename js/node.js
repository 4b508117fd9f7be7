// Entry point for Node.js: the `nodejs` wasm-pack build, which loads its .wasm synchronously.
import core from '../pkg/node/yreplica.js'
import { WebSocket } from 'ws'
import { createReplicaClass, Collection } from './replica.js'
import { openFileStore } from './file-store.js'

const { WasmReplica, checkSyncOptions } = core
const loaded = Promise.resolve({ WasmReplica, checkSyncOptions })

// Node 20 has no global WebSocket: the `ws` package stands in unless the app passes one.
export const Replica = createReplicaClass(() => loaded, { defaultWebSocket: WebSocket, openFileStore })
export { Collection }
