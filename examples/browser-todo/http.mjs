// The demo's HTTP server: the page and the library's browser build as static files, and a
// small JSON API over the server controller so the page can freeze, resume, kill and restart
// the demo servers.
import { createServer } from 'node:http'
import { readFile, stat } from 'node:fs/promises'
import { extname, join, resolve, sep } from 'node:path'

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.ts': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
}

const ACTIONS = ['freeze', 'resume', 'kill', 'restart']

/**
 * @param mounts URL prefix → directory, e.g. { '/js/': '<repo>/js', '/': '<repo>/examples/browser-todo' };
 *   the longest matching prefix wins, and nothing outside a mount's directory is served
 * @param controller a ServerController
 */
export function createDemoServer({ mounts, controller }) {
  const roots = Object.entries(mounts)
    .map(([prefix, dir]) => [prefix, resolve(dir)])
    .sort((a, b) => b[0].length - a[0].length)

  return createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://localhost')
      if (url.pathname.startsWith('/api/')) return await handleApi(req, res, url.pathname, controller)
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'method not allowed')
      const file = await locate(roots, url.pathname)
      if (file === null) return send(res, 404, 'text/plain', `not found: ${url.pathname}`)
      const body = await readFile(file)
      res.writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'cache-control': 'no-store', // edits to the example show on reload
      })
      res.end(req.method === 'HEAD' ? undefined : body)
    } catch (error) {
      send(res, 500, 'text/plain', `demo server error: ${error.message}`)
    }
  })
}

/** The file a URL path names inside one of the mounts, or null (missing, or outside the roots). */
async function locate(roots, pathname) {
  let decoded
  try {
    decoded = decodeURIComponent(pathname)
  } catch {
    return null
  }
  if (decoded.includes('\0')) return null
  for (const [prefix, dir] of roots) {
    if (!decoded.startsWith(prefix)) continue
    let file = resolve(dir, '.' + sep + decoded.slice(prefix.length))
    if (file !== dir && !file.startsWith(dir + sep)) return null // ../ escapes are refused
    try {
      if ((await stat(file)).isDirectory()) {
        file = join(file, 'index.html')
        await stat(file)
      }
      return file
    } catch {
      return null
    }
  }
  return null
}

async function handleApi(req, res, pathname, controller) {
  if (pathname === '/api/servers') {
    if (req.method !== 'GET') return sendJson(res, 405, { error: 'use GET' })
    return sendJson(res, 200, controller.list())
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

function send(res, status, type, body) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' })
  res.end(body)
}

function sendJson(res, status, value) {
  send(res, status, 'application/json', JSON.stringify(value))
}
