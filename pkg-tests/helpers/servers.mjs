// Real @y/websocket-server processes on loopback, started and stopped by the tests, with real
// faults: SIGSTOP (frozen: TCP stays open, nothing answers), SIGCONT, SIGKILL and restart.
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

const require = createRequire(import.meta.url)
const SERVER = join(dirname(require.resolve('@y/websocket-server/package.json')), 'src', 'server.js')

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

/**
 * A server script run as its own Node process on loopback (it prints "running at" once it
 * listens), with real faults: SIGSTOP, SIGCONT, SIGKILL and restart on the same port.
 */
export class ServerProcess {
  constructor(script, port, env = {}) {
    this.script = script
    this.port = port
    this.env = env
    this.url = `ws://127.0.0.1:${port}`
    this.proc = null
  }

  start() {
    return new Promise((resolve, reject) => {
      const proc = spawn(process.execPath, [this.script], {
        env: { ...process.env, ...this.env, HOST: '127.0.0.1', PORT: String(this.port) },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      // Keep the pipes flowing: a chatty server blocks once an unread pipe fills up.
      proc.stderr.resume()
      this.proc = proc
      const timer = setTimeout(() => reject(new Error(`server on ${this.port} did not start`)), 15_000)
      proc.stdout.on('data', (chunk) => {
        if (String(chunk).includes('running at')) {
          clearTimeout(timer)
          resolve(this)
        }
      })
      proc.once('exit', (code) => {
        clearTimeout(timer)
        if (this.proc === proc) this.proc = null
        reject(new Error(`server on ${this.port} exited with ${code}`))
      })
    })
  }

  freeze() {
    this.proc?.kill('SIGSTOP')
  }

  resume() {
    this.proc?.kill('SIGCONT')
  }

  /** SIGKILL, and wait until the process is gone. */
  async kill() {
    const proc = this.proc
    if (!proc) return
    this.proc = null
    const gone = new Promise((resolve) => proc.once('exit', resolve))
    proc.kill('SIGCONT')
    proc.kill('SIGKILL')
    await gone
  }

  async restart() {
    await this.kill()
    await this.start()
  }
}

/** A stock @y/websocket-server. */
export class YServer extends ServerProcess {
  constructor(port) {
    super(SERVER, port)
  }

  static async start() {
    const server = new YServer(await freePort())
    await server.start()
    return server
  }
}

export async function startServers(n) {
  const servers = []
  for (let i = 0; i < n; i++) servers.push(await YServer.start())
  return servers
}

export async function stopServers(servers) {
  await Promise.all(servers.map((s) => s.kill()))
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `check` until it returns truthy or `timeoutMs` passes. */
export async function waitFor(check, timeoutMs = 10_000, what = 'condition') {
  const start = Date.now()
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(20)
  }
}
