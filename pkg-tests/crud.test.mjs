// The CRUD contract of API.md, through the installed package in Node.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Replica } from 'yreplica'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

async function open() {
  return Replica.open({ name: 'test', storage: 'memory' })
}

async function rejectsWith(promise, code, ErrorClass = Error) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof ErrorClass, `expected ${ErrorClass.name}, got ${error}`)
    assert.equal(error.code, code, error.message)
    return true
  })
}

test('insert generates URL-safe random ids unless the record has one', async () => {
  const r = await open()
  const todos = r.collection('todos')
  const id = await todos.insert({ title: 'Buy milk', done: false })
  assert.match(id, UUID)
  assert.deepEqual(todos.get(id), { id, title: 'Buy milk', done: false })
  assert.equal(await todos.insert({ id: 'mine', title: 'x' }), 'mine')
  assert.deepEqual(todos.get('mine'), { id: 'mine', title: 'x' })
  const ids = await todos.insertMany([{ title: 'a' }, { id: 'b', title: 'b' }])
  assert.equal(ids.length, 2)
  assert.match(ids[0], UUID)
  assert.equal(ids[1], 'b')
  assert.equal(new Set(await todos.insertMany(Array.from({ length: 500 }, () => ({})))).size, 500)
  await r.close()
})

test('inserting a taken id rejects with ALREADY_EXISTS and writes nothing', async () => {
  const r = await open()
  const todos = r.collection('todos')
  await todos.insert({ id: 'a', v: 1 })
  await rejectsWith(todos.insert({ id: 'a', v: 2 }), 'ALREADY_EXISTS')
  await rejectsWith(todos.insertMany([{ id: 'new' }, { id: 'a' }]), 'ALREADY_EXISTS')
  assert.equal(todos.get('new'), undefined)
  assert.deepEqual(todos.get('a'), { id: 'a', v: 1 })
})

test('update merges, null is a value, undefined removes a field', async () => {
  const r = await open()
  const todos = r.collection('todos')
  const id = await todos.insert({ title: 'Buy milk', done: false, note: 'x' })
  await todos.update(id, { done: true, prio: null })
  await todos.update(id, { note: undefined })
  assert.deepEqual(todos.get(id), { id, title: 'Buy milk', done: true, prio: null })
})

test('replace, upsert and delete', async () => {
  const r = await open()
  const todos = r.collection('todos')
  const id = await todos.insert({ title: 'Buy milk', done: false })
  await todos.replace(id, { title: 'Oat milk' })
  assert.deepEqual(todos.get(id), { id, title: 'Oat milk' })
  await todos.upsert({ id: 'x1', title: 'x' })
  await todos.upsert({ id: 'x1', title: 'y', extra: 1 })
  assert.deepEqual(todos.get('x1'), { id: 'x1', title: 'y', extra: 1 })
  assert.equal(await todos.delete(id), true)
  assert.equal(await todos.delete(id), false)
  assert.equal(todos.get(id), undefined)
  await assert.rejects(todos.upsert({ title: 'no id' }), TypeError)
})

