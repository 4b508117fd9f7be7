// Secondary indexes through the installed package: queries on indexed replicas give what the
// same queries give on index-free copies, after random local writes, transact(), two indexed
// replicas syncing through encodeState/applyUpdate, and writes from a plain Yjs app; explain()
// names the index used.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as Y from 'yjs'
import { Replica } from 'yreplica'

function rng(seed) {
  let s = seed >>> 0
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32)
}

const open = (name) => Replica.open({ name, storage: 'memory' })

/** Sends what `to` lacks from `from`. */
function sync(from, to) {
  to.applyUpdate(from.encodeState(to.stateVector()))
}

test('indexed find and count equal a scan after random writes on two syncing replicas', async () => {
  const random = rng(7)
  const pick = (xs) => xs[Math.floor(random() * xs.length)]
  const values = [0, 1, 2, 2.5, -1, 'a', 'b', '', true, false, null, [1], [1, 2], [], { x: 1 }, {}]
  const fields = ['a', 'b', 'c', 'd']
  const ids = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7']
  const record = () => {
    const r = {}
    for (const f of fields) if (random() < 0.7) r[f] = pick(values)
    return r
  }
  const condition = () => {
    const some = () => Array.from({ length: Math.floor(random() * 4) }, () => pick(values))
    return pick([
      () => pick(values),
      () => ({ $eq: pick(values) }),
      () => ({ $ne: pick(values) }),
      () => ({ $gt: pick(values) }),
      () => ({ $gte: pick(values) }),
      () => ({ $lt: pick(values) }),
      () => ({ $lte: pick(values) }),
      () => ({ $in: some() }),
      () => ({ $nin: some() }),
      () => ({ $exists: random() < 0.5 }),
      () => ({ $gte: pick(values), $lt: pick(values) }),
    ])()
  }
  const query = () => {
    const where = {}
    for (let i = Math.floor(random() * 3); i > 0; i--) where[pick([...fields, 'id'])] = condition()
    const q = { where, orderBy: Array.from({ length: Math.floor(random() * 3) }, () => (random() < 0.5 ? '-' : '') + pick(fields)) }
    if (random() < 0.6) q.limit = Math.floor(random() * 5)
    if (random() < 0.3) q.offset = Math.floor(random() * 3)
    return q
  }

  // two indexed replicas that sync with each other, each with an index-free mirror
  const a = await open('idx-a')
  const b = await open('idx-b')
  const mirrorA = await open('idx-mirror-a')
  const mirrorB = await open('idx-mirror-b')
  a.collection('todos', { indexes: ['a', 'b'] })
  b.collection('todos', { indexes: ['b', 'c'] })
  const yjs = new Y.Doc() // a plain Yjs app writing into a
  let indexed = 0
  let checked = 0
  for (let step = 0; step < 500; step++) {
    // indexes added later, to a collection holding records
    if (step === 200) a.collection('todos', { indexes: ['c', 'd'] })
    const r = pick([a, b])
    const todos = r.collection('todos')
    const id = pick(ids)
    const op = Math.floor(random() * 10)
    try {
      if (op === 0) await todos.insert({ ...record(), id })
      else if (op === 1) await todos.insertMany([{ ...record(), id: `${id}-m${step}` }, record()])
      else if (op === 2) await todos.update(id, { [pick(fields)]: pick(values), [pick(fields)]: undefined })
      else if (op === 3) await todos.replace(id, record())
      else if (op === 4) await todos.upsert({ ...record(), id })
      else if (op === 5) await todos.delete(id)
      else if (op === 6) {
        r.transact(() => {
          todos.upsert({ ...record(), id }).catch(() => {})
          todos.update(pick(ids), record()).catch(() => {})
          todos.delete(pick(ids)).catch(() => {})
        })
      } else if (op === 7) {
        sync(a, b)
        sync(b, a)
      } else if (op === 8) {
        // a plain Yjs app: field edits, plain-object records, deletions
        Y.applyUpdate(yjs, a.encodeState())
        const before = Y.encodeStateVector(yjs)
        const map = yjs.getMap('todos')
        const rec = map.get(id)
        if (rec instanceof Y.Map && random() < 0.6) rec.set(pick(fields), pick(values))
        else if (random() < 0.5) map.set(id, record())
        else map.delete(id)
        a.applyUpdate(Y.encodeStateAsUpdate(yjs, before))
      }
    } catch (error) {
      assert.ok(['NOT_FOUND', 'ALREADY_EXISTS'].includes(error.code), String(error))
    }
    sync(a, mirrorA)
    sync(b, mirrorB)
    for (const [replica, mirror] of [[a, mirrorA], [b, mirrorB]]) {
      const q = query()
      const got = replica.collection('todos').find(q)
      assert.deepStrictEqual(got, mirror.collection('todos').find(q), `step ${step}: ${JSON.stringify(q)}`)
      assert.equal(replica.collection('todos').count(q.where), mirror.collection('todos').count(q.where), `step ${step}: count ${JSON.stringify(q.where)}`)
      const plan = replica.collection('todos').explain(q)
      if (plan.index !== null && plan.index !== 'id') indexed++
      checked++
    }
  }
  assert.ok(indexed * 4 > checked, `${indexed} of ${checked} queries used an index`)
  for (const r of [a, b, mirrorA, mirrorB]) await r.close()
})

