// Child: IndexedDB in headless Chromium for one library and N records.
//   persist:   insert N records → durable in IndexedDB
//              (yreplica: one insertMany, awaited; Yjs: one transaction, until y-indexeddb's
//              write has committed)
//   cold open: a new browser process on the same profile opens the database → all N
//              records readable
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { launchPersistentContext } from '../../dev/browser.mjs'
import { runChild, onExit } from './child.mjs'
import { serveBenchSite } from './idb-site.mjs'

async function withPage(profile, url, fn) {
  // a persistent profile: a cold open needs the same one twice
  const context = await launchPersistentContext(profile)
  try {
    const page = context.pages()[0] ?? (await context.newPage())
    const errors = []
    page.on('pageerror', (error) => errors.push(error))
    await page.goto(`${url}/index.html`)
    await page.waitForFunction(() => window.ready === true)
    const value = await fn(page)
    if (errors.length > 0) throw errors[0]
    return { value, version: context.browser()?.version() }
  } finally {
    await context.close()
  }
}

const persistYreplica = ({ n, name }) =>
  (async () => {
    const { Replica, records, limits } = window
    const notes = []
    const list = records.makeRecords(n)
    const { replica, value: ms } = await limits.withWriteLimitsIfRefused(
      (extra) => Replica.open({ name, ...extra }),
      async (r) => {
        const start = performance.now()
        await r.collection(records.COLLECTION).insertMany(list)
        return performance.now() - start
      },
      (text) => notes.push(text),
      `insertMany of ${n} records (Chromium)`,
    )
    await replica.close()
    return { ms, notes }
  })()

const persistYjs = ({ n, name }) =>
  (async () => {
    const { Y, IndexeddbPersistence, records } = window
    const list = records.makeRecords(n)
    const doc = new Y.Doc()
    const persistence = new IndexeddbPersistence(name, doc)
    await persistence.whenSynced
    const start = performance.now()
    const todos = doc.getMap(records.COLLECTION)
    doc.transact(() => {
      for (const { id, ...fields } of list) todos.set(id, new Y.Map(Object.entries(fields)))
    })
    // y-indexeddb writes in a transaction opened during the update event: a readonly
    // transaction opened now completes only after that write has committed.
    await new Promise((resolve, reject) => {
      const txn = persistence.db.transaction('updates', 'readonly')
      txn.oncomplete = resolve
      txn.onerror = () => reject(txn.error)
    })
    const ms = performance.now() - start
    await persistence.destroy()
    return { ms, notes: [] }
  })()

const openYreplica = ({ n, name }) =>
  (async () => {
    const { Replica, records } = window
    const start = performance.now()
    const replica = await Replica.open({ name })
    const todos = replica.collection(records.COLLECTION)
    const count = todos.count()
    const last = todos.get(records.recordAt(n - 1).id)
    const ms = performance.now() - start
    await replica.close()
    if (count !== n || !last) throw new Error(`yreplica opened ${count} records, not ${n}`)
    return { ms, notes: [] }
  })()

const openYjs = ({ n, name }) =>
  (async () => {
    const { Y, IndexeddbPersistence, records } = window
    const start = performance.now()
    const doc = new Y.Doc()
    const persistence = new IndexeddbPersistence(name, doc)
    await persistence.whenSynced
    const todos = doc.getMap(records.COLLECTION)
    const count = todos.size
    const last = todos.get(records.recordAt(n - 1).id)?.toJSON()
    const ms = performance.now() - start
    await persistence.destroy()
    if (count !== n || !last) throw new Error(`y-indexeddb opened ${count} records, not ${n}`)
    return { ms, notes: [] }
  })()

const STEPS = { yreplica: [persistYreplica, openYreplica], yjs: [persistYjs, openYjs] }

runChild(async ({ lib, n }, note) => {
  const site = await serveBenchSite()
  onExit(() => site.close())
  const profile = mkdtempSync(join(tmpdir(), 'yreplica-scale-profile-'))
  onExit(() => rmSync(profile, { recursive: true, force: true }))
  const [persist, open] = STEPS[lib]
  const args = { n, name: `scale-${lib}` }
  const persisted = await withPage(profile, site.url, (page) => page.evaluate(persist, args))
  const opened = await withPage(profile, site.url, (page) => page.evaluate(open, args))
  for (const text of [...persisted.value.notes, ...opened.value.notes]) note(text)
  return { persist: persisted.value.ms, open: opened.value.ms, chromium: persisted.version }
})
