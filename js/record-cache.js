// The facade's read cache of one collection. It knows every record the core holds (so `count`
// and id checks never cross into Wasm) and keeps each one's value in the cheapest form it has:
// a parsed object, the JSON text it was written with (parsed on first read), or nothing at all
// (the value lives only in the core and is fetched on first read). Large writes and remote
// loads so cost no parsing and no JS memory for records nobody reads.

/** Marks a record whose value only the core holds. */
const IN_CORE = Symbol('in core')

/** `{ id, ...fields }` for parsed fields (a stored `id` field equals the key, which wins). */
export function withId(id, fields) {
  return { id, ...fields, id }
}

export class RecordCache {
  /**
   * @param fetch `(ids) => records`: the records the core holds under `ids` (parsed, each
   *   `{ id, ...fields }`, or undefined), in one call
   */
  constructor(fetch) {
    this._fetch = fetch
    /** @type {Map<string, object | string | symbol>} id → value, JSON text or IN_CORE */
    this._entries = new Map()
  }

  get size() {
    return this._entries.size
  }

  has(id) {
    return this._entries.has(id)
  }

  /** A record as the app wrote it: `{ id, ...fields }`. */
  setRecord(id, record) {
    this._entries.set(id, record)
  }

  /** A record as the JSON text of its fields (the id is added when it is parsed). */
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

  /** The record as a parsed object (never hand it out: callers copy it), or undefined. */
  read(id) {
    const entry = this._entries.get(id)
    if (entry === undefined || typeof entry === 'object') return entry
    if (typeof entry === 'string') return this._parsed(id, entry)
    return this.readMany([id])[0]
  }

  /** The record if it is already parsed here, else undefined (nothing is parsed or fetched). */
  parsed(id) {
    const entry = this._entries.get(id)
    return typeof entry === 'object' ? entry : undefined
  }

  /** `read` for many ids, fetching those only the core holds in one call. */
  readMany(ids) {
    const out = new Array(ids.length)
    let missing = null
    for (let i = 0; i < ids.length; i++) {
      const entry = this._entries.get(ids[i])
      if (entry === IN_CORE) (missing ??= []).push(i)
      else out[i] = typeof entry === 'string' ? this._parsed(ids[i], entry) : entry
    }
    if (missing !== null) {
      const fetched = this._fetch(missing.map((i) => ids[i]))
      missing.forEach((at, k) => {
        out[at] = fetched[k]
        if (fetched[k] !== undefined) this._entries.set(ids[at], fetched[k])
      })
    }
    return out
  }

  /** Every record, in the order they entered the cache. */
  values() {
    return this.readMany([...this._entries.keys()])
  }

  _parsed(id, json) {
    const record = withId(id, JSON.parse(json))
    this._entries.set(id, record)
    return record
  }
}
