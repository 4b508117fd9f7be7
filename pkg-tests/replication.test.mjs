// Replication to several servers at once (`servers`, `writeConcern`) against real
// memory-only @y/websocket-server processes and a real Hocuspocus + Redis cluster, with real
// faults: SIGKILL, SIGSTOP, restarts.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { WebSocket } from 'ws'
import { HocuspocusProvider } from '@hocuspocus/provider'
import { Replica } from 'yreplica'
import { startServers, stopServers } from '../dev/servers.mjs'
import { startCluster } from '../dev/cluster.mjs'
import { readServer as readServerAt } from './helpers/read-server.mjs'
import { waitFor, sleep } from '../dev/wait.mjs'

globalThis.WebSocket ??= WebSocket // @hocuspocus/provider needs a global WebSocket in Node
const HB = 300
const MISSED = 2
const BOUND = (MISSED + 1) * HB
const opened = []

async function open(name, endpoints, options = {}) {
  const replica = await Replica.open({
    name,
    room: 'room-r',
    storage: 'memory',
    endpoints,
    heartbeatIntervalMs: HB,
    missedHeartbeats: MISSED,
    connectTimeoutMs: 1000,
    backoff: { initialMs: 100, maxMs: 1000 },
    failback: false,
    ...options,
  })
  opened.push(replica)
  replica.failovers = []
  replica.onlineAt = []
  replica.on('failover', (f) => replica.failovers.push({ ...f, seenAt: performance.now() }))
  replica.on('status', (s) => {
    if (s.connection === 'online') replica.onlineAt.push({ endpoint: s.endpoint, at: performance.now() })
  })
  return replica
}

const inSync = (replica, servers) =>
  waitFor(() => replica.status.connection === 'online' && replica.status.servers === servers, 15_000, `${servers} servers in sync`)

const readServer = (server, collection) => readServerAt(server.url, 'room-r', collection)

async function writeMany(replica, prefix, n) {
  const ids = []
  for (let i = 0; i < n; i++) ids.push(await replica.collection('todos').insert({ id: `${prefix}${i}`, n: i }))
  return ids
}

after(async () => {
  await Promise.all(opened.map((r) => r.close()))
})

test('servers: 2 keeps a primary and a standby in sync; a plain Yjs write on the standby arrives', async () => {
  const servers = await startServers(3)
  try {
    const r = await open('roles', servers.map((s) => s.url), { servers: 2 })
    await inSync(r, 2)
    assert.deepEqual(r.endpoints.map((e) => e.role), ['primary', 'standby', null])
    assert.deepEqual(r.endpoints.map((e) => e.active), [true, false, false])
    assert.equal(r.status.endpoint, servers[0].url)
    // remote updates are taken from every link: a write that only the standby has arrives
    const doc = new Y.Doc()
    const provider = new WebsocketProvider(servers[1].url, 'room-r', doc, { WebSocketPolyfill: WebSocket, disableBc: true })
    try {
      await waitFor(() => provider.synced, 10_000, 'yjs client synced')
      doc.getMap('todos').set('from-standby', new Y.Map([['title', 'only on server 1']]))
      await waitFor(() => r.collection('todos').get('from-standby'), 5_000, 'the standby write reached the replica')
    } finally {
      provider.destroy()
      doc.destroy()
    }
  } finally {
    await stopServers(servers)
  }
})

test('writeConcern 2: acknowledged writes survive SIGKILL of the primary on the standby; writeConcern 1 with one server does not', async () => {
  for (const [servers, writeConcern, survives] of [[2, 2, true], [1, 1, false]]) {
    const procs = await startServers(3)
    try {
      const r = await open(`wc${writeConcern}`, procs.map((s) => s.url), { servers, writeConcern })
      await inSync(r, servers)
      const ids = await writeMany(r, `wc${writeConcern}-`, 100)
      await r.flush({ timeoutMs: 5000 })
      assert.equal(r.status.pending, 0)
      await procs[0].kill()
      await r.close()
      const onStandby = await readServer(procs[1])
      const there = ids.filter((id) => onStandby[id]).length
      if (survives) {
        assert.equal(there, ids.length, 'every write acknowledged by two servers is on the standby')
      } else {
        // acknowledged by the one server it was on, and gone with it
        assert.equal(there, 0, 'with one server, the acknowledged writes died with it')
      }
    } finally {
      await stopServers(procs)
    }
  }
})

