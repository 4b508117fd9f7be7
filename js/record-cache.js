// The facade's read cache of one collection. It knows every record the core holds (so `count`
// and id checks never cross into Wasm) and keeps each one's value in the cheapest form it has:
// a parsed object, the JSON text it was written with (parsed on first read), or nothing at all
// (the value lives only in the core and is fetched on first read). Large writes and remote
// loads so cost no parsing and no JS memory for records nobody reads, and a record read again
// is copied from its object. Reads always return fresh copies.

import { cloneJson } from './values.js'

/** `{ id, ...fields }` for parsed fields (a stored `id` field equals the key, which wins). */
function withId(id, fields) {
  const record = { id, ...fields }
  record.id = id
  return record
}

/** Marks a record whose value only the core holds. */
const IN_CORE = Symbol('in core')

export class RecordCache {
  /**
   * @param fetch `(ids) => records`: the records the core holds under `ids` (parsed, each
   *   `{ id, ...fields }`, or undefined), in one call
   */
  constructor(fetch) {
    this._fetch = fetch
    /** @type {Map<string, object | string | symbol>} id → record, its JSON text, or IN_CORE */
    this._entries = new Map()
  }

  get size() {
    return this._entries.size
  }

  has(id) {
    return this._entries.has(id)
  }

  /** A record `{ id, ...fields }` (kept as it is: the caller hands it over). */
  setRecord(id, record) {
    this._entries.set(id, record)
  }

  /** A record as the JSON text of its fields, as written (with or without its id). */
  setText(id, json) {
    this._entries.set(id, json)
  }

  /** A record that exists with a value only the core holds now. */
  setInCore(id) {
    this._entries.set(id, IN_CORE)
  }

  delete(id) {
    this._entries.delete(id)
  }

  /** The cached object itself if the record is held parsed (not to be handed out), else undefined. */
  parsed(id) {
    const entry = this._entries.get(id)
    return typeof entry === 'object' ? entry : undefined
  }

  /** A fresh copy of the record, or undefined. */
  read(id) {
    const entry = this._entries.get(id)
    if (entry === IN_CORE) return this.readMany([id])[0]
    return cloneJson(this._object(id, entry))
  }

  /** `read` for many ids, fetching those only the core holds in one call. */
  readMany(ids) {
    const out = new Array(ids.length)
    let missing = null
    for (let i = 0; i < ids.length; i++) {
      const entry = this._entries.get(ids[i])
      if (entry === IN_CORE) (missing ??= []).push(i)
      else out[i] = cloneJson(this._object(ids[i], entry))
    }
    if (missing !== null) {
      const fetched = this._fetch(missing.map((i) => ids[i]))
      missing.forEach((at, k) => {
        if (fetched[k] === undefined) return
        this._entries.set(ids[at], fetched[k])
        out[at] = cloneJson(fetched[k])
      })
    }
    return out
  }

  /**
   * The cached objects themselves for `ids` (parsed, fetched in one call if only the core
   * holds them; undefined for none): not to be handed out or changed, for reading fields.
   */
  peekMany(ids) {
    const out = new Array(ids.length)
    let missing = null
    for (let i = 0; i < ids.length; i++) {
      const entry = this._entries.get(ids[i])
      if (entry === IN_CORE) (missing ??= []).push(i)
      else out[i] = this._object(ids[i], entry)
    }
    if (missing !== null) {
      const fetched = this._fetch(missing.map((i) => ids[i]))
      missing.forEach((at, k) => {
        if (fetched[k] === undefined) return
        this._entries.set(ids[at], fetched[k])
        out[at] = fetched[k]
      })
    }
    return out
  }

  /** Fresh copies of every record, in the order they entered the cache. */
  values() {
    return this.readMany([...this._entries.keys()])
  }

  /** The entry as an object, parsing (and keeping) JSON text. */
  _object(id, entry) {
    if (typeof entry !== 'string') return entry
    // The id comes first, as in every record read (a text that starts with it has it right).
    const record = entry.startsWith('{"id":') ? JSON.parse(entry) : withId(id, JSON.parse(entry))
    this._entries.set(id, record)
    return record
  }
}
