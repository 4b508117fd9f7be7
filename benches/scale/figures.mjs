// From the raw results of one size to its figures: the median over runs of every operation
// for yreplica, Yjs and native yrs, with what failed.
import { median } from './measure.mjs'

/**
 * The operations of the main table, in order: key, short name, label and unit (ms unless 'B');
 * `server`: a part of the figure above it that the server's work decides (not the library's).
 */
export const OPERATIONS = [
  { key: 'insert', short: 'insert', label: 'insert N (yreplica: one insertMany; Yjs, yrs: one transaction)' },
  { key: 'get', short: 'get each', label: 'get each record by id' },
  { key: 'findScan', short: 'find, no index', label: 'find, no index: filter + sort on 2 fields, limit 20' },
  { key: 'findOwner', short: 'find by owner, no index', label: "find, no index: owner = 'user-42', newest 20" },
  { key: 'findIndexed', short: 'find by owner, index', label: "the same find with indexes on owner, createdAt (Yjs: none exist)" },
  { key: 'update', short: 'update each', label: 'update one field of each, N transactions' },
  { key: 'encode', short: 'encode', label: 'encode the full state' },
  { key: 'load', short: 'load', label: 'load the full state into a fresh replica / doc' },
  { key: 'loadIndexed', short: 'load with indexes', label: 'load into a collection with indexes on owner, createdAt' },
  { key: 'syncYws', short: 'sync from @y/websocket-server', label: 'fresh client syncs from @y/websocket-server (Yjs: y-websocket)' },
  { key: 'syncYwsArrived', short: '… document arrived (y-websocket)', server: true, label: '… of it until the document had arrived whole (the server encoding it, the transfer)' },
  { key: 'syncHp', short: 'sync from Hocuspocus', label: 'fresh client syncs from Hocuspocus (Yjs: @hocuspocus/provider)' },
  { key: 'syncHpArrived', short: '… document arrived (Hocuspocus)', server: true, label: '… of it until the document had arrived whole (the server encoding it, the transfer)' },
  { key: 'idbPersist', short: 'Chromium persist', label: 'Chromium: insert N → durable in IndexedDB (Yjs: y-indexeddb)' },
  { key: 'idbOpen', short: 'Chromium cold open', label: 'Chromium: cold open of that database → all N readable' },
  { key: 'stateBytes', short: 'state size', label: 'state size (Yjs v1 update)', unit: 'B' },
]

export const LIBS = ['yreplica', 'yjs', 'native']

const ok = (runs) => (runs ?? []).filter((r) => r && !r.error)
const errorsOf = (runs) => (runs ?? []).filter((r) => r?.error).map((r) => r.error)

/** Median of `pick(value)` over the successful runs, or { error } when every run failed. */
function summarise(runs, pick) {
  const values = ok(runs).map((r) => pick(r.value)).filter((v) => v !== undefined && v !== null)
  if (values.length > 0) return typeof values[0] === 'number' ? median(values) : values[0]
  const errors = errorsOf(runs)
  return errors.length > 0 ? { error: errors[0] } : undefined
}

/** figures[op][lib] = number | { error } | undefined, plus memory and notes, for one size. */
export function figuresOf(raw) {
  const f = Object.fromEntries(OPERATIONS.map(({ key }) => [key, {}]))
  for (const lib of ['yreplica', 'yjs']) {
    for (const key of ['insert', 'get', 'findScan', 'findOwner', 'findIndexed', 'update', 'encode', 'load', 'loadIndexed', 'stateBytes']) {
      if (raw.crud) f[key][lib] = summarise(raw.crud[lib], (v) => v.t[key])
    }
    if (raw.sync) {
      f.syncYws[lib] = summarise(raw.sync['y-websocket']?.[lib], (v) => v.ms)
      f.syncHp[lib] = summarise(raw.sync.hocuspocus?.[lib], (v) => v.ms)
      f.syncYwsArrived[lib] = summarise(raw.sync['y-websocket']?.[lib], (v) => v.arrivedMs)
      f.syncHpArrived[lib] = summarise(raw.sync.hocuspocus?.[lib], (v) => v.arrivedMs)
    }
    if (raw.idb) {
      f.idbPersist[lib] = summarise(raw.idb[lib], (v) => v.persist)
      f.idbOpen[lib] = summarise(raw.idb[lib], (v) => v.open)
    }
  }
  if (raw.native) {
    for (const key of ['insert', 'update', 'encode', 'load', 'stateBytes']) f[key].native = summarise(raw.native.native, (v) => v[key])
  }
  // Yjs has no indexes and no indexed load: its cells stay empty.
  for (const key of ['findIndexed', 'loadIndexed']) delete f[key].yjs
  return f
}

/** Bytes per record after insert, and after a fresh client synced, per library. */
export function memoryOf(raw, n) {
  if (!raw.memory && !raw.native && !raw.sync) return undefined
  const per = (bytes) => (typeof bytes === 'number' ? bytes / n : bytes)
  return {
    wasm: { yreplica: summarise(raw.memory?.yreplica, (v) => v.wasmBytesPerRecord) },
    wasmInUse: { yreplica: summarise(raw.memory?.yreplica, (v) => v.wasmInUsePerRecord) },
    heap: {
      yreplica: summarise(raw.memory?.yreplica, (v) => v.heapBytesPerRecord),
      yjs: summarise(raw.memory?.yjs, (v) => v.heapBytesPerRecord),
      native: summarise(raw.native?.native, (v) => v.heapBytesPerRecord),
    },
    syncedWasm: { yreplica: per(summarise(raw.sync?.['y-websocket']?.yreplica, (v) => v.wasmBytes)) },
    syncedWasmInUse: { yreplica: per(summarise(raw.sync?.['y-websocket']?.yreplica, (v) => v.wasmInUse)) },
    syncedHeap: {
      yreplica: per(summarise(raw.sync?.['y-websocket']?.yreplica, (v) => v.heapBytes)),
      yjs: per(summarise(raw.sync?.['y-websocket']?.yjs, (v) => v.heapBytes)),
    },
    reuse: {
      yreplica: ok(raw.memory?.yreplica)[0]?.value,
      yjs: ok(raw.memory?.yjs)[0]?.value,
    },
  }
}

/** Every note the children left, once each. */
export function notesOf(raw) {
  const notes = new Set()
  const visit = (node) => {
    if (Array.isArray(node)) node.forEach(visit)
    else if (node && typeof node === 'object') {
      if (Array.isArray(node.notes)) node.notes.forEach((n) => notes.add(n))
      for (const [key, value] of Object.entries(node)) if (key !== 'notes' && key !== 'value') visit(value)
    }
  }
  visit(raw)
  return [...notes]
}

/** Where the two libraries' finds returned different records (they must not). */
export function findMismatches(raw) {
  const a = ok(raw.crud?.yreplica)[0]?.value?.found
  const b = ok(raw.crud?.yjs)[0]?.value?.found
  if (!a || !b) return []
  const out = []
  for (const key of ['scan', 'owner']) if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) out.push(`find '${key}': yreplica and Yjs returned different records`)
  if (a.indexed && JSON.stringify(a.indexed) !== JSON.stringify(b.owner)) out.push('find with an index returned other records than the same find without one')
  return out
}
