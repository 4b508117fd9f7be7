// The parent's side of the soak replicas: forks one worker.mjs per replica, forwards its
// reports to the ledger and the run's bookkeeping, and sends it commands.
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { track } from './children.mjs'

const WORKER = fileURLToPath(new URL('./worker.mjs', import.meta.url))

export class ReplicaProcess {
  /**
   * @param {number} index
   * @param {{ onWrite, onDurable, onWriteFailed, onFlushed }} ledger callbacks
   */
  constructor(index, ledger) {
    this.index = index
    this.ledger = ledger
    this.status = { connection: 'offline', endpoint: null, pending: 0 }
    this.statusAt = Date.now()
    this.onlineSince = null
    this.offlineStretches = [] // [start, end] of every stretch not 'online', after start()
    this.notOnlineSince = Date.now()
    this.failovers = []
    this.errors = new Map() // code → count
    this.errorSamples = []
    this.fatal = []
    this.memory = [] // [{ at, rss }]
    this.exit = null
    this.pending = new Map()
    this.nextId = 1
  }

  start() {
    this.child = fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    this.untrack = track({
      name: `replica ${this.index}`,
      killNow: () => this.child.kill('SIGKILL'),
      stop: () => this.kill(),
    })
    this.child.on('message', (message) => this.onMessage(message))
    this.child.on('exit', (code, signal) => {
      this.exit = { code, signal, expected: this.closing === true }
      this.untrack()
      for (const { reject } of this.pending.values()) reject(new Error(`replica ${this.index} exited (${signal ?? code}) before answering`))
      this.pending.clear()
    })
    return new Promise((resolve, reject) => {
      this.child.once('message', (m) => (m.type === 'ready' ? resolve(this) : reject(new Error(`replica ${this.index}: unexpected first message ${m.type}`))))
      this.child.once('exit', (code) => reject(new Error(`replica ${this.index} exited with ${code} while starting`)))
    })
  }

  onMessage(m) {
    switch (m.type) {
      case 'write': return this.ledger.onWrite(this.index, m.seq, m.cells, m.at)
      case 'durable': return this.ledger.onDurable(this.index, m.seq)
      case 'write-failed': return this.ledger.onWriteFailed(this.index, m.seq, `${m.code}: ${m.message}`)
      case 'flushed': return this.ledger.onFlushed(this.index, m.upTo)
      case 'status': return this.onStatus(m.status, m.at)
      case 'failover': return this.failovers.push({ reason: m.reason, from: m.from, to: m.to, at: m.at })
      case 'error': {
        const code = m.code ?? 'UNCODED'
        this.errors.set(code, (this.errors.get(code) ?? 0) + 1)
        if (this.errorSamples.length < 5 && !['CONNECT_FAILED'].includes(code)) this.errorSamples.push(`${code}: ${m.message}`)
        return
      }
      case 'memory': return this.memory.push({ at: m.at, rss: m.rss, heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers })
      case 'fatal': return this.fatal.push(m.message)
      case 'reply': {
        const waiter = this.pending.get(m.id)
        this.pending.delete(m.id)
        if (waiter) m.ok ? waiter.resolve(m.result) : waiter.reject(new Error(`replica ${this.index}: ${m.error}`))
        return
      }
    }
  }

  onStatus(status, at) {
    const wasOnline = this.status.connection === 'online'
    const isOnline = status.connection === 'online'
    if (wasOnline && !isOnline) this.notOnlineSince = at
    if (!wasOnline && isOnline) {
      this.offlineStretches.push([this.notOnlineSince, at])
      this.notOnlineSince = null
    }
    this.status = status
    this.statusAt = at
  }

  /** Sends a command; resolves with the worker's answer. */
  call(command, args = {}, timeoutMs = 60_000) {
    if (this.exit) return Promise.reject(new Error(`replica ${this.index} is not running (exit ${this.exit.signal ?? this.exit.code})`))
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new Error(`replica ${this.index}: no answer to '${command}' within ${timeoutMs} ms`))
      }, timeoutMs)
      this.pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      })
      this.child.send({ id, command, args })
    })
  }

  async close() {
    if (this.exit) return
    this.closing = true
    const gone = new Promise((resolve) => this.child.once('exit', resolve))
    try {
      await this.call('close', {}, 15_000)
    } catch {
      this.child.kill('SIGKILL')
    }
    await gone
  }

  async kill() {
    if (this.exit) return
    this.closing = true
    const gone = new Promise((resolve) => this.child.once('exit', resolve))
    this.child.kill('SIGKILL')
    await gone
  }
}
