// Child: Yjs 13's JS heap for N records (one nested Y.Map each), and after deleting every
// record and inserting them again.
import * as Y from 'yjs'
import { runChild } from './child.mjs'
import { COLLECTION, makeRecords } from './records.mjs'
import { heapUsedAfterGc, time } from './measure.mjs'

runChild(async ({ n, cycles }) => {
  const baseline = { heapBytes: heapUsedAfterGc() }
  const doc = new Y.Doc()
  const todos = doc.getMap(COLLECTION)
  const insertAll = () =>
    doc.transact(() => {
      for (const { id, ...fields } of makeRecords(n)) todos.set(id, new Y.Map(Object.entries(fields)))
    })
  const deleteAll = () =>
    doc.transact(() => {
      for (const { id } of makeRecords(n)) todos.delete(id)
    })
  const reading = () => ({ heapBytes: heapUsedAfterGc(), records: todos.size, stateBytes: Y.encodeStateAsUpdate(doc).length })

  const steps = [{ step: 'insert', ms: time(insertAll).ms, ...reading() }]
  for (let cycle = 1; cycle <= cycles; cycle++) {
    steps.push({ step: `delete all (${cycle})`, ms: time(deleteAll).ms, ...reading() })
    steps.push({ step: `insert again (${cycle})`, ms: time(insertAll).ms, ...reading() })
  }
  return { baseline, steps, heapBytesPerRecord: (steps[0].heapBytes - baseline.heapBytes) / n }
})
