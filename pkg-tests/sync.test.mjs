// Sync and failover against real @y/websocket-server processes on loopback, with real faults.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { WebSocket } from 'ws'
import { Replica } from 'yreplica'
import { startServers, stopServers } from '../dev/servers.mjs'
import { readServer as readServerAt } from './helpers/read-server.mjs'
import { waitFor, sleep } from '../dev/wait.mjs'

const HB = 300
const MISSED = 2
const BOUND = (MISSED + 1) * HB
const opened = []

async function open(name, servers, options = {}) {
  const replica = await Replica.open({
    name,
    room: 'room-1',
    storage: 'memory',
    endpoints: servers.map((s) => s.url),
    heartbeatIntervalMs: HB,
    missedHeartbeats: MISSED,
    connectTimeoutMs: 1000,
    backoff: { initialMs: 100, maxMs: 1000 },
    failbackAfterMs: 2000,
    ...options,
  })
  opened.push(replica)
  replica.failovers = []
  replica.on('failover', (f) => replica.failovers.push(f))
  return replica
}

const online = (replica, server) =>
  waitFor(() => replica.status.connection === 'online' && (!server || replica.status.endpoint === server.url), 15_000, `online at ${server?.url}`)

const readServer = (server, collection) => readServerAt(server.url, 'room-1', collection)

after(async () => {
  await Promise.all(opened.map((r) => r.close()))
})

test('a) two replicas and a plain y-websocket client converge both ways', async () => {
  const servers = await startServers(1)
  try {
    const a = await open('a', servers)
    const b = await open('b', servers)
    await online(a)
    await online(b)
    const doc = new Y.Doc()
    const provider = new WebsocketProvider(servers[0].url, 'room-1', doc, { WebSocketPolyfill: WebSocket, disableBc: true })
    await waitFor(() => provider.synced, 10_000, 'yjs client synced')
    const seenByB = []
    b.collection('todos').subscribe((changes) => seenByB.push(...changes))

    const id = await a.collection('todos').insert({ title: 'from a', done: false })
    await waitFor(() => b.collection('todos').get(id), 5_000, 'b sees a')
    assert.equal(seenByB.find((c) => c.id === id).origin, 'remote')
    await waitFor(() => doc.getMap('todos').get(id)?.get('title') === 'from a', 5_000, 'yjs sees a')

    await b.collection('todos').update(id, { done: true })
    doc.getMap('todos').set('y1', new Y.Map([['title', 'from yjs']]))
    await waitFor(() => a.collection('todos').get(id)?.done === true, 5_000, 'a sees b')
    await waitFor(() => a.collection('todos').get('y1') && b.collection('todos').get('y1'), 5_000, 'replicas see yjs')
    doc.getMap('todos').get(id).set('note', 'yjs field edit')
    await waitFor(() => a.collection('todos').get(id)?.note === 'yjs field edit', 5_000, 'field edit')
    assert.deepEqual(a.collection('todos').get(id), b.collection('todos').get(id))
    await b.collection('todos').delete('y1')
    await waitFor(() => !doc.getMap('todos').has('y1') && !a.collection('todos').get('y1'), 5_000, 'delete reaches all')
    provider.destroy()
    doc.destroy() // also stops the awareness timer, which would keep Node running
  } finally {
    await stopServers(servers)
  }
})

/** Replicas 'a' and 'b' in the test room, online at the first server. */
async function twoReplicasOnline(servers) {
  const replicas = [await open('a', servers), await open('b', servers)]
  for (const r of replicas) await online(r, servers[0])
  return replicas
}

async function writeContinuously(replicas, prefix, perSecond, stop) {
  const written = replicas.map(() => [])
  let n = 0
  const interval = 1000 / (perSecond / replicas.length)
  const loops = replicas.map(async (r, i) => {
    while (!stop.done) {
      const id = `${prefix}-${i}-${n++}`
      await r.collection('todos').insert({ id, n })
      written[i].push(id)
      await sleep(interval) // the write rate is the point: writes keep coming during the fault
    }
  })
  const total = () => written[0].length + written[1].length
  /** Resolves once `n` more writes than now have been written. */
  const more = (n) => {
    const target = total() + n
    return waitFor(() => total() >= target, { timeoutMs: 10_000, what: `${n} more writes` })
  }
  return { written, more, finished: () => Promise.all(loops) }
}

