// npm run bench:idb: IndexedDB persistence in headless Chromium, yreplica against y-indexeddb
// + Yjs (one nested Y.Map per record) in the same page and run. Prints medians of 3 runs.
import { launchBrowser } from '../dev/browser.mjs'
import { serveBrowserSite } from '../dev/browser-site.mjs'

const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const N = 10_000

async function benchInPage(page, run) {
  return page.evaluate(async ({ N, run }) => {
    const { Replica, Y, IndexeddbPersistence } = window
    const records = Array.from({ length: N }, (_, i) => ({ id: `r${i}`, title: `Task number ${i} with some words`, done: i % 3 === 0, prio: i % 5, tags: ['a', 'b'], createdAt: 1_700_000_000_000 + i }))
    const now = () => performance.now()
    // A readonly transaction opened after y-indexeddb's write waits for it to commit.
    const committed = (db) => new Promise((resolve) => { db.transaction('updates', 'readonly').oncomplete = resolve })
    const storedBytes = (name) => new Promise((resolve, reject) => {
      const open = indexedDB.open(name)
      open.onsuccess = () => {
        const db = open.result
        const req = db.transaction('updates').objectStore('updates').getAll()
        req.onsuccess = () => { db.close(); resolve(req.result.reduce((s, u) => s + u.byteLength, 0)) }
        req.onerror = reject
      }
    })
    const ours = {}
    const theirs = {}

    // bulk persist
    let r = await Replica.open({ name: `ours-bulk-${run}` })
    let t = now()
    await r.collection('todos').insertMany(records)
    ours.bulk = now() - t
    await r.close()
    let doc = new Y.Doc()
    let p = new IndexeddbPersistence(`theirs-bulk-${run}`, doc)
    await p.whenSynced
    t = now()
    doc.transact(() => { for (const { id, ...f } of records) doc.getMap('todos').set(id, new Y.Map(Object.entries(f))) })
    await committed(p.db)
    theirs.bulk = now() - t
    await p.destroy()

    // 500 single-record writes, each awaited
    r = await Replica.open({ name: `ours-single-${run}` })
    t = now()
    for (let i = 0; i < 500; i++) await r.collection('todos').insert({ id: `s${i}`, i })
    ours.single = now() - t
    await r.close()
    doc = new Y.Doc()
    p = new IndexeddbPersistence(`theirs-single-${run}`, doc)
    await p.whenSynced
    t = now()
    for (let i = 0; i < 500; i++) {
      doc.getMap('todos').set(`s${i}`, new Y.Map([['i', i]]))
      await committed(p.db)
    }
    theirs.single = now() - t
    await p.destroy()

    // cold open of the 10,000-record databases written above
    t = now()
    r = await Replica.open({ name: `ours-bulk-${run}` })
    ours.open = now() - t
    if (r.collection('todos').count() !== N) throw new Error('ours: wrong count after open')
    await r.close()
    doc = new Y.Doc()
    t = now()
    p = new IndexeddbPersistence(`theirs-bulk-${run}`, doc)
    await p.whenSynced
    theirs.open = now() - t
    if (doc.getMap('todos').size !== N) throw new Error('theirs: wrong count after open')
    await p.destroy()

    // bytes after compaction: 600 single writes push both past their compaction threshold
    r = await Replica.open({ name: `ours-bulk-${run}` })
    for (let i = 0; i < 600; i++) await r.collection('todos').update(`r${i}`, { prio: 9 })
    await r.close()
    doc = new Y.Doc()
    p = new IndexeddbPersistence(`theirs-bulk-${run}`, doc)
    await p.whenSynced
    for (let i = 0; i < 600; i++) { doc.getMap('todos').get(`r${i}`).set('prio', 9); await committed(p.db) }
    await new Promise((resolve) => setTimeout(resolve, 1500)) // y-indexeddb compacts after a 1 s debounce
    await p.destroy()
    ours.bytes = await storedBytes(`ours-bulk-${run}`)
    theirs.bytes = await storedBytes(`theirs-bulk-${run}`)
    return { ours, theirs }
  }, { N, run })
}

const http = await serveBrowserSite() // the repository's js/web.js, Yjs and y-indexeddb
const browser = await launchBrowser()
try {
  const page = await browser.newPage()
  page.on('pageerror', (e) => console.error('page error:', e))
  await page.goto(`${http.url}/index.html`)
  await page.waitForFunction(() => window.ready === true)
  const results = []
  for (let run = 0; run < RUNS; run++) results.push(await benchInPage(page, run))
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const version = await browser.version()
  console.log(`\nIndexedDB, headless Chromium ${version}, N=${N}, median of ${RUNS} runs`)
  console.log('measurement'.padEnd(46) + 'yreplica'.padStart(12) + 'y-indexeddb'.padStart(14) + 'ratio'.padStart(8))
  for (const [key, label, unit] of [
    ['bulk', `persist ${N} inserted records`, 'ms'],
    ['single', '500 single-record writes, each awaited', 'ms'],
    ['open', `cold open of a ${N}-record database`, 'ms'],
    ['bytes', 'bytes stored after compaction', 'B'],
  ]) {
    const a = median(results.map((r) => r.ours[key]))
    const b = median(results.map((r) => r.theirs[key]))
    const show = (v) => (unit === 'B' ? `${v} B` : `${v.toFixed(0)} ms`)
    console.log(label.padEnd(46) + show(a).padStart(12) + show(b).padStart(14) + (a / b).toFixed(2).padStart(8))
  }
} finally {
  await browser.close()
  await http.close()
}
