// Limits and safety against real servers: oversized messages, oversized writes, secrets kept
// out of errors and events, the https → ws:// warning, and prototype pollution attempts.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { WebSocket } from 'ws'
import { Replica } from 'yreplica'
import { startServers, stopServers, YServer, HocuspocusServer } from '../dev/servers.mjs'
import { freePort } from '../dev/ports.mjs'
import { waitFor } from '../dev/wait.mjs'
import { fillRoom, checkRecords } from '../dev/large-document.mjs'

const opened = []
after(async () => {
  await Promise.all(opened.map((r) => r.close()))
})

async function open(options) {
  const replica = await Replica.open({
    name: 'limits',
    room: 'room-l',
    storage: 'memory',
    heartbeatIntervalMs: 300,
    missedHeartbeats: 2,
    connectTimeoutMs: 1000,
    backoff: { initialMs: 100, maxMs: 500 },
    failback: false,
    ...options,
  })
  opened.push(replica)
  replica.seen = { errors: [], failovers: [], statuses: [] }
  replica.on('error', (e) => replica.seen.errors.push({ code: e.code, message: e.message }))
  replica.on('failover', (f) => replica.seen.failovers.push(f))
  replica.on('status', (s) => replica.seen.statuses.push(s))
  return replica
}

/** Writes `records` into `room` on `server` with a plain Yjs client. */
async function seed(server, room, records) {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(server.url, room, doc, { WebSocketPolyfill: WebSocket, disableBc: true })
  try {
    await waitFor(() => provider.synced, 10_000, 'seed client synced')
    doc.transact(() => {
      for (const [id, fields] of Object.entries(records)) {
        const record = new Y.Map()
        for (const [k, v] of Object.entries(fields)) record.set(k, v)
        doc.getMap('todos').set(id, record)
      }
    })
    // a second client seeing the write proves the server holds it
    const check = new Y.Doc()
    const reader = new WebsocketProvider(server.url, room, check, { WebSocketPolyfill: WebSocket, disableBc: true })
    await waitFor(() => reader.synced && check.getMap('todos').size === Object.keys(records).length, 10_000, 'seed visible')
    reader.destroy()
    check.destroy()
  } finally {
    provider.destroy()
    doc.destroy()
  }
}

test('a server message over maxFrameBytes drops that server with an error, and the replica moves on', async () => {
  const [big, small] = await startServers(2)
  try {
    await seed(big, 'room-l', { huge: { text: 'x'.repeat(20_000) } })
    const replica = await open({ endpoints: [big.url, small.url], maxFrameBytes: 8192, maxUpdateBytes: 4096 })
    await waitFor(() => replica.status.connection === 'online' && replica.status.endpoint === small.url, 15_000, 'online at the second server')
    const error = replica.seen.errors.find((e) => e.code === 'FRAME_TOO_LARGE')
    assert.ok(error, JSON.stringify(replica.seen.errors))
    assert.match(error.message, new RegExp(`${big.url}.*over maxFrameBytes \\(8192\\)`))
    const first = replica.endpoints.find((e) => e.url === big.url)
    assert.ok(first.failures >= 1 && first.state === 'down', JSON.stringify(first))
    assert.equal(replica.collection('todos').get('huge'), undefined, 'nothing of the oversized message was taken in')
    // still a working replica
    await replica.collection('todos').insert({ id: 'ok', title: 'after' })
    await replica.flush({ timeoutMs: 5000 })
  } finally {
    await stopServers([big, small])
  }
})

// 200,000 six-field records are a 39 MB sync answer: over the old 16 MiB maxFrameBytes,
// which dropped the connection (FRAME_TOO_LARGE) and cycled through the endpoints forever, and
// long enough to encode that heartbeat probes sent meanwhile made the server encode it again
// and again (Hocuspocus never answered in time).
const LARGE = 200_000
for (const protocol of ['y-websocket', 'hocuspocus']) {
  test(`with default options a new replica syncs a ${LARGE}-record document from ${protocol}`, { timeout: 120_000 }, async () => {
    const server = protocol === 'hocuspocus' ? await HocuspocusServer.start() : await YServer.start()
    let filler
    try {
      filler = await fillRoom({ url: server.url, room: 'large', protocol, count: LARGE })
      assert.ok(filler.bytes > 32 * 1024 * 1024, `the answer is ${filler.bytes} bytes`)
      const started = Date.now()
      const replica = await Replica.open({ name: `large-${protocol}`, room: 'large', storage: 'memory', endpoints: [server.url], protocol })
      opened.push(replica)
      const errors = []
      replica.on('error', (e) => errors.push(`${e.code}: ${e.message}`))
      const statuses = []
      replica.on('status', (s) => statuses.push(s.connection))
      await waitFor(() => errors.length > 0 || (replica.status.connection === 'online' && replica.collection('todos').count() === LARGE), 90_000, `${LARGE} records online`)
      assert.deepEqual(errors, [])
      assert.equal(replica.status.connection, 'online')
      assert.ok(!statuses.includes('offline'), `never left the server: ${statuses.join(' → ')}`)
      checkRecords(replica, LARGE)
      // a working replica: a write reaches the server
      await replica.collection('todos').insert({ id: 'after', title: 'written after the large sync' })
      await replica.flush({ timeoutMs: 20_000 })
      console.log(`# ${protocol}: ${LARGE} records (${(filler.bytes / 1e6).toFixed(1)} MB) online in ${((Date.now() - started) / 1000).toFixed(1)} s`)
      await replica.close()
    } finally {
      filler?.close()
      await server.kill()
    }
  })
}

