// What leading and following mean for a replica (leaderTab): the leader runs the sync engine,
// sends the servers the other tabs' updates and the tabs what the servers sent, and publishes
// its status, endpoints, failovers and presence; a follower mirrors them, and asks the leader
// to flush, fail over or share presence for it. Messages travel on the replica's own
// BroadcastChannel, after the updates posted before them (one channel keeps their order).
import { Leadership } from './leader.js'
import { codedError } from './errors.js'

const OFFLINE = Object.freeze({ connection: 'offline', endpoint: null, pending: 0, servers: 0 })
/** How long Replica.open waits to know whether this tab leads (a leader answers a newcomer at once). */
const ELECTION_WAIT_MS = 1000

export class TabSync {
  /**
   * @param name the replica's name
   * @param host what the replica lends: `startSync(mayConnect)`, `stopSync()`, `post(message)`,
   *   `emit(event, payload)`, `flush(options)`, `run(command, arg)`, `state()`,
   *   `postUpdates()`, `takeFlushes()` (its own waiting flushes, when it stops leading)
   */
  constructor(name, host, endpoints) {
    this._host = host
    this.status = { ...OFFLINE }
    /** Until a leader is heard from: this tab's endpoints, in no known state. */
    this.endpoints = endpoints.map((url) => ({ url, state: 'unknown', rttMs: null, lastSeenAt: null, failures: 0, active: false, role: null }))
    this.presence = []
    /** Flushes asked of the leader: id → { resolve, reject, timeoutMs, writeConcern, timer } */
    this._asked = new Map()
    this._nextAsk = 1
    this._leaderTab = null
    /** Resolves once this tab leads or has heard from a leader (or after ELECTION_WAIT_MS). */
    this.ready = new Promise((resolve) => {
      this._settled = resolve
      setTimeout(resolve, ELECTION_WAIT_MS)
    })
    this._leadership = new Leadership(name, {
      lead: () => this._lead(),
      follow: () => this._follow(),
      heartbeat: () => {
        host.postUpdates()
        host.post({ type: 'leader-heartbeat', tab: this._leadership.tab, ...host.state() })
      },
    })
    host.post({ type: 'follower-hello' })
  }

  get isLeader() {
    return this._leadership.isLeader
  }

  get tab() {
    return this._leadership.tab
  }

  close() {
    this._leadership.close()
    for (const asked of this._asked.values()) {
      clearTimeout(asked.timer)
      asked.reject(codedError('CLOSED', 'flush: the replica is closed'))
    }
    this._asked.clear()
  }

  /** The leader's state changed (a 'status', 'failover' or 'presence' event): the followers mirror it. */
  publish(event, payload) {
    if (!this.isLeader) return
    this._host.post({ type: 'leader-event', tab: this.tab, event, payload, ...this._host.state() })
  }

  /** Handles a message of the tab protocol; false for the messages it does not know. */
  handle(message) {
    switch (message.type) {
      case 'leader-heartbeat':
      case 'leader-event':
        if (this.isLeader) return true // two leaders for an instant: the lock settles it
        this._leadership.leaderSeen()
        this._leaderIs(message.tab)
        this._settled()
        this._mirror(message)
        if (message.type === 'leader-event' && message.event !== 'status') this._host.emit(message.event, message.payload)
        return true
      case 'follower-hello':
        if (this.isLeader) this.publish('status', { ...this._host.state().status })
        return true
      case 'flush-request':
        if (this.isLeader) this._serveFlush(message)
        return true
      case 'flush-answer':
        if (message.to === this.tab) this._answered(message)
        return true
      case 'command':
        if (this.isLeader) {
          try {
            this._host.run(message.command, message.arg)
          } catch {
            // the follower checked what it could; anything else is the leader's own error event
          }
        }
        return true
      default:
        return false
    }
  }

  /** A follower's flush: the leader flushes for it, after the updates this tab posted before. */
  askFlush(timeoutMs, writeConcern) {
    this._host.postUpdates()
    return new Promise((resolve, reject) => {
      const id = this._nextAsk++
      const timer = setTimeout(() => {
        this._asked.delete(id)
        reject(codedError('TIMEOUT', `flush: not acknowledged within ${timeoutMs} ms`))
      }, timeoutMs)
      this._asked.set(id, { resolve, reject, timeoutMs, writeConcern, timer })
      this._host.post({ type: 'flush-request', from: this.tab, id, timeoutMs, writeConcern })
    })
  }

  /** A follower's failover(), switchTo(url), unpin() or setPresence(state), run by the leader. */
  forward(command, arg) {
    this._host.post({ type: 'command', command, arg })
  }

  _serveFlush({ from, id, timeoutMs, writeConcern }) {
    const answer = (outcome) => this._host.post({ type: 'flush-answer', to: from, id, ...outcome })
    this._host.flush({ timeoutMs, writeConcern }).then(
      () => answer({ ok: true }),
      (error) => answer({ ok: false, code: error.code, message: error.message }),
    )
  }

  _answered({ id, ok, code, message }) {
    const asked = this._asked.get(id)
    if (!asked) return
    this._asked.delete(id)
    clearTimeout(asked.timer)
    if (ok) asked.resolve()
    else asked.reject(codedError(code ?? 'TIMEOUT', message ?? 'flush: not acknowledged'))
  }

  _leaderIs(tab) {
    if (tab === this._leaderTab) return
    this._leaderTab = tab
    // a new leader: what the last one was asked and never answered, it is asked again
    for (const [id, asked] of this._asked) {
      this._host.post({ type: 'flush-request', from: this.tab, id, timeoutMs: asked.timeoutMs, writeConcern: asked.writeConcern })
    }
  }

  _mirror({ status, endpoints, presence }) {
    this.endpoints = endpoints
    this.presence = presence
    const changed = ['connection', 'endpoint', 'pending', 'servers'].some((k) => status[k] !== this.status[k])
    this.status = status
    if (changed) this._host.emit('status', { ...status })
  }

  _lead() {
    this._leaderTab = this.tab
    this._settled()
    this._host.startSync(() => this._leadership.mayConnect())
    this._host.emit('leader', true)
    this.publish('status', { ...this._host.state().status })
    // what this tab had asked of the last leader, it does itself now
    for (const [id, asked] of this._asked) {
      this._asked.delete(id)
      clearTimeout(asked.timer)
      this._host.flush({ timeoutMs: asked.timeoutMs, writeConcern: asked.writeConcern }).then(asked.resolve, asked.reject)
    }
  }

  _follow() {
    const waiting = this._host.takeFlushes()
    this._host.stopSync()
    this.status = { ...OFFLINE }
    this._host.emit('leader', false)
    // this tab's own waiting flushes go to whoever leads next
    for (const { resolve, reject, timeoutMs } of waiting) this.askFlush(timeoutMs).then(resolve, reject)
  }
}
