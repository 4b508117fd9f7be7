// Live queries: collection.watch(query, fn), collection.watchOne(id, fn) and
// replica.watchStatus(fn) (docs/api.md "Live queries").
//
// A watch keeps, for its `where`, the ids of every matching record in result order, with the
// values of their `orderBy` fields, and the records of its window (`offset`, `limit`). After a
// change set it asks the core only about the records the set names (one `find` by id, so the
// filter means exactly what `find` means, and a record outside the filter costs a lookup, not a
// scan), moves those records in or out of the ordered ids by binary search, and cuts the window
// again. The order is the core's (src/replica/query.rs `compare`), redone here for the records
// that moved: missing < null < booleans < numbers < strings < arrays < objects, ties by id.

import { invalidValue } from './errors.js'
import { cloneJson } from './values.js'

const MISSING = Symbol('missing')

/** Above this many changed members, the ordered ids are rebuilt instead of spliced one by one. */
const BULK = 32

function rank(value) {
  if (value === MISSING) return 0
  if (value === null || value === undefined) return 1
  switch (typeof value) {
    case 'boolean':
      return 2
    case 'number':
      return 3
    case 'string':
      return 4
  }
  return Array.isArray(value) ? 5 : 6
}

/**
 * Strings in code point order, as Rust compares them (UTF-8 bytes): UTF-16 code units agree
 * with it except where a surrogate (U+D800–DFFF) meets a unit at or above U+E000.
 */
export function compareStrings(a, b) {
  if (a === b) return 0
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i)
    let y = b.charCodeAt(i)
    if (x === y) continue
    if (x >= 0xd800 && y >= 0xd800) {
      // surrogates stand for code points above U+FFFF: lift them over U+E000–FFFF
      if (x < 0xe000) x += 0x2800
      if (y < 0xe000) y += 0x2800
    }
    return x < y ? -1 : 1
  }
  return a.length - b.length < 0 ? -1 : a.length === b.length ? 0 : 1
}

/** The core's total order over JSON values (MISSING for an absent field). */
export function compareValues(a, b) {
  const ra = rank(a)
  const rb = rank(b)
  if (ra !== rb) return ra < rb ? -1 : 1
  switch (ra) {
    case 2:
      return a === b ? 0 : a ? 1 : -1
    case 3:
      // f64 total order: -0 before 0 (JSON never stores NaN)
      if (a < b) return -1
      if (a > b) return 1
      return Object.is(a, b) ? 0 : Object.is(a, -0) ? -1 : 1
    case 4:
      return compareStrings(a, b)
    case 5: {
      const n = Math.min(a.length, b.length)
      for (let i = 0; i < n; i++) {
        const o = compareValues(a[i], b[i])
        if (o !== 0) return o
      }
      return a.length === b.length ? 0 : a.length < b.length ? -1 : 1
    }
    case 6: {
      const xs = Object.keys(a).sort(compareStrings)
      const ys = Object.keys(b).sort(compareStrings)
      const n = Math.min(xs.length, ys.length)
      for (let i = 0; i < n; i++) {
        const o = compareStrings(xs[i], ys[i]) || compareValues(a[xs[i]], b[ys[i]])
        if (o !== 0) return o
      }
      return xs.length === ys.length ? 0 : xs.length < ys.length ? -1 : 1
    }
  }
  return 0
}

/** Deep equality of JSON data (records as read: fresh plain objects). */
export function jsonEqual(a, b) {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false
    return true
  }
  if (Array.isArray(b)) return false
  const keys = Object.keys(a)
  if (keys.length !== Object.keys(b).length) return false
  for (const key of keys) if (!Object.hasOwn(b, key) || !jsonEqual(a[key], b[key])) return false
  return true
}

/** `orderBy` as the core reads it: a field or a list, `-` for descending. */
function sortKeys(orderBy) {
  if (orderBy === undefined || orderBy === null) return []
  return (Array.isArray(orderBy) ? orderBy : [orderBy]).map((name) =>
    name.startsWith('-') ? { field: name.slice(1), descending: true } : { field: name, descending: false },
  )
}

/**
 * `where` with an extra condition on `id`, merged with the one it may already have (a value
 * means equality; `$in` lists are intersected, `$nin` lists joined).
 */
export function whereWithIds(where, extra) {
  const out = where === undefined || where === null ? {} : { ...where }
  if (!Object.hasOwn(out, 'id')) {
    out.id = extra
    return out
  }
  const given = out.id
  const operators = given !== null && typeof given === 'object' && !Array.isArray(given) && Object.keys(given).some((k) => k.startsWith('$'))
  const merged = operators ? { ...given } : { $eq: given }
  if (extra.$in !== undefined) {
    merged.$in = Array.isArray(merged.$in) ? extra.$in.filter((id) => merged.$in.includes(id)) : extra.$in
  }
  if (extra.$nin !== undefined) merged.$nin = Array.isArray(merged.$nin) ? [...merged.$nin, ...extra.$nin] : extra.$nin
  out.id = merged
  return out
}

