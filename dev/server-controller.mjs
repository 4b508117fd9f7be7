// A numbered set of @y/websocket-server processes on fixed or free loopback ports, for the
// demos: npm start (examples/browser-todo) lets a page freeze, resume, kill and restart each
// one, and examples/node/failover-demo.mjs freezes one itself.
import { checkPortFree, freePort } from './ports.mjs'
import { YServer } from './servers.mjs'

export class ServerController {
  /** @param ports one per server, in priority order; 0 = any free port */
  constructor(ports) {
    this.requestedPorts = ports
    /** @type {YServer[]} */
    this.servers = []
  }

  /**
   * Checks every fixed port first (so a taken one fails with PortInUseError before anything
   * starts), then starts the servers in order. On failure, stops what it started and rethrows.
   */
  async start() {
    for (const port of this.requestedPorts) if (port !== 0) await checkPortFree(port)
    const ports = []
    for (const port of this.requestedPorts) ports.push(port === 0 ? await freePort() : port)
    this.servers = ports.map((port, index) => Object.assign(new YServer(port), { index }))
    try {
      for (const server of this.servers) await server.start()
    } catch (error) {
      await this.stop()
      throw error
    }
    return this
  }

  get urls() {
    return this.servers.map((server) => server.url)
  }

  /** [{ index, url, port, pid, state: 'running'|'frozen'|'killed' }] */
  list() {
    return this.servers.map((server) => server.describe())
  }

  get(index) {
    return this.servers[index]
  }

  /** Kills every process it started (frozen ones are resumed first, inside kill()). */
  async stop() {
    await Promise.all(this.servers.map((server) => server.kill()))
  }
}