test('deleteMany deletes in one transaction, skips unknown ids and notifies once', async () => {
  const r = await open()
  const todos = r.collection('todos')
  await todos.insertMany(Array.from({ length: 10 }, (_, i) => ({ id: `t${i}`, n: i })))
  const batches = []
  todos.subscribe((changes) => batches.push(changes.map((c) => `${c.type}:${c.id}`)))
  assert.equal(await todos.deleteMany(['t1', 'nope', 't3', 't1']), 2)
  assert.deepEqual(batches, [['delete:t1', 'delete:t3']])
  assert.equal(todos.get('t1'), undefined)
  assert.equal(todos.count(), 8)
  assert.equal(await todos.deleteMany([]), 0)
  assert.equal(batches.length, 1)
  await assert.rejects(todos.deleteMany('t2'), TypeError)
  await assert.rejects(todos.deleteMany(['t2', '']), /id 1/)
  assert.equal(todos.count(), 8, 'a refused list deletes nothing')

  // inside transact(): part of its one net change set
  r.transact(() => {
    todos.insert({ id: 'tmp' })
    todos.deleteMany(['tmp', 't0'])
  })
  assert.deepEqual(batches.at(-1), ['delete:t0'])

  // over maxUpdateBytes' share of ids, several updates; all deleted all the same
  const small = await Replica.open({ name: 'small', storage: 'memory', maxUpdateBytes: 100 })
  const notes = small.collection('notes')
  await notes.insertMany(Array.from({ length: 20 }, (_, i) => ({ id: `n${i}` })))
  assert.equal(await notes.deleteMany(notes.all().map((note) => note.id)), 20)
  assert.equal(notes.count(), 0)
  const copy = await Replica.open({ name: 'copy', storage: 'memory' })
  copy.applyUpdate(small.encodeState())
  assert.equal(copy.collection('notes').count(), 0)
})

test('update and replace of an unknown id reject with NOT_FOUND', async () => {
  const r = await open()
  const todos = r.collection('todos')
  await rejectsWith(todos.update('nope', { a: 1 }), 'NOT_FOUND')
  await rejectsWith(todos.replace('nope', { a: 1 }), 'NOT_FOUND')
  assert.equal(todos.count(), 0)
})

test('find: where operators, multi-key orderBy, limit and offset; count', async () => {
  const r = await open()
  const todos = r.collection('todos')
  await todos.insertMany([
    { id: '1', title: 'b', prio: 2, done: false },
    { id: '2', title: 'a', prio: 2, done: true },
    { id: '3', title: 'c', prio: 1, done: false, tag: 'x' },
    { id: '4', title: 'a', prio: 3, done: false },
  ])
  const ids = (q) => todos.find(q).map((t) => t.id)
  assert.deepEqual(ids({ where: { done: false, prio: { $gte: 2 } }, orderBy: ['-prio', 'title'] }), ['4', '1'])
  assert.deepEqual(ids({ orderBy: ['title', '-prio'] }), ['4', '2', '1', '3'])
  assert.deepEqual(ids({ orderBy: '-prio', limit: 2, offset: 1 }), ['1', '2'])
  assert.deepEqual(ids({ where: { prio: { $in: [1, 3] } } }), ['3', '4'])
  assert.deepEqual(ids({ where: { prio: { $nin: [1, 3] } } }), ['1', '2'])
  assert.deepEqual(ids({ where: { title: { $ne: 'a' } } }), ['1', '3'])
  assert.deepEqual(ids({ where: { prio: { $gt: 1, $lt: 3 } } }), ['1', '2'])
  assert.deepEqual(ids({ where: { prio: { $lte: 1 } } }), ['3'])
  assert.deepEqual(ids({ where: { tag: { $exists: true } } }), ['3'])
  assert.deepEqual(ids({ where: { title: { $eq: 'c' } } }), ['3'])
  assert.equal(todos.count({ done: false }), 3)
  assert.equal(todos.count(), 4)
  assert.equal(todos.all().length, 4)
  assert.throws(() => todos.find({ where: { prio: { $near: 1 } } }), (e) => e.code === 'INVALID_QUERY')
  assert.throws(() => todos.find({ where: { when: new Date() } }), TypeError)
})

test('records read are copies: mutating one changes nothing', async () => {
  const r = await open()
  const todos = r.collection('todos')
  const id = await todos.insert({ title: 't', tags: ['a'], meta: { n: 1 } })
  const copy = todos.get(id)
  copy.title = 'changed'
  copy.tags.push('b')
  copy.meta.n = 2
  todos.all()[0].title = 'changed'
  todos.find({})[0].meta.n = 3
  assert.deepEqual(todos.get(id), { id, title: 't', tags: ['a'], meta: { n: 1 } })
  const original = { title: 'mine' }
  const id2 = await todos.insert(original)
  original.title = 'mutated after insert'
  assert.equal(todos.get(id2).title, 'mine')
})