test('a write over maxUpdateBytes is refused before anything is written, also summed over transact()', async () => {
  const replica = await open({ maxUpdateBytes: 1000 })
  const todos = replica.collection('todos')
  await assert.rejects(todos.insert({ id: 'big', text: 'y'.repeat(2000) }), (e) => e instanceof RangeError && e.code === 'TOO_LARGE' && /todos\.insert.*maxUpdateBytes \(1000\)/.test(e.message))
  assert.equal(todos.count(), 0)
  await todos.insert({ id: 'a', text: 'y'.repeat(600) })
  let refused
  replica.transact(() => {
    todos.update('a', { text: 'z'.repeat(600) })
    refused = todos.insert({ id: 'b', text: 'w'.repeat(600) })
  })
  await assert.rejects(refused, (e) => e.code === 'TOO_LARGE' && /earlier writes of this transact/.test(e.message))
  assert.equal(todos.get('a').text, 'z'.repeat(600), 'the write before the refused one stays')
  assert.equal(todos.get('b'), undefined)
  // an import is not a local write: no size limit applies (it is shared in pieces, see scale.test.mjs)
  assert.throws(() => replica.applyUpdate(new Uint8Array(1001).fill(0xff)), (e) => e.code === 'INVALID_UPDATE')
  await assert.rejects(Replica.open({ name: 'x', storage: 'memory', maxUpdateBytes: 0 }), /maxUpdateBytes/)
  await assert.rejects(Replica.open({ name: 'x', storage: 'memory', maxFrameBytes: 100, maxUpdateBytes: 200 }), /must not exceed maxFrameBytes/)
})

test('tokens and params never appear in errors, events or endpoint lists', async () => {
  const SECRET = 's3cret-Token-42'
  const closed = `ws://127.0.0.1:${await freePort()}`
  const [server] = await startServers(1)
  const logged = []
  const original = { warn: console.warn, error: console.error, log: console.log }
  for (const level of Object.keys(original)) console[level] = (...args) => logged.push(args.join(' '))
  try {
    // A WebSocket that refuses the URL the way browsers do, quoting it in its message.
    class Quoting extends WebSocket {
      constructor(url) {
        if (url.includes('127.0.0.1:1/')) throw new SyntaxError(`Failed to construct 'WebSocket': The URL '${url}' is invalid.`)
        super(url)
      }
    }
    const replica = await open({ endpoints: ['ws://127.0.0.1:1', closed, server.url], params: { token: SECRET }, token: SECRET, WebSocket: Quoting })
    await waitFor(() => replica.status.connection === 'online', 15_000, 'online at the third endpoint')
    await replica.failover()
    await waitFor(() => replica.seen.failovers.length >= 2, 15_000, 'a manual failover round')
    assert.ok(replica.seen.errors.some((e) => e.message.includes('cannot open ws://127.0.0.1:1/')), JSON.stringify(replica.seen.errors))
    const everything = JSON.stringify([replica.seen, replica.endpoints, replica.status, logged])
    assert.ok(!everything.includes(SECRET), `a secret leaked: ${everything}`)
    await assert.rejects(Replica.open({ name: 'x', storage: 'memory', token: { secret: SECRET } }), (e) => !e.message.includes(SECRET))
    await assert.rejects(Replica.open({ name: 'x', storage: 'memory', endpoints: [`ws://u:${SECRET}@127.0.0.1:9`] }), (e) => !e.message.includes(SECRET) && /credentials/.test(e.message))
    // a refused endpoint is named without its query or fragment, which may hold a token
    for (const url of [`ws://127.0.0.1:9/?token=${SECRET}`, `ws://127.0.0.1:9#${SECRET}`, `https://127.0.0.1:9/?token=${SECRET}`]) {
      await assert.rejects(Replica.open({ name: 'x', storage: 'memory', endpoints: [url] }), (e) => {
        assert.equal(e.code, 'INVALID_OPTION')
        assert.ok(!e.message.includes(SECRET), e.message)
        assert.match(e.message, /'(ws|https):\/\/127\.0\.0\.1:9\/?[?#]…'/)
        return true
      })
    }
  } finally {
    Object.assign(console, original)
    await stopServers([server])
  }
})