test('explain names the index a query uses', async () => {
  const r = await open('idx-explain')
  const tasks = r.collection('tasks', { indexes: ['owner', 'prio'] })
  await tasks.insertMany(Array.from({ length: 100 }, (_, i) => ({ id: `t${String(i).padStart(3, '0')}`, owner: `u${i % 10}`, prio: i % 5, n: i })))
  assert.deepEqual(tasks.explain({ where: { owner: 'u7' } }), { index: 'owner', scanned: 10 })
  assert.deepEqual(tasks.explain({ where: { owner: { $in: ['u1', 'u2'] } } }), { index: 'owner', scanned: 20 })
  assert.deepEqual(tasks.explain({ where: { prio: { $gte: 3 } } }), { index: 'prio', scanned: 40 })
  assert.deepEqual(tasks.explain({ orderBy: '-prio', limit: 3 }), { index: 'prio', scanned: 3 })
  assert.deepEqual(tasks.explain({ where: { n: 5 } }), { index: null, scanned: 100 })
  assert.deepEqual(tasks.explain({ where: { id: 't005' } }), { index: 'id', scanned: 1 })
  // declaring the collection again adds indexes; the handle stays the same
  assert.equal(r.collection('tasks', { indexes: ['n'] }), tasks)
  assert.deepEqual(tasks.explain({ where: { n: 5 } }), { index: 'n', scanned: 1 })
  assert.deepEqual(tasks.find({ where: { n: { $gt: 97 } }, orderBy: '-n' }).map((t) => t.id), ['t099', 't098'])
  // the index follows writes at once
  await tasks.update('t005', { owner: 'u7' })
  assert.deepEqual(tasks.explain({ where: { owner: 'u7' } }), { index: 'owner', scanned: 11 })
  await r.close()
})

test('collection options are checked', async () => {
  const r = await open('idx-options')
  for (const options of [null, [], 'owner', { indexes: 'owner' }, { indexes: [''] }, { indexes: [1] }, { indexes: ['id'] }, { index: ['owner'] }]) {
    assert.throws(() => r.collection('todos', options), (e) => e.code === 'INVALID_OPTION', JSON.stringify(options))
  }
  assert.deepEqual(r.collection('todos', {}).explain({ where: { owner: 'x' } }), { index: null, scanned: 0 })
  await r.close()
  assert.throws(() => r.collection('todos').explain({}), (e) => e.code === 'CLOSED')
})
