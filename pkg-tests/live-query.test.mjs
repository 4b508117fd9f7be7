// collection.watch against find itself: thousands of random local and remote operations
// (inserts, updates that move records in and out of the filter and the window, deletes,
// transactions, writes from a second replica and from a plain Yjs doc), and after each one
// every watch's last result must equal find(query), its diff must say exactly what changed,
// and it must have stayed silent when the result did not change.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as Y from 'yjs'
import { Replica } from 'yreplica'

function rng(seed) {
  let s = seed >>> 0
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32)
}

const ids = Array.from({ length: 60 }, (_, i) => `r${String(i).padStart(2, '0')}`).concat(['Z', 'ä', '\u{1F600}x', '\uFFFDy'])
const QUERIES = [
  { where: { g: 'a' }, orderBy: ['n'], limit: 5, offset: 2 },
  { where: { n: { $gte: 3, $lt: 8 } }, orderBy: ['-s', 'n'], limit: 7 },
  { where: { g: { $in: ['a', 'b'] }, tag: { $exists: true } }, orderBy: '-n' },
  {},
  { where: { n: { $ne: 5 } }, orderBy: ['s'], offset: 3, limit: 4 },
  { where: { id: { $in: ids.slice(0, 30) }, g: 'b' }, orderBy: 'n', limit: 6 },
  { orderBy: ['m', '-id'], limit: 10, offset: 1 },
  { where: { s: { $gt: 'f' } }, orderBy: ['-m'] },
  { where: { g: { $nin: ['a'] }, n: { $exists: true } }, orderBy: ['g', '-n'], limit: 3 },
  { where: { tag: null }, limit: 0 },
  { where: { id: 'r05' } },
  { where: { id: { $nin: ['r01', 'r02', 'r03'] }, g: 'c' }, orderBy: '-s', offset: 1, limit: 3 },
]

function diffOf(before, after) {
  const beforeIds = before.map((r) => r.id)
  const afterIds = after.map((r) => r.id)
  const b = new Map(before.map((r) => [r.id, r]))
  const a = new Map(after.map((r) => [r.id, r]))
  const added = afterIds.filter((id) => !b.has(id))
  const removed = beforeIds.filter((id) => !a.has(id))
  const changed = afterIds.filter((id) => b.has(id) && !isDeepEqual(b.get(id), a.get(id)))
  const common1 = beforeIds.filter((id) => a.has(id))
  const common2 = afterIds.filter((id) => b.has(id))
  const moved = common1.some((id, i) => id !== common2[i])
  return { added, removed, changed, moved }
}

function isDeepEqual(x, y) {
  if (x === y) return true
  if (typeof x !== 'object' || typeof y !== 'object' || x === null || y === null || Array.isArray(x) !== Array.isArray(y)) return false
  const kx = Object.keys(x)
  return kx.length === Object.keys(y).length && kx.every((k) => Object.hasOwn(y, k) && isDeepEqual(x[k], y[k]))
}

const sorted = (xs) => [...xs].sort()

