// One process of a fleet for pkg-tests/fleet-directive.test.mjs (forked, with IPC): opens
// `count` memory replicas of one room on the same endpoints, each sharing presence, reports
// every failover as it happens, writes records round-robin while told to, and flushes on
// demand. Config as JSON in argv[2]: { tag, count, room, urls, failbackAfterMs, writeEveryMs }.
// It exits when told to close, or when its parent goes away.
import { Replica } from 'yreplica'

const { tag, count, room, urls, failbackAfterMs, writeEveryMs = 25 } = JSON.parse(process.argv[2])
const send = (message) => process.connected && process.send(message)
process.on('disconnect', () => process.exit(1))

const replicas = []
for (let i = 0; i < count; i++) {
  const replica = await Replica.open({
    name: `${tag}-${i}`,
    room,
    storage: 'memory',
    endpoints: urls,
    heartbeatIntervalMs: 300,
    missedHeartbeats: 2,
    connectTimeoutMs: 5000,
    backoff: { initialMs: 100, maxMs: 1000 },
    failbackAfterMs,
  })
  replica.setPresence({ fleet: tag, i })
  replica.on('failover', (f) => send({ type: 'failover', tag, i, from: f.from, to: f.to, reason: f.reason, at: f.at }))
  replicas.push(replica)
}

const allOnline = () => replicas.every((r) => r.status.connection === 'online')
while (!allOnline()) await new Promise((resolve) => setTimeout(resolve, 20))
send({ type: 'ready', tag })

// Writing: one insert every writeEveryMs on the next replica; every id and every rejection kept.
let writer = null
let seq = 0
const written = []
const failures = []
function startWriting() {
  if (writer !== null) return
  writer = setInterval(() => {
    const n = seq++
    const id = `${tag}-${String(n).padStart(6, '0')}`
    const replica = replicas[n % replicas.length]
    written.push(id)
    replica.collection('fleet').insert({ id, n, by: replica.name }).catch((error) => failures.push(`${id}: ${error.code ?? ''} ${error.message}`))
  }, writeEveryMs)
}
function stopWriting() {
  clearInterval(writer)
  writer = null
}

process.on('message', async (message) => {
  switch (message.type) {
    case 'write':
      if (message.on) startWriting()
      else stopWriting()
      send({ type: 'writing', tag, on: message.on })
      break
    case 'state':
      send({ type: 'state', tag, replicas: replicas.map((r) => ({ endpoint: r.status.endpoint, connection: r.status.connection, pending: r.status.pending })) })
      break
    case 'flush': {
      stopWriting()
      const results = await Promise.allSettled(replicas.map((r) => r.flush({ timeoutMs: message.timeoutMs ?? 20_000 })))
      const flushFailures = results.flatMap((r, i) => (r.status === 'rejected' ? [`${tag}-${i}: ${r.reason?.code} ${r.reason?.message}`] : []))
      send({ type: 'flushed', tag, written: [...written], failures: [...failures], flushFailures })
      break
    }
    case 'close':
      stopWriting()
      await Promise.all(replicas.map((r) => r.close()))
      send({ type: 'closed', tag })
      process.disconnect()
      process.exit(0)
  }
})
