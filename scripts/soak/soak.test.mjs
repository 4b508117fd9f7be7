// Tests of the soak's own logic (run: node --test scripts/soak/): the fault planner's
// promises and the confirmed-write checker's verdicts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { planFaults, digest, longestAllDown } from './schedule.mjs'
import { Ledger } from './ledger.mjs'
import { cellKey, canonical, ABSENT, GONE, FIELDS } from './workload.mjs'

test('the same seed plans the same faults; another seed others', () => {
  const a = planFaults({ seed: 7, dialect: 'y-websocket', durationMs: 600_000 })
  const b = planFaults({ seed: 7, dialect: 'y-websocket', durationMs: 600_000 })
  const c = planFaults({ seed: 8, dialect: 'y-websocket', durationMs: 600_000 })
  assert.equal(digest(a), digest(b))
  assert.notEqual(digest(a), digest(c))
  assert.ok(a.length > 100)
})

test('one fault per server at a time, and never all servers down for more than 3 s', () => {
  for (let seed = 0; seed < 200; seed++) {
    const faults = planFaults({ seed, dialect: 'hocuspocus', durationMs: 300_000 })
    assert.ok(longestAllDown(faults) <= 3000, `seed ${seed}: all down for ${longestAllDown(faults)} ms`)
    const last = [-Infinity, -Infinity, -Infinity]
    for (const f of faults) {
      assert.ok(f.at >= last[f.server], `seed ${seed}: server ${f.server} gets overlapping faults`)
      last[f.server] = f.at + f.durationMs + (f.kind === 'kill' ? 2000 : 0)
    }
  }
})

const whole = (id, fields) => [[cellKey('items', id, ''), 'yes'], ...FIELDS.map((f) => [cellKey('items', id, f), f in fields ? canonical(fields[f]) : ABSENT])]
const seen = (record) => [{ name: 'observer', collections: { items: record ? [record] : [] } }]

test('a confirmed write is present if its value or a later one by the same writer is there', () => {
  const ledger = new Ledger()
  ledger.onWrite(0, 1, whole('r0-0', { f0: 1 }), 0)
  ledger.onDurable(0, 1)
  ledger.onWrite(0, 2, [[cellKey('items', 'r0-0', 'f0'), '2']], 0) // made, never confirmed
  ledger.onDurable(0, 2)
  ledger.onFlushed(0, 1)
  assert.equal(ledger.check(seen({ id: 'r0-0', f0: 1 })).lost, 0)
  assert.equal(ledger.check(seen({ id: 'r0-0', f0: 2 })).lost, 0, 'the later write may have made it')
  assert.equal(ledger.check(seen({ id: 'r0-0', f0: 3 })).lost, 1, 'a value nobody wrote')
  assert.equal(ledger.check(seen({ id: 'r0-0', f0: 1, f1: 'x' })).lost, 1, 'a field the record should lack')
  assert.equal(ledger.check(seen(null)).lost, 1, 'the record is gone')
})

test('a confirmed delete is lost if the record is still there; unconfirmed writes are not checked', () => {
  const ledger = new Ledger()
  ledger.onWrite(0, 1, whole('r0-0', { f0: 1 }), 0)
  ledger.onWrite(0, 2, [[cellKey('items', 'r0-0', ''), 'no'], ...FIELDS.map((f) => [cellKey('items', 'r0-0', f), GONE])], 0)
  ledger.onDurable(0, 1)
  ledger.onDurable(0, 2)
  assert.equal(ledger.check(seen(null)).lost, 0)
  assert.equal(ledger.check(seen({ id: 'r0-0', f0: 7 })).lost, 0, 'nothing confirmed yet')
  ledger.onFlushed(0, 2)
  const result = ledger.check(seen({ id: 'r0-0', f0: 1 }))
  assert.equal(result.lost, 1)
  assert.match(result.examples[0], /\(exists\) is yes, but replica 0 wrote no/)
})

test('coverage counts the confirmed writes held by fewer servers than asked for', () => {
  const ledger = new Ledger()
  ledger.onWrite(0, 1, whole('r0-0', { f0: 1 }), 0)
  ledger.onDurable(0, 1)
  ledger.onFlushed(0, 1)
  const server = (name, record) => ({ name, collections: { items: record ? [record] : [] } })
  const two = [server('s0', { id: 'r0-0', f0: 1 }), server('s1', { id: 'r0-0', f0: 1 }), server('s2', null)]
  assert.deepEqual([ledger.coverage(two, 2).onFewer, ledger.coverage(two, 3).onFewer], [0, 1])
  assert.match(ledger.coverage(two, 3).examples[0], /write #1 is on 2 of 3 \(not on s2\)/)
})
