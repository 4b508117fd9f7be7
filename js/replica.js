// The public API (see docs/api.md) over the wasm core. This file owns the read cache: records
// live here as parsed JSON, kept exact by the change sets the core returns after every
// write and every remote update, so reads never cross into Wasm per record.
//
// What comes back from the core besides records (events, status, endpoint health, query
// plans, checked options, a write's change kind) is declared once, in src/web/contract.rs.

import { checkOptions, warnInsecureEndpoints } from './options.js'
import { checkQueryValue, checkRecord } from './values.js'
import { newId } from './ids.js'
import { indexedFields, validatorOf } from './collection-options.js'
import { Persistence } from './persistence.js'
import { RecordCache } from './record-cache.js'
import { closedError, codedError, invalidValue } from './errors.js'
import { directiveInForce, directiveToStore } from './directive.js'
import { leaderTabsAvailable } from './leader.js'
import { TabSync } from './tab-sync.js'
import { watchQuery, watchRecord, watchStatus, whereWithIds } from './live-query.js'
import { Validation } from './validation.js'

/**
 * What deleting one record adds to a Yjs update, at most in practice: a deleted range for its
 * map and one for its fields (client and clock as variable-length integers), with room for
 * fields updated since, which are ranges of their own.
 */
const DELETE_BYTES = 32

