// One tab leads: of the tabs and workers of one origin that open a replica of one name, the one
// holding the Web Lock `yreplica-leader:<name>` runs the sync engine and its connections; the
// others follow it over the BroadcastChannel they already share for updates. This module
// holds the election only: who leads, how a silent leader is replaced, and when this tab must
// stop leading. What leading means (starting sync, mirroring state) is the replica's.

/** How often a leader says it is alive. */
export const HEARTBEAT_MS = 250
/**
 * How long followers wait for a silent leader before one takes over (the documented bound,
 * plus up to JITTER_MS so that followers do not all take over at once).
 */
export const LEADER_TIMEOUT_MS = 2000
export const JITTER_MS = 500

/** Whether this platform can elect a leader tab. */
export function leaderTabsAvailable() {
  return typeof globalThis.navigator?.locks?.request === 'function' && typeof globalThis.BroadcastChannel === 'function'
}

export class Leadership {
  /**
   * @param name the replica's name (one election per origin and name)
   * @param host `{ lead(), follow(), heartbeat() }`: `lead()` is called when this tab becomes
   *   the leader, `follow()` when it stops leading, `heartbeat()` every HEARTBEAT_MS while it
   *   leads (the followers hear from it)
   */
  constructor(name, host) {
    this.tab = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`
    this.isLeader = false
    this._lockName = `yreplica-leader:${name}`
    this._host = host
    this._closed = false
    /** The request waiting in the lock's queue, or holding it: aborting drops it. */
    this._waiting = null
    /** Resolving it releases the lock this tab holds. */
    this._release = null
    this._lastLeaderSign = performance.now()
    this._patience = LEADER_TIMEOUT_MS + Math.random() * JITTER_MS
    this._lastTick = performance.now()
    this._timer = setInterval(() => this._tick(), HEARTBEAT_MS)
    this._queue()
  }

  /** Whether this tab may open connections now: it leads, and has not been frozen since its last tick. */
  mayConnect() {
    return this.isLeader && !this._closed && performance.now() - this._lastTick < LEADER_TIMEOUT_MS
  }

  /** A leader's heartbeat or announcement arrived from another tab. */
  leaderSeen() {
    this._lastLeaderSign = performance.now()
  }

  close() {
    this._closed = true
    clearInterval(this._timer)
    this._waiting?.abort()
    this._waiting = null
    this._stopLeading()
  }

  /** Waits in the lock's queue; `steal` takes the lock from a leader that went silent. */
  _queue(steal = false) {
    if (this._closed) return
    this._waiting?.abort()
    const waiting = new AbortController()
    this._waiting = waiting
    const options = steal ? { steal: true } : { signal: waiting.signal }
    globalThis.navigator.locks
      .request(this._lockName, options, () => {
        if (this._closed || waiting !== this._waiting) return undefined
        return new Promise((resolve) => {
          this._release = resolve
          this._startLeading()
        })
      })
      .catch(() => {
        // aborted while waiting (close, or a steal of ours replaced it), or stolen while held
        if (waiting === this._waiting && !this._closed) {
          this._stopLeading()
          this._lastLeaderSign = performance.now() // whoever took the lock is heard from next
          this._queue()
        }
      })
  }

  _startLeading() {
    this.isLeader = true
    this._lastTick = performance.now()
    this._host.lead()
  }

  _stopLeading() {
    const release = this._release
    this._release = null
    if (this.isLeader) {
      this.isLeader = false
      this._host.follow()
    }
    release?.()
  }

  _tick() {
    const now = performance.now()
    const frozen = now - this._lastTick > LEADER_TIMEOUT_MS
    this._lastTick = now
    if (this._closed) return
    if (frozen) {
      // This tab's event loop stood still for longer than followers wait: what it knows of the
      // others is old (their heartbeats wait unread), and one of them may lead now. A leader
      // stops at once and queues again (it leads again if none took over); nobody takes over
      // on the strength of a silence it only seemed to hear.
      this._lastLeaderSign = now
      if (this.isLeader) {
        this._stopLeading()
        this._queue()
      }
      return
    }
    if (this.isLeader) {
      this._host.heartbeat()
      return
    }
    if (now - this._lastLeaderSign > this._patience) {
      // the leader went silent (frozen, or its event loop blocked): take over
      this._lastLeaderSign = now
      this._patience = LEADER_TIMEOUT_MS + Math.random() * JITTER_MS
      this._queue(true)
    }
  }
}
