// One server script run as its own Node process on loopback, ready once it prints "running
// at", with the real faults tests, benches, the soak and the demos cause: freeze (SIGSTOP:
// TCP stays open, nothing answers), resume (SIGCONT), kill (SIGKILL) and restart on the same
// port.
import { spawn } from 'node:child_process'
import { PortInUseError } from './ports.mjs'
import { signalAndWait, waitForOutput } from './wait.mjs'

const READY = 'running at' // what @y/websocket-server and dev/hocuspocus-server.mjs print
const TAIL = 4000

export class ServerProcess {
  /**
   * @param script the server's entry point (run with this Node)
   * @param port its loopback port, kept across restarts
   * @param env extra environment (HOST and PORT are set here)
   */
  constructor(script, port, env = {}) {
    this.script = script
    this.port = port
    this.env = env
    this.url = `ws://127.0.0.1:${port}`
    /** The running child process, or null (never started, killed, or it died). */
    this.proc = null
    this.frozen = false
    /** The last few KB its processes wrote to stderr, across restarts (it is always read, so it never blocks). */
    this.stderrTail = ''
    /** Called with (server, code, signal) when the process ends without kill() asking. */
    this.onUnexpectedExit = null
    /** Set by a ServerController: the server's place in its list. */
    this.index = undefined
  }

  get name() {
    return this.index === undefined ? `server on port ${this.port}` : `server ${this.index} (port ${this.port})`
  }

  /** 'running' | 'frozen' | 'killed' (also after the process died by itself). */
  get state() {
    if (this.proc === null) return 'killed'
    return this.frozen ? 'frozen' : 'running'
  }

  describe() {
    return { index: this.index, url: this.url, port: this.port, pid: this.proc?.pid ?? null, state: this.state }
  }

  /**
   * Starts the process and resolves (with this) once it listens; a no-op while it runs. A port
   * held by something else rejects with PortInUseError; no "running at" within `timeoutMs`
   * kills it and rejects.
   */
  async start({ timeoutMs = 15_000 } = {}) {
    if (this.proc !== null) return this
    const proc = spawn(process.execPath, [this.script], {
      env: { ...process.env, ...this.env, HOST: '127.0.0.1', PORT: String(this.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.proc = proc
    this.frozen = false
    let ready = false
    let startupStderr = '' // this process's, for why it did not start
    proc.stdout.resume() // keep both pipes flowing: a chatty server blocks once one fills up
    proc.stderr.on('data', (chunk) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-TAIL)
      if (!ready) startupStderr = (startupStderr + chunk).slice(-TAIL)
    })
    proc.once('exit', (code, signal) => {
      if (this.proc !== proc) return // kill() forgot it first: an exit it asked for
      this.proc = null
      this.frozen = false
      if (ready) this.onUnexpectedExit?.(this, code, signal)
    })
    try {
      await waitForOutput(proc, READY, { timeoutMs, what: this.name })
    } catch (error) {
      const line = startupStderr.trim().split('\n').pop()
      const why = line ? `: ${line}` : ''
      if (error.timedOut) {
        await this.kill()
        throw new Error(`${this.name} did not start within ${timeoutMs} ms${why}`)
      }
      if (this.proc === proc) this.proc = null
      if (startupStderr.includes('EADDRINUSE')) throw new PortInUseError(this.port)
      throw new Error(`${this.name} exited (${error.signal ?? `code ${error.exitCode}`}) while starting${why}`)
    }
    ready = true
    return this
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
    await signalAndWait(proc, 'SIGCONT', 'SIGKILL')
  }

  /**
   * A fresh process on the same port (its in-memory documents are gone; clients refill it),
   * with `env` instead of the environment it had if given (a new Redis port, say).
   */
  async restart(env) {
    await this.kill()
    if (env !== undefined) this.env = env
    await this.start()
  }
}
