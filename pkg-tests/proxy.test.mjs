// The soak's fault proxy (dev/fault-proxy.mjs) against a real TCP echo server and a real
// @y/websocket-server: real bytes through real sockets, timings with generous margins.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, connect } from 'node:net'
import { randomBytes } from 'node:crypto'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { WebSocket } from 'ws'
import { Replica } from 'yreplica'
import { startServers, stopServers } from '../dev/servers.mjs'
import { waitFor, sleep } from '../dev/wait.mjs'
import { FaultProxy } from '../dev/fault-proxy.mjs'

const cleanups = []
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

/** A TCP server that echoes what it reads and can also speak first; it counts what it read. */
async function echoServer() {
  const sockets = []
  let received = Buffer.alloc(0)
  const server = createServer((socket) => {
    sockets.push(socket)
    socket.errors = []
    socket.on('error', (error) => socket.errors.push(error))
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk])
      socket.write(chunk)
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const echo = {
    port: server.address().port,
    sockets,
    get received() {
      return received
    },
    close() {
      sockets.forEach((s) => s.destroy())
      return new Promise((resolve) => server.close(resolve))
    },
  }
  cleanups.push(() => echo.close())
  return echo
}

async function startProxy(targetPort) {
  const proxy = await new FaultProxy({ targetPort }).start()
  cleanups.push(() => proxy.close())
  return proxy
}

/** A client socket that collects what it reads and its errors (`closed` is the stream's own flag). */
function client(port) {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => resolve(socket))
    socket.received = Buffer.alloc(0)
    socket.errors = []
    socket.on('data', (chunk) => {
      socket.received = Buffer.concat([socket.received, chunk])
    })
    socket.on('error', (error) => {
      socket.errors.push(error)
      reject(error)
    })
    cleanups.push(() => socket.destroy())
  })
}

/** Time from writing `text` until its echo is back, in ms. */
async function roundTrip(socket, text) {
  const before = socket.received.length
  const started = performance.now()
  socket.write(text)
  await waitFor(() => socket.received.length >= before + text.length, 10_000, `echo of '${text}'`)
  return performance.now() - started
}

test('pass forwards bytes both ways, intact and in order', async () => {
  const echo = await echoServer()
  const proxy = await startProxy(echo.port)
  const socket = await client(proxy.port)
  const payload = randomBytes(256 * 1024)
  for (let i = 0; i < payload.length; i += 4096) socket.write(payload.subarray(i, i + 4096))
  await waitFor(() => socket.received.length >= payload.length, 10_000, 'the whole echo')
  assert.ok(echo.received.equals(payload), 'the server read exactly what the client wrote')
  assert.ok(socket.received.equals(payload), 'the client read exactly what the server wrote')
  assert.equal(proxy.stats.bytesUp, payload.length)
  assert.equal(proxy.stats.bytesDown, payload.length)
})

test('latency delays each chunk in both directions and keeps their order', async () => {
  const echo = await echoServer()
  const proxy = await startProxy(echo.port)
  const socket = await client(proxy.port)
  assert.ok((await roundTrip(socket, 'warm')) < 1000)

  proxy.latency(400)
  const slow = await roundTrip(socket, 'slow')
  assert.ok(slow >= 2 * 400 - 20, `a round trip took ${slow.toFixed(0)} ms with 400 ms added each way`)
  assert.ok(slow < 5000, `a round trip took ${slow.toFixed(0)} ms`)

  // Many small chunks written back to back arrive in the order written.
  const parts = Array.from({ length: 50 }, (_, i) => `<${i}>`)
  const before = socket.received.length
  for (const part of parts) socket.write(part)
  const expected = parts.join('')
  await waitFor(() => socket.received.length >= before + expected.length, 10_000, 'all chunks')
  assert.equal(socket.received.subarray(before).toString(), expected)

  proxy.pass()
  const fast = await roundTrip(socket, 'fast')
  assert.ok(fast < 300, `after pass() a round trip took ${fast.toFixed(0)} ms`)
})

test('blackhole accepts and keeps connections open but forwards nothing; pass delivers what it held', async () => {
  const echo = await echoServer()
  const proxy = await startProxy(echo.port)
  const old = await client(proxy.port)
  await roundTrip(old, 'hello')
  const readBefore = echo.received.length

  proxy.blackhole()
  const fresh = await client(proxy.port) // still accepted
  old.write('from old')
  fresh.write('from fresh')
  echo.sockets[0].write('server speaks')
  await sleep(800) // the point: nothing arrives anywhere during this time
  assert.equal(echo.received.length, readBefore, 'the server read nothing')
  assert.equal(old.received.toString(), 'hello', 'the old client read nothing new')
  assert.equal(fresh.received.length, 0, 'the new client read nothing')
  assert.equal(old.closed || fresh.closed, false, 'no connection was closed')
  assert.deepEqual([...old.errors, ...fresh.errors], [])

  proxy.pass()
  await waitFor(() => fresh.received.toString() === 'from fresh', 5_000, 'the held bytes of the new client')
  await waitFor(() => old.received.toString() === 'helloserver speaksfrom old', 5_000, 'the held bytes of the old client')
})

