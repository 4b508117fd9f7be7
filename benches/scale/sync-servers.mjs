// The servers a fresh client syncs from: a stock @y/websocket-server and a Hocuspocus 4
// server (dev/servers.mjs' scripts), each its own process with a heap large enough to hold
// a 1M-record Yjs document, stopped with the run.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ServerProcess } from '../../dev/server-process.mjs'
import { SERVER_SCRIPTS as SCRIPTS } from '../../dev/servers.mjs'
import { freePort } from '../../dev/ports.mjs'
import { sleep } from '../../dev/wait.mjs'
import { track } from './processes.mjs'

const GUARD = fileURLToPath(new URL('./server-guard.mjs', import.meta.url))

export const SERVER_KINDS = Object.keys(SCRIPTS)

/** Starts a server of `kind` ('y-websocket' or 'hocuspocus'). Returns the ServerProcess (url, kill()). */
export async function startSyncServer(kind, heapMb) {
  const server = new ServerProcess(GUARD, await freePort(), {
    SCALE_SERVER_SCRIPT: SCRIPTS[kind],
    NODE_OPTIONS: `--max-old-space-size=${heapMb}`,
  })
  const untrack = track(() => server.proc?.kill('SIGKILL'))
  try {
    await server.start()
  } catch (error) {
    untrack()
    throw error
  }
  const kill = server.kill.bind(server)
  server.kill = async () => {
    await kill()
    untrack()
  }
  return server
}

function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100 // utime + stime, in ticks of 10 ms
}

/**
 * Resolves once the server has used under 5 % of a CPU for a whole second (up to
 * `timeoutMs`): a client that gave up may have left it preparing a large answer, which the
 * next client must not wait behind. Without /proc, waits a second.
 */
export async function whenIdle(server, timeoutMs = 10 * 60_000) {
  const pid = server.proc?.pid
  const start = Date.now()
  let before
  try {
    before = cpuMs(pid)
  } catch {
    await sleep(1000)
    return
  }
  while (Date.now() - start < timeoutMs) {
    await sleep(1000)
    const now = cpuMs(pid)
    if (now - before < 50) return
    before = now
  }
}