for (const [label, options] of [
  ['no index', {}],
  ['indexes on g and n', { indexes: ['g', 'n'] }],
  ['a validator', { validate: (record) => record.n !== 'bad' || 'n must not be bad' }],
]) {
  test(`watch equals find after every random local and remote operation (${label})`, async () => {
    const random = rng(label.length * 7919)
    const pick = (xs) => xs[Math.floor(random() * xs.length)]
    const r = await Replica.open({ name: 'live', storage: 'memory' })
    const other = await Replica.open({ name: 'live-other', storage: 'memory' })
    const doc = new Y.Doc()
    const invalidReports = []
    r.on('invalid', (reports) => invalidReports.push(...reports))
    const c = r.collection('items', options)
    const oc = other.collection('items')
    const value = () =>
      pick([0, 1, 2, 3, 4, 5, 5, 6, 7, 8, 9, -1, 2.5, 'x', 'bad', null, true, false, [1], [1, 2], { k: 1 }, { k: 0, j: 2 }, 'ä', '\u{1F600}', '\uFFFD'])
    const fields = () => {
      const f = {}
      if (random() < 0.9) f.g = pick(['a', 'b', 'c'])
      if (random() < 0.85) f.n = random() < 0.8 ? Math.floor(random() * 10) : value()
      if (random() < 0.8) f.s = pick(['a', 'b', 'f', 'g', 'z', 'ä', '\u{1F600}', '\uFFFD', 'fa'])
      if (random() < 0.5) f.tag = pick([null, 'x', 1])
      if (random() < 0.7) f.m = value()
      return f
    }
    const watches = QUERIES.map((query) => {
      const w = { query, calls: [], result: null }
      w.stop = c.watch(query, (result, diff) => w.calls.push({ result, diff }))
      assert.equal(w.calls.length, 1, 'called once at once')
      assert.deepEqual(w.calls[0].result, c.find(query))
      assert.deepEqual(w.calls[0].diff, { added: w.calls[0].result.map((x) => x.id), removed: [], changed: [], moved: false })
      w.result = w.calls[0].result
      w.calls = []
      return w
    })
    const syncOther = () => other.applyUpdate(r.encodeState(other.stateVector()))
    const fromOther = () => r.applyUpdate(other.encodeState(r.stateVector()))
    const counts = { calls: 0, silent: 0 }
    const ignore = () => {}
    for (let step = 0; step < 1500; step++) {
      const id = pick(ids)
      const op = Math.floor(random() * 13)
      if (op === 0) await c.insert({ ...fields(), id }).catch(ignore)
      else if (op === 1 || op === 2) await c.update(id, { ...fields(), [pick(['g', 'n', 's', 'tag', 'm'])]: undefined }).catch(ignore)
      else if (op === 3) await c.replace(id, fields()).catch(ignore)
      else if (op === 4) await c.upsert({ ...fields(), id }).catch(ignore)
      else if (op === 5) await c.delete(id)
      else if (op === 6) await c.insertMany([fields(), { ...fields(), id: `${id}-m${step % 4}` }]).catch(ignore)
      else if (op === 7) await c.deleteMany([pick(ids), pick(ids), id])
      else if (op === 8) {
        r.transact(() => {
          c.upsert({ ...fields(), id }).catch(ignore)
          c.update(pick(ids), fields()).catch(ignore)
          c.delete(pick(ids)).catch(ignore)
          c.insert({ ...fields(), id: `${id}-t${step % 4}` }).catch(ignore)
        })
      } else if (op === 9 || op === 10) {
        // another replica writes; its update arrives as one change set
        syncOther()
        other.transact(() => {
          for (let i = 0; i < 1 + Math.floor(random() * 3); i++) {
            const target = pick(ids)
            const kind = random()
            if (kind < 0.4) oc.upsert({ ...fields(), id: target, ...(random() < 0.2 ? { n: 'bad' } : {}) })
            else if (kind < 0.8) oc.update(target, random() < 0.2 ? { n: 'bad' } : fields()).catch(ignore)
            else oc.delete(target)
          }
        })
        fromOther()
      } else {
        // a plain Yjs app writes a field, a whole record (Y.Map or plain object) or deletes one
        Y.applyUpdate(doc, r.encodeState(Y.encodeStateVector(doc)))
        const before = Y.encodeStateVector(doc)
        const map = doc.getMap('items')
        const record = map.get(id)
        const kind = random()
        if (record instanceof Y.Map && kind < 0.5) record.set(pick(['g', 'n', 's', 'tag', 'm']), random() < 0.15 ? 'bad' : value())
        else if (kind < 0.7) map.set(id, new Y.Map(Object.entries(fields())))
        else if (kind < 0.85) map.set(id, fields())
        else map.delete(id)
        r.applyUpdate(Y.encodeStateAsUpdate(doc, before))
      }
      for (const w of watches) {
        const expected = c.find(w.query)
        assert.ok(w.calls.length <= 1, `step ${step}: one call per change set at most (${JSON.stringify(w.query)})`)
        if (w.calls.length === 0) {
          assert.deepEqual(w.result, expected, `step ${step} op ${op}: silent, but the result changed (${JSON.stringify(w.query)})`)
          counts.silent++
          continue
        }
        const { result, diff } = w.calls[0]
        counts.calls++
        assert.deepEqual(result, expected, `step ${step} op ${op}: result (${JSON.stringify(w.query)})`)
        const want = diffOf(w.result, expected)
        assert.ok(want.added.length + want.removed.length + want.changed.length > 0 || want.moved, `step ${step}: called for a result that did not change (${JSON.stringify(w.query)})`)
        assert.deepEqual(sorted(diff.added), sorted(want.added), `step ${step}: added`)
        assert.deepEqual(sorted(diff.removed), sorted(want.removed), `step ${step}: removed`)
        assert.deepEqual(sorted(diff.changed), sorted(want.changed), `step ${step}: changed`)
        assert.equal(diff.moved, want.moved, `step ${step}: moved`)
        w.result = result
        w.calls = []
      }
    }
    // Every query saw changes, and silence when they left it alone.
    assert.ok(counts.calls > 1000, `calls: ${counts.calls}`)
    assert.ok(counts.silent > 1000, `silent: ${counts.silent}`)
    if (options.validate) {
      assert.ok(invalidReports.length > 10, 'remote invalid records were reported')
      assert.ok(c.find({ includeInvalid: true }).length >= c.find().length)
    }
    for (const w of watches) w.stop()
    await c.insert({ id: 'after-stop', g: 'a', n: 1 })
    for (const w of watches) assert.equal(w.calls.length, 0, 'stopped watches stay silent')
    await r.close()
    await other.close()
  })
}

