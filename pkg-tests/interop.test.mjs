// yreplica and real Yjs 13 documents exchange state both ways through encodeState/applyUpdate.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as Y from 'yjs'
import { Replica } from 'yreplica'

const open = () => Replica.open({ name: 'interop', storage: 'memory' })

test('a Yjs doc applies encodeState() and reads records as Y.Maps of fields', async () => {
  const r = await open()
  const todos = r.collection('todos')
  const id = await todos.insert({ title: 'Buy milk', done: false, prio: 2, tags: ['a'], meta: { n: 1.5 } })
  const doc = new Y.Doc()
  Y.applyUpdate(doc, r.encodeState())
  const record = doc.getMap('todos').get(id)
  assert.ok(record instanceof Y.Map)
  assert.equal(record.get('title'), 'Buy milk')
  assert.equal(record.get('done'), false)
  assert.equal(record.get('prio'), 2)
  assert.deepEqual(record.get('tags'), ['a'])
  assert.deepEqual(record.get('meta'), { n: 1.5 })
  assert.equal(record.has('id'), false, 'the id is the key, not a field')
})

test('yreplica applies Yjs updates: Y.Map records and plain-object records, origin remote', async () => {
  const doc = new Y.Doc()
  doc.transact(() => {
    const todos = doc.getMap('todos')
    todos.set('m1', new Y.Map(Object.entries({ title: 'as Y.Map', done: false })))
    todos.set('p1', { title: 'as object', done: true, nested: { a: [1, 2] } })
  })
  const r = await open()
  const seen = []
  r.collection('todos').subscribe((changes) => seen.push(...changes))
  r.applyUpdate(Y.encodeStateAsUpdate(doc))
  const todos = r.collection('todos')
  assert.deepEqual(todos.get('m1'), { id: 'm1', title: 'as Y.Map', done: false })
  assert.deepEqual(todos.get('p1'), { id: 'p1', title: 'as object', done: true, nested: { a: [1, 2] } })
  assert.deepEqual(seen.map((c) => [c.type, c.id, c.origin]).sort(), [['insert', 'm1', 'remote'], ['insert', 'p1', 'remote']])
  assert.deepEqual(r.collections(), ['todos'])
  assert.equal(todos.find({ where: { done: true } })[0].id, 'p1')
})

test('incremental updates flow both ways and field edits merge', async () => {
  const r = await open()
  const todos = r.collection('todos')
  const doc = new Y.Doc()
  const toReplica = []
  doc.on('update', (update, origin) => { if (origin !== 'from-replica') toReplica.push(update) })
  const sync = () => {
    Y.applyUpdate(doc, r.encodeState(), 'from-replica')
    for (const u of toReplica.splice(0)) r.applyUpdate(u)
  }
  await todos.insert({ id: 't', title: 'x', done: false })
  sync()
  // concurrent edits of different fields of the same record
  await todos.update('t', { title: 'from replica' })
  doc.getMap('todos').get('t').set('done', true)
  sync()
  assert.deepEqual(todos.get('t'), { id: 't', title: 'from replica', done: true })
  assert.deepEqual(doc.getMap('todos').get('t').toJSON(), { title: 'from replica', done: true })
  // a Yjs delete reaches the replica as a remote delete
  const seen = []
  todos.subscribe((c) => seen.push(...c))
  doc.getMap('todos').delete('t')
  sync()
  assert.equal(todos.get('t'), undefined)
  assert.deepEqual(seen.map((c) => [c.type, c.origin]), [['delete', 'remote']])
})

test('stateVector() matches what Yjs computes for the same document', async () => {
  const r = await open()
  await r.collection('todos').insert({ title: 'x' })
  const doc = new Y.Doc()
  Y.applyUpdate(doc, r.encodeState())
  assert.deepEqual(Y.decodeStateVector(r.stateVector()), Y.decodeStateVector(Y.encodeStateVector(doc)))
})

test('a malformed update is refused with INVALID_UPDATE and the replica stays usable', async () => {
  const r = await open()
  assert.throws(() => r.applyUpdate(new Uint8Array([1, 2, 3, 250, 250])), (e) => e.code === 'INVALID_UPDATE')
  assert.throws(() => r.applyUpdate('not bytes'), TypeError)
  await r.collection('todos').insert({ id: 'after' })
  assert.equal(r.collection('todos').count(), 1)
})

test('Yjs updates applied out of order (reversed, shuffled, merged with gaps) end in the state Yjs has', async () => {
  // three Yjs clients editing one collection; every update recorded as it is made
  const docs = [1, 2, 3].map(() => new Y.Doc())
  const updates = []
  for (const doc of docs) doc.on('update', (u) => updates.push(u))
  let seed = 7
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
  for (let step = 0; step < 300; step++) {
    const doc = docs[Math.floor(rnd() * docs.length)]
    const todos = doc.getMap('todos')
    const id = `k${Math.floor(rnd() * 12)}`
    const roll = rnd()
    if (roll < 0.2) todos.delete(id)
    else if (roll < 0.6 || !(todos.get(id) instanceof Y.Map)) todos.set(id, new Y.Map([['n', step]]))
    else todos.get(id).set(`f${Math.floor(rnd() * 3)}`, step)
    // now and then a client catches up with another, so later edits build on others' items
    if (rnd() < 0.3) {
      const other = docs[Math.floor(rnd() * docs.length)]
      if (other !== doc) Y.applyUpdate(doc, Y.encodeStateAsUpdate(other, Y.encodeStateVector(doc)))
    }
  }
  const expected = new Y.Doc()
  for (const u of updates) Y.applyUpdate(expected, u)
  const want = expected.getMap('todos').toJSON()

  const shuffled = updates.slice()
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1))
    ;[shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]]
  }
  // merged in chunks of five consecutive shuffled updates: Y.mergeUpdates writes Skip blocks
  const merged = []
  for (let i = 0; i < shuffled.length; i += 5) merged.push(Y.mergeUpdates(shuffled.slice(i, i + 5)))
  for (const [order, list] of [['reversed', updates.slice().reverse()], ['shuffled', shuffled], ['merged', merged]]) {
    const r = await open()
    for (const u of list) r.applyUpdate(u)
    const doc = new Y.Doc()
    Y.applyUpdate(doc, r.encodeState())
    assert.deepEqual(doc.getMap('todos').toJSON(), want, `${order}: the state Yjs has`)
    const todos = r.collection('todos')
    for (const [id, value] of Object.entries(want)) {
      const { id: _, ...fields } = todos.get(id) ?? {}
      assert.deepEqual(fields, value, `${order}: record ${id} as read through the API`)
    }
    assert.equal(todos.count(), Object.keys(want).length, `${order}: record count`)
    await r.close()
  }
})