test('a page served over https warns once about plain ws:// endpoints to other hosts', async () => {
  const warnings = []
  const warn = console.warn
  console.warn = (message) => warnings.push(String(message))
  globalThis.location = { protocol: 'https:' }
  try {
    const loopback = await open({ endpoints: [`ws://127.0.0.1:${await freePort()}`] })
    assert.equal(warnings.length, 0, 'loopback is not warned about')
    await loopback.close()
    const remote = await open({ endpoints: ['ws://sync.example.invalid', 'wss://sync.example.invalid'] })
    const again = await open({ endpoints: ['ws://other.example.invalid'] })
    assert.equal(warnings.length, 1, warnings.join('\n'))
    assert.match(warnings[0], /https.*ws:\/\/sync\.example\.invalid.*wss:\/\//)
    await remote.close()
    await again.close()
  } finally {
    delete globalThis.location
    console.warn = warn
  }
})

test('keys like __proto__ and constructor, locally or from a remote Yjs client, never change a prototype', async () => {
  const [server] = await startServers(1)
  try {
    const replica = await open({ room: 'room-p', endpoints: [server.url] })
    await waitFor(() => replica.status.connection === 'online', 15_000, 'online')
    const hostile = JSON.parse('{"id":"__proto__","__proto__":{"polluted":"local"},"constructor":{"prototype":{"polluted":"ctor"}}}')
    const proto = replica.collection('__proto__')
    await proto.insert(hostile)
    // a plain Yjs client writes the same shapes remotely
    const doc = new Y.Doc()
    const provider = new WebsocketProvider(server.url, 'room-p', doc, { WebSocketPolyfill: WebSocket, disableBc: true })
    await waitFor(() => provider.synced, 10_000, 'remote client synced')
    const record = new Y.Map()
    record.set('__proto__', { polluted: 'remote' })
    record.set('prototype', { polluted: 'remote' })
    doc.getMap('constructor').set('__proto__', record)
    await waitFor(() => replica.collection('constructor').get('__proto__') !== undefined, 10_000, 'remote record arrives')
    provider.destroy()
    doc.destroy()

    assert.equal({}.polluted, undefined)
    assert.equal(Object.prototype.polluted, undefined)
    const local = proto.get('__proto__')
    assert.equal(Object.getPrototypeOf(local), Object.prototype)
    assert.deepEqual(Object.getOwnPropertyDescriptor(local, '__proto__').value, { polluted: 'local' })
    assert.deepEqual(proto.find({ where: { id: '__proto__' } }).map((r) => r.id), ['__proto__'])
    const remote = replica.collection('constructor').get('__proto__')
    assert.equal(Object.getPrototypeOf(remote), Object.prototype)
    assert.deepEqual(Object.getOwnPropertyDescriptor(remote, '__proto__').value, { polluted: 'remote' })
    assert.deepEqual(replica.collections(), ['__proto__', 'constructor'])
    assert.throws(() => replica.on('__proto__', () => {}), /unknown event/)
    assert.throws(() => replica.on('constructor', () => {}), /unknown event/)
  } finally {
    await stopServers([server])
  }
})

test('a flood of remote updates arrives whole and in order, without a false heartbeat miss', async () => {
  const { spawn } = await import('node:child_process')
  const [server] = await startServers(1)
  try {
    const replica = await open({ room: 'room-flood', endpoints: [server.url], heartbeatIntervalMs: 200 })
    await waitFor(() => replica.status.connection === 'online', 15_000, 'online')
    const N = 5000
    const order = []
    replica.collection('todos').subscribe((changes) => {
      for (const c of changes) order.push(Number(c.id.slice(1)))
    })
    let turns = 0
    const ticker = setInterval(() => turns++, 1)
    const writer = spawn(process.execPath, [new URL('../dev/flood-writer.mjs', import.meta.url).pathname, server.url, 'room-flood', String(N)], { stdio: 'inherit' })
    await new Promise((resolve) => writer.once('exit', resolve))
    await waitFor(() => replica.collection('todos').count() === N, 60_000, 'every flooded record')
    clearInterval(ticker)
    assert.deepEqual(order, [...Array(N).keys()], 'applied in the order sent')
    assert.ok(turns > 0, 'timers ran during the flood')
    assert.deepEqual(replica.seen.failovers, [], 'a backlog is not silence')
    assert.equal(replica.status.connection, 'online')
    await replica.collection('todos').insert({ id: 'after-flood' })
    await replica.flush({ timeoutMs: 5000 })
  } finally {
    await stopServers([server])
  }
})
