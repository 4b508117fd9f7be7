// Probes after the handshake, against real @y/websocket-server and Hocuspocus 4.7 processes:
// heartbeats, acknowledged writes and flushes must not send a SyncStep1 (whose answer makes
// the server walk the whole document), and must still detect a frozen server.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { WebSocket } from 'ws'
import { Replica } from 'yreplica'
import { YServer, HocuspocusServer } from '../dev/servers.mjs'
import { waitFor, sleep } from '../dev/wait.mjs'

const HB = 200
const opened = []
const servers = []

after(async () => {
  await Promise.all(opened.map((r) => r.close()))
  await Promise.all(servers.map((s) => s.kill()))
})

/** Reads a var uint at `at`; returns [value, next position]. */
function varUint(bytes, at) {
  let value = 0
  let shift = 0
  for (;;) {
    const byte = bytes[at++]
    value += (byte & 0x7f) * 2 ** shift
    if (byte < 0x80) return [value, at]
    shift += 7
  }
}

/** A `ws` WebSocket that counts the SyncStep1 messages it sends (`hocuspocus`: after the
 * document name every message starts with). */
function countingWebSocket(hocuspocus) {
  const counts = { syncStep1: 0, sent: 0 }
  class Counting extends WebSocket {
    send(data, ...rest) {
      const bytes = new Uint8Array(data)
      let at = 0
      if (hocuspocus) {
        const [length, next] = varUint(bytes, 0)
        at = next + length
      }
      counts.sent++
      if (bytes[at] === 0 && bytes[at + 1] === 0) counts.syncStep1++
      return super.send(data, ...rest)
    }
  }
  return { Counting, counts }
}

async function open(server, protocol) {
  const { Counting, counts } = countingWebSocket(protocol === 'hocuspocus')
  const replica = await Replica.open({
    name: `probes-${protocol}`, room: `probes-${protocol}`, storage: 'memory',
    endpoints: [server.url], protocol, WebSocket: Counting,
    heartbeatIntervalMs: HB, missedHeartbeats: 2, connectTimeoutMs: 1000,
    backoff: { initialMs: 100, maxMs: 1000 },
  })
  opened.push(replica)
  replica.failovers = []
  replica.errors = []
  replica.on('failover', (f) => replica.failovers.push(f))
  replica.on('error', (e) => replica.errors.push(e))
  await waitFor(() => replica.status.connection === 'online', 15_000, 'online')
  return { replica, counts }
}

for (const [protocol, Server] of [['y-websocket', YServer], ['hocuspocus', HocuspocusServer]]) {
  test(`${protocol}: idle heartbeats, acknowledged writes and flushes send no SyncStep1 after the handshake`, async () => {
    const server = await Server.start()
    servers.push(server)
    const { replica, counts } = await open(server, protocol)
    const todos = replica.collection('todos')
    await todos.insertMany(Array.from({ length: 2000 }, (_, i) => ({ id: `t${i}`, title: `todo ${i}` })))
    await replica.flush({ timeoutMs: 10_000 })
    const before = counts.sent
    await sleep(15 * HB) // idle: a probe per heartbeat
    for (let i = 0; i < 20; i++) {
      await todos.update(`t${i}`, { done: true })
      await replica.flush({ timeoutMs: 5_000 })
    }
    assert.ok(counts.sent - before >= 30, `probes went out: ${counts.sent - before} messages`)
    assert.equal(counts.syncStep1, 1, 'the handshake only')
    assert.equal(replica.status.pending, 0)
    assert.deepEqual(replica.failovers, [])
    assert.deepEqual(replica.errors, [])

    // a frozen server is still found out within the missed heartbeats
    server.freeze()
    try {
      await waitFor(() => replica.status.connection !== 'online', 10 * HB, 'left the frozen server')
    } finally {
      server.resume()
    }
  })
}

test('y-websocket: a Yjs client in the room sees no presence change from the probes', async () => {
  const server = await YServer.start()
  servers.push(server)
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(server.url, 'probes-y-websocket', doc, { WebSocketPolyfill: WebSocket, disableBc: true })
  try {
    await waitFor(() => provider.synced, 10_000, 'the Yjs client synced')
    let changes = 0
    provider.awareness.on('change', () => changes++)
    const { replica } = await open(server, 'y-websocket')
    await sleep(10 * HB)
    // the replica appeared once, with the empty state every Yjs client starts with
    const states = [...provider.awareness.getStates()].filter(([id]) => id !== doc.clientID)
    assert.equal(states.length, 1)
    assert.deepEqual(states[0][1], {})
    assert.equal(changes, 1, 'added once, then only renewed')
    replica.setPresence({ name: 'ada' })
    await waitFor(() => provider.awareness.getStates().get(states[0][0])?.name === 'ada', 5_000, 'the state')
    await sleep(10 * HB)
    assert.equal(changes, 2)
  } finally {
    provider.destroy()
    doc.destroy() // also stops the awareness timer, which would keep Node running
  }
})

test('hocuspocus: a read-only connection answers the probes and stays online', async () => {
  const server = await HocuspocusServer.start()
  servers.push(server)
  const { Counting, counts } = countingWebSocket(true)
  const reader = await Replica.open({
    name: 'probes-reader', room: 'probes-ro', storage: 'memory', endpoints: [server.url],
    protocol: 'hocuspocus', token: 'readonly', WebSocket: Counting,
    heartbeatIntervalMs: HB, missedHeartbeats: 2, connectTimeoutMs: 1000,
  })
  opened.push(reader)
  const errors = []
  const failovers = []
  reader.on('error', (e) => errors.push(e))
  reader.on('failover', (f) => failovers.push(f))
  await waitFor(() => reader.status.connection === 'online', 15_000, 'online')
  await sleep(15 * HB)
  assert.equal(reader.status.connection, 'online')
  assert.deepEqual(failovers, [])
  assert.deepEqual(errors, [])
  assert.equal(counts.syncStep1, 1)
})
