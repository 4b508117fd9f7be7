// One soak replica in its own Node process (so its memory is its own and a crash shows):
// opens a Replica from this repository, does random CRUD when told, flushes now and then,
// and reports over IPC every write, what became durable and acknowledged, its status,
// failovers, errors and memory. The parent drives it with messages (see `handlers`).
import { Replica } from '../../js/node.js'
import { Workload } from './workload.mjs'
import { Random } from './random.mjs'

const send = (message) => {
  if (process.connected) process.send(message)
}

let replica = null
let workload = null
let writing = false
let seq = 0
let lastStatus = null
const outstanding = new Set() // write promises not yet settled
const timers = new Set()

function later(ms, fn) {
  const timer = setTimeout(() => {
    timers.delete(timer)
    fn()
  }, ms)
  timers.add(timer)
}

/** Called by the workload for every write: number it, report it, report when it is durable. */
function recordWrite(cells, promise) {
  const n = ++seq
  send({ type: 'write', seq: n, cells, at: Date.now() })
  const tracked = promise.then(
    () => send({ type: 'durable', seq: n }),
    (error) => send({ type: 'write-failed', seq: n, code: error.code, message: error.message }),
  )
  outstanding.add(tracked)
  tracked.finally(() => outstanding.delete(tracked))
}

function writeLoop(rng, opsPerSecond) {
  if (!writing) return
  try {
    workload.step()
  } catch (error) {
    send({ type: 'fatal', message: `a write threw: ${error.stack ?? error}` })
  }
  // exponential gaps: a Poisson stream of writes at the asked rate
  later(Math.min(5000, -Math.log(1 - rng.next()) * (1000 / opsPerSecond)), () => writeLoop(rng, opsPerSecond))
}

/** Flushes; on success every write up to the one made last before the call is acknowledged. */
async function flush(timeoutMs) {
  const upTo = seq
  await replica.flush({ timeoutMs })
  send({ type: 'flushed', upTo })
  return upTo
}

function flushLoop(rng) {
  if (!writing) return
  later(rng.int(800, 2500), async () => {
    try {
      await flush(4000)
    } catch (error) {
      if (error.code !== 'TIMEOUT' && error.code !== 'CLOSED') send({ type: 'fatal', message: `flush failed: ${error.stack ?? error}` })
    }
    flushLoop(rng)
  })
}

function sampleMemory() {
  const { rss, heapUsed, arrayBuffers } = process.memoryUsage()
  send({ type: 'memory', rss, heapUsed, arrayBuffers, at: Date.now() })
}

function dump() {
  const collections = {}
  for (const name of replica.collections()) {
    collections[name] = replica.collection(name).all().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  }
  return collections
}

const handlers = {
  async open({ options, workload: config }) {
    replica = await Replica.open(options)
    replica.on('status', (status) => {
      if (status.connection !== lastStatus?.connection || status.endpoint !== lastStatus?.endpoint) {
        send({ type: 'status', status, at: Date.now() })
      }
      lastStatus = status
    })
    replica.on('failover', (f) => send({ type: 'failover', from: f.from, to: f.to, reason: f.reason, at: Date.now() }))
    replica.on('error', (e) => send({ type: 'error', code: e.code ?? null, message: String(e.message) }))
    workload = new Workload(replica, config, recordWrite)
    sampleMemory()
    const memoryTimer = setInterval(sampleMemory, 1000)
    memoryTimer.unref()
    return { status: replica.status }
  },

  async start({ opsPerSecond, seed }) {
    const rng = new Random(seed)
    writing = true
    workload.createShared()
    writeLoop(rng, opsPerSecond)
    flushLoop(new Random(seed ^ 0x5eed))
    return {}
  },

  /** Stops writing and waits for every write to settle in local storage. */
  async quiesce() {
    writing = false
    for (const timer of timers) clearTimeout(timer)
    timers.clear()
    while (outstanding.size > 0) await Promise.allSettled([...outstanding])
    return { lastSeq: seq }
  },

  /** Retries flush() until it succeeds or `deadlineMs` passes. */
  async finalFlush({ deadlineMs }) {
    const until = Date.now() + deadlineMs
    let lastError = null
    while (Date.now() < until) {
      try {
        return { ok: true, upTo: await flush(Math.max(500, Math.min(5000, until - Date.now()))) }
      } catch (error) {
        lastError = error
      }
    }
    return { ok: false, error: `${lastError?.code}: ${lastError?.message}` }
  },

  async dump() {
    sampleMemory()
    return { collections: dump(), status: replica.status, stateBytes: replica.encodeState().length }
  },

  async close() {
    await replica?.close()
    replica = null
    setImmediate(() => process.exit(0))
    return {}
  },
}

process.on('message', async ({ id, command, args }) => {
  try {
    const result = await handlers[command](args ?? {})
    send({ type: 'reply', id, ok: true, result })
  } catch (error) {
    send({ type: 'reply', id, ok: false, error: `${error.code ?? ''} ${error.stack ?? error}` })
  }
})
// The parent is gone (it crashed or was killed): nothing left to report to.
process.on('disconnect', () => process.exit(0))
process.on('uncaughtException', (error) => {
  send({ type: 'fatal', message: `uncaught: ${error.stack ?? error}` })
  process.exit(70)
})
process.on('unhandledRejection', (error) => {
  send({ type: 'fatal', message: `unhandled rejection: ${error?.stack ?? error}` })
  process.exit(70)
})
send({ type: 'ready' })
