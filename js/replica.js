// The public API (see API.md) over the wasm core. This file owns the read cache: records
// live here as parsed JSON, kept exact by the change sets the core returns after every
// write and every remote update, so reads never cross into Wasm per record.

import { checkOptions, warnInsecureEndpoints } from './options.js'
import { checkQueryValue, checkRecord } from './values.js'
import { newId } from './ids.js'
import { indexedFields } from './collection-options.js'
import { Persistence } from './persistence.js'
import { RecordCache } from './record-cache.js'

// Change codes returned by the core's single-record writes.
const UNCHANGED = 0
const DELETED = 3
const CHANGE_TYPES = [undefined, 'insert', 'update', 'delete']
/**
 * What deleting one record adds to a Yjs update, at most in practice: a deleted range for its
 * map and one for its fields (client and clock as variable-length integers), with room for
 * fields updated since, which are ranges of their own.
 */
const DELETE_BYTES = 32

function closedError() {
  const error = new Error('the replica is closed')
  error.code = 'CLOSED'
  return error
}


function checkId(id, where) {
  if (typeof id !== 'string' || id === '') {
    throw new TypeError(`${where}: the id must be a non-empty string, got ${id === '' ? 'an empty string' : typeof id}`)
  }
}

/**
 * What a record's insert takes in a Yjs update, at most: its JSON, and per field the item's
 * header (info, parent id, key) that JSON does not spell out.
 */
function updateSize(json, fields) {
  return json.length + 16 + 12 * fields
}

const utf8 = new TextEncoder()

/**
 * Applies a checked patch to a cached record as the core stores it (JSON: -0 becomes 0);
 * `undefined` removes a field.
 */
function mergeFields(record, fields) {
  for (const key of Object.keys(fields)) {
    const value = fields[key]
    if (value === undefined) delete record[key]
    else if (key === '__proto__') Object.defineProperty(record, key, { value: JSON.parse(JSON.stringify(value)), writable: true, enumerable: true, configurable: true })
    else if (typeof value === 'object' && value !== null) record[key] = JSON.parse(JSON.stringify(value))
    else record[key] = value === 0 ? 0 : value
  }
}

function checkUpdate(update) {
  if (!(update instanceof Uint8Array)) throw new TypeError('applyUpdate: expected a Uint8Array holding a Yjs v1 update')
}

function alreadyExists(collection, id) {
  const error = new Error(`a record with id '${id}' already exists in collection '${collection}'`)
  error.code = 'ALREADY_EXISTS'
  return error
}

function checkWhere(where, what) {
  if (where === undefined || where === null) return
  if (typeof where !== 'object' || Array.isArray(where)) throw new TypeError(`${what}: 'where' must be an object`)
  for (const key of Object.keys(where)) checkQueryValue(where[key], `${what}, field '${key}'`)
}

export class Collection {
  /** @internal */
  constructor(replica, name) {
    this.name = name
    this._replica = replica
    /** Every record of the collection; values are never handed out (reads copy them). */
    this._cache = new RecordCache((ids) => {
      const found = JSON.parse(replica._use(`${name}: reading records`).getMany(name, JSON.stringify(ids)))
      return found.map((record) => record ?? undefined)
    })
    this._subscribers = new Set()
  }

  _core(what) {
    return this._replica._use(what)
  }

  insert(record) {
    return this._replica._settle(() => {
      const where = `${this.name}.insert`
      checkRecord(record, where)
      const id = record.id === undefined ? newId() : record.id
      checkId(id, where)
      const json = JSON.stringify(record)
      this._replica._checkWriteSize(json.length, where)
      const change = this._core(where).insert(this.name, id, json)
      this._applyLocal(id, change, () => this._cache.setText(id, json))
      return id
    })
  }

