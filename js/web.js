// Entry point for browsers, workers and bundlers: the `web` wasm-pack build, whose .wasm
// file is fetched next to its glue on first use.
import init, { WasmReplica, checkSyncOptions, syncOptionNames, takePanicMessage, IdbStore } from '../pkg/web/yreplica.js'
import { createReplicaClass, Collection } from './replica.js'
import { openDatabase } from './idb-open.js'

const OPEN_TIMEOUT_MS = 10_000

let ready = null
function loadCore() {
  ready ??= init().then(() => ({ WasmReplica, checkSyncOptions, syncOptionNames, takePanicMessage }))
  return ready
}

/** IndexedDB with the y-indexeddb layout (src/web/idb.rs) as a storage adapter. */
async function openIndexedDb(name) {
  const store = new IdbStore(await openDatabase(name, OPEN_TIMEOUT_MS), name)
  return {
    load: () => store.load(),
    append: (update) => store.append(update),
    compact: (state) => store.compact(state),
    close: async () => {
      store.close()
      store.free()
    },
  }
}

// Tabs and workers of one origin exchange updates over BroadcastChannel.
export const Replica = createReplicaClass(loadCore, { openIndexedDb, broadcast: true })
export { Collection }