test('non-JSON values are rejected with a TypeError naming the field, and nothing is written', async () => {
  const r = await open()
  const todos = r.collection('todos')
  await todos.insert({ id: 'keep', v: 1 })
  class Point { constructor() { this.x = 1 } }
  const cyclic = { a: {} }
  cyclic.a.back = cyclic
  const cases = [
    [{ f: () => 1 }, 'f', 'function'],
    [{ s: Symbol('x') }, 's', 'symbol'],
    [{ big: 10n }, 'big', 'BigInt'],
    [{ n: NaN }, 'n', 'NaN'],
    [{ inf: Infinity }, 'inf', 'Infinity'],
    [{ neg: -Infinity }, 'neg', 'Infinity'],
    [cyclic, 'a.back', 'cycle'],
    [{ when: new Date() }, 'when', 'Date'],
    [{ p: new Point() }, 'p', 'Point'],
    [{ m: new Map() }, 'm', 'Map'],
    [{ deep: { list: [1, { bad: () => 0 }] } }, 'deep.list[1].bad', 'function'],
    [{ holes: [1, undefined] }, 'holes[1]', 'undefined'],
  ]
  for (const [value, field, word] of cases) {
    for (const write of [() => todos.insert(value), () => todos.update('keep', value), () => todos.replace('keep', value), () => todos.insertMany([{}, value])]) {
      await assert.rejects(write(), (error) => {
        assert.ok(error instanceof TypeError, `${field}: ${error}`)
        assert.equal(error.code, 'INVALID_VALUE', error.message)
        assert.ok(error.message.includes(`'${field}'`), `message names the field ${field}: ${error.message}`)
        assert.ok(error.message.includes(word), `message says ${word}: ${error.message}`)
        return true
      })
    }
  }
  await rejectsWith(todos.insert(new Point()), 'INVALID_VALUE', TypeError)
  await rejectsWith(todos.insert([1]), 'INVALID_VALUE', TypeError)
  await rejectsWith(todos.insert(null), 'INVALID_VALUE', TypeError)
  await rejectsWith(todos.insert({ id: 5 }), 'INVALID_VALUE', TypeError)
  assert.deepEqual(todos.all(), [{ id: 'keep', v: 1 }])
})

test('every TypeError the facade throws carries code INVALID_VALUE', async () => {
  const r = await open()
  const todos = r.collection('todos')
  const invalid = (error) => error instanceof TypeError && error.code === 'INVALID_VALUE'
  for (const write of [
    () => todos.update('', {}),
    () => todos.update(7, {}),
    () => todos.replace('x', 'not a record'),
    () => todos.upsert({ title: 'no id' }),
    () => todos.delete(null),
    () => todos.insertMany('not an array'),
    () => todos.insertMany([{}, { id: '' }]),
  ]) {
    await assert.rejects(write(), invalid, String(write))
  }
  for (const call of [
    () => todos.find(null),
    () => todos.find({ where: 'x' }),
    () => todos.find({ where: { f: () => 1 } }),
    () => todos.explain([]),
    () => todos.count({ n: NaN }),
    () => todos.subscribe('not a function'),
    () => r.collection(''),
    () => r.on('nope', () => {}),
    () => r.on('change', null),
    () => r.transact('not a function'),
    () => r.applyUpdate('not bytes'),
    () => r.encodeState([1, 2]),
    () => r.setPresence({ at: new Date() }),
  ]) {
    assert.throws(call, invalid, String(call))
  }
  await r.close()
})

