// Durable local storage in Node: the file store (crash safety, torn tails, the lock,
// compaction) and custom adapters that fail.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, readFileSync, writeFileSync, statSync, appendFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Replica } from 'yreplica'
import { startServers, stopServers } from '../dev/servers.mjs'
import { waitFor } from '../dev/wait.mjs'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { WebSocket } from 'ws'

const here = dirname(fileURLToPath(import.meta.url))
const tempDir = () => mkdtempSync(join(tmpdir(), 'yreplica-store-'))

test('file store: 1,000 records survive close and reopen', async () => {
  const dir = tempDir()
  try {
    let r = await Replica.open({ name: 'app', storage: { dir } })
    const ids = await Promise.all(Array.from({ length: 1000 }, (_, i) => r.collection('todos').insert({ i })))
    await r.collection('todos').update(ids[7], { edited: true })
    await r.collection('todos').delete(ids[8])
    await r.close()
    r = await Replica.open({ name: 'app', storage: { dir } })
    const todos = r.collection('todos')
    assert.equal(todos.count(), 999)
    assert.deepEqual(todos.get(ids[7]), { id: ids[7], i: 7, edited: true })
    assert.equal(todos.get(ids[8]), undefined)
    await r.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('file store: SIGKILL mid-burst loses no write whose promise resolved', async () => {
  const dir = tempDir()
  try {
    const child = spawn(process.execPath, [join(here, 'helpers', 'writer.mjs'), dir], { stdio: ['ignore', 'pipe', 'inherit'], cwd: here })
    const acknowledged = []
    let buffer = ''
    child.stdout.on('data', (chunk) => {
      buffer += chunk
      const lines = buffer.split('\n')
      buffer = lines.pop()
      acknowledged.push(...lines.filter(Boolean))
    })
    const exited = new Promise((resolve) => child.once('exit', resolve))
    await waitFor(() => acknowledged.length >= 300, 20_000, '300 acknowledged writes')
    child.kill('SIGKILL')
    await exited
    const r = await Replica.open({ name: 'burst', storage: { dir } })
    const todos = r.collection('todos')
    const missing = acknowledged.filter((id) => !todos.get(id))
    assert.deepEqual(missing, [], `${acknowledged.length} acknowledged, ${todos.count()} stored`)
    await r.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('file store: a torn or corrupt tail is reported and every intact record loads', async () => {
  const dir = tempDir()
  try {
    let r = await Replica.open({ name: 'app', storage: { dir } })
    for (let i = 0; i < 20; i++) await r.collection('todos').insert({ id: `r${i}` })
    await r.close()
    const log = join(dir, 'app.ylog')
    const intact = statSync(log).size
    appendFileSync(log, Buffer.from([40, 0, 0, 0, 1, 2, 3, 4, 9, 9])) // a torn record: header promises 40 bytes
    const errors = []
    r = await Replica.open({ name: 'app', storage: { dir } })
    r.on('error', (e) => errors.push(e))
    await waitFor(() => errors.length > 0, 2_000, 'the error event')
    assert.equal(errors[0].code, 'STORAGE_CORRUPT')
    assert.match(errors[0].message, new RegExp(`byte ${intact}`))
    assert.equal(r.collection('todos').count(), 20)
    await r.collection('todos').insert({ id: 'after' })
    await r.close()

    // flip a byte inside the last record: its checksum no longer matches
    const bytes = readFileSync(log)
    bytes[bytes.length - 2] ^= 0xff
    writeFileSync(log, bytes)
    r = await Replica.open({ name: 'app', storage: { dir } })
    const more = []
    r.on('error', (e) => more.push(e))
    await waitFor(() => more.length > 0, 2_000, 'the checksum error')
    assert.equal(r.collection('todos').count(), 20, 'everything before the corrupt record')
    assert.equal(r.collection('todos').get('after'), undefined)
    await r.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('file store: a second process on the same directory gets the lock error', async () => {
  const dir = tempDir()
  try {
    const r = await Replica.open({ name: 'app', storage: { dir } })
    const script = `import { Replica } from 'yreplica'
try { await Replica.open({ name: 'app', storage: { dir: ${JSON.stringify(dir)} } }); console.log('opened') }
catch (e) { console.log(e.code + ' ' + e.message) }`
    const out = await new Promise((resolve) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: here })
      let text = ''
      child.stdout.on('data', (c) => (text += c))
      child.once('exit', () => resolve(text.trim()))
    })
    assert.match(out, /^LOCKED .*in use by process \d+/)
    // the same log twice in one process is refused too; another name in the directory is fine
    await assert.rejects(Replica.open({ name: 'app', storage: { dir } }), (e) => e.code === 'LOCKED')
    const other = await Replica.open({ name: 'other', storage: { dir } })
    await other.close()
    await r.close()
    const again = await Replica.open({ name: 'app', storage: { dir } })
    await again.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('file store: past 500 records the log is compacted and reopening does not grow it', async () => {
  const dir = tempDir()
  try {
    let r = await Replica.open({ name: 'app', storage: { dir } })
    for (let i = 0; i < 520; i++) await r.collection('todos').insert({ id: `c${i}`, i })
    await r.close()
    const size = statSync(join(dir, 'app.ylog')).size
    for (let i = 0; i < 3; i++) {
      r = await Replica.open({ name: 'app', storage: { dir } })
      assert.equal(r.collection('todos').count(), 520)
      await r.close()
    }
    assert.equal(statSync(join(dir, 'app.ylog')).size, size, 'reopening never makes the log grow')
    assert.ok(size < 520 * 60, `compacted: ${size} bytes`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('compaction waits for appends in proportion to the document: a large one is not rewritten every 500 writes', async () => {
  // rewriting the whole document every 500 appends made each write's cost grow with it
  let stored = []
  const compactions = []
  const adapter = {
    async load() { return [] },
    async append(update) { stored.push(update) },
    async compact(state) {
      compactions.push({ appends: stored.length, storedBytes: stored.reduce((sum, u) => sum + u.length, 0) })
      stored = [state]
    },
    async close() {},
  }
  const r = await Replica.open({ name: 'large', storage: adapter })
  const todos = r.collection('todos')
  await todos.insertMany(Array.from({ length: 20_000 }, (_, i) => ({ id: `r${i}`, text: `record ${i} `.repeat(12) })))
  for (let i = 0; i < 1500; i++) await todos.update(`r${i}`, { i })
  // ~3.7 MB stored: one compaction, after ~900 appends (compacting past every 500 made three)
  assert.equal(compactions.length, 1, JSON.stringify(compactions))
  assert.ok(compactions[0].appends > compactions[0].storedBytes / 4096, JSON.stringify(compactions))
  // (small documents still compact past 500 appends: see the file store's test above)
  const restored = await Replica.open({ name: 'restored', storage: { async load() { return stored }, async append() {}, async compact() {}, async close() {} } })
  assert.equal(restored.collection('todos').count(), 20_000)
  assert.equal(restored.collection('todos').get('r1499').i, 1499)
  await restored.close()
  await r.close()
})

test('a failing custom adapter rejects the write and reports an error; nothing is dropped', async () => {
  const stored = []
  let failNext = false
  const adapter = {
    async load() { return [] },
    async append(update) {
      if (failNext) {
        failNext = false
        throw new Error('disk full')
      }
      stored.push(update)
    },
    async compact() {},
    async close() {},
  }
  const r = await Replica.open({ name: 'custom', storage: adapter })
  const errors = []
  r.on('error', (e) => errors.push(e))
  const todos = r.collection('todos')
  await todos.insert({ id: 'ok1' })
  failNext = true
  await assert.rejects(todos.insert({ id: 'lost?' }), (e) => e.code === 'STORAGE_FAILED' && /disk full/.test(e.message))
  assert.equal(errors.length, 1)
  assert.ok(todos.get('lost?'), 'the replica keeps the change')
  await todos.insert({ id: 'ok2' })
  // the failed update was retried first: a fresh replica from what the adapter holds has all three
  const restored = await Replica.open({ name: 'restored', storage: { async load() { return stored }, async append() {}, async compact() {}, async close() {} } })
  assert.deepEqual(restored.collection('todos').all().map((t) => t.id).sort(), ['lost?', 'ok1', 'ok2'])
  await restored.close()
  await r.close()

  const throwing = { load() { throw new Error('cannot read') }, append() {}, compact() {}, close() {} }
  await assert.rejects(Replica.open({ name: 'x', storage: throwing }), (e) => e.code === 'STORAGE_FAILED' && /cannot read/.test(e.message))
})

test('offline writes in the file store reach the server after a restart and a connect', async () => {
  const dir = tempDir()
  const [server] = await startServers(1)
  try {
    const port = server.port
    await server.kill()
    let r = await Replica.open({ name: 'off', room: 'offline-room', storage: { dir }, endpoints: [server.url] })
    const ids = await Promise.all([1, 2, 3].map((i) => r.collection('todos').insert({ i })))
    await r.close()
    await server.start()
    assert.equal(server.port, port)
    r = await Replica.open({ name: 'off', room: 'offline-room', storage: { dir }, endpoints: [server.url] })
    await waitFor(() => r.status.connection === 'online', 10_000, 'online')
    await r.flush({ timeoutMs: 5000 })
    const doc = new Y.Doc()
    const provider = new WebsocketProvider(server.url, 'offline-room', doc, { WebSocketPolyfill: WebSocket, disableBc: true })
    await waitFor(() => provider.synced, 5_000, 'reader synced')
    const onServer = doc.getMap('todos').toJSON()
    provider.destroy()
    doc.destroy()
    assert.deepEqual(ids.filter((id) => !onServer[id]), [])
    await r.close()
  } finally {
    await stopServers([server])
    rmSync(dir, { recursive: true, force: true })
  }
})

test('close() writes what a failed append left, and reports what it still cannot write', async () => {
  const stored = []
  let failing = true
  const adapter = {
    async load() { return [] },
    async append(update) {
      if (failing) throw new Error('transient failure')
      stored.push(update)
    },
    async compact() {},
    async close() {},
  }
  const r = await Replica.open({ name: 'retry-on-close', storage: adapter })
  await assert.rejects(r.collection('todos').insert({ id: 'pending' }))
  failing = false
  await r.close()
  const restored = await Replica.open({ name: 'restored', storage: { async load() { return stored }, async append() {}, async compact() {}, async close() {} } })
  assert.ok(restored.collection('todos').get('pending'), 'written by close()')
  await restored.close()
})
