// npm run bench:indexes [N,...]: indexed queries at scale (default 100,000 and 1,000,000
// records of the 6 fields of benches/crud.mjs), each size in its own process so Wasm memory
// starts fresh. Prints query times (median of 21 runs after one warm-up; 3 for scans) with and without
// indexes, what the plan examined, the time to build each index, and the heap bytes each
// index adds per record (wasmMemoryStats().inUse: bytes allocated, not the memory size,
// which grows in large steps).
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Replica } from '../js/node.js'

const RUNS = 21
const SCAN_RUNS = 3 // a scan of 1,000,000 records takes seconds
const CHUNK = 100_000
const OWNERS = 97
const T0 = 1_700_000_000_000

function record(i) {
  return {
    id: `rec-${String(i).padStart(7, '0')}`,
    title: `Task number ${i} with some words`,
    done: i % 3 === 0,
    prio: i % 5,
    tags: ['tag' + (i % 7), 'tag' + (i % 11)],
    createdAt: T0 + i * 1000,
    owner: `user-${i % OWNERS}`,
  }
}

async function timeAsync(fn) {
  const start = performance.now()
  await fn()
  return { ms: performance.now() - start }
}

function time(fn) {
  const start = performance.now()
  const value = fn()
  return { ms: performance.now() - start, value }
}

function median(fn, runs = RUNS) {
  fn()
  const samples = []
  for (let i = 0; i < runs; i++) samples.push(time(fn).ms)
  return samples.sort((a, b) => a - b)[runs >> 1]
}

/** Bytes the Wasm heap holds now (not the memory size, which only grows, in large steps). */
const heapInUse = (core) => JSON.parse(core.wasmMemoryStats()).inUse

const ms = (x) => (x < 10 ? x.toFixed(2) : x.toFixed(0))

async function measure(n) {
  const core = createRequire(import.meta.url)('../pkg/node/yreplica.js')
  // one insertMany of 100,000 records is ~15 MB of JSON
  const replica = await Replica.open({ name: 'bench-indexes', storage: 'memory', maxUpdateBytes: 64 * 2 ** 20, maxFrameBytes: 256 * 2 ** 20 })
  const todos = replica.collection('todos')
  const heapEmpty = heapInUse(core)
  let insertMs = 0
  for (let start = 0; start < n; start += CHUNK) {
    const records = []
    for (let i = start; i < Math.min(n, start + CHUNK); i++) records.push(record(i))
    const started = performance.now()
    await todos.insertMany(records)
    insertMs += performance.now() - started
  }
  const heapRecords = heapInUse(core)

  const queries = {
    'owner = user-42, orderBy -createdAt, limit 20': { where: { owner: 'user-42' }, orderBy: '-createdAt', limit: 20 },
    'createdAt >= middle, orderBy createdAt, limit 20': { where: { createdAt: { $gte: T0 + (n / 2) * 1000 } }, orderBy: 'createdAt', limit: 20 },
    'prio > 2, orderBy -prio, limit 20': { where: { prio: { $gt: 2 } }, orderBy: '-prio', limit: 20 },
    'owner in [user-1, user-2], limit 20': { where: { owner: { $in: ['user-1', 'user-2'] } }, limit: 20 },
  }
  const rows = {}
  for (const [name, q] of Object.entries(queries)) rows[name] = { scan: median(() => todos.find(q), SCAN_RUNS) }
  const countWhere = { owner: 'user-42' }
  rows['count owner = user-42'] = { scan: median(() => todos.count(countWhere), SCAN_RUNS) }

  const build = {}
  const perIndex = {}
  let heap = heapInUse(core)
  for (const field of ['owner', 'createdAt', 'prio']) {
    build[field] = time(() => replica.collection('todos', { indexes: [field] })).ms
    const now = heapInUse(core)
    perIndex[field] = (now - heap) / n
    heap = now
  }

  for (const [name, q] of Object.entries(queries)) {
    rows[name].indexed = median(() => todos.find(q))
    rows[name].plan = todos.explain(q)
  }
  rows['count owner = user-42'].indexed = median(() => todos.count(countWhere))
  rows['count owner = user-42'].plan = todos.explain({ where: countWhere })

  // a write, then the query: the index takes in the touched record first
  const q1 = queries['owner = user-42, orderBy -createdAt, limit 20']
  let k = 0
  const writeThenFind = median(() => {
    todos.update(record(k++ * 7919 % n).id, { owner: `user-${k % OWNERS}`, createdAt: T0 + k })
    return todos.find(q1)
  })
  // many writes, then the query: 10,000 records touched in one transaction
  const touched = time(() => {
    replica.transact(() => {
      for (let i = 0; i < 10_000; i++) todos.update(record(i * 97 % n).id, { createdAt: T0 - i })
    })
  }).ms
  const catchUp = time(() => todos.find(q1)).ms
  // 100,000 more records inserted while indexed, then the query: the indexes take them in
  const more = []
  for (let i = n; i < n + CHUNK; i++) more.push(record(i))
  const insertIndexed = (await timeAsync(() => todos.insertMany(more))).ms
  const firstAfterInsert = time(() => todos.find(q1)).ms

  const heapRecordsTotal = heapRecords - heapEmpty
  await replica.close()
  return { n, insertMs, heapRecordsTotal, build, perIndex, rows, writeThenFind, touched, catchUp, insertIndexed, firstAfterInsert, memory: core.wasmMemoryBytes() }
}