function checkListener(listener, what) {
  if (typeof listener !== 'function') throw invalidValue(`${what}: expected a function`)
}

/** The result of one watch, kept up to date from the change sets of its collection. */
class LiveQuery {
  /**
   * @param start `(query) => { ids, peek }`: the ids `find(query)` returns, and `peek()`, the
   *   records under them as the collection caches them (read, never kept or changed)
   */
  constructor(collection, query, listener, start) {
    this.collection = collection
    const { where, orderBy, limit, offset, includeInvalid } = query
    this.where = where
    this.includeInvalid = includeInvalid
    this.offset = offset ?? 0
    this.limit = limit ?? undefined
    this.keys = sortKeys(orderBy)
    this.listener = listener
    this.stopped = false
    // The whole query checked as find checks it, at the cost of a lookup of no id.
    collection.find({ ...query, where: whereWithIds(where, { $in: [] }) })
    // Every record matching `where`, in result order, with the values it is sorted by.
    const match = start({ where, orderBy, includeInvalid })
    /** @type {string[]} */
    this.ids = match.ids
    /** id → the values of its orderBy fields, for every matching record */
    this.sortValues = new Map()
    const cached = this.keys.length > 0 ? match.peek() : null
    for (let i = 0; i < this.ids.length; i++) this.sortValues.set(this.ids[i], cached === null ? [] : this.keyOf(cached[i], true))
    this.window = this.cut()
    /** id → record, for the records of the window (handed out: shared by successive results) */
    this.records = new Map()
    const records = collection.find({ where: { id: { $in: this.window } }, includeInvalid: true })
    for (const record of records) this.records.set(record.id, record)
    this.result = this.window.map((id) => this.records.get(id))
  }

  /** The values `record` is sorted by; `copy`: copied (the record is the cache's own). */
  keyOf(record, copy = false) {
    const keys = this.keys
    const values = new Array(keys.length)
    for (let i = 0; i < keys.length; i++) {
      const value = Object.hasOwn(record, keys[i].field) ? record[keys[i].field] : MISSING
      values[i] = copy && typeof value === 'object' && value !== null ? cloneJson(value) : value
    }
    return values
  }

  /** The order of two matching records, by their kept sort values, then by id. */
  compareIds(a, b) {
    const keys = this.keys
    if (keys.length > 0) {
      const x = this.sortValues.get(a)
      const y = this.sortValues.get(b)
      for (let i = 0; i < keys.length; i++) {
        const o = compareValues(x[i], y[i])
        if (o !== 0) return keys[i].descending ? -o : o
      }
    }
    return compareStrings(a, b)
  }

