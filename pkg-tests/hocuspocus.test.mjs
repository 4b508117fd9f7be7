// The Hocuspocus dialect against real @hocuspocus/server 4.7 processes sharing documents
// through a real Redis (Debian's redis-server), all on loopback.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import * as Y from 'yjs'
import { WebSocket } from 'ws'
import { HocuspocusProvider } from '@hocuspocus/provider'
import { Replica } from 'yreplica'
import { HocuspocusServer } from '../dev/servers.mjs'
import { startCluster } from '../dev/cluster.mjs'
import { waitFor, sleep } from '../dev/wait.mjs'

globalThis.WebSocket ??= WebSocket // @hocuspocus/provider needs a global WebSocket in Node
const opened = []

async function open(name, endpoints, options = {}) {
  const replica = await Replica.open({
    name, room: 'doc-1', storage: 'memory', endpoints, protocol: 'hocuspocus',
    heartbeatIntervalMs: 300, missedHeartbeats: 2, connectTimeoutMs: 1000,
    backoff: { initialMs: 100, maxMs: 1000 }, failback: false, ...options,
  })
  opened.push(replica)
  replica.failovers = []
  replica.errors = []
  replica.on('failover', (f) => replica.failovers.push(f))
  replica.on('error', (e) => replica.errors.push(e))
  return replica
}

const online = (r, server) =>
  waitFor(() => r.status.connection === 'online' && (!server || r.status.endpoint === server.url), 15_000, `online at ${server?.url}`)

after(async () => {
  await Promise.all(opened.map((r) => r.close()))
})

test('replicas on different servers converge through Redis, both ways', async () => {
  const cluster = await startCluster(3)
  try {
    const [s1, s2] = cluster.servers
    const a = await open('a', [s1.url])
    const b = await open('b', [s2.url])
    await online(a)
    await online(b)
    const id = await a.collection('todos').insert({ title: 'via redis' })
    await waitFor(() => b.collection('todos').get(id), 10_000, 'b sees a through redis')
    await b.collection('todos').update(id, { done: true })
    await waitFor(() => a.collection('todos').get(id)?.done === true, 10_000, 'a sees b')
    await b.collection('todos').delete(id)
    await waitFor(() => !a.collection('todos').get(id), 10_000, 'delete reaches a')
  } finally {
    await cluster.stop()
  }
})

test('SIGSTOP then SIGKILL of the server in use: failover, nothing lost, a replica elsewhere sees every write', async () => {
  const cluster = await startCluster(3)
  try {
    const [s1, s2, s3] = cluster.servers
    const a = await open('a', [s1.url, s2.url])
    const watcher = await open('watcher', [s3.url])
    await online(a, s1)
    await online(watcher)
    const written = []
    const write = async (n, prefix) => {
      for (let i = 0; i < n; i++) {
        written.push(await a.collection('todos').insert({ id: `${prefix}${i}` }))
        await sleep(10) // a steady write rate, so writes land before, during and after the faults
      }
    }
    await write(20, 'before-')
    s1.freeze()
    await Promise.all([write(40, 'during-'), online(a, s2)])
    assert.equal(a.failovers[0].reason, 'heartbeat')
    await s2.kill()
    await write(20, 'after-kill-')
    // both of a's servers are gone now: it keeps writing offline; give it s1 back
    s1.resume()
    await online(a, s1)
    await a.flush({ timeoutMs: 10_000 })
    await waitFor(() => written.every((id) => watcher.collection('todos').get(id)), 15_000, 'the watcher on another server has every write')
  } finally {
    await cluster.stop()
  }
})

test('a token is accepted; a refused one gives PERMISSION_DENIED without a tight retry loop', async () => {
  const server = await HocuspocusServer.start({ TOKEN: 'secret' })
  try {
    const good = await open('good', [server.url], { token: 'secret' })
    await online(good)
    const bad = await open('bad', [server.url], { token: 'wrong', backoff: { initialMs: 250, maxMs: 10_000 } })
    await waitFor(() => bad.errors.length > 0, 5_000, 'the denial')
    assert.equal(bad.errors[0].code, 'PERMISSION_DENIED')
    await sleep(3000) // the point: how many attempts a fixed 3 s holds (a tight loop makes dozens)
    const attempts = bad.endpoints[0].failures
    assert.ok(attempts <= 3, `${attempts} attempts in ~3 s`)
    assert.notEqual(bad.status.connection, 'online')
    assert.ok(!bad.errors.some((e) => /secret|wrong/.test(e.message)), 'tokens never appear in errors')
  } finally {
    await server.kill()
  }
})

test('a @hocuspocus/provider client and a replica interoperate on one document', async () => {
  const server = await HocuspocusServer.start()
  const doc = new Y.Doc()
  const provider = new HocuspocusProvider({ url: server.url, name: 'doc-1', document: doc })
  try {
    const a = await open('a', [server.url])
    await online(a)
    await waitFor(() => provider.isSynced, 10_000, 'provider synced')
    const id = await a.collection('todos').insert({ title: 'from yreplica' })
    await waitFor(() => doc.getMap('todos').get(id)?.get('title') === 'from yreplica', 5_000, 'provider sees the replica')
    doc.getMap('todos').set('p1', new Y.Map([['title', 'from the provider']]))
    await waitFor(() => a.collection('todos').get('p1')?.title === 'from the provider', 5_000, 'replica sees the provider')
  } finally {
    provider.destroy()
    doc.destroy()
    await server.kill()
  }
})

test('flush() resolves on SyncStatus and reports an update refused on a read-only connection', async () => {
  const server = await HocuspocusServer.start()
  try {
    const writer = await open('writer', [server.url])
    await online(writer)
    await writer.collection('todos').insert({ id: 'w' })
    await writer.flush({ timeoutMs: 5000 })
    assert.equal(writer.status.pending, 0)
    const reader = await open('reader', [server.url], { token: 'readonly' })
    await online(reader)
    await waitFor(() => reader.collection('todos').get('w'), 5_000, 'the reader reads')
    await reader.collection('todos').insert({ id: 'not allowed' })
    await assert.rejects(reader.flush({ timeoutMs: 5000 }), (e) => e.code === 'REJECTED')
    assert.ok(reader.errors.some((e) => e.code === 'REJECTED'))
    assert.ok(reader.status.pending > 0, 'the refused change is not acknowledged')
  } finally {
    await server.kill()
  }
})
