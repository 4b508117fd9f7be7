// Child: yreplica's memory for N records (Wasm memory and JS heap, per record), and what a
// long-running replica's Wasm memory does when every record is deleted and inserted again.
import { Replica } from '../../js/node.js'
import { runChild } from './child.mjs'
import { COLLECTION, makeRecords } from './records.mjs'
import { withWriteLimitsIfRefused } from './limits.mjs'
import { heapUsedAfterGc, wasmMemoryBytes } from './measure.mjs'

runChild(async ({ n, cycles }, note) => {
  const open = (extra) => Replica.open({ name: 'memory', storage: 'memory', ...extra })
  const insertAll = (replica) => replica.collection(COLLECTION).insertMany(makeRecords(n))
  const deleteAll = (replica) => {
    const todos = replica.collection(COLLECTION)
    const writes = []
    replica.transact(() => {
      for (const { id } of makeRecords(n)) writes.push(todos.delete(id))
    })
    return Promise.all(writes)
  }
  const reading = (replica) => ({
    wasmBytes: wasmMemoryBytes(),
    heapBytes: heapUsedAfterGc(),
    records: replica.collection(COLLECTION).count(),
    stateBytes: replica.encodeState().length,
  })

  const baseline = { wasmBytes: wasmMemoryBytes(), heapBytes: heapUsedAfterGc() }
  const { replica } = await withWriteLimitsIfRefused(open, insertAll, note, `insertMany of ${n} records`)
  const steps = [{ step: 'insert', ...reading(replica) }]
  for (let cycle = 1; cycle <= cycles; cycle++) {
    await deleteAll(replica)
    steps.push({ step: `delete all (${cycle})`, ...reading(replica) })
    await insertAll(replica)
    steps.push({ step: `insert again (${cycle})`, ...reading(replica) })
  }
  await replica.close()
  const inserted = steps[0]
  return {
    baseline,
    steps,
    wasmBytesPerRecord: (inserted.wasmBytes - baseline.wasmBytes) / n,
    heapBytesPerRecord: (inserted.heapBytes - baseline.heapBytes) / n,
  }
})