test('watchOne follows one record; watchStatus gives the status at once', async () => {
  const r = await Replica.open({ name: 'one', storage: 'memory' })
  const c = r.collection('todos')
  const seen = []
  const stop = c.watchOne('a', (record) => seen.push(record))
  await c.insert({ id: 'b', title: 'other' })
  await c.insert({ id: 'a', title: 'x' })
  await c.update('a', { title: 'x' }) // no change
  await c.update('a', { title: 'y' })
  await c.update('b', { title: 'z' })
  await c.delete('a')
  stop()
  await c.insert({ id: 'a', title: 'again' })
  assert.deepEqual(seen, [undefined, { id: 'a', title: 'x' }, { id: 'a', title: 'y' }, undefined])
  const statuses = []
  const off = r.watchStatus((s) => statuses.push(s))
  assert.deepEqual(statuses, [{ connection: 'offline', endpoint: null, pending: 0, servers: 0, endpoints: [], directive: null }])
  off()
  assert.throws(() => c.watch({ where: { n: { $bad: 1 } } }, () => {}), { code: 'INVALID_QUERY' })
  assert.throws(() => c.watch({ limit: -1 }, () => {}), { code: 'INVALID_QUERY' })
  assert.throws(() => c.watch({}, 'nope'), { code: 'INVALID_VALUE' })
  assert.throws(() => c.watchOne('', () => {}), { code: 'INVALID_VALUE' })
  await r.close()
  assert.throws(() => c.watch({}, () => {}), { code: 'CLOSED' })
})

test('a listener that throws is reported as an error event and the watch goes on', async () => {
  const r = await Replica.open({ name: 'throws', storage: 'memory' })
  const c = r.collection('todos')
  const errors = []
  r.on('error', (e) => errors.push(e))
  let calls = 0
  c.watch({}, () => {
    calls++
    if (calls === 2) throw new Error('boom')
  })
  await c.insert({ id: 'a' })
  await c.insert({ id: 'b' })
  assert.equal(calls, 3)
  assert.deepEqual(errors.map((e) => e.message), ['boom'])
  await r.close()
})

test('a watch never re-runs its query: each change set costs one lookup by id of the records it names', async () => {
  const r = await Replica.open({ name: 'no-rescan', storage: 'memory' })
  const c = r.collection('todos')
  await c.insertMany(Array.from({ length: 2000 }, (_, i) => ({ id: `t${i}`, owner: `u${i % 10}`, n: i })))
  // every find the watch makes after it started, with what the core did for it
  const plans = []
  const find = c.find.bind(c)
  c.find = (query) => {
    plans.push(c.explain(query))
    return find(query)
  }
  let calls = 0
  c.watch({ where: { owner: 'u3' }, orderBy: '-n', limit: 5 }, () => calls++)
  plans.length = 0
  await c.update('t5', { n: 1e6 }) // outside the filter
  await c.update('t13', { n: 1e6 }) // inside: to the top of the window
  await c.insertMany([{ id: 'x1', owner: 'u3', n: 5e6 }, { id: 'x2', owner: 'u4', n: 1 }])
  await c.delete('x1')
  assert.equal(calls, 4)
  assert.ok(plans.length >= 4)
  for (const plan of plans) {
    assert.equal(plan.index, 'id')
    assert.ok(plan.scanned <= 5, `scanned ${plan.scanned}`)
  }
  await r.close()
})
