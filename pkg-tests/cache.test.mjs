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

test('the read cache equals the core after random writes and remote updates', async () => {
  const random = rng(42)
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
  for (let i = 0; i < 600; i++) {
    await step()
    for (const name of names) {
      const cached = byId(r.collection(name).all())
      const core = byId(JSON.parse(r._core.all(name)))
      assert.deepStrictEqual(cached, core, `after step ${i}, collection ${name}`)
    }
  }
  assert.ok(opsRun.ok > 300 && opsRun.rejected > 10, JSON.stringify(opsRun))
})
