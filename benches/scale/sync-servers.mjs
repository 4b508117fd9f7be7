// The servers a fresh client syncs from: a stock @y/websocket-server and a Hocuspocus 4
// server (the test helpers' scripts), each its own process with a heap large enough to hold
// a 1M-record Yjs document, stopped with the run.
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ServerProcess, freePort } from '../../pkg-tests/helpers/servers.mjs'
import { track } from './processes.mjs'

const require = createRequire(import.meta.url)
const SCRIPTS = {
  'y-websocket': join(dirname(require.resolve('@y/websocket-server/package.json')), 'src', 'server.js'),
  hocuspocus: fileURLToPath(new URL('../../pkg-tests/helpers/hocuspocus-server.mjs', import.meta.url)),
}
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