test('__proto__ and constructor keys are data and never touch a prototype', async () => {
  const r = await open()
  const todos = r.collection('todos')
  const record = JSON.parse('{"__proto__": {"polluted": true}, "constructor": "c", "nested": {"__proto__": {"x": 1}}}')
  const id = await todos.insert(record)
  const got = todos.get(id)
  assert.equal(Object.getPrototypeOf(got), Object.prototype)
  assert.deepEqual(Object.getOwnPropertyDescriptor(got, '__proto__').value, { polluted: true })
  assert.equal(got.constructor, 'c')
  assert.equal(got.polluted, undefined)
  assert.equal({}.polluted, undefined)
  assert.deepEqual(Object.getOwnPropertyDescriptor(got.nested, '__proto__').value, { x: 1 })
  await todos.update(id, JSON.parse('{"__proto__": {"again": 1}}'))
  assert.equal({}.again, undefined)
  assert.deepEqual(Object.getOwnPropertyDescriptor(todos.get(id), '__proto__').value, { again: 1 })
  assert.equal(todos.find({ where: { constructor: 'c' } }).length, 1)
})

test('subscribe sees every change synchronously with its origin; unsubscribe stops it', async () => {
  const r = await open()
  const todos = r.collection('todos')
  const seen = []
  const stop = todos.subscribe((changes) => seen.push(...changes.map(({ type, id, origin, value }) => ({ type, id, origin, title: value?.title }))))
  const id = await todos.insert({ title: 'a' })
  await todos.update(id, { title: 'b' })
  await todos.delete(id)
  assert.deepEqual(seen, [
    { type: 'insert', id, origin: 'local', title: 'a' },
    { type: 'update', id, origin: 'local', title: 'b' },
    { type: 'delete', id, origin: 'local', title: undefined },
  ])
  stop()
  await todos.insert({ title: 'c' })
  assert.equal(seen.length, 3)
})

test('writes are visible synchronously, before the promise settles', async () => {
  const r = await open()
  const todos = r.collection('todos')
  const pending = todos.insert({ id: 's', v: 1 })
  assert.deepEqual(todos.get('s'), { id: 's', v: 1 })
  await pending
})

test('transact: reads inside see the writes, subscribers get one net change set', async () => {
  const r = await open()
  const todos = r.collection('todos')
  await todos.insert({ id: 'old', v: 0 })
  const batches = []
  todos.subscribe((changes) => batches.push(changes.map((c) => `${c.type}:${c.id}`).sort()))
  const result = r.transact(() => {
    todos.insert({ id: 'n', v: 1 })
    todos.update('n', { v: 2 })
    assert.equal(todos.get('n').v, 2)
    todos.insert({ id: 'tmp' })
    todos.delete('tmp')
    todos.delete('old')
    return 'done'
  })
  assert.equal(result, 'done')
  assert.deepEqual(batches, [['delete:old', 'insert:n']])
  assert.deepEqual(todos.get('n'), { id: 'n', v: 2 })
})

test('transact: deletes answer at once and reach the core before anything reads it', async () => {
  const r = await open()
  const todos = r.collection('todos')
  await todos.insertMany(Array.from({ length: 6 }, (_, i) => ({ id: `t${i}`, n: i })))
  const batches = []
  todos.subscribe((changes) => batches.push(changes.map((c) => `${c.type}:${c.id}`).sort()))
  const results = []
  r.transact(() => {
    results.push(todos.delete('t0'), todos.delete('t0'), todos.delete('nope'), todos.delete('t1'))
    assert.equal(todos.get('t0'), undefined)
    assert.equal(todos.count(), 4)
    // the core answers these: the deletes are in it by then
    assert.deepEqual(todos.find({ where: { n: { $lt: 3 } } }).map((t) => t.id), ['t2'])
    assert.equal(todos.count({ n: { $lt: 3 } }), 1)
    todos.delete('t2')
    todos.insert({ id: 't2', n: 20 }) // a delete, then an insert of the same id
    todos.delete('t3')
    r.collection('notes') // reaching the core for anything applies the deletes first
    todos.delete('t4')
  })
  assert.deepEqual(await Promise.all(results), [true, false, false, true])
  assert.deepEqual(batches, [['delete:t0', 'delete:t1', 'delete:t3', 'delete:t4', 'update:t2']])
  assert.deepEqual(todos.all().map((t) => t.id).sort(), ['t2', 't5'])
  const copy = await Replica.open({ name: 'copy', storage: 'memory' })
  copy.applyUpdate(r.encodeState())
  assert.deepEqual(copy.collection('todos').all().map((t) => t.id).sort(), ['t2', 't5'])
  assert.deepEqual(copy.collection('todos').get('t2'), { id: 't2', n: 20 })
})

