// The durable cluster: Hocuspocus servers sharing documents through Redis and keeping them in
// PostgreSQL (Debian's postgresql, a throwaway one on loopback). A write a server acknowledged
// must survive every Hocuspocus process and Redis being killed at once, right after the
// acknowledgement.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { Replica } from 'yreplica'
import { startCluster } from '../dev/cluster.mjs'
import { waitFor } from '../dev/wait.mjs'

const ROUNDS = 3
const RECORDS = 200 // per round: enough that the last ones are still being stored at the kill
const opened = []

async function open(name, endpoints) {
  const replica = await Replica.open({
    name, room: 'durable-doc', storage: 'memory', endpoints, protocol: 'hocuspocus',
    heartbeatIntervalMs: 300, missedHeartbeats: 2, connectTimeoutMs: 1000,
    backoff: { initialMs: 100, maxMs: 1000 }, failback: false,
  })
  opened.push(replica)
  return replica
}

const online = (r) => waitFor(() => r.status.connection === 'online', { timeoutMs: 20_000, what: `${r.name ?? 'replica'} online` })

after(async () => {
  await Promise.all(opened.map((r) => r.close()))
})

test('Hocuspocus with the Redis cluster and PostgreSQL: full-cluster restart loses nothing', async () => {
  const cluster = await startCluster(3, {}, { durable: true })
  try {
    const endpoints = cluster.servers.map((s) => s.url)
    const written = []
    for (let round = 0; round < ROUNDS; round++) {
      // each round writes through another server; the writes wait offline until it connects
      const writer = await open(`writer-${round}`, [endpoints[round % endpoints.length]])
      const todos = writer.collection('todos')
      for (let i = 0; i < RECORDS; i++) written.push(await todos.insert({ id: `r${round}-${i}`, round, i }))
      await online(writer)
      await writer.flush({ timeoutMs: 20_000 })
      // acknowledged: kill every Hocuspocus and Redis at once, right now, and start them again
      await Promise.all([cluster.restart(), writer.close()])
    }
    const reader = await open('reader', endpoints)
    await online(reader)
    const todos = reader.collection('todos')
    const missing = written.filter((id) => !todos.get(id))
    assert.deepEqual(missing.length, 0, `${missing.length} of ${written.length} acknowledged writes lost, e.g. ${missing.slice(0, 3).join(', ')}`)
  } finally {
    await cluster.stop()
  }
})

test('with PostgreSQL down, a write is not acknowledged: flush() times out, the write stays pending', async () => {
  const cluster = await startCluster(2, {}, { durable: true })
  try {
    const replica = await open('pg-down', cluster.servers.map((s) => s.url))
    await online(replica)
    await replica.collection('todos').insert({ id: 'before' })
    await replica.flush({ timeoutMs: 10_000 })
    // a fast shutdown; cluster.stop() later finds it gone and removes its directory
    const gone = new Promise((resolve) => cluster.postgres.proc.once('exit', resolve))
    cluster.postgres.proc.kill('SIGINT')
    await gone
    await replica.collection('todos').insert({ id: 'while-down' })
    await assert.rejects(replica.flush({ timeoutMs: 3000 }), (e) => e.code === 'TIMEOUT')
    assert.ok(replica.status.pending > 0, 'the write waits to be sent again')
    // refused by servers that are up, not missed because they crashed on the lost database
    assert.deepEqual(cluster.servers.map((s) => s.state), cluster.servers.map(() => 'running'))
  } finally {
    await cluster.stop()
  }
})