  insertMany(records) {
    return this._replica._settle(() => {
      const where = `${this.name}.insertMany`
      if (!Array.isArray(records)) throw new TypeError(`${where}: expected an array of records`)
      const ids = new Array(records.length)
      const jsons = new Array(records.length)
      const sizes = new Array(records.length)
      // Records enter the cache as they are checked (it is also the check for taken ids), and
      // leave it again if anything is refused: every id is checked before anything is written.
      let cached = 0
      const progress = { written: 0 }
      try {
        for (; cached < records.length; cached++) {
          const i = cached
          const id = records[i]?.id === undefined ? newId() : records[i].id
          let fields
          try {
            fields = checkRecord(records[i], where)
            checkId(id, where)
          } catch {
            // Checked again to name the record: building that label for every record costs.
            const at = `${where}, record ${i}`
            checkRecord(records[i], at)
            checkId(id, at)
          }
          if (this._cache.has(id)) throw alreadyExists(this.name, id)
          ids[i] = id
          jsons[i] = JSON.stringify(records[i])
          sizes[i] = updateSize(jsons[i], fields)
          this._cache.setText(id, jsons[i])
        }
        this._writeMany(ids, jsons, sizes, where, progress)
      } catch (error) {
        for (let i = progress.written; i < cached; i++) this._cache.delete(ids[i])
        throw error
      }
      this._replica._announceMany(this.name, 'insert', ids)
      this._replica._drainSync()
      return ids
    })
  }

  /**
   * Writes checked records in updates under maxUpdateBytes: consecutive records go in one
   * Yjs update until the next would cross it (inside transact() the whole transaction is one
   * update instead). `progress.written` counts the records written so far (if a later update
   * is refused, the earlier ones stand, as separate writes would).
   */
  _writeMany(ids, jsons, sizes, where, progress) {
    const core = this._core(where)
    const chunks = this._replica._writeChunks(sizes, where)
    // Wasm memory then grows for the whole write at once (each grow costs a JS heap collection).
    // (JSON bytes, as the core counts them: `sizes` adds per-field headers the memory has not)
    if (chunks.length > 1) core.expectInput(jsons.reduce((sum, json) => sum + json.length, 0))
    try {
      for (const [from, to] of chunks) {
        core.insertMany(this.name, JSON.stringify(ids.slice(from, to)), utf8.encode(`[${jsons.slice(from, to).join(',')}]`))
        progress.written = to
      }
    } finally {
      if (chunks.length > 1) core.expectInput(0)
    }
  }

  update(id, fields) {
    return this._replica._settle(() => {
      const where = `${this.name}.update`
      checkId(id, where)
      checkRecord(fields, where)
      const unset = Object.keys(fields).filter((key) => fields[key] === undefined)
      const json = JSON.stringify(fields)
      this._replica._checkWriteSize(json.length, where)
      const change = this._core(where).update(this.name, id, json, unset.length === 0 ? '' : JSON.stringify(unset))
      this._applyLocal(id, change, () => {
        const current = this._cache.parsed(id)
        // A record nobody has read stays unparsed: the core holds its new value.
        if (current === undefined) return this._cache.setInCore(id)
        // The cached object is never handed out (reads copy it): patched in place.
        mergeFields(current, fields)
        current.id = id
      })
    })
  }

  replace(id, record) {
    return this._replica._settle(() => {
      const where = `${this.name}.replace`
      checkId(id, where)
      checkRecord(record, where)
      const json = JSON.stringify(record)
      this._replica._checkWriteSize(json.length, where)
      const change = this._core(where).replace(this.name, id, json)
      this._applyLocal(id, change, () => this._cache.setText(id, json))
    })
  }

  upsert(record) {
    return this._replica._settle(() => {
      const where = `${this.name}.upsert`
      checkRecord(record, where)
      checkId(record.id, `${where}: field 'id'`)
      const json = JSON.stringify(record)
      this._replica._checkWriteSize(json.length, where)
      const change = this._core(where).upsert(this.name, record.id, json)
      this._applyLocal(record.id, change, () => this._cache.setText(record.id, json))
    })
  }

  delete(id) {
    return this._replica._settle(() => {
      const where = `${this.name}.delete`
      checkId(id, where)
      if (this._replica._batchDepth > 0) return this._replica._deferDelete(this, id)
      const change = this._core(where).delete(this.name, id)
      this._applyLocal(id, change, null)
      return change === DELETED
    })
  }

