// The operator directive against real @y/websocket-server processes and a real Hocuspocus +
// Redis cluster: set by one replica (or a plain Yjs client), followed by every replica of the
// room, within what each replica's own endpoints allow.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { WebSocket } from 'ws'
import { Replica } from 'yreplica'
import { startServers, stopServers } from '../dev/servers.mjs'
import { startCluster } from '../dev/cluster.mjs'
import { waitFor, sleep } from '../dev/wait.mjs'

const HOLD_DOWN = 1500
const opened = []

async function open(name, endpoints, options = {}) {
  const replica = await Replica.open({
    name,
    room: 'room-d',
    storage: 'memory',
    endpoints,
    heartbeatIntervalMs: 300,
    missedHeartbeats: 2,
    connectTimeoutMs: 1000,
    backoff: { initialMs: 100, maxMs: 1000 },
    failbackAfterMs: HOLD_DOWN,
    ...options,
  })
  opened.push(replica)
  replica.failovers = []
  replica.errors = []
  replica.directives = []
  replica.on('failover', (f) => replica.failovers.push(f))
  replica.on('error', (e) => replica.errors.push(e))
  replica.on('directive', (d) => replica.directives.push(d))
  return replica
}

const onlineAt = (replica, server) =>
  waitFor(() => replica.status.connection === 'online' && replica.status.endpoint === server.url, 10_000, `online at ${server.url}`)

after(async () => {
  await Promise.all(opened.map((r) => r.close()))
})

test('a drain moves every replica of the room off the server at once; a restore brings them back after the hold-down', async () => {
  const servers = await startServers(3)
  try {
    const urls = servers.map((s) => s.url)
    const [a, b] = [await open('a', urls), await open('b', urls)]
    await onlineAt(a, servers[0])
    await onlineAt(b, servers[0])
    await a.setDirective({ drain: [urls[0]], note: 'maintenance' })
    assert.deepEqual(a.directive.drain, [urls[0]])
    assert.equal(a.directive.by, 'a')
    await a.flush()
    for (const r of [a, b]) {
      await onlineAt(r, servers[1])
      assert.equal(r.failovers[0].reason, 'operator')
      assert.equal(r.directives.at(-1)?.note, 'maintenance')
    }
    // writes go on, and none goes back to the drained server while it stands
    const id = await b.collection('todos').insert({ title: 'while drained' })
    await b.flush()
    await sleep(HOLD_DOWN + 1000)
    for (const r of [a, b]) assert.equal(r.status.endpoint, urls[1], 'no return while drained')
    assert.ok(a.collection('todos').get(id))

    // a replica that was not there when it was set obeys it as it syncs
    const late = await open('late', urls)
    await onlineAt(late, servers[1])
    assert.equal(late.directive?.drain[0], urls[0])

    // a plain Yjs client reads the directive where the room keeps it
    const doc = new Y.Doc()
    const provider = new WebsocketProvider(urls[1], 'room-d', doc, { WebSocketPolyfill: WebSocket, disableBc: true })
    try {
      await waitFor(() => provider.synced, 10_000, 'yjs synced')
      assert.deepEqual(doc.getMap('yreplica.directive').get('current').drain, [urls[0]])
    } finally {
      provider.destroy()
      doc.destroy()
    }

    const restoredAt = Date.now()
    await b.clearDirective()
    await b.flush()
    for (const r of [a, b, late]) {
      await waitFor(() => r.directive === null, 5_000, 'cleared everywhere')
      await onlineAt(r, servers[0])
      const back = r.failovers.at(-1)
      assert.equal(back.reason, 'failback')
      assert.ok(back.at - restoredAt >= HOLD_DOWN - 50, `back after ${back.at - restoredAt} ms, before the hold-down`)
    }
  } finally {
    await stopServers(servers)
  }
})

test('a promotion moves replicas that list the URL; others stay and say why once; a drain of the only endpoint is ignored', async () => {
  const servers = await startServers(3)
  try {
    const urls = servers.map((s) => s.url)
    const all = await open('all', urls)
    const twoOnly = await open('two-only', urls.slice(0, 2))
    const single = await open('single', urls.slice(0, 1))
    for (const r of [all, twoOnly, single]) await onlineAt(r, servers[0])
    await all.setDirective({ primary: urls[2] })
    await all.flush()
    await onlineAt(all, servers[2])
    assert.equal(all.failovers[0].reason, 'operator')
    await waitFor(() => twoOnly.directive !== null && single.directive !== null, 5_000, 'the directive reached the others')
    await sleep(500)
    for (const r of [twoOnly, single]) {
      assert.equal(r.status.endpoint, urls[0], `${r.name} stays`)
      const ignored = r.errors.filter((e) => e.code === 'DIRECTIVE_IGNORED')
      assert.equal(ignored.length, 1, `${r.name}: ${r.errors.map((e) => e.message).join('; ')}`)
      assert.match(ignored[0].message, /not among this replica's endpoints/)
    }
    // draining the only endpoint a replica has is ignored for that replica (set on server 0,
    // where both are: standalone servers carry a directive only where it is written)
    await twoOnly.setDirective({ drain: [urls[0]] })
    await twoOnly.flush()
    await waitFor(() => single.errors.some((e) => /drains every endpoint/.test(e.message)), 5_000, 'reported')
    assert.equal(single.status.endpoint, urls[0])
    await onlineAt(twoOnly, servers[1])
    // a malformed directive is refused before anything is written
    await assert.rejects(all.setDirective({ drain: 'ws://x' }), { code: 'INVALID_VALUE' })
    await assert.rejects(all.setDirective({}), { code: 'INVALID_VALUE' })
    assert.equal(all.directive.primary, urls[2])
    await assert.rejects(all.collection('yreplica.directive').insert({}), { code: 'INVALID_VALUE' })
  } finally {
    await stopServers(servers)
  }
})

test('Hocuspocus with Redis: a drain moves the replicas of the document', async () => {
  const cluster = await startCluster(3)
  try {
    const urls = cluster.servers.map((s) => s.url)
    const options = { protocol: 'hocuspocus', room: 'doc-d' }
    const a = await open('ha', urls, options)
    const b = await open('hb', urls, options)
    await onlineAt(a, cluster.servers[0])
    await onlineAt(b, cluster.servers[0])
    await a.setDirective({ drain: [urls[0]], expiresAt: Date.now() + 60_000 })
    await a.flush()
    await onlineAt(a, cluster.servers[1])
    await onlineAt(b, cluster.servers[1])
    assert.equal(b.failovers[0].reason, 'operator')
  } finally {
    await cluster.stop()
  }
})
