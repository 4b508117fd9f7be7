// The JS read cache must always equal what the Wasm core holds. Random local writes (inside
// and outside transact) and remote updates from a Yjs doc, then a field-by-field comparison.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as Y from 'yjs'
import { Replica } from 'yreplica'

function rng(seed) {
  let s = seed >>> 0
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32)
}

function byId(records) {
  return Object.fromEntries(records.map((r) => [r.id, r]))
}

// `sparse`: reads touch one record at a time and listeners come and go, so values the core
// sent without (nobody listening) or that were never parsed are fetched on first read.
for (const mode of ['all', 'sparse']) test(`the read cache equals the core after random writes and remote updates (${mode} reads)`, async () => {
  const random = rng(mode === 'all' ? 42 : 7)
  const pick = (xs) => xs[Math.floor(random() * xs.length)]
  const r = await Replica.open({ name: 'cache', storage: 'memory' })
  const names = ['todos', 'notes']
  const ids = ['a', 'b', 'c', 'd', 'e', '__proto__x']
  const keys = ['title', 'n', 'done', '__proto__', 'constructor', 'nested']
  const value = () => pick(['s', 1, -0, 2.5, true, null, [1, { x: 1 }], { deep: { y: [null] } }, 'ünïcødé ✓'])
  const fields = () => {
    const f = {}
    for (let i = Math.floor(random() * 4); i > 0; i--) Object.defineProperty(f, pick(keys), { value: value(), enumerable: true, writable: true, configurable: true })
    return f
  }
  const doc = new Y.Doc()
  const opsRun = { ok: 0, rejected: 0 }
  const step = async () => {
    const c = r.collection(pick(names))
    const id = pick(ids)
    const op = Math.floor(random() * 8)
    try {
      if (op === 0) await c.insert({ ...fields(), id })
      else if (op === 1) await c.update(id, { ...fields(), [pick(keys)]: undefined })
      else if (op === 2) await c.replace(id, fields())
      else if (op === 3) await c.upsert({ ...fields(), id })
      else if (op === 4) await c.delete(id)
      else if (op === 5) await c.insertMany([{ ...fields() }, { ...fields(), id: id + '-many' }])
      else if (op === 6) {
        // a remote writer: a Yjs doc that knows our state edits a record's field or deletes it
        Y.applyUpdate(doc, r.encodeState())
        const map = doc.getMap(c.name)
        const before = Y.encodeStateVector(doc)
        const rec = map.get(id)
        if (rec instanceof Y.Map && random() < 0.7) rec.set(pick(keys), value())
        else if (random() < 0.5) map.delete(id)
        else map.set(id, { plain: value() })
        r.applyUpdate(Y.encodeStateAsUpdate(doc, before))
      } else {
        r.transact(() => {
          c.insert({ id: id + '-t', v: 1 }).catch(() => {})
          c.update(id + '-t', fields()).catch(() => {})
          c.delete(pick(ids)).catch(() => {})
        })
      }
      opsRun.ok++
    } catch (error) {
      assert.ok(['NOT_FOUND', 'ALREADY_EXISTS'].includes(error.code), String(error))
      opsRun.rejected++
    }
  }
  let stop = null
  for (let i = 0; i < 600; i++) {
    await step()
    if (mode === 'sparse' && random() < 0.1) {
      if (stop) stop()
      stop = random() < 0.5 ? r.collection(pick(names)).subscribe(() => {}) : null
    }
    for (const name of names) {
      const core = byId(JSON.parse(r._core.all(name)))
      if (mode === 'all' || i % 50 === 49) {
        assert.deepStrictEqual(byId(r.collection(name).all()), core, `after step ${i}, collection ${name}`)
      } else {
        const id = pick([...ids, ...ids.map((x) => x + '-t'), ...ids.map((x) => x + '-many')])
        assert.deepStrictEqual(r.collection(name).get(id), core[id], `after step ${i}, ${name}.get('${id}')`)
        assert.equal(r.collection(name).count(), Object.keys(core).length, `after step ${i}, ${name}.count()`)
      }
    }
  }
  assert.ok(opsRun.ok > 300 && opsRun.rejected > 10, JSON.stringify(opsRun))
})

test('all() returns the records in the order they entered this replica, not sorted', async () => {
  const r = await Replica.open({ name: 'order', storage: 'memory' })
  const todos = r.collection('todos')
  await todos.insert({ id: 'c' })
  await todos.insertMany([{ id: 'a' }, { id: 'b' }])
  await todos.update('c', { v: 1 }) // an update keeps its place
  assert.deepEqual(todos.all().map((t) => t.id), ['c', 'a', 'b'])
  await todos.delete('a')
  await todos.insert({ id: 'a' }) // deleted and written again: last
  assert.deepEqual(todos.all().map((t) => t.id), ['c', 'b', 'a'])
  // received records come after, in the order they arrive
  const doc = new Y.Doc()
  const map = doc.getMap('todos')
  map.set('0', new Y.Map([['v', 0]]))
  r.applyUpdate(Y.encodeStateAsUpdate(doc))
  assert.deepEqual(todos.all().map((t) => t.id), ['c', 'b', 'a', '0'])
  assert.deepEqual(todos.find().map((t) => t.id), ['0', 'a', 'b', 'c'], 'find() sorts by id')
  await r.close()
})
