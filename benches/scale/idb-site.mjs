// A static site on loopback for the Chromium part: the repository and node_modules under one
// origin, with an import map for yreplica's browser entry, Yjs, y-indexeddb and lib0, and a
// page that puts them (and records.mjs) on `window`.
import { mkdtempSync, rmSync, symlinkSync, writeFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { serveDir } from '../../dev/static-server.mjs'

const root = fileURLToPath(new URL('../..', import.meta.url))

/** Returns { url, close() }: the page is `${url}/index.html`, ready when `window.ready`. */
export async function serveBenchSite() {
  const site = mkdtempSync(join(tmpdir(), 'yreplica-scale-site-'))
  symlinkSync(join(root, 'node_modules'), join(site, 'node_modules'))
  symlinkSync(root, join(site, 'yreplica'))
  const lib0 = Object.fromEntries(
    readdirSync(join(root, 'node_modules', 'lib0'))
      .filter((f) => f.endsWith('.js') && !f.includes('.test.'))
      .map((f) => [`lib0/${f.slice(0, -3)}`, `/node_modules/lib0/${f}`]),
  )
  const imports = { yreplica: '/yreplica/js/web.js', yjs: '/node_modules/yjs/dist/yjs.mjs', 'y-indexeddb': '/node_modules/y-indexeddb/src/y-indexeddb.js', ...lib0 }
  writeFileSync(join(site, 'index.html'), `<!doctype html>
<script type="importmap">${JSON.stringify({ imports })}</script>
<script type="module">
  import { Replica } from 'yreplica'
  import * as Y from 'yjs'
  import { IndexeddbPersistence } from 'y-indexeddb'
  import * as records from '/yreplica/benches/scale/records.mjs'
  import * as limits from '/yreplica/benches/scale/limits.mjs'
  Object.assign(window, { Replica, Y, IndexeddbPersistence, records, limits, ready: true })
</script>`)
  const http = await serveDir(site)
  return {
    url: http.url,
    async close() {
      await http.close()
      rmSync(site, { recursive: true, force: true })
    },
  }
}
