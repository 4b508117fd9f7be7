// The random CRUD one replica does during the soak, and what each write should leave behind.
//
// Ownership keeps the check exact under CRDT semantics: a replica's own records (ids
// `r<i>-<n>` in 'items' and 'notes', never reused) are written by it alone; in the 'shared'
// records every replica writes the same field `last` (concurrent edits, checked only for
// convergence) and its own field `by<i>` (checked). A shared record is inserted by one
// replica only and never deleted or replaced, so no concurrent insert can shadow another.
//
// Each write is described as cell assignments [cell, value]: a cell is one field of one
// record ('' for whether the record exists); a value is canonical JSON, ABSENT for a field
// the record lacks, GONE for a field of a deleted record.
import { Random } from './random.mjs'

export const ABSENT = '∅'
export const GONE = '†'
export const OWNED_COLLECTIONS = ['items', 'notes']
export const FIELDS = ['f0', 'f1', 'f2', 'f3', 'f4']
export const SHARED = 'shared'

export const cellKey = (collection, id, field) => `${collection}\u0000${id}\u0000${field}`

/** JSON with object keys sorted, so equal values have equal text. */
export function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`
  }
  return JSON.stringify(value)
}

function randomValue(rng) {
  switch (rng.int(0, 6)) {
    case 0: return rng.int(-1000, 1000)
    case 1: return rng.next() * 100
    case 2: return `s${rng.int(0, 1e6).toString(36)}`
    case 3: return rng.chance(0.5)
    case 4: return null
    case 5: return [rng.int(0, 9), `x${rng.int(0, 99)}`]
    default: return { n: rng.int(0, 99), tag: rng.pick(['a', 'b', 'c']), deep: { ok: rng.chance(0.5) } }
  }
}

export class Workload {
  /**
   * @param replica an open Replica
   * @param {{ index: number, replicas: number, seed: number, sharedPerReplica?: number }} options
   * @param record called with (effects, promise) for every write as it is made
   */
  constructor(replica, { index, replicas, seed, sharedPerReplica = 2 }, record) {
    this.replica = replica
    this.index = index
    this.rng = new Random(seed)
    this.record = record
    this.next = 0
    /** @type {Map<string, Map<string, object>>} collection → id → own live record */
    this.own = new Map(OWNED_COLLECTIONS.map((c) => [c, new Map()]))
    this.sharedIds = Array.from({ length: replicas * sharedPerReplica }, (_, k) => `s${k}`)
    this.mine = this.sharedIds.filter((_, k) => k % replicas === index)
    this.byField = `by${index}`
  }

  /** Inserts the shared records this replica creates. */
  createShared() {
    for (const id of this.mine) {
      const value = randomValue(this.rng)
      const promise = this.replica.collection(SHARED).insert({ id, [this.byField]: value, last: value })
      this.record([[cellKey(SHARED, id, ''), 'yes'], [cellKey(SHARED, id, this.byField), canonical(value)]], promise)
    }
  }

  /** One random step: a single write, or a few inside one transaction. */
  step() {
    if (this.rng.chance(0.1)) {
      const count = this.rng.int(2, 4)
      this.replica.transact(() => {
        for (let i = 0; i < count; i++) this.write()
      })
    } else {
      this.write()
    }
  }

  write() {
    const collection = this.rng.pick(OWNED_COLLECTIONS)
    const live = this.own.get(collection)
    const kind =
      live.size < 5 ? 'insert'
        : live.size > 80 ? 'delete'
          : this.rng.weighted({ insert: 22, insertMany: 4, update: 25, replace: 8, upsert: 6, delete: 12, shared: 23 })
    if (kind === 'shared') return this.writeShared()
    if (kind === 'insert') return this.insert(collection, this.fields())
    if (kind === 'insertMany') return this.insertMany(collection)
    const id = this.rng.pick([...live.keys()])
    if (kind === 'update') return this.update(collection, id)
    if (kind === 'replace') return this.replace(collection, id, this.fields(), 'replace')
    if (kind === 'upsert') {
      return this.rng.chance(0.5) ? this.replace(collection, id, this.fields(), 'upsert') : this.insert(collection, this.fields(), 'upsert')
    }
    return this.delete(collection, id)
  }

  newId() {
    return `r${this.index}-${this.next++}`
  }

  fields() {
    const fields = {}
    for (const f of FIELDS) if (this.rng.chance(0.6)) fields[f] = randomValue(this.rng)
    return fields
  }

  /** Cells of a record that becomes exactly `fields`. */
  wholeRecord(collection, id, fields) {
    return [[cellKey(collection, id, ''), 'yes'], ...FIELDS.map((f) => [cellKey(collection, id, f), f in fields ? canonical(fields[f]) : ABSENT])]
  }

  insert(collection, fields, how = 'insert') {
    const id = this.newId()
    const handle = this.replica.collection(collection)
    const promise = how === 'upsert' ? handle.upsert({ id, ...fields }) : handle.insert({ id, ...fields })
    this.own.get(collection).set(id, fields)
    this.record(this.wholeRecord(collection, id, fields), promise)
  }

  insertMany(collection) {
    const records = Array.from({ length: this.rng.int(2, 3) }, () => ({ id: this.newId(), ...this.fields() }))
    const promise = this.replica.collection(collection).insertMany(records)
    const cells = []
    for (const { id, ...fields } of records) {
      this.own.get(collection).set(id, fields)
      cells.push(...this.wholeRecord(collection, id, fields))
    }
    this.record(cells, promise)
  }

  update(collection, id) {
    const patch = {}
    const cells = [[cellKey(collection, id, ''), 'yes']]
    const current = this.own.get(collection).get(id)
    for (const f of FIELDS) {
      if (!this.rng.chance(0.35)) continue
      if (f in current && this.rng.chance(0.2)) {
        patch[f] = undefined // removes the field
        delete current[f]
        cells.push([cellKey(collection, id, f), ABSENT])
      } else {
        patch[f] = current[f] = randomValue(this.rng)
        cells.push([cellKey(collection, id, f), canonical(patch[f])])
      }
    }
    const promise = this.replica.collection(collection).update(id, patch)
    this.record(cells, promise)
  }

  replace(collection, id, fields, how) {
    const handle = this.replica.collection(collection)
    const promise = how === 'upsert' ? handle.upsert({ id, ...fields }) : handle.replace(id, fields)
    this.own.get(collection).set(id, fields)
    this.record(this.wholeRecord(collection, id, fields), promise)
  }

  delete(collection, id) {
    const promise = this.replica.collection(collection).delete(id)
    this.own.get(collection).delete(id)
    this.record([[cellKey(collection, id, ''), 'no'], ...FIELDS.map((f) => [cellKey(collection, id, f), GONE])], promise)
  }

  /** Edits a shared record this replica has seen: its own field, and the contended `last`. */
  writeShared() {
    const shared = this.replica.collection(SHARED)
    const seen = this.sharedIds.filter((id) => shared.get(id) !== undefined)
    if (seen.length === 0) return this.insert(this.rng.pick(OWNED_COLLECTIONS), this.fields())
    const id = this.rng.pick(seen)
    const value = randomValue(this.rng)
    const promise = shared.update(id, { [this.byField]: value, last: randomValue(this.rng) })
    this.record([[cellKey(SHARED, id, this.byField), canonical(value)]], promise)
  }
}