  deleteMany(ids) {
    return this._replica._settle(() => {
      const where = `${this.name}.deleteMany`
      if (!Array.isArray(ids)) throw new TypeError(`${where}: expected an array of ids`)
      for (let i = 0; i < ids.length; i++) {
        if (typeof ids[i] !== 'string' || ids[i] === '') checkId(ids[i], `${where}, id ${i}`)
      }
      const core = this._core(where)
      const deleted = []
      // One transaction (deleting records together costs far less than one by one: see
      // Replica::delete_many). Outside transact() the ids go in runs whose updates stay under
      // maxUpdateBytes, counting a generous DELETE_BYTES per id; inside, the transaction is one
      // update anyway.
      const run = this._replica._batchDepth > 0 ? ids.length : Math.max(1, Math.floor(this._replica._options.maxUpdateBytes / DELETE_BYTES))
      for (let from = 0; from < ids.length; from += run) {
        const part = ids.slice(from, from + run)
        const flags = core.deleteMany(this.name, JSON.stringify(part))
        for (let i = 0; i < part.length; i++) {
          if (flags[i] === 1) {
            this._cache.delete(part[i])
            deleted.push(part[i])
          }
        }
      }
      this._replica._announceMany(this.name, 'delete', deleted)
      this._replica._drainSync()
      return deleted.length
    })
  }

  /**
   * @internal After a single-record write: `change` is the core's code for that record's net
   * change; `store` puts the new value into the cache from what was written (exact: the core
   * stored the same JSON).
   */
  _applyLocal(id, change, store) {
    if (change === UNCHANGED) return
    if (change === DELETED) this._cache.delete(id)
    else store()
    this._replica._announce(this.name, CHANGE_TYPES[change], id)
    this._replica._drainSync()
  }

  get(id) {
    this._replica._open()
    return this._cache.read(id)
  }

  all() {
    this._replica._open()
    return this._cache.values()
  }

  /** `{ where, orderBy, limit, offset }`: the core evaluates it and returns ids only. */
  find(query = {}) {
    const what = `${this.name}.find`
    const core = this._core(what)
    if (query === null || typeof query !== 'object' || Array.isArray(query)) throw new TypeError(`${what}: the query must be an object`)
    checkWhere(query.where, what)
    const ids = JSON.parse(core.find(this.name, JSON.stringify(query)))
    return this._cache.readMany(ids)
  }

  /** Runs `query` as `find` would: `{ index, scanned }`, the index it used (null: none) and how many records it examined. */
  explain(query = {}) {
    const what = `${this.name}.explain`
    const core = this._core(what)
    if (query === null || typeof query !== 'object' || Array.isArray(query)) throw new TypeError(`${what}: the query must be an object`)
    checkWhere(query.where, what)
    return JSON.parse(core.explain(this.name, JSON.stringify(query)))
  }

  count(where) {
    const what = `${this.name}.count`
    const core = this._core(what)
    checkWhere(where, what)
    if (where === undefined || where === null || Object.keys(where).length === 0) return this._cache.size
    return core.count(this.name, JSON.stringify(where))
  }

  subscribe(listener) {
    if (typeof listener !== 'function') throw new TypeError(`${this.name}.subscribe: expected a function`)
    this._subscribers.add(listener)
    this._replica._listenersChanged()
    return () => {
      this._subscribers.delete(listener)
      this._replica._listenersChanged()
    }
  }
}

/**
 * @param loadCore resolves to the wasm module's exports
 * @param env what the platform adds: `defaultWebSocket`, the WebSocket constructor to use when
 *   neither the options nor the global scope provide one (Node < 22: the `ws` package), and
 *   `openFileStore(dir, name, onError)` for `storage: { dir }` (Node)
 */
