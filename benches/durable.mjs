// npm run bench:durable: what writes cost when they are durable (the Node file store, each
// append fsynced) as the document grows. A write's own cost should not depend on the
// document's size; compaction (rewriting the whole document) and merging a tick's updates
// are where it once did. Each size runs in a fresh replica and a fresh directory.
//
//   node benches/durable.mjs --sizes 10000,100000 --writes 3000 --burst 30000
import { parseArgs } from 'node:util'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { makeRecords } from './scale/records.mjs'

const { values: options } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000' },
    writes: { type: 'string', default: '3000' },
    burst: { type: 'string', default: '30000' },
    // another build of the library (a directory holding js/node.js), to compare two
    lib: { type: 'string' },
  },
})
const sizes = options.sizes.split(',').map(Number)
const writes = Number(options.writes)
const burst = Number(options.burst)
const lib = options.lib === undefined ? new URL('../js/node.js', import.meta.url) : pathToFileURL(join(resolve(options.lib), 'js/node.js'))
const { Replica } = await import(lib)

const ms = (value) => value.toFixed(value < 10 ? 2 : 0)

async function measure(n) {
  const dir = mkdtempSync(join(tmpdir(), 'yreplica-durable-'))
  const log = join(dir, 'bench.ylog')
  const records = makeRecords(n)
  const id = (i) => records[(i * 37) % n].id
  const figures = {}
  try {
    const replica = await Replica.open({ name: 'bench', storage: { dir } })
    const todos = replica.collection('todos')
    let start = performance.now()
    await todos.insertMany(records)
    figures['insertMany, durable (ms)'] = performance.now() - start

    // one write at a time, each awaited until durable: its latency, compactions included
    const latencies = []
    start = performance.now()
    for (let i = 0; i < writes; i++) {
      const t = performance.now()
      await todos.update(id(i), { prio: 10 + i })
      latencies.push(performance.now() - t)
    }
    figures[`${writes} awaited updates: mean (ms)`] = (performance.now() - start) / writes
    latencies.sort((a, b) => a - b)
    figures['… median (ms)'] = latencies[latencies.length >> 1]
    figures['… slowest (ms)'] = latencies[latencies.length - 1]

    // many writes in one tick: their updates are merged into one append
    start = performance.now()
    await Promise.all(Array.from({ length: burst }, (_, i) => todos.update(id(i), { prio: 100_000 + i })))
    figures[`${burst} updates in one tick, durable (ms)`] = performance.now() - start
    start = performance.now()
    await replica.transact(() => {
      for (let i = 0; i < burst; i++) todos.update(id(i), { prio: 200_000 + i })
    })
    figures[`${burst} updates in one transact(), durable (ms)`] = performance.now() - start
    await replica.close()
    figures['log size (bytes)'] = statSync(log).size

    start = performance.now()
    const reopened = await Replica.open({ name: 'bench', storage: { dir } })
    if (reopened.collection('todos').count() !== n) throw new Error('reopened without every record')
    figures['reopen: all records readable (ms)'] = performance.now() - start
    await reopened.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return figures
}

const results = []
for (const n of sizes) results.push(await measure(n))
const rows = Object.keys(results[0])
console.log(`| figure | ${sizes.map((n) => `${n.toLocaleString('en-US')} records`).join(' | ')} |`)
console.log(`| --- | ${sizes.map(() => '--:').join(' | ')} |`)
for (const row of rows) console.log(`| ${row} | ${results.map((r) => (row.includes('bytes') ? r[row].toLocaleString('en-US') : ms(r[row]))).join(' | ')} |`)
