// Child: yreplica (js/node.js, storage 'memory') on N records: insert (one insertMany), get
// each, find without an index, update each in its own transaction, encode (the state goes to
// `statePath` for load-yreplica.mjs).
import { writeFile } from 'node:fs/promises'
import { Replica } from '../../js/node.js'
import { runChild } from './child.mjs'
import { COLLECTION, OWNER_QUERY, SCAN_QUERY, makeRecords, updatedPrio } from './records.mjs'
import { withWriteLimitsIfRefused } from './limits.mjs'
import { time, timeAsync, timeRepeated, wasmMemoryBytes } from './measure.mjs'

const ids = (records) => records.map((r) => r.id)

runChild(async ({ n, statePath }, note) => {
  const records = makeRecords(n)
  const open = (name) => (extra) => Replica.open({ name, storage: 'memory', ...extra })
  const t = {}
  const found = {}

  const inserted = await withWriteLimitsIfRefused(
    open('scale'),
    async (r) => (await timeAsync(() => r.collection(COLLECTION).insertMany(records))).ms,
    note,
    `insertMany of ${n} records`,
  )
  const replica = inserted.replica
  t.insert = inserted.value
  const todos = replica.collection(COLLECTION)

  let sink = 0
  t.get = time(() => {
    for (let i = 0; i < n; i++) sink += todos.get(records[i].id).prio
  }).ms
  if (!(sink >= 0)) throw new Error('get returned no records')

  const scan = timeRepeated(() => todos.find(SCAN_QUERY))
  t.findScan = scan.ms
  t.findScanFirst = scan.first
  found.scan = ids(scan.value)
  const owner = timeRepeated(() => todos.find(OWNER_QUERY))
  t.findOwner = owner.ms
  t.findOwnerFirst = owner.first
  found.owner = ids(owner.value)

  t.update = (await timeAsync(() => Promise.all(records.map((r, i) => todos.update(r.id, { prio: updatedPrio(i) }))))).ms

  const encoded = time(() => replica.encodeState())
  t.encode = encoded.ms
  const state = encoded.value
  t.stateBytes = state.length

  // Loading happens in another process (load-yreplica.mjs): a second replica of this size
  // would share this process' Wasm memory, which cannot exceed 4 GiB.
  await writeFile(statePath, state)

  t.wasmPeakBytes = wasmMemoryBytes()
  await replica.close()
  return { t, found }
})