function print(r) {
  console.log(`\n${r.n.toLocaleString('en-US')} records: insertMany in chunks of ${CHUNK.toLocaleString('en-US')} took ${(r.insertMs / 1000).toFixed(1)} s; the records hold ${(r.heapRecordsTotal / r.n).toFixed(0)} heap bytes each; Wasm memory ${(r.memory / 2 ** 20).toFixed(0)} MiB at the end`)
  console.log('| query | scan | indexed | plan (index, records examined) |')
  console.log('|---|--:|--:|---|')
  for (const [name, row] of Object.entries(r.rows)) {
    console.log(`| ${name} | ${ms(row.scan)} ms | ${ms(row.indexed)} ms | ${row.plan.index}, ${row.plan.scanned.toLocaleString('en-US')} |`)
  }
  console.log('| index | build | heap bytes per record |')
  console.log('|---|--:|--:|')
  for (const field of Object.keys(r.build)) console.log(`| ${field} | ${ms(r.build[field])} ms | ${r.perIndex[field].toFixed(1)} |`)
  console.log(`update one record, then the first query: ${ms(r.writeThenFind)} ms (median)`)
  console.log(`10,000 updates in one transact(): ${ms(r.touched)} ms; the first query after them: ${ms(r.catchUp)} ms`)
  console.log(`insertMany of ${CHUNK.toLocaleString('en-US')} more records with the 3 indexes: ${ms(r.insertIndexed)} ms; the first query after it: ${ms(r.firstAfterInsert)} ms`)
}

const self = fileURLToPath(import.meta.url)
const { values, positionals } = parseArgs({ options: { child: { type: 'string' } }, allowPositionals: true })
if (values.child !== undefined) {
  console.log(JSON.stringify(await measure(Number(values.child))))
} else {
  const sizes = (positionals[0] ?? '100000,1000000').split(',').map(Number)
  if (sizes.some((n) => !Number.isInteger(n) || n < 1)) {
    console.error(`bench:indexes: sizes must be whole numbers separated by commas, got '${positionals[0]}'`)
    process.exit(2)
  }
  for (const n of sizes) {
    const out = execFileSync(process.execPath, ['--max-old-space-size=8192', self, '--child', String(n)], { encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'] })
    print(JSON.parse(out.trim().split('\n').pop()))
  }
}
