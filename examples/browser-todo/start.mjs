// npm start: three local @y/websocket-server processes under a small controller, and an HTTP
// server for the todo app (examples/browser-todo/) that lets the page freeze, resume, kill
// and restart them. Ctrl-C stops everything this started.
//
//   node examples/browser-todo/start.mjs [--http-port 8080] [--ws-ports 1234,1235,1236]
//   (0 = any free port; env YREPLICA_DEMO_HTTP_PORT / YREPLICA_DEMO_WS_PORTS work too)
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { ServerController } from '../../dev/server-controller.mjs'
import { createDemoServer } from './http.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')
const USAGE = `usage: node examples/browser-todo/start.mjs [--http-port N] [--ws-ports A,B,C]
  --http-port N     port of the page and controller API (default 8080; 0 = any free port)
  --ws-ports A,B,C  ports of the y-websocket servers (default 1234,1235,1236; 0 = any free port)
  env: YREPLICA_DEMO_HTTP_PORT, YREPLICA_DEMO_WS_PORTS`

function fail(message) {
  console.error(`yreplica demo: ${message}`)
  process.exit(1)
}

function parsePort(text, what) {
  const port = Number(text)
  if (!/^\d+$/.test(String(text).trim()) || port > 65535) fail(`${what} must be a port number 0-65535, got '${text}'\n${USAGE}`)
  return port
}

function readOptions() {
  let values
  try {
    ;({ values } = parseArgs({
      options: { 'http-port': { type: 'string' }, 'ws-ports': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }))
  } catch (error) {
    fail(`${error.message}\n${USAGE}`)
  }
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const httpText = values['http-port'] ?? process.env.YREPLICA_DEMO_HTTP_PORT ?? '8080'
  const wsText = values['ws-ports'] ?? process.env.YREPLICA_DEMO_WS_PORTS ?? '1234,1235,1236'
  const wsPorts = wsText.split(',').map((each) => parsePort(each, '--ws-ports'))
  const fixed = wsPorts.filter((port) => port !== 0)
  if (new Set(fixed).size !== fixed.length) fail(`--ws-ports lists a port twice: ${wsText}`)
  return { httpPort: parsePort(httpText, '--http-port'), wsPorts }
}

function portHint(port) {
  return `yreplica demo: port ${port} is already in use (an earlier demo still running?). ` +
    'Stop what uses it, or pick other ports: npm start -- --http-port 8081 --ws-ports 2234,2235,2236 (0 = any free port).'
}

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject)
      resolve(server.address().port)
    })
  })
}

const options = readOptions()
if (!existsSync(join(root, 'pkg', 'web', 'yreplica_bg.wasm'))) {
  fail('the browser build is missing (pkg/web). Run `npm run build` first, or use `npm start`.')
}

const controller = new ServerController(options.wsPorts)
const http = createDemoServer({
  controller,
  mounts: { '/': here, '/js/': join(root, 'js'), '/pkg/web/': join(root, 'pkg', 'web') },
})

// The page's port first: if it is taken, no server process has been started yet.
let httpPort
try {
  httpPort = await listen(http, options.httpPort)
} catch (error) {
  if (error.code === 'EADDRINUSE') {
    console.error(portHint(options.httpPort))
    process.exit(1)
  }
  throw error
}
try {
  await controller.start()
} catch (error) {
  http.close()
  if (error.code === 'EADDRINUSE') {
    console.error(portHint(error.port))
    process.exit(1)
  }
  fail(`could not start the y-websocket servers: ${error.message}`)
}

let stopping = false
async function stop(signal) {
  if (stopping) return
  stopping = true
  console.log(`\n${signal}: stopping the demo servers and the page server`)
  http.closeAllConnections()
  await Promise.all([controller.stop(), new Promise((resolve) => http.close(resolve))])
  process.exit(0)
}
process.on('SIGINT', () => stop('SIGINT'))
process.on('SIGTERM', () => stop('SIGTERM'))
for (const server of controller.servers) {
  server.onUnexpectedExit = (s, code, signal) => {
    // Ctrl-C in a terminal reaches the servers too (one process group): that is no news.
    if (stopping || signal === 'SIGINT') return
    console.log(`controller: server ${s.index} (${s.url}) exited by itself (${signal ?? code}); "Restart" brings it back`)
  }
}

const page = `http://127.0.0.1:${httpPort}/`
const list = controller.list()
console.log(`yreplica demo

  y-websocket servers (priority order):
${list.map((s) => `    ${s.index + 1}. ${s.url}   pid ${s.pid}`).join('\n')}

  Open the todo app:  ${page}

  What to try:
    • Open the page in two windows (or two browsers): todos added in one appear in the other.
    • Press "Freeze" on the active server (SIGSTOP): after a few missed heartbeats both pages
      move to the next server — watch the endpoints panel and the failover log.
    • Keep adding and completing todos, then "Resume": after a quiet period the pages return
      to server 1 (failback), and nothing is missing anywhere.
    • "Kill" and "Restart" a server, "Use this one" to pin an endpoint, "Fail over now".
    • "Drain for everyone" on the active server: every page leaves it at once (an operator
      directive, kept in the room) until "Restore"; "Promote for everyone" moves them all.
    • Kill every server: the app keeps working offline (IndexedDB) and syncs when one is back.

  Ctrl-C stops everything.
`)
// One line for scripts and tests that drive the demo.
console.log(`YREPLICA_DEMO ${JSON.stringify({ http: page, servers: list })}`)