export function createReplicaClass(loadCore, env = {}) {
  class Replica {
    /** Opens a replica. See API.md "Opening and closing". */
    static async open(options) {
      const core = await loadCore()
      const checked = checkOptions(options, core.checkSyncOptions, env)
      // A random 32-bit Yjs client id, as Yjs itself picks (smaller encodings than 53 bits).
      const clientId = globalThis.crypto.getRandomValues(new Uint32Array(1))[0] || 1
      const replica = new Replica(new core.WasmReplica(clientId), checked)
      replica._listenersChanged()
      try {
        await replica._openStorage(env)
      } catch (error) {
        replica._core.free()
        replica._core = null
        throw error
      }
      if (env.broadcast) replica._startBroadcast()
      if (checked.sync.endpoints.length > 0) {
        warnInsecureEndpoints(checked.sync.endpoints)
        try {
          replica._startSync(env.defaultWebSocket)
        } catch (error) {
          await replica.close()
          throw error
        }
      }
      // Events from opening (a corrupt storage tail, the first 'connecting' status, …) reach
      // listeners attached right after `await Replica.open(…)`.
      const early = replica._earlyEvents
      replica._earlyEvents = null
      if (early.length > 0) setTimeout(() => early.forEach(([event, payload]) => replica._emit(event, payload)), 0)
      return replica
    }

    /** @internal */
    constructor(core, options) {
      this._core = core
      this.name = options.name
      this.room = options.room
      this._options = options
      /** @type {Map<string, Collection>} */
      this._collections = new Map()
      this._listeners = { change: new Set(), status: new Set(), failover: new Set(), error: new Set(), presence: new Set() }
      /** Whether the core sends values with remote changes (it starts with them on). */
      this._changeValues = true
      this._batchDepth = 0
      this._syncing = false
      this._draining = false
      this._drainAgain = false
      this._persistence = null
      this._channel = null
      this._broadcastScheduled = false
      /** Events emitted while opening, held until `open` has returned. */
      this._earlyEvents = []
      this._status = { connection: 'offline', endpoint: null, pending: 0 }
      /** @type {Map<number, { resolve: Function, reject: Function }>} */
      this._flushes = new Map()
      this._nextFlush = 1
      /** JSON characters written in the current transact() (its writes form one update). */
      this._batchChars = 0
      /**
       * Deletes made inside transact(), not yet in the core: collection name → ids. They go
       * in as one deleteMany per collection before anything else reaches the core (`_use`)
       * and when the transaction ends: yrs merges the blocks of records deleted together in
       * one step, and each record deleted on its own in a step that shifts every block
       * written after it (see Replica::delete_many).
       * @type {Map<string, string[]>}
       */
      this._deferredDeletes = new Map()
    }

    /**
     * @internal Refuses a write whose update would exceed `maxUpdateBytes` (measured as JSON
     * text, which the update's size follows closely), before anything is written: servers
     * and other replicas cap message sizes, and an update they refuse would be sent again on
     * every reconnect.
     */
    _checkWriteSize(bytes, where) {
      const limit = this._options.maxUpdateBytes
      const total = (this._batchDepth > 0 ? this._batchChars : 0) + bytes
      if (total > limit) {
        const inBatch = this._batchDepth > 0 ? ' (with the earlier writes of this transact())' : ''
        const error = new RangeError(`${where}: this write is ${total} bytes of JSON${inBatch}, over maxUpdateBytes (${limit}); nothing was written`)
        error.code = 'TOO_LARGE'
        throw error
      }
      if (this._batchDepth > 0) this._batchChars = total
    }

    /**
     * @internal Splits a multi-record write into runs `[from, to)` whose updates (`sizes`, in
     * bytes) each stay under `maxUpdateBytes`. A single record over it is refused first, and
     * inside transact() the sum is checked (the transaction is one update), so a refused write
     * writes nothing.
     */
    _writeChunks(sizes, where) {
      const limit = this._options.maxUpdateBytes
      let total = 0
      for (let i = 0; i < sizes.length; i++) {
        if (sizes[i] > limit) {
          const error = new RangeError(`${where}, record ${i}: this record takes ${sizes[i]} bytes, over maxUpdateBytes (${limit}); nothing was written`)
          error.code = 'TOO_LARGE'
          throw error
        }
        total += sizes[i]
      }
      if (this._batchDepth > 0) {
        this._checkWriteSize(total, where)
        return [[0, sizes.length]]
      }
      const chunks = []
      let from = 0
      let size = 0
      for (let i = 0; i < sizes.length; i++) {
        if (size + sizes[i] > limit && i > from) {
          chunks.push([from, i])
          from = i
          size = 0
        }
        size += sizes[i]
      }
      if (from < sizes.length || sizes.length === 0) chunks.push([from, sizes.length])
      return chunks
    }

    /** Loads what local storage holds, then keeps every update for it. */
    async _openStorage(env) {
      const storage = this._options.storage
      if (storage === 'memory') return
      const onError = (error) => this._emit('error', error)
      const adapter =
        storage === 'indexeddb'
          ? await env.openIndexedDb(this.name)
          : typeof storage === 'object' && 'dir' in storage
            ? await env.openFileStore(storage.dir, this.name, onError)
            : storage
      const persistence = new Persistence(adapter, this._core, onError)
      try {
        await persistence.load((update) => {
          if (!(update instanceof Uint8Array)) throw new TypeError('a stored update is not a Uint8Array')
          const json = this._core.applyUpdate(update)
          if (json !== '') this._applyToCache(JSON.parse(json))
        })
      } catch (error) {
        try {
          await adapter.close()
        } catch {
          // the load error is the one to report
        }
        throw error
      }
      this._core.captureForStorage()
      this._persistence = persistence
    }

    /**
     * @internal Runs a synchronous write; the promise resolves when it is durable in local
     * storage (at once for 'memory') and rejects with the write's or the storage's error.
     */
    _settle(write) {
      try {
        const value = write()
        this._scheduleBroadcast()
        return this._persistence ? this._persistence.schedule().then(() => value) : Promise.resolve(value)
      } catch (error) {
        return Promise.reject(error)
      }
    }

    /** Other tabs and workers with this replica's name get its local updates, and it theirs. */
    _startBroadcast() {
      if (typeof globalThis.BroadcastChannel !== 'function') return
      this._core.captureForBroadcast()
      const channel = new BroadcastChannel(`yreplica:${this.name}`)
      channel.onmessage = (event) => this._onBroadcast(event.data, channel)
      this._channel = channel
      // Ask the others for anything they hold that this tab lacks.
      channel.postMessage({ type: 'state-vector', stateVector: this._core.stateVector() })
    }

    _onBroadcast(message, channel) {
      if (this._core === null || message === null || typeof message !== 'object') return
      try {
        if (message.type === 'update' && message.update instanceof Uint8Array) {
          // the other tab sends its own writes to the server, and stores them: in the same
          // IndexedDB database when both use it, so they are not written there twice
          const storedHere = message.storedIn === 'indexeddb' && this._storedIn() === 'indexeddb'
          const core = this._core
          this._applyRemoteChanges(storedHere ? core.applyStoredElsewhere(message.update) : core.applyUpdate(message.update), 'remote')
          this._persistence?.schedule()
        } else if (message.type === 'state-vector' && message.stateVector instanceof Uint8Array) {
          channel.postMessage({ type: 'update', update: this._core.encodeDiff(message.stateVector), storedIn: this._storedIn() })
        }
      } catch (error) {
        this._emit('error', error)
      }
    }

    /** 'indexeddb' when this tab's own writes go into the database other tabs of this name share. */
    _storedIn() {
      return this._persistence && this._options.storage === 'indexeddb' ? 'indexeddb' : null
    }

    _scheduleBroadcast() {
      if (!this._channel || this._broadcastScheduled) return
      this._broadcastScheduled = true
      queueMicrotask(() => {
        this._broadcastScheduled = false
        if (this._core === null) return
        for (let update = this._core.takeBroadcastUpdate(); update !== undefined; update = this._core.takeBroadcastUpdate()) {
          this._channel.postMessage({ type: 'update', update, storedIn: this._storedIn() })
        }
      })
    }

    _startSync(defaultWebSocket) {
      const WebSocketClass = this._options.WebSocket ?? globalThis.WebSocket ?? defaultWebSocket
      if (typeof WebSocketClass !== 'function') {
        const error = new Error('Replica.open: no WebSocket implementation here; pass the `WebSocket` option')
        error.code = 'INVALID_OPTION'
        throw error
      }
      const seed = Math.floor(Math.random() * 2 ** 52)
      this._core.startSync(JSON.stringify(this._options.sync), this.room, WebSocketClass, () => this._drainSync(), seed)
      this._syncing = true
      this._drainSync()
    }

    /** Connection state: { connection, endpoint, pending }. */
    get status() {
      return { ...this._status }
    }

    /** Per-endpoint health: [{ url, state, rttMs, lastSeenAt, failures, active }]. */
    get endpoints() {
      return this._core === null ? [] : JSON.parse(this._core.endpoints())
    }

    /** Resolves when every change made before the call is acknowledged by the connected server. */
    flush({ timeoutMs = 5000 } = {}) {
      this._use('flush')
      if (!this._syncing) {
        const error = new Error('flush: this replica has no endpoints to acknowledge its changes')
        error.code = 'NO_ENDPOINTS'
        return Promise.reject(error)
      }
      if (!(timeoutMs > 0 && timeoutMs <= 2_147_483_647)) {
        return Promise.reject(new TypeError('flush: timeoutMs must be a positive number of milliseconds (at most 2147483647)'))
      }
      const id = this._nextFlush++
      const done = new Promise((resolve, reject) => this._flushes.set(id, { resolve, reject, timeoutMs }))
      const ask = () => {
        if (this._core === null) return
        this._core.flush(id, timeoutMs)
        this._drainSync()
      }
      // Inside transact() the batch's writes reach the sync engine only when it ends.
      if (this._batchDepth > 0) queueMicrotask(ask)
      else ask()
      return done
    }

    /** Leaves the current endpoint for the next one now. */
    async failover() {
      this._use('failover').failover()
      this._drainSync()
    }

    /** Goes to `url` (one of the endpoints) and stays there until unpin(). */
    async switchTo(url) {
      this._use('switchTo').switchTo(url)
      this._drainSync()
    }

    unpin() {
      this._use('unpin').unpin()
      this._drainSync()
    }

    /** Shares this client's presence (any JSON value; null or undefined clears it). */
    setPresence(state) {
      const core = this._use('setPresence')
      checkQueryValue(state, 'setPresence')
      core.setPresence(state === undefined || state === null ? undefined : JSON.stringify(state))
      this._drainSync()
    }

    /** The other clients' presence: [{ clientId, state }]. */
    get presence() {
      return this._core === null ? [] : JSON.parse(this._core.presence())
    }

    /** @internal Delivers what the sync driver queued: remote changes and events. */
    _drainSync() {
      if (!this._syncing || this._core === null) return
      // A listener may write and so drain again: events stay in order by looping here instead.
      if (this._draining) {
        this._drainAgain = true
        return
      }
      this._draining = true
      try {
        do {
          this._drainAgain = false
          if (this._core === null) return
          const json = this._core.drain()
          if (json !== '') this._dispatchSync(JSON.parse(json))
        } while (this._drainAgain)
      } finally {
        this._draining = false
      }
    }

    _dispatchSync(events) {
      for (const [kind, payload, ok] of events) {
        if (kind === 'changes') {
          this._applyToCache(payload)
          this._notify(payload, 'remote')
          this._persistence?.schedule() // received data is kept locally too
        } else if (kind === 'status') {
          this._status = payload
          this._emit('status', { ...payload })
        } else if (kind === 'failover') {
          this._emit('failover', payload)
        } else if (kind === 'presence') {
          this._emit('presence', payload)
        } else if (kind === 'error') {
          const error = new Error(payload.message)
          error.code = payload.code
          this._emit('error', error)
        } else if (kind === 'flush') {
          const waiter = this._flushes.get(payload)
          this._flushes.delete(payload)
          if (waiter && ok === true) waiter.resolve()
          else if (waiter && ok === 'rejected') {
            const error = new Error('flush: the server refused a change (a read-only connection?)')
            error.code = 'REJECTED'
            waiter.reject(error)
          } else if (waiter) {
            const error = new Error(`flush: not acknowledged within ${waiter.timeoutMs} ms`)
            error.code = 'TIMEOUT'
            waiter.reject(error)
          }
        }
      }
    }

    _emit(event, payload) {
      if (this._earlyEvents) {
        this._earlyEvents.push([event, payload])
        return
      }
      for (const listener of [...this._listeners[event]]) {
        try {
          listener(payload)
        } catch (error) {
          if (event !== 'error') this._emit('error', error)
        }
      }
    }

    /** @internal The core, for `what`, with every delete made so far in it. */
    _use(what) {
      if (this._core === null) throw closedError()
      if (this._deferredDeletes.size > 0) this._applyDeferredDeletes()
      return this._core
    }

    /** @internal Throws if the replica is closed (for reads the cache answers). */
    _open() {
      if (this._core === null) throw closedError()
    }

    /**
     * @internal `collection.delete(id)` inside transact(): the cache knows every record, so it
     * answers at once; the core deletes with the transaction's other deletes (see
     * `_deferredDeletes`). Nothing is announced before the transaction's net change set.
     */
    _deferDelete(collection, id) {
      this._open()
      if (!collection._cache.has(id)) return false
      collection._cache.delete(id)
      let ids = this._deferredDeletes.get(collection.name)
      if (ids === undefined) this._deferredDeletes.set(collection.name, (ids = []))
      ids.push(id)
      return true
    }

    /** @internal Hands the deletes queued inside transact() to the core. */
    _applyDeferredDeletes() {
      const queued = this._deferredDeletes
      this._deferredDeletes = new Map()
      for (const [name, ids] of queued) this._core.deleteMany(name, JSON.stringify(ids))
    }

    /** A collection handle; `{ indexes }` adds indexes on those fields to the ones it has. */
    collection(name, options) {
      const core = this._use('collection')
      if (typeof name !== 'string' || name === '') throw new TypeError('collection: the name must be a non-empty string')
      const indexes = indexedFields(name, options)
      if (indexes.length > 0) core.addIndexes(name, indexes)
      let collection = this._collections.get(name)
      if (collection === undefined) {
        collection = new Collection(this, name)
        this._collections.set(name, collection)
      }
      return collection
    }

    collections() {
      return this._use('collections').collections()
    }

    /** Runs `fn`; its writes form one Yjs transaction (one update, one change notification). */
    transact(fn) {
      const core = this._use('transact')
      if (typeof fn !== 'function') throw new TypeError('transact: expected a function')
      core.beginBatch()
      if (this._batchDepth === 0) this._batchChars = 0
      this._batchDepth++
      try {
        return fn()
      } finally {
        this._batchDepth--
        if (this._core !== null && this._deferredDeletes.size > 0) this._applyDeferredDeletes()
        // The cache already holds every value; the net change set only says what to announce.
        const net = this._core === null ? undefined : core.endBatch(false)
        if (net) this._notify(JSON.parse(net), 'local')
        this._drainSync()
        this._scheduleBroadcast()
      }
    }

    /**
     * The whole document as a Yjs v1 update or, given another document's state vector, only
     * what that document lacks (as Y.encodeStateAsUpdate(doc, stateVector)).
     */
    encodeState(stateVector) {
      const core = this._use('encodeState')
      if (stateVector === undefined) return core.encodeState()
      if (!(stateVector instanceof Uint8Array)) throw new TypeError('encodeState: the state vector must be a Uint8Array')
      return core.encodeDiff(stateVector)
    }

    /**
     * What the document holds, for comparing replicas and servers: `{ stateVector: { client:
     * clock }, deleteSet: { client: [[clock, length], …] } }`. Equal state vectors with different
     * delete sets are different documents.
     */
    stateSummary() {
      return JSON.parse(this._use('stateSummary').stateSummary())
    }

    /** The document's state vector (Yjs v1 encoding). */
    stateVector() {
      return this._use('stateVector').stateVector()
    }

    /**
     * Applies a Yjs v1 update from elsewhere; subscribers see origin 'remote'. Like
     * Y.applyUpdate next to a provider, the update also goes to the server and the other tabs,
     * and `flush()` waits for its acknowledgement.
     */
    applyUpdate(update) {
      const core = this._use('applyUpdate')
      checkUpdate(update)
      // An import is not a local write: any size loads; it is shared in pieces under maxUpdateBytes.
      this._applyRemoteChanges(core.importUpdate(update, this._options.maxUpdateBytes), 'remote')
      this._persistence?.schedule()
      this._drainSync()
      this._scheduleBroadcast()
    }

    /** Listens to 'change' (every change set), 'status', 'failover' or 'error'. Returns an unsubscribe function. */
    on(event, listener) {
      const set = Object.hasOwn(this._listeners, event) ? this._listeners[event] : undefined
      if (set === undefined) throw new TypeError(`on: unknown event '${event}' (expected change, status, failover, presence or error)`)
      if (typeof listener !== 'function') throw new TypeError('on: expected a function')
      set.add(listener)
      if (event === 'change') this._listenersChanged()
      return () => {
        set.delete(listener)
        if (event === 'change') this._listenersChanged()
      }
    }

    async close() {
      if (this._core === null) return
      const core = this._core
      if (this._syncing) core.stopSync()
      this._syncing = false
      if (this._channel) {
        // what this tab wrote last still reaches the others
        for (let update = core.takeBroadcastUpdate(); update !== undefined; update = core.takeBroadcastUpdate()) {
          this._channel.postMessage({ type: 'update', update, storedIn: this._storedIn() })
        }
        this._channel.close()
        this._channel = null
      }
      this._core = null
      for (const { reject } of this._flushes.values()) reject(closedError())
      this._flushes.clear()
      if (this._persistence) await this._persistence.close()
      this._persistence = null
      core.free()
    }

    /** @internal Notifies one local change unless inside transact() (then the net set does). */
    _announce(name, type, id) {
      if (this._batchDepth === 0) this._notify([[name, type, id]], 'local')
    }

    /** @internal `_announce` for many records of one collection. */
    _announceMany(name, type, ids) {
      if (this._batchDepth > 0 || (this.collection(name)._subscribers.size === 0 && this._listeners.change.size === 0)) return
      this._notify(ids.map((id) => [name, type, id]), 'local')
    }

    _applyRemoteChanges(json, origin) {
      if (json === '') return
      const rows = JSON.parse(json)
      this._applyToCache(rows)
      if (this._batchDepth === 0) this._notify(rows, origin)
    }

    /** Remote changes: values come only while someone listens (see _listenersChanged). */
    _applyToCache(rows) {
      for (const [name, type, id, value] of rows) {
        const cache = this.collection(name)._cache
        if (type === 'delete') cache.delete(id)
        else if (value === null) cache.setInCore(id)
        else cache.setRecord(id, value)
      }
    }

    /**
     * Remote change sets carry values only while the app listens to changes; otherwise a
     * value is fetched from the core when it is first read, so loading a large document costs
     * no JSON for records nobody reads.
     */
    _listenersChanged() {
      if (this._core === null) return
      let listening = this._listeners.change.size > 0
      for (const collection of this._collections.values()) listening ||= collection._subscribers.size > 0
      if (listening !== this._changeValues) {
        this._changeValues = listening
        this._core.setChangeValues(listening)
      }
    }

    /** Delivers a change set: per collection to its subscribers, all of it to 'change' listeners. */
    _notify(rows, origin) {
      const everyone = this._listeners.change
      const byCollection = new Map()
      for (const [name, type, id] of rows) {
        const collection = this.collection(name)
        if (collection._subscribers.size === 0 && everyone.size === 0) continue
        let changes = byCollection.get(collection)
        if (changes === undefined) byCollection.set(collection, (changes = []))
        const value = type === 'delete' ? undefined : collection._cache.read(id)
        changes.push({ type, id, value, origin, collection: name })
      }
      for (const [collection, changes] of byCollection) {
        for (const listener of [...collection._subscribers]) this._call(listener, changes)
      }
      if (everyone.size > 0) {
        const all = [...byCollection.values()].flat()
        if (all.length > 0) for (const listener of [...everyone]) this._call(listener, all)
      }
    }

    _call(listener, payload) {
      try {
        listener(payload)
      } catch (error) {
        if (this._listeners.error.size === 0) {
          console.error('yreplica: a change listener threw', error)
        } else {
          for (const onError of [...this._listeners.error]) onError(error)
        }
      }
    }
  }
  return Replica
}
