// Redis (Debian's redis-server, in a temp dir) and Hocuspocus servers sharing documents
// through it, all on loopback, started and stopped by the caller.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, ServerProcess } from './servers.mjs'

const SERVER = join(dirname(fileURLToPath(import.meta.url)), 'hocuspocus-server.mjs')

function waitForLine(proc, text, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start`)), 15_000)
    const onData = (chunk) => {
      if (String(chunk).includes(text)) {
        clearTimeout(timer)
        resolve()
      }
    }
    proc.stdout.on('data', onData)
    proc.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${what} exited with ${code}`))
    })
  })
}

export class RedisServer {
  static async start() {
    const redis = new RedisServer()
    redis.port = await freePort()
    redis.dir = mkdtempSync(join(tmpdir(), 'yreplica-redis-'))
    redis.proc = spawn('redis-server', ['--port', String(redis.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', redis.dir], { stdio: ['ignore', 'pipe', 'inherit'] })
    await waitForLine(redis.proc, 'Ready to accept connections', 'redis-server')
    return redis
  }

  async stop() {
    const proc = this.proc
    this.proc = null
    if (proc && proc.exitCode === null) {
      const gone = new Promise((resolve) => proc.once('exit', resolve))
      proc.kill('SIGKILL')
      await gone
    }
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/** A Hocuspocus 4 server (helpers/hocuspocus-server.mjs); `env` as that script reads it. */
export class HocuspocusServer extends ServerProcess {
  constructor(port, env) {
    super(SERVER, port, env)
  }

  static async start(env = {}) {
    const server = new HocuspocusServer(await freePort(), env)
    await server.start()
    return server
  }
}

/** Redis plus `n` Hocuspocus servers with the Redis extension. */
export async function startCluster(n, env = {}) {
  const redis = await RedisServer.start()
  const servers = []
  for (let i = 0; i < n; i++) servers.push(await HocuspocusServer.start({ ...env, REDIS_PORT: String(redis.port) }))
  return {
    redis,
    servers,
    async stop() {
      await Promise.all(servers.map((s) => s.kill()))
      await redis.stop()
    },
  }
}