test('b) SIGSTOP of the active server while two replicas write: both move on within the bound, nothing lost', async () => {
  const servers = await startServers(3)
  try {
    const [a, b] = await twoReplicasOnline(servers)
    const stop = { done: false }
    const { written, more, finished } = await writeContinuously([a, b], 'w', 240, stop)
    await more(100) // writing at full speed before the freeze
    const frozenAt = Date.now()
    servers[0].freeze()
    await online(a, servers[1])
    await online(b, servers[1])
    const movedAfter = Math.max(...[a, b].map((r) => r.failovers[0].at)) - frozenAt
    await more(100) // and on the new server after it
    stop.done = true
    await finished()
    const total = written[0].length + written[1].length
    assert.ok(total >= 200, `wrote ${total}`)
    for (const r of [a, b]) {
      assert.equal(r.failovers[0].reason, 'heartbeat')
      assert.equal(r.failovers[0].from, servers[0].url)
      assert.equal(r.failovers[0].to, servers[1].url)
    }
    // detection is bounded by (missed + 1) heartbeat intervals after the last message (plus
    // the write interval and timer slack of a loaded machine)
    assert.ok(movedAfter <= BOUND + 1000, `moved ${movedAfter} ms after the freeze (bound ${BOUND} ms + timer slack)`)
    await a.flush({ timeoutMs: 5000 })
    await b.flush({ timeoutMs: 5000 })
    const all = [...written[0], ...written[1]]
    await waitFor(() => all.every((id) => a.collection('todos').get(id) && b.collection('todos').get(id)), 10_000, 'replicas converge')
    const onServer = await readServer(servers[1])
    const missing = all.filter((id) => !onServer[id])
    assert.deepEqual(missing, [], 'every write is on the new server')
  } finally {
    servers[0].resume()
    await stopServers(servers)
  }
})

test('c) SIGKILL of the active server: failover, then failback after the hold-down', async () => {
  const servers = await startServers(3)
  try {
    const [a, b] = await twoReplicasOnline(servers)
    const stop = { done: false }
    const { written, more, finished } = await writeContinuously([a, b], 'k', 100, stop)
    await more(20) // writing before the kill
    await servers[0].kill()
    await online(a, servers[1])
    await online(b, servers[1])
    assert.equal(a.failovers[0].reason, 'closed')
    await more(20) // and on the new server after it
    stop.done = true
    await finished()
    await a.flush({ timeoutMs: 5000 })
    await b.flush({ timeoutMs: 5000 })
    const all = [...written[0], ...written[1]]
    const onServer = await readServer(servers[1])
    assert.deepEqual(all.filter((id) => !onServer[id]), [])

    await servers[0].start()
    const restartedAt = Date.now()
    await online(a, servers[0])
    const failback = a.failovers.find((f) => f.reason === 'failback')
    assert.ok(failback, JSON.stringify(a.failovers))
    assert.ok(failback.at - restartedAt >= 2000, `failback ${failback.at - restartedAt} ms after restart`)
    await online(b, servers[0])
    await a.flush({ timeoutMs: 5000 })
    await b.flush({ timeoutMs: 5000 })
    const restarted = await readServer(servers[0])
    assert.deepEqual(all.filter((id) => !restarted[id]), [], 'the restarted (empty) server got everything')
  } finally {
    await stopServers(servers)
  }
})

test('d) all servers down: writes work offline and reach the servers when they come back empty', async () => {
  const servers = await startServers(2)
  try {
    const a = await open('a', servers)
    await online(a)
    await Promise.all(servers.map((s) => s.kill()))
    await waitFor(() => a.status.connection !== 'online', 5_000, 'noticed')
    const ids = []
    for (let i = 0; i < 50; i++) ids.push(await a.collection('todos').insert({ i }))
    assert.equal(a.collection('todos').count(), 50)
    assert.ok(a.status.pending >= 50, `pending ${a.status.pending}`)
    await servers[1].start()
    await online(a, servers[1])
    await a.flush({ timeoutMs: 5000 })
    assert.equal(a.status.pending, 0)
    const onServer = await readServer(servers[1])
    assert.deepEqual(ids.filter((id) => !onServer[id]), [])
  } finally {
    await stopServers(servers)
  }
})

test('e) failover() and switchTo() move with reason manual; a pin holds until unpin()', async () => {
  const servers = await startServers(3)
  try {
    const a = await open('a', servers, { failbackAfterMs: 1000 })
    await online(a, servers[0])
    await a.failover()
    await online(a, servers[1])
    assert.deepEqual(a.failovers.map((f) => [f.from, f.to, f.reason]), [[servers[0].url, servers[1].url, 'manual']])
    await a.switchTo(servers[2].url)
    await online(a, servers[2])
    assert.equal(a.failovers[1].reason, 'manual')
    // nothing may happen here: 2.5 s is over twice failbackAfterMs, and a pin holds anyway
    await sleep(2500)
    assert.equal(a.status.endpoint, servers[2].url, 'pinned: no failback')
    assert.equal(a.failovers.length, 2, 'no move while pinned')
    await assert.rejects(a.switchTo('ws://127.0.0.1:1'), (e) => e.code === 'UNKNOWN_ENDPOINT')
    a.unpin()
    await online(a, servers[0])
    assert.equal(a.failovers.at(-1).reason, 'failback')
    const endpoints = a.endpoints
    assert.deepEqual(endpoints.map((e) => e.active), [true, false, false])
    assert.ok(endpoints.every((e) => e.state === 'up' && e.rttMs >= 0 && e.lastSeenAt > 0), JSON.stringify(endpoints))
  } finally {
    await stopServers(servers)
  }
})

