// The two kinds of sync server as ServerProcesses: a stock @y/websocket-server and a
// Hocuspocus 4 server (dev/hocuspocus-server.mjs), each on a free loopback port.
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ServerProcess } from './server-process.mjs'
import { freePort } from './ports.mjs'

const require = createRequire(import.meta.url)

/** The entry point of each kind, for a caller that runs it some other way. */
export const SERVER_SCRIPTS = {
  'y-websocket': join(dirname(require.resolve('@y/websocket-server/package.json')), 'src', 'server.js'),
  hocuspocus: fileURLToPath(new URL('./hocuspocus-server.mjs', import.meta.url)),
}

/** A stock @y/websocket-server. */
export class YServer extends ServerProcess {
  constructor(port) {
    super(SERVER_SCRIPTS['y-websocket'], port)
  }

  static async start() {
    return new YServer(await freePort()).start()
  }
}

/** A Hocuspocus 4 server; `env` as dev/hocuspocus-server.mjs reads it (REDIS_PORT, TOKEN). */
export class HocuspocusServer extends ServerProcess {
  constructor(port, env = {}) {
    super(SERVER_SCRIPTS.hocuspocus, port, env)
  }

  static async start(env = {}) {
    return new HocuspocusServer(await freePort(), env).start()
  }
}

/** `n` YServers, started one after the other. */
export async function startServers(n) {
  const servers = []
  for (let i = 0; i < n; i++) servers.push(await YServer.start())
  return servers
}

export async function stopServers(servers) {
  await Promise.all(servers.map((s) => s.kill()))
}
