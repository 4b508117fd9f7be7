// A throwaway Redis (Debian's redis-server) on a free loopback port, in a temp dir, with no
// persistence; Hocuspocus servers share documents through it.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './ports.mjs'
import { signalAndWait, waitForOutput } from './wait.mjs'

export class RedisServer {
  static async start() {
    const redis = new RedisServer()
    redis.port = await freePort()
    redis.dir = mkdtempSync(join(tmpdir(), 'yreplica-redis-'))
    redis.proc = spawn('redis-server', ['--port', String(redis.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', redis.dir], { stdio: ['ignore', 'pipe', 'inherit'] })
    try {
      await waitForOutput(redis.proc, 'Ready to accept connections', { what: 'redis-server' })
    } catch (error) {
      await redis.stop()
      throw error
    }
    redis.proc.stdout.resume() // keep reading its log so it never blocks
    return redis
  }

  /** SIGKILL, wait until it is gone, remove its dir. */
  async stop() {
    const proc = this.proc
    this.proc = null
    await signalAndWait(proc, 'SIGKILL')
    rmSync(this.dir, { recursive: true, force: true })
  }
}
