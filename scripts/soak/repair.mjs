// Making standalone servers agree at the end of a y-websocket soak: @y/websocket-server
// processes do not replicate among themselves, so after the faults each holds what the
// replicas happened to send it. Two ways:
//   'cli'  `node bin/yreplica.mjs sync --room R url...`, the operator command for this;
//   'api'  the public API only: read each server's state with a memory replica, then open a
//          replica per server whose storage adapter loads the union, so its handshake sends
//          that server everything it lacks, and flush() proves the server applied it.
import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { openReader } from './observe.mjs'

const CLI = fileURLToPath(new URL('../../bin/yreplica.mjs', import.meta.url))

/** Whether bin/yreplica.mjs has a `sync` command (it answers `sync --help`). */
export function cliCanSync() {
  const run = spawnSync(process.execPath, [CLI, 'sync', '--help'], { encoding: 'utf8', timeout: 15_000 })
  return run.status === 0 && run.stdout.includes('yreplica sync')
}

export async function repairServers(urls, { room, protocol, method = cliCanSync() ? 'cli' : 'api' }) {
  const started = Date.now()
  if (method === 'cli') await repairWithCli(urls, { room, protocol })
  else await repairWithApi(urls, { room, protocol })
  return { method, ms: Date.now() - started }
}

function repairWithCli(urls, { room, protocol }) {
  const args = [CLI, 'sync', '--room', room, ...(protocol === 'hocuspocus' ? ['--protocol', 'hocuspocus'] : []), ...urls]
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (c) => (output += c))
    child.stderr.on('data', (c) => (output += c))
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve(output)
      else reject(new Error(`yreplica sync exited with ${signal ?? code}: ${output.trim().slice(-1000)}`))
    })
  })
}

async function repairWithApi(urls, { room, protocol }) {
  const states = []
  for (const url of urls) {
    const reader = await openReader(url, { room, protocol })
    states.push(reader.encodeState())
    await reader.close()
  }
  // An adapter holding the union: the replica "loads" it, and the handshake pushes it.
  const union = { load: async () => states, append: async () => {}, compact: async () => {}, close: async () => {} }
  for (const url of urls) {
    const writer = await openReader(url, { room, protocol, storage: union })
    try {
      await writer.flush({ timeoutMs: 15_000 })
    } finally {
      await writer.close()
    }
  }
}
