// Entry point for browsers, workers and bundlers: the `web` wasm-pack build, whose .wasm
// file is fetched next to its glue on first use.
import init, { WasmReplica, checkSyncOptions } from '../pkg/web/yreplica.js'
import { createReplicaClass, Collection } from './replica.js'

let ready = null
function loadCore() {
  ready ??= init().then(() => ({ WasmReplica, checkSyncOptions }))
  return ready
}

export const Replica = createReplicaClass(loadCore)
export { Collection }