function checkId(id, where) {
  if (typeof id !== 'string' || id === '') {
    throw invalidValue(`${where}: the id must be a non-empty string, got ${id === '' ? 'an empty string' : typeof id}`)
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

/** The fields a patch removes (given as `undefined`), as the core takes them: JSON, or ''. */
function unsetFields(fields) {
  const unset = Object.keys(fields).filter((key) => fields[key] === undefined)
  return unset.length === 0 ? '' : JSON.stringify(unset)
}

function checkUpdate(update) {
  if (!(update instanceof Uint8Array)) throw invalidValue('applyUpdate: expected a Uint8Array holding a Yjs v1 update')
}

function alreadyExists(collection, id) {
  return codedError('ALREADY_EXISTS', `a record with id '${id}' already exists in collection '${collection}'`)
}

function checkQuery(query, what) {
  if (query === null || typeof query !== 'object' || Array.isArray(query)) throw invalidValue(`${what}: the query must be an object`)
  checkWhere(query.where, what)
}

function checkWhere(where, what) {
  if (where === undefined || where === null) return
  if (typeof where !== 'object' || Array.isArray(where)) throw invalidValue(`${what}: 'where' must be an object`)
  for (const key of Object.keys(where)) checkQueryValue(where[key], `${what}, field '${key}'`)
}

/**
 * The Wasm core behind a guard. A call that traps (a Rust panic aborts the module with a
 * `WebAssembly.RuntimeError`) is handed to `trapped`, which breaks the replica and returns the
 * INTERNAL error to throw instead; once broken (`broken()` returns that error), every call
 * throws it without entering Wasm.
 */
function guardCore(core, trapped, broken) {
  const guarded = {}
  const methods = Object.getPrototypeOf(core)
  for (const name of Object.getOwnPropertyNames(methods)) {
    const method = methods[name]
    if (name === 'constructor' || typeof method !== 'function') continue
    guarded[name] = (...args) => {
      const error = broken()
      if (error !== null) throw error
      try {
        return Reflect.apply(method, core, args)
      } catch (thrown) {
        throw thrown instanceof WebAssembly.RuntimeError ? trapped(thrown) : thrown
      }
    }
  }
  return guarded
}

/**
 * A collection handle. It shares nothing with its replica but what the replica hands it when
 * it makes the handle (see `Replica#collectionEntry`):
 * - `cache`, the collection's RecordCache, and `subscribers`, its set of listeners, which the
 *   replica also reads to deliver remote changes;
 * - `host`, all the collection asks of the replica: `core(what)` (the Wasm core, or throws
 *   CLOSED / INTERNAL), `settle(write)` (runs a synchronous write; its promise resolves when
 *   the write is durable), `checkWriteSize(bytes, where)` and `writeChunks(sizes, where)`
 *   (maxUpdateBytes), `changed(collection, type, ids)` (local changes were made: notify them and
 *   deliver sync news) and `listenersChanged()` (a subscriber came or went).
 */
export class Collection {
  #host
  #cache
  #subscribers
  #validation

  /** @internal */
  constructor(name, { host, cache, subscribers, validation }) {
    this.name = name
    this.#host = host
    /** Every record of the collection; values are never handed out (reads copy them). */
    this.#cache = cache
    this.#subscribers = subscribers
    /** The collection's validator and its invalid records (js/validation.js). */
    this.#validation = validation
  }

  insert(record) {
    return this.#writeOne('insert', undefined, record)
  }

  update(id, fields) {
    return this.#writeOne('update', id, fields)
  }

  replace(id, record) {
    return this.#writeOne('replace', id, record)
  }

  upsert(record) {
    return this.#writeOne('upsert', undefined, record)
  }

  delete(id) {
    // Inside transact() the cache answers and the core deletes with the transaction's other
    // deletes (see Replica._deferredDeletes).
    if (this.#host.inBatch()) {
      return this.#host.settle(() => {
        checkId(id, `${this.name}.delete`)
        return this.#host.deferDelete(this.name, id)
      })
    }
    return this.#writeOne('delete', id, undefined)
  }

  /**
   * The one path of single-record writes: the checks, the size bound, one call into the core,
   * then the cache from what was written (exact: the core stored the same JSON) and the
   * record's net change announced, as the core names it ('insert', 'update', 'delete', or
   * undefined for none). Resolves with the id (insert), whether a record was deleted
   * (delete), or undefined.
   */
  #writeOne(op, id, fields) {
    return this.#host.settle(() => {
      const where = `${this.name}.${op}`
      const idGiven = op === 'update' || op === 'replace' || op === 'delete'
      if (idGiven) checkId(id, where)
      let json
      if (op !== 'delete') {
        checkRecord(fields, where)
        if (op === 'insert') {
          id = fields.id === undefined ? newId() : fields.id
          checkId(id, where)
        } else if (op === 'upsert') {
          id = fields.id
          checkId(id, `${where}: field 'id'`)
        }
        json = JSON.stringify(fields)
        this.#host.checkWriteSize(json.length, where)
        if (this.#validation.active) this.#validation.checkLocal(where, op, id, fields, op === 'update' ? this.#cache.read(id) : undefined)
      }
      const core = this.#host.core(where)
      const change =
        op === 'delete'
          ? core.delete(this.name, id)
          : op === 'update'
            ? core.update(this.name, id, json, unsetFields(fields))
            : core[op](this.name, id, json) // insert, replace, upsert
      if (change !== undefined) {
        this.#validation.written(id)
        if (change === 'delete') this.#cache.delete(id)
        else if (op === 'update') this.#patchCached(id, fields)
        else this.#cache.setText(id, json)
        this.#host.changed(this.name, change, [id])
      }
      return op === 'insert' ? id : op === 'delete' ? change === 'delete' : undefined
    })
  }

  /** An updated record: its cached object patched in place (never handed out: reads copy it). */
  #patchCached(id, fields) {
    const current = this.#cache.parsed(id)
    // A record nobody has read stays unparsed: the core holds its new value.
    if (current === undefined) return this.#cache.setInCore(id)
    mergeFields(current, fields)
    current.id = id
  }

  insertMany(records) {
    return this.#host.settle(() => {
      const where = `${this.name}.insertMany`
      if (!Array.isArray(records)) throw invalidValue(`${where}: expected an array of records`)
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
          if (this.#cache.has(id)) throw alreadyExists(this.name, id)
          if (this.#validation.active) this.#validation.checkLocal(`${where}, record ${i}`, 'insert', id, records[i])
          ids[i] = id
          jsons[i] = JSON.stringify(records[i])
          sizes[i] = updateSize(jsons[i], fields)
          this.#cache.setText(id, jsons[i])
        }
        this.#writeMany(ids, jsons, sizes, where, progress)
      } catch (error) {
        for (let i = progress.written; i < cached; i++) this.#cache.delete(ids[i])
        throw error
      }
      this.#host.changed(this.name, 'insert', ids)
      return ids
    })
  }

  /**
   * Writes checked records in updates under maxUpdateBytes: consecutive records go in one
   * Yjs update until the next would cross it (inside transact() the whole transaction is one
   * update instead). `progress.written` counts the records written so far (if a later update
   * is refused, the earlier ones stand, as separate writes would).
   */
  #writeMany(ids, jsons, sizes, where, progress) {
    const core = this.#host.core(where)
    const chunks = this.#host.writeChunks(sizes, where)
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

  /** Deletes the records under `ids` together: one Yjs update (or a few, see below). */
  deleteMany(ids) {
    return this.#host.settle(() => {
      const where = `${this.name}.deleteMany`
      if (!Array.isArray(ids)) throw invalidValue(`${where}: expected an array of ids`)
      for (let i = 0; i < ids.length; i++) {
        if (typeof ids[i] !== 'string' || ids[i] === '') checkId(ids[i], `${where}, id ${i}`)
      }
      const core = this.#host.core(where)
      const deleted = []
      // One transaction (deleting records together costs far less than one by one: see
      // Replica::delete_many). Outside transact() the ids go in runs whose updates stay under
      // maxUpdateBytes, counting a generous DELETE_BYTES per id; inside, the transaction is one
      // update anyway.
      const run = this.#host.inBatch() ? ids.length : Math.max(1, Math.floor(this.#host.maxUpdateBytes() / DELETE_BYTES))
      for (let from = 0; from < ids.length; from += run) {
        const part = ids.slice(from, from + run)
        const flags = core.deleteMany(this.name, JSON.stringify(part))
        for (let i = 0; i < part.length; i++) {
          if (flags[i] === 1) {
            this.#cache.delete(part[i])
            deleted.push(part[i])
          }
        }
      }
      this.#host.changed(this.name, 'delete', deleted)
      return deleted.length
    })
  }

  get(id) {
    // (reads the cache only: deletes queued inside transact() stay queued)
    this.#host.open()
    return this.#cache.read(id)
  }

  /** Every record, in the order they entered this replica's cache (see RecordCache.values). */
  all() {
    this.#host.open()
    return this.#cache.values()
  }

  /** `{ where, orderBy, limit, offset, includeInvalid }`: the core evaluates it and returns ids only. */
  find(query = {}) {
    const what = `${this.name}.find`
    const core = this.#host.core(what)
    checkQuery(query, what)
    return this.#cache.readMany(JSON.parse(core.find(this.name, JSON.stringify(this.#withoutInvalid(query, what)))))
  }

  /**
   * The query the core runs: without `includeInvalid`, and unless it is true, with the records
   * that failed validation left out (see js/validation.js).
   */
  #withoutInvalid(query, what) {
    let rest = query
    let includeInvalid
    if (Object.hasOwn(query, 'includeInvalid')) {
      ;({ includeInvalid, ...rest } = query)
      if (includeInvalid !== undefined && typeof includeInvalid !== 'boolean') throw codedError('INVALID_QUERY', `${what}: includeInvalid must be true or false`)
    }
    if (includeInvalid === true || this.#validation.invalid.size === 0) return rest
    const invalid = this.#validation.invalidIds((id) => this.#cache.has(id))
    return invalid.length === 0 ? rest : { ...rest, where: whereWithIds(rest.where, { $nin: invalid }) }
  }

  /** Runs `query` as `find` would: `{ index, scanned }`, the index it used (null: none) and how many records it examined. */
  explain(query = {}) {
    const what = `${this.name}.explain`
    const core = this.#host.core(what)
    checkQuery(query, what)
    return core.explain(this.name, JSON.stringify(this.#withoutInvalid(query, what)))
  }

  /** How many records match `where`; records that failed validation are not counted. */
  count(where) {
    const what = `${this.name}.count`
    const core = this.#host.core(what)
    checkWhere(where, what)
    const invalid = this.#validation.invalid.size === 0 ? [] : this.#validation.invalidIds((id) => this.#cache.has(id))
    if (where === undefined || where === null || Object.keys(where).length === 0) {
      if (invalid.length === 0) return this.#cache.size
      return this.#cache.size - invalid.length
    }
    return core.count(this.name, JSON.stringify(invalid.length === 0 ? where : whereWithIds(where, { $nin: invalid })))
  }

  /** Calls `listener(result, diff)` now and after every change set that changes `find(query)`'s result (js/live-query.js). */
  watch(query, listener) {
    this.#host.open()
    // A watch starts from the ids of the whole match and their cached values (no copies).
    const start = (q) => {
      const what = `${this.name}.watch`
      const ids = JSON.parse(this.#host.core(what).find(this.name, JSON.stringify(this.#withoutInvalid(q, what))))
      return { ids, peek: () => this.#cache.peekMany(ids) }
    }
    return watchQuery(this, query, listener, start)
  }

  /** Calls `listener(record | undefined)` now and whenever the record `id` changes. */
  watchOne(id, listener, options) {
    this.#host.open()
    return watchRecord(this, id, listener, options)
  }

  subscribe(listener) {
    if (typeof listener !== 'function') throw invalidValue(`${this.name}.subscribe: expected a function`)
    this.#subscribers.add(listener)
    this.#host.listenersChanged()
    return () => {
      this.#subscribers.delete(listener)
      this.#host.listenersChanged()
    }
  }
}

const FENCED = 'this tab no longer leads the others'

/** `Base` refusing to open a connection while `mayConnect()` is false (a leader tab's fence). */
function fenced(Base, mayConnect) {
  return class FencedWebSocket extends Base {
    constructor(...args) {
      if (!mayConnect()) throw new Error(FENCED)
      super(...args)
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
    /** Opens a replica. See docs/api.md "Replica.open(options)". */
    static async open(options) {
      const module = await loadCore()
      const checked = checkOptions(options, module, env)
      // A random 32-bit Yjs client id, as Yjs itself picks (smaller encodings than 53 bits).
      const clientId = globalThis.crypto.getRandomValues(new Uint32Array(1))[0] || 1
      const replica = new Replica(module, new module.WasmReplica(clientId), checked)
      try {
        replica._listenersChanged()
        await replica._openStorage(env)
        if (replica._broken) throw replica._broken
      } catch (error) {
        replica._closed = true
        replica._release(replica._raw)
        replica._core = null
        throw error
      }
      if (env.broadcast) replica._startBroadcast()
      if (checked.sync.endpoints.length > 0) {
        warnInsecureEndpoints(checked.sync.endpoints)
        try {
          if (checked.leaderTab && replica._channel !== null && leaderTabsAvailable()) await replica._startTabSync(env.defaultWebSocket)
          else replica._startSync(env.defaultWebSocket)
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
    constructor(module, core, options) {
      this._module = module
      /** The Wasm core itself, freed at close(). */
      this._raw = core
      /** The Wasm core behind its guard (every call goes through it); null once closed or broken. */
      this._core = guardCore(core, (trap) => this._trapped(trap), () => this._broken)
      /** The INTERNAL error that broke this replica (a Rust panic), or null. */
      this._broken = null
      this._closed = false
      this.name = options.name
      this.room = options.room
      this._options = options
      /** @type {Map<string, { handle: Collection, cache: RecordCache, subscribers: Set<Function>, validation: Validation }>} */
      this._collections = new Map()
      this._listeners = { change: new Set(), status: new Set(), failover: new Set(), error: new Set(), presence: new Set(), directive: new Set(), leader: new Set(), invalid: new Set() }
      /** With leaderTab: this tab's part in the election and the tab protocol (TabSync), else null. */
      this._tabs = null
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
      this._status = { connection: 'offline', endpoint: null, pending: 0, servers: 0 }
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
      /** What every Collection of this replica may ask of it (see Collection). */
      this._host = {
        core: (what) => this._use(what),
        settle: (write) => this._settle(write),
        checkWriteSize: (bytes, where) => this._checkWriteSize(bytes, where),
        writeChunks: (sizes, where) => this._writeChunks(sizes, where),
        maxUpdateBytes: () => this._options.maxUpdateBytes,
        inBatch: () => this._batchDepth > 0,
        deferDelete: (name, id) => this._deferDelete(name, id),
        open: () => this._open(),
        changed: (name, type, ids) => {
          if (this._batchDepth === 0 && this._listenedTo(name)) this._notify(ids.map((id) => [name, type, id]), 'local')
          this._drainSync()
        },
        listenersChanged: () => this._listenersChanged(),
      }
    }

    /**
     * @internal A call into Wasm trapped: a Rust panic (whose message the panic hook kept), or
     * another trap of the module. Its state can no longer be trusted, so the replica is
     * unusable from now on: every call throws (or rejects with) the INTERNAL error this
     * returns, which is also emitted as an 'error' event. `close()` still releases it.
     */
    _trapped(trap) {
      if (this._broken) return this._broken
      const panic = this._module.takePanicMessage?.()
      const error = codedError('INTERNAL', `${panic ?? `yreplica: internal error (${trap.message})`}; this replica can no longer be used: close it and open it again`)
      error.cause = trap
      this._broken = error
      this._core = null
      if (this._syncing) {
        this._syncing = false
        // Later: the call that trapped may be inside the driver, whose state it left borrowed.
        const core = this._raw
        queueMicrotask(() => {
          try {
            core.stopSync()
          } catch {
            // a module that trapped may trap again; its sockets close when it is freed
          }
        })
      }
      for (const { reject } of this._flushes.values()) reject(error)
      this._flushes.clear()
      this._emit('error', error)
      return error
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
        throw codedError('TOO_LARGE', `${where}: this write is ${total} bytes of JSON${inBatch}, over maxUpdateBytes (${limit}); nothing was written`, RangeError)
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
          throw codedError('TOO_LARGE', `${where}, record ${i}: this record takes ${sizes[i]} bytes, over maxUpdateBytes (${limit}); nothing was written`, RangeError)
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
          const json = this._use('Replica.open').applyUpdate(update)
          if (json !== '') this._applyToCache(JSON.parse(json))
        })
        this._use('Replica.open').captureForStorage()
      } catch (error) {
        try {
          await adapter.close()
        } catch {
          // the load error is the one to report
        }
        throw error
      }
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
      const core = this._use('Replica.open')
      core.captureForBroadcast()
      const channel = new BroadcastChannel(`yreplica:${this.name}`)
      channel.onmessage = (event) => this._onBroadcast(event.data, channel)
      this._channel = channel
      // Ask the others for anything they hold that this tab lacks.
      channel.postMessage({ type: 'state-vector', stateVector: core.stateVector() })
    }

    _onBroadcast(message, channel) {
      if (this._core === null || message === null || typeof message !== 'object') return
      try {
        if (message.type === 'update' && message.update instanceof Uint8Array) {
          // the other tab stores its own writes: in the same IndexedDB database when both use
          // it, so they are not written there twice; and sends them to the servers itself,
          // unless this tab leads it (leaderTab)
          const storedHere = message.storedIn === 'indexeddb' && this._storedIn() === 'indexeddb'
          const leads = this._tabs?.isLeader === true
          this._applyRemoteChanges(this._core.applyFromTab(message.update, storedHere, leads), 'remote')
          this._persistence?.schedule()
          if (leads) this._drainSync()
        } else if (message.type === 'state-vector' && message.stateVector instanceof Uint8Array) {
          channel.postMessage({ type: 'update', update: this._core.encodeDiff(message.stateVector), storedIn: this._storedIn() })
        } else {
          this._tabs?.handle(message)
        }
      } catch (error) {
        // the INTERNAL error of a broken replica was emitted when it broke
        if (error !== this._broken) this._emit('error', error)
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
        try {
          this._postBroadcastUpdates(this._core)
        } catch {
          // only a broken replica fails here, and that was reported when it broke
        }
      })
    }

    /** Posts this tab's local updates since the last time to the other tabs. */
    _postBroadcastUpdates(core) {
      for (let update = core.takeBroadcastUpdate(); update !== undefined; update = core.takeBroadcastUpdate()) {
        this._channel.postMessage({ type: 'update', update, storedIn: this._storedIn() })
      }
    }

    /**
     * leaderTab: this tab joins the election of the tabs of its origin and name; it syncs
     * while it leads, and mirrors the leader while it follows (js/tab-sync.js).
     */
    _startTabSync(defaultWebSocket) {
      this._tabs = new TabSync(this.name, {
        startSync: (mayConnect) => {
          if (this._core === null) return
          this._startSync(defaultWebSocket, mayConnect)
          this._core.relayServerUpdates(true)
        },
        stopSync: () => {
          if (this._core !== null && this._syncing) {
            this._core.stopSync()
            this._core.relayServerUpdates(false)
          }
          this._syncing = false
        },
        post: (message) => this._channel?.postMessage(message),
        emit: (event, payload) => this._emit(event, payload),
        flush: (options) => this.flush(options),
        run: (command, arg) => this[command](arg),
        state: () => ({ status: { ...this._status }, endpoints: this.endpoints, presence: this.presence }),
        postUpdates: () => {
          if (this._core !== null && this._channel) this._postBroadcastUpdates(this._core)
        },
        takeFlushes: () => {
          const waiting = [...this._flushes.values()]
          this._flushes.clear()
          return waiting
        },
      }, this._options.sync.endpoints)
      return this._tabs.ready
    }

    /** Whether this tab runs the sync engine: it leads the others (leaderTab), or syncs alone. */
    get isLeader() {
      return this._tabs === null ? this._syncing : this._tabs.isLeader
    }

    _startSync(defaultWebSocket, mayConnect) {
      const Base = this._options.WebSocket ?? globalThis.WebSocket ?? defaultWebSocket
      if (typeof Base !== 'function') {
        throw codedError('INVALID_OPTION', 'Replica.open: no WebSocket implementation here; pass the `WebSocket` option')
      }
      // A leader tab that was frozen may have been replaced: it opens nothing until it knows.
      const WebSocketClass = mayConnect === undefined ? Base : fenced(Base, mayConnect)
      const seed = Math.floor(Math.random() * 2 ** 52)
      this._use('Replica.open').startSync(JSON.stringify(this._options.sync), this.room, WebSocketClass, () => this._drainSync(), seed)
      this._syncing = true
      this._drainSync()
    }

    /** Connection state: { connection, endpoint, pending, servers } (a follower tab: the leader's). */
    get status() {
      return this._tabs !== null && !this._tabs.isLeader ? { ...this._tabs.status } : { ...this._status }
    }

    /** Per-endpoint health: [{ url, state, rttMs, lastSeenAt, failures, active, role }]. */
    get endpoints() {
      if (this._core === null) return []
      return this._tabs !== null && !this._tabs.isLeader ? this._tabs.endpoints : this._core.endpoints()
    }

    /**
     * Resolves when every change made before the call is acknowledged by `writeConcern` servers
     * (the option of that name unless given here).
     */
    flush(options) {
      try {
        this._use('flush')
        const { timeoutMs = 5000, writeConcern } = options ?? {}
        if (!this._syncing && this._tabs === null) {
          return Promise.reject(codedError('NO_ENDPOINTS', 'flush: this replica has no endpoints to acknowledge its changes'))
        }
        if (!(timeoutMs > 0 && timeoutMs <= 2_147_483_647)) {
          return Promise.reject(invalidValue('flush: timeoutMs must be a positive number of milliseconds (at most 2147483647)'))
        }
        const servers = this._options.sync.servers
        // 0: the writeConcern option
        const concern = writeConcern === undefined ? 0 : writeConcern === 'all' ? servers : writeConcern
        if (!(Number.isInteger(concern) && concern >= 0 && concern <= servers) || writeConcern === 0) {
          return Promise.reject(invalidValue(`flush: writeConcern must be a whole number from 1 to servers (${servers}) or 'all', got ${String(writeConcern)}`))
        }
        if (!this._syncing) {
          // the leader tab flushes for this one, after the updates posted before the request
          // (inside transact() they are posted when it ends)
          const ask = () => this._tabs.askFlush(timeoutMs, writeConcern)
          return this._batchDepth > 0 ? new Promise((resolve) => queueMicrotask(resolve)).then(ask) : ask()
        }
        const id = this._nextFlush++
        const done = new Promise((resolve, reject) => this._flushes.set(id, { resolve, reject, timeoutMs }))
        const ask = () => {
          if (this._core === null) return
          try {
            this._core.flush(id, timeoutMs, concern)
            this._drainSync()
          } catch {
            // only a broken replica fails here, and breaking rejected this flush
          }
        }
        // Inside transact() the batch's writes reach the sync engine only when it ends.
        if (this._batchDepth > 0) queueMicrotask(ask)
        else ask()
        return done
      } catch (error) {
        return Promise.reject(error)
      }
    }

    /** Leaves the current endpoint for the next one now. */
    async failover() {
      const core = this._use('failover')
      if (this._follows()) return this._tabs.forward('failover')
      core.failover()
      this._drainSync()
    }

    /** Goes to `url` (one of the endpoints) and stays there until unpin(). */
    async switchTo(url) {
      const core = this._use('switchTo')
      if (this._follows()) {
        if (!this._options.sync.endpoints.includes(url)) throw codedError('UNKNOWN_ENDPOINT', `'${url}' is not one of the endpoints`)
        return this._tabs.forward('switchTo', url)
      }
      core.switchTo(url)
      this._drainSync()
    }

    unpin() {
      const core = this._use('unpin')
      if (this._follows()) return this._tabs.forward('unpin')
      core.unpin()
      this._drainSync()
    }

    /** Whether another tab runs the sync engine for this one (leaderTab). */
    _follows() {
      return this._tabs !== null && !this._tabs.isLeader
    }

    /** Shares this client's presence (any JSON value; null or undefined clears it). */
    setPresence(state) {
      const core = this._use('setPresence')
      checkQueryValue(state, 'setPresence')
      if (this._follows()) return this._tabs.forward('setPresence', state ?? null)
      core.setPresence(state === undefined || state === null ? undefined : JSON.stringify(state))
      this._drainSync()
    }

    /**
     * The room's operator directive in force, `{ primary, drain, note, by, at, expiresAt }`,
     * or null (none, or expired).
     */
    get directive() {
      return this._core === null ? null : directiveInForce(this._core.directive())
    }

    /**
     * Writes the operator directive into the room: every replica of the room follows it.
     * Resolves when it is durable locally; `flush()` waits for the servers.
     */
    setDirective(directive) {
      return this._settle(() => {
        const core = this._use('setDirective')
        core.setDirective(JSON.stringify(directiveToStore(directive, this.name)))
        this._drainSync()
      })
    }

    /** Removes the operator directive from the room. */
    clearDirective() {
      return this._settle(() => {
        this._use('clearDirective').clearDirective()
        this._drainSync()
      })
    }

    /** The other clients' presence: [{ clientId, state }]. */
    get presence() {
      if (this._core === null) return []
      return this._follows() ? this._tabs.presence : JSON.parse(this._core.presence())
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
          const events = this._core.drain()
          if (events !== undefined) this._dispatchSync(events)
        } while (this._drainAgain)
        // a leader tab hands the others what the servers sent
        if (this._tabs?.isLeader) this._scheduleBroadcast()
      } catch (error) {
        // Called from a socket or a timer (the driver's wake), nobody could catch it; a broken
        // replica has reported its INTERNAL error as an 'error' event already.
        if (error !== this._broken) throw error
      } finally {
        this._draining = false
      }
    }

    /** The driver's events, as src/web/contract.rs declares them (`SyncEvent`). */
    _dispatchSync(events) {
      for (const event of events) {
        switch (event.kind) {
          case 'changes': {
            const rows = JSON.parse(event.json)
            this._applyToCache(rows)
            this._notify(rows, 'remote')
            this._persistence?.schedule() // received data is kept locally too
            break
          }
          case 'status': {
            const { connection, endpoint, pending, servers } = event
            this._status = { connection, endpoint, pending, servers }
            this._emit('status', { ...this._status })
            this._tabs?.publish('status', { ...this._status })
            break
          }
          case 'failover': {
            const { from, to, reason, at, warm } = event
            this._emit('failover', { from, to, reason, at, warm })
            this._tabs?.publish('failover', { from, to, reason, at, warm })
            break
          }
          case 'presence': {
            const presence = JSON.parse(event.json)
            this._emit('presence', presence)
            this._tabs?.publish('presence', presence)
            break
          }
          case 'directive':
            this._emit('directive', directiveInForce(event.json ?? undefined))
            this._tabs?.publish('directive', directiveInForce(event.json ?? undefined))
            break
          case 'error':
            // a tab that was frozen while leading refuses to connect until it knows it leads
            if (event.code === 'CONNECT_FAILED' && event.message.includes(FENCED)) break
            this._emit('error', codedError(event.code, event.message))
            break
          case 'flush':
            this._settleFlush(event.id, event.outcome)
            break
        }
      }
    }

    /** A flush ended: 'acknowledged', 'timedOut' or 'rejected' (`FlushOutcome`). */
    _settleFlush(id, outcome) {
      const waiter = this._flushes.get(id)
      if (waiter === undefined) return
      this._flushes.delete(id)
      if (outcome === 'acknowledged') waiter.resolve()
      else if (outcome === 'rejected') waiter.reject(codedError('REJECTED', 'flush: the server refused a change (a read-only connection?)'))
      else waiter.reject(codedError('TIMEOUT', `flush: not acknowledged within ${waiter.timeoutMs} ms`))
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
          this._listenerThrew(event, error)
        }
      }
    }

    /**
     * A listener threw. That never stops the other listeners, nor the write or the event that
     * called them: what it threw becomes an 'error' event or, thrown by an 'error' listener or
     * with no 'error' listener attached, is logged with console.error.
     */
    _listenerThrew(event, error) {
      if (event === 'error' || this._listeners.error.size === 0) {
        console.error(`yreplica: ${event === 'error' ? 'an' : 'a'} '${event}' listener threw`, error)
      } else {
        this._emit('error', error)
      }
    }

    /**
     * The core, with every delete made so far in it, or throws CLOSED (or, once broken, the
     * INTERNAL error).
     */
    _use(what) {
      if (this._core === null) throw this._broken ?? closedError(what)
      if (this._deferredDeletes.size > 0) this._applyDeferredDeletes()
      return this._core
    }

    /** @internal Throws if the replica is closed (for reads the cache answers). */
    _open() {
      if (this._core === null) throw this._broken ?? closedError()
    }

    /**
     * @internal `collection.delete(id)` inside transact(): the cache knows every record, so it
     * answers at once; the core deletes with the transaction's other deletes (see
     * `_deferredDeletes`). Nothing is announced before the transaction's net change set.
     */
    _deferDelete(name, id) {
      this._open()
      const { cache } = this._collectionEntry(name)
      if (!cache.has(id)) return false
      cache.delete(id)
      let ids = this._deferredDeletes.get(name)
      if (ids === undefined) this._deferredDeletes.set(name, (ids = []))
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
      if (typeof name !== 'string' || name === '') throw invalidValue('collection: the name must be a non-empty string')
      const indexes = indexedFields(name, options)
      const validate = validatorOf(name, options)
      if (indexes.length > 0) core.addIndexes(name, indexes)
      const entry = this._collectionEntry(name)
      if (validate !== undefined) this._setValidator(entry, validate)
      return entry.handle
    }

    /**
     * @internal The collection `name`: its handle, and the cache and subscribers the handle
     * was made with, which this class reads (the handle's own fields it never touches).
     */
    _collectionEntry(name) {
      let entry = this._collections.get(name)
      if (entry === undefined) {
        const cache = new RecordCache((ids) => {
          const found = JSON.parse(this._use(`${name}: reading records`).getMany(name, JSON.stringify(ids)))
          return found.map((record) => record ?? undefined)
        })
        const subscribers = new Set()
        const validation = new Validation(name)
        entry = { cache, subscribers, validation, handle: new Collection(name, { host: this._host, cache, subscribers, validation }) }
        this._collections.set(name, entry)
      }
      return entry
    }

    collections() {
      return this._use('collections').collections()
    }

    /**
     * @internal A collection's validator, given or replaced: the records it holds are checked
     * now, and those that fail are reported in one 'invalid' event after the call returns.
     */
    _setValidator(entry, validate) {
      entry.validation.validate = validate
      entry.validation.invalid.clear()
      const records = entry.cache.values()
      const reports = entry.validation.checkRemote(records.map((record) => record.id), records)
      if (reports.length > 0) queueMicrotask(() => this._emit('invalid', reports))
    }

    /** Calls `listener({ ...status, endpoints, directive })` now and on every change of them (js/live-query.js). */
    watchStatus(listener) {
      return watchStatus(this, listener)
    }

    /** Runs `fn`; its writes form one Yjs transaction (one update, one change notification). */
    transact(fn) {
      const core = this._use('transact')
      if (typeof fn !== 'function') throw invalidValue('transact: expected a function')
      core.beginBatch()
      if (this._batchDepth === 0) this._batchChars = 0
      this._batchDepth++
      try {
        return fn()
      } finally {
        this._batchDepth--
        if (this._core !== null && this._deferredDeletes.size > 0) this._applyDeferredDeletes()
        // The cache already holds every value; the net change set only says what to announce.
        const net = this._core === null ? undefined : core.endBatch()
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
      if (!(stateVector instanceof Uint8Array)) throw invalidValue('encodeState: the state vector must be a Uint8Array')
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

    /** Listens to 'change' (every change set), 'status', 'failover', 'presence', 'directive', 'leader', 'invalid' or 'error'. Returns an unsubscribe function. */
    on(event, listener) {
      const set = Object.hasOwn(this._listeners, event) ? this._listeners[event] : undefined
      if (set === undefined) throw invalidValue(`on: unknown event '${event}' (expected change, status, failover, presence, directive, leader, invalid or error)`)
      if (typeof listener !== 'function') throw invalidValue('on: expected a function')
      set.add(listener)
      if (event === 'change') this._listenersChanged()
      return () => {
        set.delete(listener)
        if (event === 'change') this._listenersChanged()
      }
    }

    async close() {
      if (this._closed) return
      this._closed = true
      this._tabs?.close()
      const core = this._core
      this._core = null
      if (core !== null) {
        if (this._syncing) core.stopSync()
        // what this tab wrote last still reaches the others
        if (this._channel) this._postBroadcastUpdates(core)
      }
      this._syncing = false
      this._channel?.close()
      this._channel = null
      for (const { reject } of this._flushes.values()) reject(closedError())
      this._flushes.clear()
      if (this._persistence) await this._persistence.close()
      this._persistence = null
      this._release(this._raw)
    }

    /**
     * Frees the Wasm core. A call that trapped left it in use, so the module may refuse to free
     * it (it is then left to the module, its sync stopped), or trap again: it is let go all the
     * same.
     */
    _release(core) {
      if (this._broken === null) return core.free()
      for (const release of [() => core.stopSync(), () => core.free()]) {
        try {
          release()
        } catch {
          // nothing more can be done for a module that trapped
        }
      }
    }

    /** Whether anyone listens to the changes of collection `name`. */
    _listenedTo(name) {
      return this._listeners.change.size > 0 || this._collectionEntry(name).subscribers.size > 0
    }

    _applyRemoteChanges(json, origin) {
      if (json === '') return
      const rows = JSON.parse(json)
      this._applyToCache(rows)
      if (this._batchDepth === 0) this._notify(rows, origin)
    }

    /**
     * Remote changes, as the rows of the core's change sets, `[collection, type, id, value]`
     * (`ChangeSet::to_json`): values come only while someone listens (see _listenersChanged).
     */
    _applyToCache(rows) {
      let validated = null
      for (const [name, type, id, value] of rows) {
        const entry = this._collectionEntry(name)
        const cache = entry.cache
        if (type === 'delete') cache.delete(id)
        else if (value === null) cache.setInCore(id)
        else cache.setRecord(id, value)
        if (entry.validation.active) {
          validated ??= new Map()
          if (!validated.has(entry)) validated.set(entry, [])
          validated.get(entry).push(id)
        }
      }
      // Records from elsewhere are kept whatever they hold; those that fail validation are
      // left out of queries and reported (js/validation.js).
      if (validated === null) return
      const reports = []
      for (const [entry, ids] of validated) reports.push(...entry.validation.checkRemote(ids, entry.cache.readMany(ids)))
      if (reports.length > 0) this._emit('invalid', reports)
    }

    /**
     * Remote change sets carry values only while the app listens to changes; otherwise a
     * value is fetched from the core when it is first read, so loading a large document costs
     * no JSON for records nobody reads.
     */
    _listenersChanged() {
      if (this._core === null) return
      let listening = this._listeners.change.size > 0
      for (const { subscribers } of this._collections.values()) listening ||= subscribers.size > 0
      if (listening !== this._changeValues) {
        this._changeValues = listening
        this._core.setChangeValues(listening ? 'include' : 'omit')
      }
    }

    /** Delivers a change set: per collection to its subscribers, all of it to 'change' listeners. */
    _notify(rows, origin) {
      const everyone = this._listeners.change
      const byCollection = new Map()
      for (const [name, type, id] of rows) {
        const entry = this._collectionEntry(name)
        if (entry.subscribers.size === 0 && everyone.size === 0) continue
        let changes = byCollection.get(entry)
        if (changes === undefined) byCollection.set(entry, (changes = []))
        const value = type === 'delete' ? undefined : entry.cache.read(id)
        changes.push({ type, id, value, origin, collection: name })
      }
      for (const [entry, changes] of byCollection) {
        for (const listener of [...entry.subscribers]) this._call(listener, changes)
      }
      if (everyone.size > 0) {
        const all = [...byCollection.values()].flat()
        if (all.length > 0) for (const listener of [...everyone]) this._call(listener, all)
      }
    }

    /** Calls a change listener (see _listenerThrew for one that throws). */
    _call(listener, payload) {
      try {
        listener(payload)
      } catch (error) {
        this._listenerThrew('change', error)
      }
    }
  }
  return Replica
}
