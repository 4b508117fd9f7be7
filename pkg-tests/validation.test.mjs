// Record validation per collection with a Standard Schema validator (valibot): local writes
// that fail are refused and write nothing; records from elsewhere that fail are kept (the
// documents converge) but reported and left out of find, count, watch and watchOne.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as v from 'valibot'
import * as Y from 'yjs'
import { Replica } from 'yreplica'

const Todo = v.object({ id: v.string(), title: v.pipe(v.string(), v.minLength(1)), done: v.optional(v.boolean()) })
const validate = (record) => Todo['~standard'].validate(record)

test('a local write that fails validation rejects with INVALID_VALUE and writes nothing', async () => {
  const r = await Replica.open({ name: 'valid-local', storage: 'memory' })
  const todos = r.collection('todos', { validate })
  const changes = []
  todos.subscribe((c) => changes.push(...c))
  await todos.insert({ id: 'a', title: 'ok' })
  const refused = async (promise, pattern) => {
    const error = await promise.then(() => assert.fail('accepted'), (e) => e)
    assert.equal(error.code, 'INVALID_VALUE')
    assert.ok(error instanceof TypeError)
    assert.match(error.message, pattern)
    return error
  }
  const error = await refused(todos.insert({ id: 'b', title: '' }), /todos\.insert: record 'b' fails validation: title: Invalid length/)
  assert.ok(Array.isArray(error.issues) && error.issues.length === 1)
  await refused(todos.update('a', { title: 5 }), /todos\.update: record 'a' fails validation/)
  await refused(todos.update('a', { title: undefined }), /todos\.update/) // the merged record lacks a title
  await refused(todos.replace('a', { done: true }), /todos\.replace/)
  await refused(todos.upsert({ id: 'c', title: 'x', done: 'yes' }), /todos\.upsert: record 'c'/)
  await refused(todos.insertMany([{ id: 'd', title: 'fine' }, { id: 'e' }]), /todos\.insertMany, record 1: record 'e'/)
  await assert.rejects(todos.update('missing', { title: '' }), { code: 'NOT_FOUND' })
  r.transact(() => {
    todos.insert({ id: 't1', title: 'in a transaction' })
    todos.insert({ id: 't2', title: 3 }).catch(() => {})
  })
  assert.deepEqual(todos.find().map((t) => t.id), ['a', 't1'])
  assert.deepEqual(todos.get('a'), { id: 'a', title: 'ok' })
  assert.deepEqual(changes.map((c) => c.id), ['a', 't1'])
  await todos.update('a', { done: true })
  assert.deepEqual(todos.get('a'), { id: 'a', title: 'ok', done: true })
  // anything the validator throws or returns as a failure
  const strict = r.collection('strict', { validate: (rec) => (rec.n > 0 ? true : rec.n === 0 ? 'zero' : rec.n === -1 ? false : (() => { throw new Error('negative') })()) })
  await strict.insert({ id: 'p', n: 1 })
  await refused(strict.insert({ id: 'z', n: 0 }), /fails validation: zero/)
  await refused(strict.insert({ id: 'm', n: -1 }), /fails validation: refused by validate/)
  await refused(strict.insert({ id: 'm', n: -2 }), /fails validation: negative/)
  assert.throws(() => r.collection('x', { validate: 'no' }), { code: 'INVALID_OPTION' })
  await r.close()
})

test('remote records that fail validation are kept, reported and left out of queries', async () => {
  const r = await Replica.open({ name: 'valid-remote', storage: 'memory' })
  const reports = []
  r.on('invalid', (records) => reports.push(...records))
  const todos = r.collection('todos', { validate, indexes: ['done'] })
  await todos.insert({ id: 'a', title: 'ok', done: false })
  const watched = []
  todos.watch({ where: { done: false }, orderBy: 'id' }, (result) => watched.push(result.map((t) => t.id)))
  const one = []
  todos.watchOne('bad', (record) => one.push(record?.title))

  // a plain Yjs app writes one valid and one invalid record
  const doc = new Y.Doc()
  Y.applyUpdate(doc, r.encodeState())
  let before = Y.encodeStateVector(doc)
  doc.getMap('todos').set('good', new Y.Map([['title', 'from Yjs'], ['done', false]]))
  doc.getMap('todos').set('bad', new Y.Map([['title', 42], ['done', false]]))
  r.applyUpdate(Y.encodeStateAsUpdate(doc, before))
  assert.deepEqual(reports.map((x) => [x.collection, x.id, x.value.title]), [['todos', 'bad', 42]])
  assert.match(reports[0].message, /^title: Invalid type/)
  assert.ok(Array.isArray(reports[0].issues))
  // kept: get and the document have it; find, count, watch and watchOne leave it out
  assert.equal(todos.get('bad').title, 42)
  assert.deepEqual(todos.find().map((t) => t.id), ['a', 'good'])
  assert.deepEqual(todos.find({ where: { done: false }, limit: 1, offset: 1 }).map((t) => t.id), ['good'])
  assert.deepEqual(todos.find({ includeInvalid: true }).map((t) => t.id), ['a', 'bad', 'good'])
  assert.equal(todos.count(), 2)
  assert.equal(todos.count({ done: false }), 2)
  assert.deepEqual(watched.at(-1), ['a', 'good'])
  assert.deepEqual(one, [undefined])
  assert.throws(() => todos.find({ includeInvalid: 'yes' }), { code: 'INVALID_QUERY' })
  let all
  todos.watch({ includeInvalid: true }, (result) => (all = result.map((t) => t.id)))
  assert.deepEqual(all, ['a', 'bad', 'good'])

  // fixed remotely: it enters the results; broken again: it leaves and is reported again
  before = Y.encodeStateVector(doc)
  doc.getMap('todos').get('bad').set('title', 'fixed')
  r.applyUpdate(Y.encodeStateAsUpdate(doc, before))
  assert.deepEqual(watched.at(-1), ['a', 'bad', 'good'])
  assert.deepEqual(one, [undefined, 'fixed'])
  before = Y.encodeStateVector(doc)
  doc.getMap('todos').get('bad').set('title', '')
  r.applyUpdate(Y.encodeStateAsUpdate(doc, before))
  assert.deepEqual(watched.at(-1), ['a', 'good'])
  assert.equal(reports.length, 2)
  // repaired locally (the merged record passes), then deleted remotely
  await todos.update('bad', { title: 'repaired' })
  assert.deepEqual(todos.find().map((t) => t.id), ['a', 'bad', 'good'])
  before = Y.encodeStateVector(doc)
  Y.applyUpdate(doc, r.encodeState(before))
  before = Y.encodeStateVector(doc)
  doc.getMap('todos').delete('bad')
  r.applyUpdate(Y.encodeStateAsUpdate(doc, before))
  assert.deepEqual(todos.find({ includeInvalid: true }).map((t) => t.id), ['a', 'good'])
  await r.close()
})

test('a validator given to a collection that holds records checks them and reports the failures', async () => {
  const r = await Replica.open({ name: 'valid-late', storage: 'memory' })
  await r.collection('todos').insertMany([{ id: 'a', title: 'ok' }, { id: 'b', title: '' }, { id: 'c' }])
  const reports = []
  r.on('invalid', (records) => reports.push(...records))
  const todos = r.collection('todos', { validate })
  assert.deepEqual(todos.find().map((t) => t.id), ['a'])
  await Promise.resolve()
  assert.deepEqual(reports.map((x) => x.id), ['b', 'c'])
  await r.close()
})
