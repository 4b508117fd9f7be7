// A throwaway PostgreSQL (Debian's `postgresql` package) on a free loopback port, in a temp data
// directory, for the durable Hocuspocus cluster (dev/cluster.mjs) and its tests. PostgreSQL
// refuses to run as root: as root, the data directory goes to the `postgres` user and initdb
// and the server run as that user. `stop()` shuts it down and removes the directory.
import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './ports.mjs'
import { signalAndWait, waitForOutput } from './wait.mjs'

/** The directory of `initdb` and `postgres`: Debian keeps them out of PATH, per version. */
function binDir() {
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'postgres'))) : []
  versions.sort((a, b) => Number(b) - Number(a))
  if (versions.length === 0) throw new Error('PostgreSQL is not installed (Debian: apt-get install postgresql)')
  return join(root, versions[0], 'bin')
}

const asRoot = process.getuid?.() === 0

/** Spawn options that run a command as the postgres user when this process is root. */
function asPostgres() {
  if (!asRoot) return {}
  const id = (flag) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim())
  return { uid: id('-u'), gid: id('-g') }
}

export class PostgresServer {
  static async start() {
    const pg = new PostgresServer()
    const bin = binDir()
    pg.port = await freePort()
    pg.dir = mkdtempSync(join(tmpdir(), 'yreplica-pg-'))
    if (asRoot) {
      chmodSync(pg.dir, 0o777) // the postgres user writes its socket and data here
      spawnSync('chown', ['postgres', pg.dir])
    }
    const data = join(pg.dir, 'data')
    const user = asPostgres()
    const init = spawnSync(join(bin, 'initdb'), ['-D', data, '-U', 'yreplica', '--auth=trust', '-E', 'UTF8', '--no-instructions'], { encoding: 'utf8', cwd: pg.dir, ...user })
    if (init.status !== 0) {
      rmSync(pg.dir, { recursive: true, force: true })
      throw new Error(`initdb failed: ${init.stderr || init.stdout}`)
    }
    const args = ['-D', data, '-p', String(pg.port), '-c', 'listen_addresses=127.0.0.1', '-k', pg.dir]
    pg.proc = spawn(join(bin, 'postgres'), args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: pg.dir, ...user })
    try {
      await waitForOutput(pg.proc, 'database system is ready to accept connections', { what: 'postgres', stream: 'stderr' })
    } catch (error) {
      await pg.stop()
      throw error
    }
    pg.proc.stderr.resume()
    pg.url = `postgres://yreplica@127.0.0.1:${pg.port}/postgres`
    return pg
  }

  /** A fast shutdown (SIGINT: committed transactions are on disk), then the directory goes. */
  async stop() {
    const proc = this.proc
    this.proc = null
    await signalAndWait(proc, 'SIGINT')
    rmSync(this.dir, { recursive: true, force: true })
  }
}
