// Child: yreplica (js/node.js, storage 'memory') on N records: insert (one insertMany), get
// each, find without and with an index, update each in its own transaction, encode, load.
import { Replica, Collection } from '../../js/node.js'
import { runChild } from './child.mjs'
import { COLLECTION, INDEXES, OWNER_QUERY, SCAN_QUERY, makeRecords, updatedPrio } from './records.mjs'
import { withWriteLimitsIfRefused } from './limits.mjs'
import { time, timeAsync, timeRepeated, wasmMemoryBytes } from './measure.mjs'

const ids = (records) => records.map((r) => r.id)
const hasIndexes = typeof Collection.prototype.explain === 'function'

runChild(async ({ n }, note) => {
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
  found.scan = ids(scan.value)
  const owner = timeRepeated(() => todos.find(OWNER_QUERY))
  t.findOwner = owner.ms
  found.owner = ids(owner.value)

  t.update = (await timeAsync(() => Promise.all(records.map((r, i) => todos.update(r.id, { prio: updatedPrio(i) }))))).ms

  const encoded = time(() => replica.encodeState())
  t.encode = encoded.ms
  const state = encoded.value
  t.stateBytes = state.length

  const loaded = await withWriteLimitsIfRefused(open('scale-load'), (r) => time(() => r.applyUpdate(state)).ms, note, `applyUpdate of the ${state.length}-byte state`)
  t.load = loaded.value
  const count = loaded.replica.collection(COLLECTION).count()
  if (count !== n) throw new Error(`the loaded replica holds ${count} records, not ${n}`)
  await loaded.replica.close()

  if (hasIndexes) {
    // An app declares its indexes when it opens the collection: here before the state arrives.
    const indexed = await withWriteLimitsIfRefused(
      open('scale-indexed'),
      (r) => {
        r.collection(COLLECTION, { indexes: INDEXES })
        return time(() => r.applyUpdate(state)).ms
      },
      note,
      'applyUpdate into an indexed collection',
    )
    t.loadIndexed = indexed.value
    const collection = indexed.replica.collection(COLLECTION, { indexes: INDEXES })
    const plan = collection.explain(OWNER_QUERY)
    t.indexPlan = plan
    if (!plan?.index) note(`explain(${JSON.stringify(OWNER_QUERY.where)}) chose no index: ${JSON.stringify(plan)}`)
    const result = timeRepeated(() => collection.find(OWNER_QUERY))
    t.findIndexed = result.ms
    found.indexed = ids(result.value)
    await indexed.replica.close()
  } else {
    note('find with an index: n/a (Collection has no explain(): indexes are not in this build)')
  }
  t.wasmPeakBytes = wasmMemoryBytes()
  await replica.close()
  return { t, found }
})
