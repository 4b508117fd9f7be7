// Entry point for Node.js: the `nodejs` wasm-pack build, which loads its .wasm synchronously.
import core from '../pkg/node/yreplica.js'
import { createReplicaClass, Collection } from './replica.js'

const { WasmReplica, checkSyncOptions } = core
const loaded = Promise.resolve({ WasmReplica, checkSyncOptions })

export const Replica = createReplicaClass(() => loaded)
export { Collection }
