// The web build in headless Chromium and Firefox syncing with real servers: a CRUD round trip
// with a Node Yjs client, and failover when the first server is killed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { WebSocket } from 'ws'
import { startServers, stopServers } from '../dev/servers.mjs'
import { waitFor } from '../dev/wait.mjs'
import { ENGINES, launchBrowser } from '../dev/browser.mjs'
import { serveDir } from '../dev/static-server.mjs'

const here = dirname(fileURLToPath(import.meta.url))

for (const engine of ENGINES) test(`in ${engine}: sync with a Node Yjs client, then failover when the first server is killed`, async () => {
  // the browser first: if it cannot start, nothing else is left running
  const browser = await launchBrowser(engine)
  const servers = await startServers(2)
  const site = mkdtempSync(join(tmpdir(), 'yreplica-browser-sync-'))
  symlinkSync(join(here, 'node_modules'), join(site, 'node_modules'))
  writeFileSync(join(site, 'index.html'), `<!doctype html>
<script type="importmap">{ "imports": { "yreplica": "./node_modules/yreplica/js/web.js" } }</script>
<script type="module">import { Replica } from 'yreplica'; window.Replica = Replica; window.ready = true</script>`)
  const http = await serveDir(site)
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(servers[0].url, 'browser-room', doc, { WebSocketPolyfill: WebSocket, disableBc: true })
  try {
    const page = await browser.newPage()
    const pageErrors = []
    page.on('pageerror', (e) => pageErrors.push(String(e)))
    await page.goto(`${http.url}/index.html`)
    await page.waitForFunction(() => window.ready === true)
    await page.evaluate(async (endpoints) => {
      window.replica = await window.Replica.open({
        name: 'page', room: 'browser-room', storage: 'memory', endpoints, heartbeatIntervalMs: 300, connectTimeoutMs: 1000,
      })
      window.failovers = []
      window.replica.on('failover', (f) => window.failovers.push(f))
    }, servers.map((s) => s.url))
    const status = () => page.evaluate(() => window.replica.status)
    await waitFor(async () => (await status()).connection === 'online', 10_000, 'page online')

    const id = await page.evaluate(() => window.replica.collection('todos').insert({ title: 'from the page' }))
    await waitFor(() => doc.getMap('todos').get(id)?.get('title') === 'from the page', 5_000, 'node sees the page')
    doc.getMap('todos').set('n1', new Y.Map([['title', 'from node']]))
    await waitFor(() => page.evaluate(() => window.replica.collection('todos').get('n1')?.title === 'from node'), 5_000, 'page sees node')

    await servers[0].kill()
    await waitFor(async () => (await status()).endpoint === servers[1].url && (await status()).connection === 'online', 10_000, 'page failed over')
    const failovers = await page.evaluate(() => window.failovers)
    assert.deepEqual(failovers.map((f) => [f.from, f.to, f.reason]), [[servers[0].url, servers[1].url, 'closed']])
    await page.evaluate(async () => {
      await window.replica.collection('todos').insert({ id: 'after', title: 'after failover' })
      await window.replica.flush({ timeoutMs: 5000 })
    })
    const fresh = new Y.Doc()
    const reader = new WebsocketProvider(servers[1].url, 'browser-room', fresh, { WebSocketPolyfill: WebSocket, disableBc: true })
    await waitFor(() => reader.synced, 5_000, 'reader synced')
    const onServer = fresh.getMap('todos').toJSON()
    reader.destroy()
    fresh.destroy()
    assert.deepEqual(Object.keys(onServer).sort(), [id, 'after', 'n1'].sort())
    assert.deepEqual(pageErrors, [])
    await page.evaluate(() => window.replica.close())
  } finally {
    provider.destroy()
    doc.destroy()
    await browser.close()
    await http.close()
    await stopServers(servers)
    rmSync(site, { recursive: true, force: true })
  }
})
