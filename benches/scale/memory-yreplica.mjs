// Child: yreplica's memory for N records (Wasm memory and JS heap, per record), and what a
// long-running replica's Wasm memory does when every record is deleted and inserted again
// (its size, and where the build tells, what the allocator has in use).
import { Replica } from '../../js/node.js'
import { runChild } from './child.mjs'
import { COLLECTION, makeRecords } from './records.mjs'
import { withWriteLimitsIfRefused } from './limits.mjs'
import { heapUsedAfterGc, timeAsync, wasmBytesInUse, wasmMemoryBytes } from './measure.mjs'

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
    wasmInUse: wasmBytesInUse(),
    heapBytes: heapUsedAfterGc(),
    records: replica.collection(COLLECTION).count(),
    stateBytes: replica.encodeState().length,
  })

  const baseline = { wasmBytes: wasmMemoryBytes(), wasmInUse: wasmBytesInUse(), heapBytes: heapUsedAfterGc() }
  const inserted = await withWriteLimitsIfRefused(open, (r) => timeAsync(() => insertAll(r)), note, `insertMany of ${n} records`)
  const replica = inserted.replica
  const steps = [{ step: 'insert', ms: inserted.value.ms, ...reading(replica) }]
  for (let cycle = 1; cycle <= cycles; cycle++) {
    const deleted = await timeAsync(() => deleteAll(replica))
    steps.push({ step: `delete all (${cycle})`, ms: deleted.ms, ...reading(replica) })
    const again = await timeAsync(() => insertAll(replica))
    steps.push({ step: `insert again (${cycle})`, ms: again.ms, ...reading(replica) })
  }
  await replica.close()
  return {
    baseline,
    steps,
    wasmBytesPerRecord: (steps[0].wasmBytes - baseline.wasmBytes) / n,
    wasmInUsePerRecord: baseline.wasmInUse === undefined ? undefined : (steps[0].wasmInUse - baseline.wasmInUse) / n,
    heapBytesPerRecord: (steps[0].heapBytes - baseline.heapBytes) / n,
  }
})
