// Three real servers of one dialect on loopback, each behind its own FaultProxy, with the
// faults the schedule names: SIGSTOP/SIGCONT, SIGKILL and restart, and the proxy's network
// faults. y-websocket: stock @y/websocket-server processes (they do not replicate among
// themselves). Hocuspocus: @hocuspocus/server processes sharing documents through Redis.
import { rmSync } from 'node:fs'
import { YServer, HocuspocusServer } from '../../dev/servers.mjs'
import { RedisServer } from '../../dev/redis.mjs'
import { freePort } from '../../dev/ports.mjs'
import { FaultProxy } from '../../dev/fault-proxy.mjs'
import { track } from './children.mjs'

/** One server process with its proxy, and what happened to it. */
class Node {
  constructor(index, server, proxy) {
    this.index = index
    this.server = server // a ServerProcess
    this.proxy = proxy
    this.state = 'up' // 'up' | 'frozen' | 'killed'
    this.crashes = [] // exits nobody asked for (a fault kills through server.kill())
    server.onUnexpectedExit = (s, code, signal) => this.crashes.push({ code, signal, at: Date.now() })
  }

  get url() {
    return this.proxy.url // what replicas use
  }

  get directUrl() {
    return this.server.url // what the checks use
  }

  /** The server's last stderr lines (kept by the ServerProcess). */
  get stderrTail() {
    return this.server.stderrTail
  }

  freeze() {
    if (this.state !== 'up') return
    this.server.freeze()
    this.state = 'frozen'
  }

  resume() {
    if (this.state !== 'frozen') return
    this.server.resume()
    this.state = 'up'
  }

  async kill() {
    if (this.state === 'killed') return
    this.state = 'killed'
    await this.server.kill()
  }

  /** Starts a killed server again on its port; retries, since a port can linger briefly. */
  async restart() {
    if (this.state !== 'killed') return
    for (let attempt = 1; ; attempt++) {
      try {
        await this.server.start()
        break
      } catch (error) {
        if (attempt >= 5) throw new Error(`server ${this.index} (port ${this.server.port}) did not restart: ${error.message}`)
        await new Promise((resolve) => setTimeout(resolve, 300 * attempt))
      }
    }
    this.state = 'up'
  }

  /** Undoes every fault: running, and the proxy passing everything. */
  async heal() {
    this.proxy.pass()
    if (this.state === 'frozen') this.resume()
    if (this.state === 'killed') await this.restart()
  }

  async stop() {
    await this.proxy.close()
    await this.server.kill()
  }
}

async function withProxy(index, server) {
  const proxy = await new FaultProxy({ targetPort: server.port }).start()
  return new Node(index, server, proxy)
}

/**
 * @param {'y-websocket'|'hocuspocus'} dialect
 * @returns {Promise<{ dialect, nodes: Node[], stop(): Promise<void> }>}
 */
export async function startCluster(dialect, count = 3) {
  const nodes = []
  let redis = null
  const cluster = {
    dialect,
    nodes,
    get redis() {
      return redis
    },
    async stop() {
      untrack()
      await Promise.all(nodes.map((n) => n.stop()))
      await redis?.stop()
    },
  }
  const untrack = track({
    name: `${dialect} servers`,
    stop: () => cluster.stop(),
    killNow: () => {
      for (const n of nodes) n.server.proc?.kill('SIGKILL')
      redis?.proc?.kill('SIGKILL')
      if (redis?.dir) rmSync(redis.dir, { recursive: true, force: true })
    },
  })
  if (dialect === 'hocuspocus') redis = await RedisServer.start()
  for (let i = 0; i < count; i++) {
    const server =
      dialect === 'hocuspocus'
        ? new HocuspocusServer(await freePort(), { REDIS_PORT: String(redis.port) })
        : new YServer(await freePort())
    await server.start()
    nodes.push(await withProxy(i, server))
  }
  return cluster
}