test('dropUp stops client → server while server → client flows', async () => {
  const echo = await echoServer()
  const proxy = await startProxy(echo.port)
  const socket = await client(proxy.port)
  await roundTrip(socket, 'hi')
  const readBefore = echo.received.length

  proxy.dropUp()
  socket.write('lost?')
  echo.sockets[0].write('down')
  await waitFor(() => socket.received.toString() === 'hidown', 5_000, 'server → client')
  await sleep(600) // the point: 'lost?' does not reach the server during this time
  assert.equal(echo.received.length, readBefore, 'the server read nothing while client → server was dropped')

  proxy.pass()
  await waitFor(() => echo.received.toString() === 'hilost?', 5_000, 'the held bytes')
})

test('dropDown stops server → client while client → server flows', async () => {
  const echo = await echoServer()
  const proxy = await startProxy(echo.port)
  const socket = await client(proxy.port)
  await roundTrip(socket, 'hi')

  proxy.dropDown()
  socket.write('up')
  await waitFor(() => echo.received.toString() === 'hiup', 5_000, 'client → server')
  await sleep(600) // the point: the echo does not reach the client during this time
  assert.equal(socket.received.toString(), 'hi', 'the client read nothing while server → client was dropped')

  proxy.pass()
  await waitFor(() => socket.received.toString() === 'hiup', 5_000, 'the held echo')
})

test('reset() sends an RST to both sides; new connections work after it', async () => {
  const echo = await echoServer()
  const proxy = await startProxy(echo.port)
  const socket = await client(proxy.port)
  await roundTrip(socket, 'hi')
  const serverSide = echo.sockets[0]

  assert.equal(proxy.reset(), 1)
  await waitFor(() => socket.closed, 5_000, 'the client socket closed')
  assert.equal(socket.errors[0]?.code, 'ECONNRESET', 'the client saw a reset, not an orderly close')
  await waitFor(() => serverSide.errors.length > 0 || serverSide.destroyed, 5_000, 'the server socket closed')
  assert.equal(serverSide.errors[0]?.code, 'ECONNRESET', 'the server saw a reset, not an orderly close')

  const again = await client(proxy.port)
  assert.ok((await roundTrip(again, 'again')) < 2000)
})

test('with nothing listening behind it, a connection is accepted and then closed', async () => {
  const echo = await echoServer()
  const port = echo.port
  await echo.close()
  const proxy = await startProxy(port)
  const socket = await client(proxy.port)
  await waitFor(() => socket.closed, 5_000, 'the client socket closed')
})

test('a y-websocket client behind a black-holed proxy stays connected and hears nothing; pass catches it up', async () => {
  const [server] = await startServers(1)
  cleanups.push(() => stopServers([server]))
  const proxy = await startProxy(server.port)
  const open = (url) => {
    const doc = new Y.Doc()
    const provider = new WebsocketProvider(url, 'room', doc, { WebSocketPolyfill: WebSocket, disableBc: true })
    cleanups.push(() => {
      provider.destroy()
      doc.destroy()
    })
    return { doc, provider }
  }
  const a = open(proxy.url)
  const b = open(server.url)
  await waitFor(() => a.provider.synced && b.provider.synced, 10_000, 'both synced')
  a.doc.getMap('m').set('k', 'via proxy')
  await waitFor(() => b.doc.getMap('m').get('k') === 'via proxy', 5_000, 'a → b in pass')

  proxy.blackhole()
  a.doc.getMap('m').set('a', 1)
  b.doc.getMap('m').set('b', 2)
  await sleep(1500) // the point: neither update crosses, and the socket stays up, during this time
  assert.equal(a.provider.wsconnected, true, 'the TCP connection looks fine to y-websocket')
  assert.equal(b.doc.getMap('m').get('a'), undefined, 'a → b held')
  assert.equal(a.doc.getMap('m').get('b'), undefined, 'b → a held')

  proxy.pass()
  await waitFor(() => b.doc.getMap('m').get('a') === 1 && a.doc.getMap('m').get('b') === 2, 5_000, 'both ways after pass')
})

test('a replica behind a black-holed proxy notices by heartbeat and fails over', async () => {
  const servers = await startServers(2)
  cleanups.push(() => stopServers(servers))
  const proxy = await startProxy(servers[0].port)
  const HB = 300
  const replica = await Replica.open({
    name: 'proxy-test', storage: 'memory', endpoints: [proxy.url, servers[1].url],
    heartbeatIntervalMs: HB, missedHeartbeats: 2, connectTimeoutMs: 1000, failback: false,
  })
  cleanups.push(() => replica.close())
  const failovers = []
  replica.on('failover', (f) => failovers.push(f))
  await waitFor(() => replica.status.connection === 'online' && replica.status.endpoint === proxy.url, 10_000, 'online through the proxy')

  proxy.blackhole()
  const started = Date.now()
  await waitFor(() => replica.status.connection === 'online' && replica.status.endpoint === servers[1].url, 10_000, 'online at the second server')
  const took = Date.now() - started
  assert.equal(failovers[0]?.reason, 'heartbeat')
  assert.ok(took < 3 * HB * 4, `failover took ${took} ms (detection bound ${3 * HB} ms)`)
})
