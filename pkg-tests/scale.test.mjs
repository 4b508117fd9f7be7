// Writes and imports of any size: a multi-record write is split into Yjs updates under
// maxUpdateBytes (ids checked first), and an import loads whole and reaches the server in
// pieces. Checked against a real @y/websocket-server and a plain y-websocket client.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { WebSocket } from 'ws'
import { Replica } from 'yreplica'
import { startServers, stopServers } from '../dev/servers.mjs'
import { waitFor } from '../dev/wait.mjs'

const LIMIT = 64 * 1024
const opened = []
after(async () => {
  await Promise.all(opened.map((r) => r.close()))
})

/** A `ws` WebSocket that records the size of every message the replica sends. */
function recordingWebSocket(sent) {
  return class extends WebSocket {
    send(data, ...rest) {
      sent.push(data.byteLength ?? data.length)
      return super.send(data, ...rest)
    }
  }
}

async function open(name, options = {}) {
  const replica = await Replica.open({ name, room: 'scale', storage: 'memory', heartbeatIntervalMs: 300, maxUpdateBytes: LIMIT, ...options })
  opened.push(replica)
  return replica
}

const records = (n, from = 0) => Array.from({ length: n }, (_, i) => ({ id: `r${from + i}`, title: `record ${from + i} ${'x'.repeat(40)}`, n: from + i }))

/** What a plain y-websocket client reads from the server. */
async function readServer(server) {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(server.url, 'scale', doc, { WebSocketPolyfill: WebSocket, disableBc: true })
  try {
    await waitFor(() => provider.synced, 10_000, 'y-websocket synced')
    return doc.getMap('todos').toJSON()
  } finally {
    provider.destroy()
    doc.destroy()
  }
}

test('insertMany over maxUpdateBytes writes every record, in updates each under the limit', async () => {
  const [server] = await startServers(1)
  try {
    const sent = []
    const replica = await open('writer', { endpoints: [server.url], WebSocket: recordingWebSocket(sent) })
    await waitFor(() => replica.status.connection === 'online', 10_000, 'online')
    const todos = replica.collection('todos')
    const changes = []
    todos.subscribe((c) => changes.push(c))
    const batch = records(5000) // ~450 KB of JSON: 7+ updates of 64 KB
    const ids = await todos.insertMany(batch)
    assert.deepEqual(ids, batch.map((r) => r.id))
    assert.equal(todos.count(), 5000)
    assert.equal(changes.length, 1, 'one notification for the whole call')
    assert.equal(changes[0].length, 5000)
    await replica.flush({ timeoutMs: 10_000 })
    const big = sent.filter((n) => n > 1000)
    assert.ok(big.length >= 7, `sent ${big.length} updates`)
    assert.ok(sent.every((n) => n <= LIMIT + 64), `largest message ${Math.max(...sent)} bytes`)
    const onServer = await readServer(server)
    assert.equal(Object.keys(onServer).length, 5000)
    assert.deepEqual(onServer.r4999, { title: batch[4999].title, n: 4999 })
  } finally {
    await stopServers([server])
  }
})

test('a taken or repeated id anywhere in a large insertMany writes nothing', async () => {
  const replica = await open('taken')
  const todos = replica.collection('todos')
  await todos.insert({ id: 'r4999', title: 'already here' })
  await assert.rejects(todos.insertMany(records(5000)), (e) => e.code === 'ALREADY_EXISTS' && /r4999/.test(e.message))
  assert.equal(todos.count(), 1)
  const repeated = [...records(3000), { id: 'r5', title: 'again' }]
  await assert.rejects(todos.insertMany(repeated), (e) => e.code === 'ALREADY_EXISTS' && /'r5'/.test(e.message))
  assert.equal(todos.count(), 1)
  await assert.rejects(todos.insertMany([...records(10, 100), { id: 'huge', text: 'y'.repeat(LIMIT + 1) }]), (e) => e instanceof RangeError && e.code === 'TOO_LARGE' && /record 10/.test(e.message))
  assert.equal(todos.count(), 1, 'a single record over the limit writes nothing either')
  assert.equal(todos.get('r4999')?.title, 'already here', 'the record that held the id is untouched')
  assert.equal(todos.get('r0'), undefined)
  await todos.insertMany(records(10))
  assert.equal(todos.count(), 11, 'refused ids are free again')
})

test('inside transact() the whole transaction is one update, so its sum is refused', async () => {
  const replica = await open('batched')
  const todos = replica.collection('todos')
  let refused
  replica.transact(() => {
    refused = todos.insertMany(records(5000))
  })
  await assert.rejects(refused, (e) => e.code === 'TOO_LARGE' && /this transact\(\)/.test(e.message))
  assert.equal(todos.count(), 0)
})

test('an import of any size loads whole and reaches the server in pieces under maxUpdateBytes', async () => {
  const [server] = await startServers(1)
  try {
    const source = await open('source', { maxUpdateBytes: 4 * 1024 * 1024 })
    await source.collection('todos').insertMany(records(8000))
    const state = source.encodeState()
    assert.ok(state.length > 8 * LIMIT, `${state.length} bytes`)
    const sent = []
    const importer = await open('importer', { endpoints: [server.url], WebSocket: recordingWebSocket(sent) })
    await waitFor(() => importer.status.connection === 'online', 10_000, 'online')
    importer.applyUpdate(state)
    assert.equal(importer.collection('todos').count(), 8000)
    await importer.flush({ timeoutMs: 10_000 })
    assert.ok(sent.every((n) => n <= LIMIT + 64), `largest message ${Math.max(...sent)} bytes`)
    const onServer = await readServer(server)
    assert.equal(Object.keys(onServer).length, 8000)
  } finally {
    await stopServers([server])
  }
})