test('f) flush() resolves once the server has the change, and rejects with TIMEOUT against a frozen server', async () => {
  const servers = await startServers(2)
  try {
    const a = await open('a', servers, { heartbeatIntervalMs: 2000 })
    await online(a, servers[0])
    const id = await a.collection('todos').insert({ title: 'acknowledged' })
    await a.flush({ timeoutMs: 5000 })
    const onServer = await readServer(servers[0])
    assert.equal(onServer[id]?.title, 'acknowledged')

    // a flush asked for inside transact() covers the batch's writes
    const flushed = a.transact(() => {
      a.collection('todos').insert({ id: 'in-batch' })
      return a.flush({ timeoutMs: 5000 })
    })
    await flushed
    assert.equal(a.status.pending, 0, 'the batch was acknowledged when flush resolved')
    assert.ok((await readServer(servers[0]))['in-batch'], 'the batch reached the server')

    servers[0].freeze()
    await a.collection('todos').insert({ title: 'stuck' })
    const started = Date.now()
    await assert.rejects(a.flush({ timeoutMs: 800 }), (e) => e.code === 'TIMEOUT')
    assert.ok(Date.now() - started >= 750)
    servers[0].resume()
    await a.flush({ timeoutMs: 5000 })
  } finally {
    servers[0].resume()
    await stopServers(servers)
  }
})

test('g) presence: replicas and a y-websocket client see each other; a closed replica leaves', async () => {
  const servers = await startServers(1)
  try {
    const a = await open('a', servers)
    const b = await open('b', servers)
    await online(a)
    await online(b)
    a.setPresence({ name: 'ada', cursor: 3 })
    b.setPresence({ name: 'bob' })
    const doc = new Y.Doc()
    const provider = new WebsocketProvider(servers[0].url, 'room-1', doc, { WebSocketPolyfill: WebSocket, disableBc: true })
    provider.awareness.setLocalState({ name: 'yjs user' })
    const names = (r) => r.presence.map((p) => p.state?.name).filter(Boolean).sort()
    await waitFor(() => names(a).join() === 'bob,yjs user' && names(b).join() === 'ada,yjs user', 5_000, 'presence everywhere')
    await waitFor(() => [...provider.awareness.getStates().values()].some((s) => s.name === 'ada'), 5_000, 'yjs sees ada')
    const events = []
    a.on('presence', (p) => events.push(p))
    await b.close()
    await waitFor(() => names(a).join() === 'yjs user', 5_000, 'bob left')
    assert.ok(events.length > 0)
    assert.throws(() => a.setPresence({ bad: () => 1 }), TypeError)
    provider.destroy()
    doc.destroy()
  } finally {
    await stopServers(servers)
  }
})

test('status events from inside open() reach listeners attached right after it returns', async () => {
  const servers = await startServers(1)
  try {
    const replica = await open('early', servers)
    const seen = []
    replica.on('status', (s) => seen.push(s.connection))
    await online(replica)
    await waitFor(() => seen.includes('online'), 5000, 'the online event')
    assert.equal(seen[0], 'connecting', `events seen: ${seen}`)
  } finally {
    await stopServers(servers)
  }
})

test('rooms with /, :, spaces and % are the same documents a plain y-websocket client uses', async () => {
  const servers = await startServers(1)
  const rooms = ['org/team:1', 'a b', 'x@y&z=1', '50%', 'ünï']
  try {
    for (const room of rooms) {
      const doc = new Y.Doc()
      const provider = new WebsocketProvider(servers[0].url, room, doc, { WebSocketPolyfill: WebSocket, disableBc: true })
      try {
        await waitFor(() => provider.synced, 10_000, `y-websocket synced in ${room}`)
        doc.getMap('todos').set('from-yjs', new Y.Map([['room', room]]))
        const replica = await open(`room-${rooms.indexOf(room)}`, servers, { room })
        await online(replica)
        await waitFor(() => replica.collection('todos').get('from-yjs'), 5000, `the replica reads the y-websocket record in ${room}`)
        assert.equal(replica.collection('todos').get('from-yjs').room, room)
        await replica.collection('todos').insert({ id: 'from-replica', room })
        await waitFor(() => doc.getMap('todos').get('from-replica')?.get('room') === room, 5000, `y-websocket reads the replica's record in ${room}`)
      } finally {
        provider.destroy()
        doc.destroy()
      }
    }
  } finally {
    await stopServers(servers)
  }
})
