// Local durability for any storage adapter ({ load, append, compact, close }): the updates of
// one tick are merged by the core and appended once; a write's promise resolves when the
// append that holds it has completed. Appends and compactions run one at a time, in order.
// A failed append rejects the writes of its tick and reports an 'error'; the update is kept
// and retried first on the next tick, so no change is dropped.

// Compaction rewrites the whole document, so it waits for appends in proportion to the
// document's size: at least 500, and one per 4 KiB stored. Its cost per write then stays the
// same whatever the size (a 200 MB document is rewritten once per ~50,000 appends, not every
// 500), while reopening applies at most that many small updates besides the snapshot.
const COMPACT_AFTER = 500
const STATE_BYTES_PER_APPEND = 4096

function storageError(error, what) {
  if (error && typeof error === 'object' && typeof error.code === 'string' && error instanceof Error) return error
  const wrapped = new Error(`storage ${what} failed: ${error instanceof Error ? error.message : String(error)}`)
  wrapped.code = 'STORAGE_FAILED'
  wrapped.cause = error
  return wrapped
}

function newTick() {
  const tick = {}
  tick.promise = new Promise((resolve, reject) => {
    tick.resolve = resolve
    tick.reject = reject
  })
  tick.promise.catch(() => {}) // the writes hold their own handlers
  return tick
}

export class Persistence {
  /**
   * @param adapter { load, append, compact, close }
   * @param core the wasm replica (takeStorageUpdate, encodeState)
   * @param onError reports failures as 'error' events
   */
  constructor(adapter, core, onError) {
    this.adapter = adapter
    this.core = core
    this.onError = onError
    this.chain = Promise.resolve()
    this.tick = null
    this.retry = []
    this.records = 0
    /** The bytes stored: the last snapshot and the appends since (the state's size, about). */
    this.storedBytes = 0
  }

  /**
   * Loads every stored update through `apply`. A bad one is reported and loading goes on; yrs
   * integrates block by block, so what it read before the fault may already be in.
   */
  async load(apply) {
    let updates
    try {
      updates = await this.adapter.load()
    } catch (error) {
      throw storageError(error, 'load')
    }
    if (!Array.isArray(updates)) throw storageError(new TypeError('load() must resolve to an array of Uint8Array'), 'load')
    for (const [i, update] of updates.entries()) {
      try {
        apply(update)
      } catch (error) {
        const e = new Error(
          `stored update ${i} of ${updates.length} could not be applied whole (any part read before the fault is kept): ${error.message}`,
        )
        e.code = 'STORAGE_CORRUPT'
        this.onError(e)
      }
    }
    this.records = updates.length
    this.storedBytes = updates.reduce((sum, update) => sum + update.length, 0)
  }

  /** Called after each change: resolves once everything changed so far is durable. */
  schedule() {
    if (this.tick === null) {
      this.tick = newTick()
      queueMicrotask(() => this.flushTick())
    }
    return this.tick.promise
  }

  flushTick() {
    const tick = this.tick
    if (tick === null) return
    this.tick = null
    try {
      for (let update = this.core.takeStorageUpdate(); update !== undefined; update = this.core.takeStorageUpdate()) {
        this.retry.push(update)
      }
    } catch (error) {
      // Only a replica broken by an internal error fails here (its INTERNAL error was reported
      // then): the writes of this tick cannot be known to be stored.
      tick.reject(error)
      return
    }
    this.chain = this.chain.then(async () => {
      try {
        while (this.retry.length > 0) {
          await this.adapter.append(this.retry[0])
          this.storedBytes += this.retry.shift().length
          this.records++
        }
      } catch (error) {
        const e = storageError(error, 'append')
        tick.reject(e)
        this.onError(e)
        return
      }
      tick.resolve()
      if (this.records > Math.max(COMPACT_AFTER, this.storedBytes / STATE_BYTES_PER_APPEND)) await this.compact()
    })
  }

  async compact() {
    try {
      const state = this.core.encodeState()
      await this.adapter.compact(state)
      this.records = 1
      this.storedBytes = state.length
    } catch (error) {
      this.onError(storageError(error, 'compact'))
    }
  }

  /** Writes what is pending (retrying what failed before), waits for it, and closes the adapter. */
  async close() {
    this.tick ??= newTick() // also write what an earlier failed tick left
    this.flushTick()
    await this.chain
    if (this.retry.length > 0) {
      const error = new Error(`storage: ${this.retry.length} update(s) could not be written before close; they are lost locally unless a server has them`)
      error.code = 'STORAGE_FAILED'
      this.onError(error)
    }
    try {
      await this.adapter.close()
    } catch (error) {
      this.onError(storageError(error, 'close'))
    }
  }
}
