// Child: a fresh process loads the state crud-yreplica.mjs encoded: into a fresh replica
// (applyUpdate), then into a replica whose collection declares indexes, and runs the indexed
// find there (n/a while Collection has no explain()).
import { readFile } from 'node:fs/promises'
import { Replica, Collection } from '../../js/node.js'
import { runChild } from './child.mjs'
import { COLLECTION, INDEXES, OWNER_QUERY } from './records.mjs'
import { withWriteLimitsIfRefused } from './limits.mjs'
import { time, timeRepeated } from './measure.mjs'

const hasIndexes = typeof Collection.prototype.explain === 'function'

runChild(async ({ n, statePath }, note) => {
  const state = new Uint8Array(await readFile(statePath))
  const open = (name) => (extra) => Replica.open({ name, storage: 'memory', ...extra })
  const t = {}
  const found = {}

  const loaded = await withWriteLimitsIfRefused(open('scale-load'), (r) => time(() => r.applyUpdate(state)).ms, note, `applyUpdate of the ${state.length}-byte state`)
  t.load = loaded.value
  const count = loaded.replica.collection(COLLECTION).count()
  await loaded.replica.close()
  if (count !== n) throw new Error(`the loaded replica holds ${count} records, not ${n}`)

  if (!hasIndexes) {
    note('find with an index: n/a (Collection has no explain(): indexes are not in this build)')
    return { t, found }
  }
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
  if (!plan?.index) note(`explain(${JSON.stringify(OWNER_QUERY)}) chose no index: ${JSON.stringify(plan)}`)
  const result = timeRepeated(() => collection.find(OWNER_QUERY))
  t.findIndexed = result.ms
  t.findIndexedFirst = result.first
  found.indexed = result.value.map((r) => r.id)
  await indexed.replica.close()
  return { t, found }
})