test('SIGSTOP of the primary while writing: the standby is primary at once (warm), a new standby is recruited, nothing is lost', async () => {
  const servers = await startServers(3)
  try {
    const r = await open('warm', servers.map((s) => s.url), { servers: 2, writeConcern: 2 })
    await inSync(r, 2)
    const written = []
    let stop = false
    const loop = (async () => {
      for (let i = 0; !stop; i++) {
        written.push(await r.collection('todos').insert({ id: `w${i}`, n: i }))
        await sleep(5)
      }
    })()
    await waitFor(() => written.length >= 50, 10_000, 'writing before the freeze')
    const frozenAt = performance.now()
    servers[0].freeze()
    await waitFor(() => r.failovers.length > 0 && r.status.endpoint === servers[1].url && r.status.connection === 'online', 10_000, 'moved')
    const failover = r.failovers[0]
    const online = r.onlineAt.find((o) => o.endpoint === servers[1].url && o.at >= failover.seenAt - 1)
    assert.equal(failover.warm, true)
    assert.equal(failover.reason, 'heartbeat')
    assert.equal(failover.to, servers[1].url)
    // online on the standby as it is detected: no handshake between
    assert.ok(online.at - failover.seenAt <= 50, `online ${online.at - failover.seenAt} ms after the failover`)
    // detection: (missed + 1) heartbeats after the last message, plus timer slack
    assert.ok(online.at - frozenAt <= BOUND + 250, `online ${Math.round(online.at - frozenAt)} ms after the freeze (bound ${BOUND} ms)`)
    await waitFor(() => r.endpoints[2].role === 'standby' && r.status.servers === 2, 10_000, 'server 2 recruited as a standby')
    await waitFor(() => written.length >= 150, 10_000, 'writing after')
    stop = true
    await loop
    await r.flush({ timeoutMs: 10_000 })
    for (const server of [servers[1], servers[2]]) {
      const there = await readServer(server)
      assert.deepEqual(written.filter((id) => !there[id]), [], `every write is on ${server.url}`)
    }
  } finally {
    servers[0].resume()
    await stopServers(servers)
  }
})

test('flush({ writeConcern: 2 }) with one reachable server times out, and resolves once a second one is back', async () => {
  const servers = await startServers(2)
  try {
    const r = await open('timeout', servers.map((s) => s.url), { servers: 2 })
    await inSync(r, 2)
    await servers[1].kill()
    await waitFor(() => r.status.servers === 1, 5_000, 'the standby is gone')
    await r.collection('todos').insert({ id: 'x' })
    await r.flush({ timeoutMs: 3000 }) // writeConcern 1: one server is enough
    await assert.rejects(r.flush({ timeoutMs: 1500, writeConcern: 2 }), { code: 'TIMEOUT' })
    await assert.rejects(r.flush({ writeConcern: 3 }), { code: 'INVALID_VALUE' })
    await servers[1].start()
    await r.flush({ timeoutMs: 10_000, writeConcern: 'all' })
    assert.ok((await readServer(servers[1])).x, 'the second server has it')
  } finally {
    await stopServers(servers)
  }
})

test('Hocuspocus with Redis: servers: 2, writeConcern: 2, SIGSTOP of the primary: warm failover, nothing lost', async () => {
  const cluster = await startCluster(3)
  try {
    const [s1, s2, s3] = cluster.servers
    const r = await open('hp', [s1.url, s2.url, s3.url], { protocol: 'hocuspocus', room: 'doc-r', servers: 2, writeConcern: 2 })
    await inSync(r, 2)
    const before = await writeMany(r, 'hb', 50)
    await r.flush({ timeoutMs: 5000 })
    s1.freeze()
    await waitFor(() => r.failovers.length > 0 && r.status.connection === 'online', 10_000, 'moved')
    assert.equal(r.failovers[0].warm, true)
    assert.equal(r.failovers[0].to, s2.url)
    const afterIds = await writeMany(r, 'ha', 50)
    await waitFor(() => r.status.servers === 2, 10_000, 'a new standby')
    await r.flush({ timeoutMs: 10_000 })
    // a plain Hocuspocus client on the third server reads every write (through Redis too)
    const doc = new Y.Doc()
    const provider = new HocuspocusProvider({ url: s3.url, name: 'doc-r', document: doc })
    try {
      await waitFor(() => provider.synced, 10_000, 'provider synced')
      const there = doc.getMap('todos').toJSON()
      assert.deepEqual([...before, ...afterIds].filter((id) => !there[id]), [])
    } finally {
      provider.destroy()
      doc.destroy()
    }
  } finally {
    cluster.servers[0].resume()
    await cluster.stop()
  }
})
