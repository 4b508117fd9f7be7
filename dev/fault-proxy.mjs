// A TCP proxy on loopback in front of one server, with network faults switchable at run time
// (the soak's network faults; pkg-tests/proxy.test.mjs checks it):
//   pass           forward both ways
//   blackhole      keep accepting and keep connections open, forward nothing either way
//   latency(ms)    delay every chunk by `ms`, both ways, keeping the order
//   dropUp()       stop client → server, let server → client flow
//   dropDown()     stop server → client, let client → server flow
//   reset()        (an action, not a mode) RST every current connection
//
// "Forward nothing" holds bytes back the way a TCP network partition does: the proxy stops
// reading (so the kernel buffers fill and the sender stalls) and delivers what it holds
// once the fault ends, unless one side has given up on the connection by then. Dropping
// bytes from the middle of a TCP stream is something TCP never lets an application see.
// A closed connection travels like data: a server that goes away during a black-hole is
// noticed by the client only when the black-hole ends.
import { createServer, connect } from 'node:net'

const END = Symbol('end') // the sender half-closed (FIN)
const CLOSE = Symbol('close') // the sender's socket is gone
const HIGH_WATER = 1 << 20 // stop reading a sender once this much waits in one lane
const LOW_WATER = 1 << 18

/** One direction of one proxied connection: reads `from`, writes `to`, in order. */
class Lane {
  constructor(proxy, direction, from, to) {
    this.proxy = proxy
    this.direction = direction // 'up' (client → server) or 'down'
    this.from = from
    this.to = to
    /** @type {{ due: number, item: Buffer | symbol }[]} */
    this.queue = []
    this.queuedBytes = 0
    this.timer = null
    from.on('data', (chunk) => this.push(chunk))
    from.on('end', () => this.push(END))
  }

  get held() {
    return this.proxy.holds(this.direction)
  }

  push(item) {
    this.queue.push({ due: Date.now() + this.proxy.delayMs, item })
    if (Buffer.isBuffer(item)) {
      this.queuedBytes += item.length
      if (this.queuedBytes > HIGH_WATER) this.from.pause()
    }
    this.pump()
  }

  /** Delivers whatever is due, unless the mode holds this direction. */
  pump() {
    if (this.held) {
      this.from.pause()
      this.stopTimer()
      return
    }
    const now = Date.now()
    while (this.queue.length > 0) {
      const head = this.queue[0]
      if (head.due > now) {
        if (this.timer === null) this.timer = setTimeout(() => this.tick(), head.due - now)
        break
      }
      this.queue.shift()
      this.deliver(head.item)
    }
    if (this.queuedBytes < LOW_WATER && !this.from.destroyed) this.from.resume()
  }

  tick() {
    this.timer = null
    this.pump()
  }

  deliver(item) {
    const to = this.to
    if (item === END) {
      if (!to.destroyed) to.end()
    } else if (item === CLOSE) {
      // Ending first lets what was already written reach the peer before the socket goes.
      if (!to.destroyed) to.destroySoon()
    } else {
      this.queuedBytes -= item.length
      this.proxy.stats[this.direction === 'up' ? 'bytesUp' : 'bytesDown'] += item.length
      if (!to.destroyed && to.writable) to.write(item)
    }
  }

  stopTimer() {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }

  clear() {
    this.stopTimer()
    this.queue = []
    this.queuedBytes = 0
  }
}

/** A client connection and its connection to the server. */
class Pipe {
  constructor(proxy, client) {
    this.proxy = proxy
    this.client = client
    this.server = connect({ host: proxy.targetHost, port: proxy.targetPort, allowHalfOpen: true })
    this.up = new Lane(proxy, 'up', client, this.server)
    this.down = new Lane(proxy, 'down', this.server, client)
    // Errors end up as 'close'; the close itself is forwarded as an item of the other lane.
    client.on('error', () => {})
    this.server.on('error', () => {})
    client.on('close', () => this.up.push(CLOSE))
    this.server.on('close', () => this.down.push(CLOSE))
    const forget = () => {
      if (client.destroyed && this.server.destroyed) this.dispose()
    }
    client.on('close', forget)
    this.server.on('close', forget)
    this.up.pump()
    this.down.pump()
  }

  modeChanged() {
    this.up.pump()
    this.down.pump()
  }

  /** RST both sockets (a connection reset on the wire, not an orderly close). */
  reset() {
    for (const socket of [this.client, this.server]) {
      try {
        socket.resetAndDestroy()
      } catch {
        socket.destroy()
      }
    }
    this.dispose()
  }

  dispose() {
    this.up.clear()
    this.down.clear()
    this.proxy.pipes.delete(this)
  }
}

export class FaultProxy {
  /**
   * @param {{ targetPort: number, targetHost?: string, port?: number }} options
   *   `port` 0 (the default) picks a free one.
   */
  constructor({ targetPort, targetHost = '127.0.0.1', port = 0 }) {
    this.targetPort = targetPort
    this.targetHost = targetHost
    this.port = port
    this.mode = { kind: 'pass', ms: 0 }
    /** @type {Set<Pipe>} */
    this.pipes = new Set()
    this.stats = { accepted: 0, resets: 0, bytesUp: 0, bytesDown: 0 }
    this.server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
      this.stats.accepted++
      this.pipes.add(new Pipe(this, client))
    })
  }

  /** Listens on 127.0.0.1; resolves with this proxy once it accepts connections. */
  start() {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.off('error', reject)
        this.port = this.server.address().port
        resolve(this)
      })
    })
  }

  get url() {
    return `ws://127.0.0.1:${this.port}`
  }

  get delayMs() {
    return this.mode.kind === 'latency' ? this.mode.ms : 0
  }

  /** @internal Whether the current mode stops this direction ('up' or 'down'). */
  holds(direction) {
    const kind = this.mode.kind
    return kind === 'blackhole' || (kind === 'drop-up' && direction === 'up') || (kind === 'drop-down' && direction === 'down')
  }

  setMode(kind, ms = 0) {
    if (!['pass', 'blackhole', 'latency', 'drop-up', 'drop-down'].includes(kind)) {
      throw new TypeError(`FaultProxy.setMode: unknown mode '${kind}'`)
    }
    if (kind === 'latency' && !(Number.isFinite(ms) && ms >= 0)) {
      throw new TypeError(`FaultProxy.latency: expected a delay in ms >= 0, got ${ms}`)
    }
    this.mode = { kind, ms: kind === 'latency' ? ms : 0 }
    for (const pipe of this.pipes) pipe.modeChanged()
  }

  pass() {
    this.setMode('pass')
  }

  blackhole() {
    this.setMode('blackhole')
  }

  latency(ms) {
    this.setMode('latency', ms)
  }

  /** One-way loss: client → server stops, server → client flows. */
  dropUp() {
    this.setMode('drop-up')
  }

  /** One-way loss: server → client stops, client → server flows. */
  dropDown() {
    this.setMode('drop-down')
  }

  /** Resets every current connection with a TCP RST; returns how many. The mode stays. */
  reset() {
    const pipes = [...this.pipes]
    for (const pipe of pipes) pipe.reset()
    this.stats.resets += pipes.length
    return pipes.length
  }

  get connections() {
    return this.pipes.size
  }

  /** Stops listening and drops every connection. */
  close() {
    for (const pipe of [...this.pipes]) {
      pipe.client.destroy()
      pipe.server.destroy()
      pipe.dispose()
    }
    return new Promise((resolve) => this.server.close(() => resolve()))
  }
}
