// npm run bench: yreplica against Yjs 13 (one nested Y.Map per record) on the same machine,
// in the same process, on the same 10,000 records of 6 fields. Prints medians of several runs.
import * as Y from 'yjs'
import { gzipSync } from 'node:zlib'
import { readFileSync } from 'node:fs'
import { Replica } from '../js/node.js'
import { fieldsAt } from '../dev/records.mjs'

const N = Number(process.env.BENCH_N ?? 10_000)
const RUNS = Number(process.env.BENCH_RUNS ?? 5)

function makeRecords() {
  const records = []
  for (let i = 0; i < N; i++) {
    records.push({ id: `rec-${String(i).padStart(6, '0')}`, ...fieldsAt(i) })
  }
  return records
}

const QUERY = { where: { done: false, prio: { $gte: 2 } }, orderBy: ['-prio', 'title'], limit: 20 }

function time(fn) {
  const start = performance.now()
  fn()
  return performance.now() - start
}

async function timeAsync(fn) {
  const start = performance.now()
  await fn()
  return performance.now() - start
}

async function benchYreplica(records) {
  const t = {}
  const replica = await Replica.open({ name: 'bench', storage: 'memory' })
  const todos = replica.collection('todos')
  t.insert = await timeAsync(() => todos.insertMany(records))
  let sink = 0
  t.get = time(() => {
    for (const r of records) sink += todos.get(r.id).prio
  })
  let found
  t.find = time(() => {
    found = todos.find(QUERY)
  })
  t.update = await timeAsync(async () => {
    const writes = records.map((r, i) => todos.update(r.id, { prio: (i * 7) % 5 }))
    await Promise.all(writes)
  })
  let state
  t.encode = time(() => {
    state = replica.encodeState()
  })
  const fresh = await Replica.open({ name: 'bench-load', storage: 'memory' })
  t.load = time(() => {
    fresh.applyUpdate(state)
  })
  if (fresh.collection('todos').count() !== N || found.length !== 20 || sink < 0) throw new Error('yreplica bench sanity check failed')
  t.bytes = state.length
  await replica.close()
  await fresh.close()
  return t
}

function benchYjs(records) {
  const t = {}
  const doc = new Y.Doc()
  const todos = doc.getMap('todos')
  t.insert = time(() => {
    doc.transact(() => {
      for (const { id, ...fields } of records) todos.set(id, new Y.Map(Object.entries(fields)))
    })
  })
  let sink = 0
  t.get = time(() => {
    for (const r of records) sink += todos.get(r.id).toJSON().prio
  })
  let found
  t.find = time(() => {
    const { where, limit } = QUERY
    const rows = []
    for (const [id, rec] of todos) {
      if (rec.get('done') === where.done && rec.get('prio') >= where.prio.$gte) rows.push([id, rec])
    }
    rows.sort(([ia, a], [ib, b]) => b.get('prio') - a.get('prio') || (a.get('title') < b.get('title') ? -1 : a.get('title') > b.get('title') ? 1 : 0) || (ia < ib ? -1 : 1))
    found = rows.slice(0, limit).map(([id, rec]) => ({ id, ...rec.toJSON() }))
  })
  t.update = time(() => {
    records.forEach((r, i) => doc.transact(() => todos.get(r.id).set('prio', (i * 7) % 5)))
  })
  let state
  t.encode = time(() => {
    state = Y.encodeStateAsUpdate(doc)
  })
  const fresh = new Y.Doc()
  t.load = time(() => {
    Y.applyUpdate(fresh, state)
  })
  if (fresh.getMap('todos').size !== N || found.length !== 20 || sink < 0) throw new Error('Yjs bench sanity check failed')
  t.bytes = state.length
  return t
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

const records = makeRecords()
const ours = []
const theirs = []
for (let run = 0; run < RUNS; run++) {
  // Alternate so neither side always runs on a warmer heap.
  ours.push(await benchYreplica(records))
  theirs.push(benchYjs(records))
}

const rows = [
  ['insert', `bulk insert ${N} (one transaction)`],
  ['get', `get each of ${N} by id`],
  ['find', 'find: filter + sort + limit 20'],
  ['update', `update one field of each, ${N} transactions`],
  ['encode', 'encode the full state'],
  ['load', 'load from the full state'],
]
console.log(`\nyreplica vs Yjs ${Y.Doc ? '13' : ''}, N=${N}, median of ${RUNS} runs (ms), Node ${process.version}`)
console.log('operation'.padEnd(48) + 'yreplica'.padStart(10) + 'Yjs'.padStart(10) + 'ratio'.padStart(8))
for (const [key, label] of rows) {
  const a = median(ours.map((t) => t[key]))
  const b = median(theirs.map((t) => t[key]))
  console.log(label.padEnd(48) + a.toFixed(1).padStart(10) + b.toFixed(1).padStart(10) + (a / b).toFixed(2).padStart(8))
}
console.log('state bytes'.padEnd(48) + String(ours[0].bytes).padStart(10) + String(theirs[0].bytes).padStart(10) + (ours[0].bytes / theirs[0].bytes).toFixed(2).padStart(8))

const wasmGz = gzipSync(readFileSync(new URL('../pkg/web/yreplica_bg.wasm', import.meta.url)), { level: 9 }).length
const glueFiles = ['../pkg/web/yreplica.js', '../js/web.js', '../js/replica.js', '../js/values.js', '../js/ids.js', '../js/options.js', '../js/persistence.js', '../js/record-cache.js']
const glueGz = glueFiles.reduce((s, f) => s + gzipSync(readFileSync(new URL(f, import.meta.url)), { level: 9 }).length, 0)
console.log(`size: wasm ${(wasmGz / 1024).toFixed(1)} KB + JS ${(glueGz / 1024).toFixed(1)} KB = ${((wasmGz + glueGz) / 1024).toFixed(1)} KB gzipped`)
