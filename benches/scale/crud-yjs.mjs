// Child: Yjs 13 (one nested Y.Map per record, as benches/crud.mjs) on N records: insert in
// one transaction, get each (toJSON), the two finds as full scans, update each in its own
// transaction, encode (the state goes to `statePath` for load-yjs.mjs).
import * as Y from 'yjs'
import { writeFile } from 'node:fs/promises'
import { runChild } from './child.mjs'
import { COLLECTION, OWNER_QUERY, SCAN_QUERY, makeRecords, updatedPrio } from './records.mjs'
import { time, timeRepeated } from './measure.mjs'

const byId = ([ia], [ib]) => (ia < ib ? -1 : ia > ib ? 1 : 0)
const compare = (a, b) => (a < b ? -1 : a > b ? 1 : 0)

/** SCAN_QUERY by hand: done === false, prio >= 2, by -prio then title then id, first 20. */
function findScan(todos) {
  const { where, limit } = SCAN_QUERY
  const rows = []
  for (const [id, rec] of todos) {
    if (rec.get('done') === where.done && rec.get('prio') >= where.prio.$gte) rows.push([id, rec])
  }
  rows.sort((a, b) => b[1].get('prio') - a[1].get('prio') || compare(a[1].get('title'), b[1].get('title')) || byId(a, b))
  return rows.slice(0, limit).map(([id, rec]) => ({ id, ...rec.toJSON() }))
}

/** OWNER_QUERY by hand: owner equal, by -createdAt then id, first 20. */
function findOwner(todos) {
  const { where, limit } = OWNER_QUERY
  const rows = []
  for (const [id, rec] of todos) if (rec.get('owner') === where.owner) rows.push([id, rec])
  rows.sort((a, b) => b[1].get('createdAt') - a[1].get('createdAt') || byId(a, b))
  return rows.slice(0, limit).map(([id, rec]) => ({ id, ...rec.toJSON() }))
}

runChild(async ({ n, statePath }) => {
  const records = makeRecords(n)
  const t = {}
  const found = {}
  const doc = new Y.Doc()
  const todos = doc.getMap(COLLECTION)
  t.insert = time(() => {
    doc.transact(() => {
      for (const { id, ...fields } of records) todos.set(id, new Y.Map(Object.entries(fields)))
    })
  }).ms

  let sink = 0
  t.get = time(() => {
    for (let i = 0; i < n; i++) sink += todos.get(records[i].id).toJSON().prio
  }).ms
  if (!(sink >= 0)) throw new Error('get returned no records')

  const scan = timeRepeated(() => findScan(todos))
  t.findScan = scan.ms
  t.findScanFirst = scan.first
  found.scan = scan.value.map((r) => r.id)
  const owner = timeRepeated(() => findOwner(todos))
  t.findOwner = owner.ms
  t.findOwnerFirst = owner.first
  found.owner = owner.value.map((r) => r.id)

  t.update = time(() => {
    for (let i = 0; i < n; i++) doc.transact(() => todos.get(records[i].id).set('prio', updatedPrio(i)))
  }).ms

  const encoded = time(() => Y.encodeStateAsUpdate(doc))
  t.encode = encoded.ms
  t.stateBytes = encoded.value.length

  await writeFile(statePath, encoded.value)
  return { t, found }
})