test('collections lists the collections holding records', async () => {
  const r = await open()
  r.collection('empty')
  await r.collection('todos').insert({})
  await r.collection('notes').insert({})
  assert.deepEqual(r.collections(), ['notes', 'todos'])
})

test('a listener that throws does not break writes; it is reported as an error event', async () => {
  const r = await open()
  const todos = r.collection('todos')
  const errors = []
  r.on('error', (e) => errors.push(e))
  todos.subscribe(() => { throw new Error('listener bug') })
  await todos.insert({ id: 'ok' })
  assert.equal(todos.get('ok').id, 'ok')
  assert.equal(errors.length, 1)
})

test("an 'error' listener that throws is isolated: the write resolves, the other listeners run, it is logged", async () => {
  const r = await open()
  const todos = r.collection('todos')
  const seen = []
  r.on('error', () => {
    throw new Error('error listener bug')
  })
  r.on('error', (e) => seen.push(e.message))
  todos.subscribe(() => {
    throw new Error('change listener bug')
  })
  const later = []
  r.on('change', (changes) => later.push(changes.length))
  const logged = []
  const consoleError = console.error
  console.error = (...args) => logged.push(args)
  try {
    await todos.insert({ id: 'a' })
  } finally {
    console.error = consoleError
  }
  assert.deepEqual(seen, ['change listener bug'], 'the next error listener still heard of it')
  assert.deepEqual(later, [1], 'the change listeners after it still ran')
  assert.equal(logged.length, 1)
  assert.match(String(logged[0][0]), /error' listener threw/)
  assert.equal(logged[0][1].message, 'error listener bug')
  assert.equal(todos.get('a').id, 'a')
  await r.close()
})

test('close releases the replica; later use fails with CLOSED', async () => {
  const r = await open()
  const todos = r.collection('todos')
  await r.close()
  await r.close()
  assert.throws(() => todos.get('x'), (e) => e.code === 'CLOSED')
  await rejectsWith(todos.insert({}), 'CLOSED')
  // flush() too returns a rejected promise rather than throwing
  let flushed
  assert.doesNotThrow(() => (flushed = r.flush()))
  await rejectsWith(flushed, 'CLOSED')
  await rejectsWith(r.failover(), 'CLOSED')
})

test('a Rust panic becomes an INTERNAL error: emitted once, then every call refuses with it', async () => {
  // A WebSocket constructor runs inside the sync driver, with the replica's state borrowed;
  // calling back into the replica from there is a bug the core panics on ("already borrowed").
  // It is the one panic the public API can reach, so it stands in for any.
  let replica = null
  const thrown = []
  class ReentrantWebSocket {
    constructor() {
      if (replica === null) return
      try {
        replica.collections()
      } catch (error) {
        thrown.push(error)
      }
    }
    send() {}
    close() {}
  }
  const logged = []
  const consoleError = console.error
  console.error = (...args) => logged.push(args.join(' '))
  try {
    replica = await Replica.open({
      name: 'panics', storage: 'memory', endpoints: ['ws://127.0.0.1:9'], WebSocket: ReentrantWebSocket,
      connectTimeoutMs: 20, backoff: { initialMs: 5, maxMs: 10 },
    })
    const todos = replica.collection('todos')
    await todos.insert({ id: 'before' })
    const errors = []
    replica.on('error', (error) => errors.push(error))
    const waiting = replica.flush({ timeoutMs: 60_000 }).then(() => null, (error) => error)
    for (let i = 0; i < 200 && thrown.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.equal(thrown.length, 1, 'the reconnect called the constructor, which called into the replica')
    const [internal] = thrown
    assert.equal(internal.code, 'INTERNAL', internal.message)
    assert.match(internal.message, /panic/)
    assert.match(internal.message, /borrowed/, 'the panic message says what went wrong')
    assert.ok(internal.cause instanceof WebAssembly.RuntimeError)
    assert.ok(logged.some((line) => line.includes('borrowed')), 'the panic hook logged it')
    assert.deepEqual(errors, [internal], "emitted once as an 'error' event")
    assert.equal(await waiting, internal, 'a waiting flush rejects with it')
    // unusable from now on: the same error, for every call
    assert.throws(() => replica.collections(), (e) => e === internal)
    assert.throws(() => todos.get('before'), (e) => e === internal)
    await assert.rejects(todos.insert({ id: 'after' }), (e) => e === internal)
    await assert.rejects(replica.flush(), (e) => e === internal)
    assert.equal(errors.length, 1)
    await replica.close()
    await replica.close()
    // its sync stopped: no more reconnects (each would construct a socket)
    const attempts = thrown.length
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.equal(thrown.length, attempts)
  } finally {
    console.error = consoleError
  }
  // the module goes on serving other replicas
  const other = await open()
  await other.collection('todos').insert({ id: 'x', v: 1 })
  assert.deepEqual(other.collection('todos').get('x'), { id: 'x', v: 1 })
  await other.close()
})

test('open accepts every documented option and rejects invalid ones clearly', async () => {
  const full = await Replica.open({
    name: 'todo-app', room: 'room-1', storage: 'memory',
    endpoints: ['ws://127.0.0.1:1234', 'ws://127.0.0.1:1235'],
    heartbeatIntervalMs: 1000, missedHeartbeats: 2, connectTimeoutMs: 3000,
    backoff: { initialMs: 250, maxMs: 10000 }, failback: true, failbackAfterMs: 10000,
    params: { token: 'abc' }, WebSocket: undefined,
  })
  assert.equal(full.room, 'room-1')
  await full.close()
  const bad = [
    [{}, /name/],
    [{ name: '' }, /name/],
    [{ name: 'x', storage: 'memory', endpoints: ['http://127.0.0.1:1'] }, /ws:\/\//],
    [{ name: 'x', storage: 'memory', endpoints: 'ws://127.0.0.1:1' }, /endpoints/],
    [{ name: 'x', storage: 'memory', heartbeatIntervalMs: 0 }, /heartbeatIntervalMs/],
    [{ name: 'x', storage: 'memory', connectTimeoutMs: -1 }, /connectTimeoutMs/],
    [{ name: 'x', storage: 'memory', missedHeartbeats: 0 }, /missedHeartbeats/],
    [{ name: 'x', storage: 'memory', backoff: { initialMs: 0 } }, /backoff/],
    [{ name: 'x', storage: 'floppy' }, /unknown storage/],
    [{ name: 'x', storage: 'memory', heartbeatInterval: 5 }, /unknown option 'heartbeatInterval'/],
    [{ name: 'x', storage: 'memory', WebSocket: 'ws' }, /WebSocket/],
  ]
  for (const [options, pattern] of bad) {
    await assert.rejects(Replica.open(options), (e) => {
      assert.equal(e.code, 'INVALID_OPTION', e.message)
      assert.match(e.message, pattern)
      return true
    })
  }
  await rejectsWith(Replica.open({ name: 'x', storage: 'indexeddb' }), 'UNSUPPORTED')
  await rejectsWith(Replica.open({ name: 'x', storage: { load() {} } }), 'INVALID_OPTION')
  await rejectsWith(Replica.open({ name: 'x', storage: { dir: '' } }), 'INVALID_OPTION')
})
