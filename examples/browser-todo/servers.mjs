// The demo's server controller: it owns a few local @y/websocket-server processes and can
// freeze (SIGSTOP), resume (SIGCONT), kill (SIGKILL) and restart each one, so a person can
// cause a real failure and watch yreplica fail over. Used by start.mjs and the Node demo.
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

const require = createRequire(import.meta.url)
const SERVER_SCRIPT = join(dirname(require.resolve('@y/websocket-server/package.json')), 'src', 'server.js')
const START_TIMEOUT_MS = 15_000

/** An error for a port some other process holds; `port` says which. */
export class PortInUseError extends Error {
  constructor(port) {
    super(`port ${port} is already in use`)
    this.code = 'EADDRINUSE'
    this.port = port
  }
}

/** Resolves with a port that is free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
  })
}

/** Rejects with PortInUseError if `port` cannot be bound on 127.0.0.1. */
export function checkPortFree(port) {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', (error) => reject(error.code === 'EADDRINUSE' ? new PortInUseError(port) : error))
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()))
  })
}

/** One @y/websocket-server process on a fixed loopback port (kept across restarts). */
export class DemoServer {
  constructor(index, port) {
    this.index = index
    this.port = port
    this.url = `ws://127.0.0.1:${port}`
    this.proc = null
    this.frozen = false
    /** Called with (server, code, signal) when the process ends without being asked to. */
    this.onUnexpectedExit = null
  }

  /** 'running' | 'frozen' | 'killed' (also after the process died by itself). */
  get state() {
    if (this.proc === null) return 'killed'
    return this.frozen ? 'frozen' : 'running'
  }

  describe() {
    return { index: this.index, url: this.url, port: this.port, pid: this.proc?.pid ?? null, state: this.state }
  }

  /** Starts the process; resolves once it listens. A taken port rejects with PortInUseError. */
  start() {
    if (this.proc !== null) return Promise.resolve(this)
    return new Promise((resolve, reject) => {
      const proc = spawn(process.execPath, [SERVER_SCRIPT], {
        env: { ...process.env, HOST: '127.0.0.1', PORT: String(this.port) },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      this.proc = proc
      this.frozen = false
      let started = false
      let stderr = ''
      const timer = setTimeout(() => {
        this.kill().finally(() => reject(new Error(`server ${this.index} (port ${this.port}) did not start within ${START_TIMEOUT_MS} ms`)))
      }, START_TIMEOUT_MS)
      proc.stdout.on('data', (chunk) => {
        if (!started && String(chunk).includes('running at')) {
          started = true
          clearTimeout(timer)
          resolve(this)
        }
      })
      proc.stderr.on('data', (chunk) => {
        stderr += chunk
      })
      proc.once('exit', (code, signal) => {
        clearTimeout(timer)
        const expected = this.proc !== proc // kill() forgets the process before it ends
        if (!expected) {
          this.proc = null
          this.frozen = false
        }
        if (!started) {
          reject(stderr.includes('EADDRINUSE') ? new PortInUseError(this.port) : new Error(`server ${this.index} (port ${this.port}) exited with ${code ?? signal} while starting: ${stderr.trim().split('\n').pop() ?? ''}`))
        } else if (!expected) {
          this.onUnexpectedExit?.(this, code, signal)
        }
      })
    })
  }

  /** SIGSTOP: the process stops answering while its TCP connections stay open. */
  freeze() {
    if (this.proc === null) return false
    this.proc.kill('SIGSTOP')
    this.frozen = true
    return true
  }

  /** SIGCONT. */
  resume() {
    if (this.proc === null) return false
    this.proc.kill('SIGCONT')
    this.frozen = false
    return true
  }

  /** SIGKILL (after SIGCONT, so a frozen process can die), and wait until it is gone. */
  async kill() {
    const proc = this.proc
    if (proc === null) return
    this.proc = null
    this.frozen = false
    if (proc.exitCode !== null || proc.signalCode !== null) return
    const gone = new Promise((resolve) => proc.once('exit', resolve))
    proc.kill('SIGCONT')
    proc.kill('SIGKILL')
    await gone
  }

  /** A fresh process on the same port (its in-memory documents are gone; clients refill it). */
  async restart() {
    await this.kill()
    await this.start()
  }
}

/** Several DemoServers; `ports` may hold 0 for "any free port". */
export class ServerController {
  constructor(ports) {
    this.requestedPorts = ports
    /** @type {DemoServer[]} */
    this.servers = []
  }

  /**
   * Checks every fixed port first (so a taken one fails before anything starts), then starts
   * the servers in order. On failure, stops what it started and rethrows.
   */
  async start() {
    for (const port of this.requestedPorts) if (port !== 0) await checkPortFree(port)
    const ports = []
    for (const port of this.requestedPorts) ports.push(port === 0 ? await freePort() : port)
    this.servers = ports.map((port, index) => new DemoServer(index, port))
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
