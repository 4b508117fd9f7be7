// npm run bench:watch [N,...]: live queries at 10,000 and 100,000 records (the 6 fields of
// dev/records.mjs). For two queries, without and with indexes, it measures (medians of 101
// writes after 10 warm-up writes):
// - a related write: from the write's call to the watch callback (local writes call it before
//   they return), and for an update received from another replica (applyUpdate);
// - an unrelated write (a record outside the filter): what the write costs with the watch,
//   against the same write with no listener at all;
// - the same writes with the alternative a watch replaces: subscribe and re-run find(query)
//   on every change set;
// - starting the watch (its first result), against one find (medians of 5).
import { parseArgs } from 'node:util'
import { Replica } from '../js/node.js'
import { fieldsAt } from '../dev/records.mjs'

const RUNS = 101
const WARMUP = 10
const CHUNK = 50_000

const QUERIES = [
  ['owner = user-42, -createdAt, limit 20', { where: { owner: 'user-42' }, orderBy: '-createdAt', limit: 20 }],
  ['done = false, prio, limit 50 (2/3 match)', { where: { done: false }, orderBy: ['prio', '-createdAt'], limit: 50 }],
]

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
const fmt = (ms) => (ms >= 10 ? ms.toFixed(0) : ms >= 1 ? ms.toFixed(1) : ms >= 0.1 ? ms.toFixed(2) : ms.toFixed(3))
const id = (i) => `rec-${String(i).padStart(7, '0')}`

async function open(n, indexes) {
  const replica = await Replica.open({ name: `bench-watch-${n}`, storage: 'memory', maxUpdateBytes: 64 * 2 ** 20 })
  const todos = replica.collection('todos', indexes ? { indexes: ['owner', 'done', 'prio'] } : undefined)
  for (let from = 0; from < n; from += CHUNK) {
    const records = []
    for (let i = from; i < Math.min(n, from + CHUNK); i++) records.push({ id: id(i), ...fieldsAt(i) })
    await todos.insertMany(records)
  }
  return { replica, todos }
}

/**
 * Times `count` writes; `write(k)` makes the k-th one and `done()` tells whether the listener
 * saw it (null: no listener to wait for). Returns the median milliseconds from the call to the
 * listener (or to the write's return).
 */
function timeWrites(write, count, state) {
  const samples = []
  for (let k = 0; k < WARMUP + count; k++) {
    state.at = null
    const start = performance.now()
    write(k)
    const end = state.expect ? state.at : performance.now()
    if (state.expect && end === null) throw new Error('the listener was not called')
    if (k >= WARMUP) samples.push(end - start)
  }
  return median(samples)
}

async function measure(n, indexes, [label, query]) {
  const { replica, todos } = await open(n, indexes)
  const other = await Replica.open({ name: `bench-watch-other-${n}`, storage: 'memory', maxUpdateBytes: 64 * 2 ** 20 })
  other.applyUpdate(replica.encodeState())
  const otherTodos = other.collection('todos')
  // records inside the result (owner user-42 / done false) and outside it
  const inside = []
  const outside = []
  for (let i = 0; i < n && (inside.length < 200 || outside.length < 200); i++) {
    const f = fieldsAt(i)
    const match = query.where.owner !== undefined ? f.owner === query.where.owner : f.done === false
    if (match) inside.push(id(i))
    else outside.push(id(i))
  }
  // a related write moves a record to the top of the window (createdAt up, prio 0)
  let stamp = 2_000_000_000_000
  const related = (k) => todos.update(inside[k % inside.length], { createdAt: stamp++, prio: 0 })
  const unrelated = (k) => todos.update(outside[k % outside.length], { title: `unrelated ${stamp++}` })
  const remoteRelated = (k) => {
    const sv = other.stateVector()
    otherTodos.update(inside[(k + 7) % inside.length], { createdAt: stamp++, prio: 0 })
    return other.encodeState(sv)
  }
  const row = { n, indexes, label }

  // no listener: the bare write
  row.bareUnrelated = timeWrites(unrelated, RUNS, { expect: false })

  // watch
  const starts = []
  for (let k = 0; k < 5; k++) {
    const t = performance.now()
    todos.watch(query, () => {})()
    starts.push(performance.now() - t)
  }
  row.watchStart = median(starts)
  const state = { expect: true, at: null }
  const stop = todos.watch(query, () => (state.at = performance.now()))
  row.watchRelated = timeWrites(related, RUNS, state)
  row.watchUnrelated = timeWrites(unrelated, RUNS, { expect: false })
  {
    other.applyUpdate(replica.encodeState(other.stateVector())) // its writes follow ours (and win)
    const updates = []
    for (let k = 0; k < WARMUP + RUNS; k++) updates.push(remoteRelated(k))
    let k = 0
    row.watchRemote = timeWrites(() => replica.applyUpdate(updates[k++]), RUNS, state)
  }
  stop()

  // the alternative: re-run find on every change set
  const rerun = { expect: true, at: null }
  const off = todos.subscribe(() => {
    todos.find(query)
    rerun.at = performance.now()
  })
  const finds = []
  for (let k = 0; k < 5; k++) {
    const t = performance.now()
    todos.find(query)
    finds.push(performance.now() - t)
  }
  row.findOnce = median(finds)
  row.rerunRelated = timeWrites(related, RUNS, rerun)
  row.rerunUnrelated = timeWrites(unrelated, RUNS, { expect: false })
  off()
  await replica.close()
  await other.close()
  return row
}

const { positionals } = parseArgs({ allowPositionals: true })
const sizes = positionals.length > 0 ? positionals.join(',').split(',').map(Number) : [10_000, 100_000]
console.log(`watch vs re-running find, medians of ${RUNS} writes (ms); Node ${process.version}`)
console.log('| records | indexes | query | watch start | related write → callback (local / remote) | unrelated write: bare / with watch / with re-run find | related write with re-run find | one find |')
console.log('|--:|---|---|--:|--:|--:|--:|--:|')
for (const n of sizes) {
  for (const indexes of [false, true]) {
    for (const q of QUERIES) {
      const r = await measure(n, indexes, q)
      console.log(
        `| ${n.toLocaleString('en-US')} | ${indexes ? 'owner, done, prio' : 'none'} | ${r.label} | ${fmt(r.watchStart)} | ${fmt(r.watchRelated)} / ${fmt(r.watchRemote)} | ${fmt(r.bareUnrelated)} / ${fmt(r.watchUnrelated)} / ${fmt(r.rerunUnrelated)} | ${fmt(r.rerunRelated)} | ${fmt(r.findOnce)} |`,
      )
    }
  }
}