  /** The first position whose id sorts at or after `id` (whose sort values are kept). */
  lowerBound(id) {
    let lo = 0
    let hi = this.ids.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.compareIds(this.ids[mid], id) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  cut() {
    return this.limit === undefined ? this.ids.slice(this.offset) : this.ids.slice(this.offset, this.offset + this.limit)
  }

  /** A change set of the collection: `changes` as subscribe hands them. */
  apply(changes) {
    if (this.stopped) return
    const changed = new Set()
    for (const change of changes) changed.add(change.id)
    const ids = [...changed]
    const now = this.collection.find({ where: whereWithIds(this.where, { $in: ids }), includeInvalid: this.includeInvalid })
    let members = 0
    for (const id of ids) if (this.sortValues.has(id)) members++
    if (members === 0 && now.length === 0) return // nothing this query holds or wants
    const fresh = new Map()
    for (const record of now) fresh.set(record.id, record)
    let keyChanged = false
    // out with every changed member, at its old place
    const leaving = ids.filter((id) => this.sortValues.has(id))
    if (leaving.length > BULK) {
      this.ids = this.ids.filter((id) => !changed.has(id))
    } else {
      for (const id of leaving) this.ids.splice(this.lowerBound(id), 1)
    }
    for (const id of leaving) {
      const record = fresh.get(id)
      if (record !== undefined && !keyChanged) {
        const before = this.sortValues.get(id)
        const after = this.keyOf(record)
        for (let i = 0; i < after.length; i++) if (compareValues(before[i], after[i]) !== 0) keyChanged = true
      }
      this.sortValues.delete(id)
    }
    // in with every changed record that matches now, at its new place
    for (const record of now) this.sortValues.set(record.id, this.keyOf(record))
    if (now.length > BULK) {
      const entering = now.map((record) => record.id).sort((a, b) => this.compareIds(a, b))
      const merged = new Array(this.ids.length + entering.length)
      let i = 0
      let j = 0
      let k = 0
      while (i < this.ids.length && j < entering.length) merged[k++] = this.compareIds(this.ids[i], entering[j]) <= 0 ? this.ids[i++] : entering[j++]
      while (i < this.ids.length) merged[k++] = this.ids[i++]
      while (j < entering.length) merged[k++] = entering[j++]
      this.ids = merged
    } else {
      for (const record of now) this.ids.splice(this.lowerBound(record.id), 0, record.id)
    }
    this.publish(this.cut(), fresh, changed, keyChanged)
  }

  /** Compares the new window with the last one; calls the listener if the result differs. */
  publish(window, fresh, changed, keyChanged) {
    const before = this.window
    const beforeSet = new Set(before)
    const afterSet = new Set(window)
    const added = []
    const removed = []
    const changedIds = []
    const records = new Map()
    for (const id of window) {
      const old = this.records.get(id)
      const record = fresh.get(id)
      if (!beforeSet.has(id)) {
        added.push(id)
        records.set(id, record ?? this.collection.get(id))
      } else if (record !== undefined && changed.has(id) && !jsonEqual(old, record)) {
        changedIds.push(id)
        records.set(id, record)
      } else {
        records.set(id, old)
      }
    }
    for (const id of before) if (!afterSet.has(id)) removed.push(id)
    let moved = false
    if (keyChanged) {
      // the records in both windows: in the same order as before?
      let i = 0
      let j = 0
      for (;;) {
        while (i < before.length && !afterSet.has(before[i])) i++
        while (j < window.length && !beforeSet.has(window[j])) j++
        if (i >= before.length || j >= window.length) break
        if (before[i++] !== window[j++]) {
          moved = true
          break
        }
      }
    }
    if (added.length === 0 && removed.length === 0 && changedIds.length === 0 && !moved) {
      this.window = window
      return
    }
    this.window = window
    this.records = records
    this.result = window.map((id) => records.get(id))
    this.listener(this.result, { added, removed, changed: changedIds, moved })
  }
}

function checkQuery(query, what) {
  if (query === null || typeof query !== 'object' || Array.isArray(query)) throw invalidValue(`${what}: the query must be an object`)
}

/**
 * `collection.watch(query, listener)`: calls `listener(result, diff)` at once and after every
 * change set that changes the result. Returns the function that stops it.
 */
export function watchQuery(collection, query, listener, start) {
  const what = `${collection.name}.watch`
  if (query === undefined) query = {}
  checkQuery(query, what)
  checkListener(listener, what)
  const live = new LiveQuery(collection, query, listener, start)
  const unsubscribe = collection.subscribe((changes) => live.apply(changes))
  const stop = () => {
    live.stopped = true
    unsubscribe()
  }
  try {
    listener(live.result, { added: [...live.window], removed: [], changed: [], moved: false })
  } catch (error) {
    stop()
    throw error
  }
  return stop
}

/**
 * `collection.watchOne(id, listener, options)`: `listener(record | undefined)` at once and
 * whenever the record changes, appears or goes (as `find({ where: { id } })` sees it).
 */
export function watchRecord(collection, id, listener, options = {}) {
  const what = `${collection.name}.watchOne`
  if (typeof id !== 'string' || id === '') throw invalidValue(`${what}: the id must be a non-empty string`)
  checkListener(listener, what)
  const includeInvalid = options?.includeInvalid
  const read = () => collection.find({ where: { id }, includeInvalid })[0]
  let current = read()
  let stopped = false
  const unsubscribe = collection.subscribe((changes) => {
    if (stopped || !changes.some((change) => change.id === id)) return
    const next = read()
    if (jsonEqual(current, next)) return
    current = next
    listener(current)
  })
  const stop = () => {
    stopped = true
    unsubscribe()
  }
  try {
    listener(current)
  } catch (error) {
    stop()
    throw error
  }
  return stop
}

/** The value `watchStatus` hands out: the status, the endpoints' health and the directive. */
function statusValue(replica) {
  return { ...replica.status, endpoints: replica.endpoints, directive: replica.directive }
}

/**
 * `replica.watchStatus(listener)`: `listener({ connection, endpoint, pending, servers,
 * endpoints, directive })` at once and after every 'status', 'failover' and 'directive' event.
 */
export function watchStatus(replica, listener) {
  checkListener(listener, 'watchStatus')
  let stopped = false
  const update = () => {
    if (!stopped) listener(statusValue(replica))
  }
  const offs = ['status', 'failover', 'directive'].map((event) => replica.on(event, update))
  const stop = () => {
    stopped = true
    for (const off of offs) off()
  }
  try {
    listener(statusValue(replica))
  } catch (error) {
    stop()
    throw error
  }
  return stop
}
