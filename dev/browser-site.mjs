// A throwaway static site on loopback for Chromium pages that compare yreplica with Yjs +
// y-indexeddb: the repository's node_modules and a yreplica directory under one origin, an
// import map (yreplica's browser entry, yjs, y-indexeddb, lib0/*), and an index.html that
// puts Replica, Y, IndexeddbPersistence and any extra modules on `window`, then sets
// `window.ready`.
import { mkdtempSync, rmSync, symlinkSync, writeFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { serveDir } from './static-server.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const MODULES = join(ROOT, 'node_modules')

/**
 * @param yreplicaDir the package to load: the repository (default) or an installed copy
 *   (pkg-tests/node_modules/yreplica); served at /yreplica/
 * @param modules extra `window` names → module URLs, e.g. { records: '/yreplica/benches/scale/records.mjs' }
 * @returns {Promise<{ url: string, close(): Promise<void> }>} the page is `${url}/index.html`
 */
export async function serveBrowserSite({ yreplicaDir = ROOT, modules = {} } = {}) {
  const site = mkdtempSync(join(tmpdir(), 'yreplica-site-'))
  try {
    symlinkSync(MODULES, join(site, 'node_modules'))
    symlinkSync(yreplicaDir, join(site, 'yreplica'))
    const lib0 = Object.fromEntries(
      readdirSync(join(MODULES, 'lib0'))
        .filter((f) => f.endsWith('.js') && !f.includes('.test.'))
        .map((f) => [`lib0/${f.slice(0, -3)}`, `/node_modules/lib0/${f}`]),
    )
    const imports = {
      yreplica: '/yreplica/js/web.js',
      yjs: '/node_modules/yjs/dist/yjs.mjs',
      'y-indexeddb': '/node_modules/y-indexeddb/src/y-indexeddb.js',
      ...lib0,
    }
    const extra = Object.entries(modules).map(([name, url]) => `  import * as ${name} from ${JSON.stringify(url)}\n`).join('')
    writeFileSync(join(site, 'index.html'), `<!doctype html>
<script type="importmap">${JSON.stringify({ imports })}</script>
<script type="module">
  import { Replica } from 'yreplica'
  import * as Y from 'yjs'
  import { IndexeddbPersistence } from 'y-indexeddb'
${extra}  Object.assign(window, { Replica, Y, IndexeddbPersistence, ${Object.keys(modules).map((n) => `${n}, `).join('')}ready: true })
</script>`)
    const http = await serveDir(site)
    return {
      url: http.url,
      async close() {
        await http.close()
        rmSync(site, { recursive: true, force: true })
      },
    }
  } catch (error) {
    rmSync(site, { recursive: true, force: true })
    throw error
  }
}
