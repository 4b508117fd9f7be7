// The demo's HTTP server: the page and the library's browser build as static files, and a
// small JSON API over the server controller so the page can freeze, resume, kill and restart
// the demo servers.
import { execFileSync } from 'node:child_process'
import { createServer } from 'node:http'
import { staticFiles } from '../../dev/static-server.mjs'

const ACTIONS = ['freeze', 'resume', 'kill', 'restart']

/**
 * @param mounts URL prefix → directory, e.g. { '/js/': '<repo>/js', '/': '<repo>/examples/browser-todo' };
 *   the longest matching prefix wins, and nothing outside a mount's directory is served
 * @param controller a ServerController (dev/server-controller.mjs)
 */
export function createDemoServer({ mounts, controller }) {
  const files = staticFiles(mounts, { headers: { 'cache-control': 'no-store' } }) // edits to the example show on reload
  return createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://localhost')
      if (url.pathname.startsWith('/api/')) return await handleApi(req, res, url.pathname, controller)
      return await files(req, res)
    } catch (error) {
      send(res, 500, 'text/plain', `demo server error: ${error.message}`)
    }
  })
}

async function handleApi(req, res, pathname, controller) {
  if (pathname === '/api/servers') {
    if (req.method !== 'GET') return sendJson(res, 405, { error: 'use GET' })
    return sendJson(res, 200, controller.list().map((server) => ({ ...server, connections: connectionsTo(server.port) })))
  }
  const match = /^\/api\/servers\/(\d+)\/([a-z]+)$/.exec(pathname)
  if (!match) return sendJson(res, 404, { error: `no such API: ${pathname}` })
  const [, indexText, action] = match
  const server = controller.get(Number(indexText))
  if (!server) return sendJson(res, 404, { error: `no server ${indexText} (there are ${controller.servers.length})` })
  if (!ACTIONS.includes(action)) return sendJson(res, 404, { error: `unknown action '${action}' (expected ${ACTIONS.join(', ')})` })
  if (req.method !== 'POST') return sendJson(res, 405, { error: `use POST for ${action}` })
  if ((action === 'freeze' || action === 'resume') && server.state === 'killed') {
    return sendJson(res, 409, { error: `server ${server.index} is not running; restart it first` })
  }
  await server[action]()
  console.log(`controller: ${action} server ${server.index} (${server.url}) → ${server.state}`)
  return sendJson(res, 200, server.describe())
}

/**
 * How many TCP connections the server on `port` holds now, as the kernel counts them (`ss`),
 * so the page can show one connection per browser with leaderTab; null where `ss` is missing.
 */
function connectionsTo(port) {
  try {
    const out = execFileSync('ss', ['-Htn', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8', timeout: 2000 })
    return out.split('\n').filter((line) => line.trim() !== '').length
  } catch {
    return null
  }
}

function send(res, status, type, body) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' })
  res.end(body)
}

function sendJson(res, status, value) {
  send(res, status, 'application/json', JSON.stringify(value))
}
