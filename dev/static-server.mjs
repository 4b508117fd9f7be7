// Static files over HTTP on loopback: URL prefixes mapped to directories, nothing outside
// them served, a directory answered with its index.html. Used by the browser tests and
// benches (serveDir) and by the todo demo's server (staticFiles, next to its API).
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

/**
 * A request handler `(req, res) => Promise` that answers GET and HEAD from `mounts` (URL
 * prefix → directory, e.g. { '/js/': '<repo>/js', '/': '<site>' }; the longest matching
 * prefix wins), with `headers` on every file. Anything else: 404, or 405 for other methods.
 */
export function staticFiles(mounts, { headers = {} } = {}) {
  const roots = Object.entries(mounts)
    .map(([prefix, dir]) => [prefix, resolve(dir)])
    .sort((a, b) => b[0].length - a[0].length)
  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed')
    const { pathname } = new URL(req.url, 'http://localhost')
    const file = await locate(roots, pathname)
    if (file === null) return send(res, 404, `not found: ${pathname}`)
    let body
    try {
      body = await readFile(file)
    } catch (error) {
      return send(res, 500, `cannot read ${pathname}: ${error.message}`)
    }
    res.writeHead(200, { ...headers, 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' })
    res.end(req.method === 'HEAD' ? undefined : body)
  }
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

function send(res, status, text) {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
  res.end(text)
}

/** Serves `dir` on 127.0.0.1 at a free port, with extra response `headers`. Returns { url, port, close }. */
export async function serveDir(dir, headers = {}) {
  const handle = staticFiles({ '/': dir }, { headers })
  const server = createServer((req, res) => handle(req, res).catch((error) => send(res, 500, error.message)))
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () => {
      server.closeAllConnections()
      return new Promise((resolve) => server.close(resolve))
    },
  }
}
