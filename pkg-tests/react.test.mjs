// yreplica/react with real React (react, react-dom; 19, the root's, and 18, from
// pkg-tests/react18/) in headless Chromium: a tiny app bundled
// with esbuild now, served from a temporary directory; a list (useFind), a record (useRecord)
// and the status (useStatus) follow local writes, remote writes of a plain Yjs client through
// real @y/websocket-servers, and a failover (the primary frozen); React's development build
// must warn about nothing (no tearing, no uncached snapshot); unmounting stops every
// subscription. And on the server, the hooks render their stable empty values.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { WebSocket } from 'ws'
import { build } from 'esbuild'
import { createElement as h } from 'react'
import { renderToString } from 'react-dom/server'
import { useFind, useRecord, useStatus } from 'yreplica/react'
import { Replica } from 'yreplica'
import { startServers, stopServers } from '../dev/servers.mjs'
import { waitFor } from '../dev/wait.mjs'
import { launchBrowser } from '../dev/browser.mjs'
import { serveDir } from '../dev/static-server.mjs'

const here = dirname(fileURLToPath(import.meta.url))

const APP = `
import { createElement as h, StrictMode, startTransition, version } from 'react'
import { createRoot } from 'react-dom/client'
import { useFind, useRecord, useStatus } from 'yreplica/react'
import { Replica } from 'yreplica'

window.reactVersion = version
window.start = async (endpoints) => {
  const replica = await Replica.open({ name: 'react', room: 'react-room', storage: 'memory', endpoints, heartbeatIntervalMs: 300, connectTimeoutMs: 1000 })
  const todos = replica.collection('todos')
  // count the subscriptions the hooks hold
  window.active = 0
  const subscribe = todos.subscribe.bind(todos)
  todos.subscribe = (listener) => { window.active++; const off = subscribe(listener); return () => { window.active--; off() } }
  const on = replica.on.bind(replica)
  replica.on = (event, listener) => { window.active++; const off = on(event, listener); return () => { window.active--; off() } }
  window.renders = 0
  function List() {
    const open = useFind(todos, { where: { done: false }, orderBy: ['title'] })
    window.renders++
    return h('ul', { id: 'list' }, open.map((t) => h('li', { key: t.id }, t.title)))
  }
  function One() {
    const pinned = useRecord(todos, 'pinned')
    return h('p', { id: 'one' }, pinned ? pinned.title : '(none)')
  }
  function Status() {
    const s = useStatus(replica)
    return h('p', { id: 'status', 'data-endpoint': s.endpoint ?? '' }, s.connection)
  }
  const root = createRoot(document.getElementById('root'))
  root.render(h(StrictMode, null, h(List), h(One), h(Status)))
  window.replica = replica
  window.todos = todos
  window.unmount = () => root.unmount()
  window.inTransition = (fn) => startTransition(fn)
}
window.ready = true
`

test('on the server the hooks render their stable empty values', async () => {
  const replica = await Replica.open({ name: 'ssr', storage: 'memory' })
  const todos = replica.collection('todos')
  await todos.insert({ id: 'a', title: 'not on the server' })
  const App = () => {
    const list = useFind(todos, {})
    const record = useRecord(todos, 'a')
    const status = useStatus(replica)
    return h('p', null, `${list.length} ${record === undefined} ${status.connection}`)
  }
  assert.equal(renderToString(h(App)), '<p>0 true offline</p>')
  await replica.close()
})

/** An esbuild plugin that takes react and react-dom (and their subpaths) from `dir`. */
function reactFrom(dir) {
  return {
    name: 'react-from',
    setup(b) {
      b.onResolve({ filter: /^(react|react-dom)(\/.*)?$/ }, (args) => {
        if (args.pluginData === 'react-from') return undefined
        return b.resolve(args.path, { resolveDir: dir, kind: args.kind, pluginData: 'react-from' })
      })
    },
  }
}

for (const [major, dir] of [['19', null], ['18', join(here, 'react18')]]) test(`in Chromium with React ${major}: hooks follow local writes, a plain Yjs client and a failover; unmount unsubscribes`, async () => {
  // the browser first: if it cannot start, nothing else is left running
  const browser = await launchBrowser()
  const servers = await startServers(2)
  const site = mkdtempSync(join(tmpdir(), 'yreplica-react-'))
  symlinkSync(join(here, 'node_modules'), join(site, 'node_modules'))
  await build({
    stdin: { contents: APP, resolveDir: here, loader: 'js' },
    bundle: true,
    format: 'esm',
    outfile: join(site, 'app.js'),
    define: { 'process.env.NODE_ENV': '"development"' },
    logLevel: 'silent',
    // the main entry stays a module of its own (its Wasm file is fetched next to it)
    plugins: [
      { name: 'yreplica-external', setup: (b) => b.onResolve({ filter: /^yreplica$/ }, () => ({ path: 'yreplica', external: true })) },
      ...(dir === null ? [] : [reactFrom(dir)]),
    ],
  })
  writeFileSync(join(site, 'index.html'), `<!doctype html>
<link rel="icon" href="data:,">
<script type="importmap">{ "imports": { "yreplica": "./node_modules/yreplica/js/web.js" } }</script>
<div id="root"></div><script type="module" src="./app.js"></script>`)
  const http = await serveDir(site)
  const doc = new Y.Doc()
  const providers = servers.map((s) => new WebsocketProvider(s.url, 'react-room', doc, { WebSocketPolyfill: WebSocket, disableBc: true }))
  try {
    const page = await browser.newPage()
    const problems = []
    page.on('pageerror', (e) => problems.push(String(e)))
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`)
    })
    await page.goto(`${http.url}/index.html`)
    await page.waitForFunction(() => window.ready === true)
    assert.equal((await page.evaluate(() => window.reactVersion)).split('.')[0], major)
    await page.evaluate((endpoints) => window.start(endpoints), servers.map((s) => s.url))
    const items = () => page.$$eval('#list li', (lis) => lis.map((li) => li.textContent))
    const text = (selector) => page.$eval(selector, (el) => el.textContent)
    await waitFor(async () => (await text('#status')) === 'online', 10_000, 'online')
    assert.equal(await page.$eval('#status', (el) => el.dataset.endpoint), servers[0].url)
    await waitFor(() => providers.every((p) => p.synced), 5_000, 'Yjs client synced')

    // local writes
    await page.evaluate(async () => {
      await window.todos.insert({ id: 'b', title: 'bread', done: false })
      await window.todos.insert({ id: 'a', title: 'apples', done: false })
    })
    await waitFor(async () => (await items()).join() === 'apples,bread', 5_000, 'local inserts listed')
    await page.evaluate(() => window.todos.update('a', { done: true }))
    await waitFor(async () => (await items()).join() === 'bread', 5_000, 'a done todo leaves the list')
    // an unrelated write renders nothing
    const before = await page.evaluate(() => window.renders)
    await page.evaluate(() => window.todos.update('a', { title: 'apples!' }))
    await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 100)))
    assert.equal(await page.evaluate(() => window.renders), before, 'a change outside the result does not render the list')
    // a write inside a transition
    await page.evaluate(() => window.inTransition(() => void window.todos.insert({ id: 'c', title: 'cheese', done: false })))
    await waitFor(async () => (await items()).join() === 'bread,cheese', 5_000, 'a write in a transition')

    // remote writes of a plain Yjs client
    doc.getMap('todos').set('r1', new Y.Map([['title', 'remote one'], ['done', false]]))
    doc.getMap('todos').set('pinned', new Y.Map([['title', 'pinned by Yjs'], ['done', true]]))
    await waitFor(async () => (await items()).join() === 'bread,cheese,remote one', 5_000, 'remote insert listed')
    await waitFor(async () => (await text('#one')) === 'pinned by Yjs', 5_000, 'useRecord sees the remote record')
    doc.getMap('todos').get('b').set('done', true)
    await waitFor(async () => (await items()).join() === 'cheese,remote one', 5_000, 'remote update moves a record out')

    // failover: the primary freezes, the page moves to the second server, the lists go on
    servers[0].freeze()
    await waitFor(async () => (await page.$eval('#status', (el) => el.dataset.endpoint)) === servers[1].url && (await text('#status')) === 'online', 15_000, 'failed over')
    doc.getMap('todos').set('r2', new Y.Map([['title', 'after failover'], ['done', false]]))
    await waitFor(async () => (await items()).join() === 'after failover,cheese,remote one', 10_000, 'remote insert after the failover')
    doc.getMap('todos').get('pinned').set('title', 'pinned, moved')
    await waitFor(async () => (await text('#one')) === 'pinned, moved', 5_000, 'useRecord after the failover')
    await page.evaluate(() => window.todos.insert({ id: 'd', title: 'dates', done: false }))
    await waitFor(async () => (await items()).join() === 'after failover,cheese,dates,remote one', 5_000, 'local write after the failover')
    await waitFor(() => doc.getMap('todos').get('d')?.get('title') === 'dates', 5_000, 'the Yjs client got it through the second server')
    servers[0].resume()

    // unmount: every subscription goes
    assert.ok((await page.evaluate(() => window.active)) > 0)
    await page.evaluate(() => window.unmount())
    assert.equal(await page.evaluate(() => window.active), 0, 'unmount stopped every subscription')
    const rendersAtUnmount = await page.evaluate(() => window.renders)
    await page.evaluate(() => window.todos.insert({ id: 'e', title: 'eggs', done: false }))
    assert.equal(await page.evaluate(() => window.renders), rendersAtUnmount)
    assert.deepEqual(problems, [])
    await page.evaluate(() => window.replica.close())
  } finally {
    for (const p of providers) p.destroy()
    doc.destroy()
    await browser.close()
    await http.close()
    await stopServers(servers)
    rmSync(site, { recursive: true, force: true })
  }
})

test('examples/react-todo builds with its own script and its page works', async () => {
  const { buildExample } = await import('../examples/react-todo/build.mjs')
  const dist = await buildExample()
  // the browser first: if it cannot start, nothing else is left running
  const browser = await launchBrowser()
  const servers = await startServers(1)
  const http = await serveDir(dist)
  try {
    const page = await browser.newPage()
    const problems = []
    page.on('pageerror', (e) => problems.push(String(e)))
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`)
    })
    await page.goto(`${http.url}/?endpoints=${servers[0].url}&room=example-${Date.now()}`)
    await page.waitForSelector('[data-testid=new-todo]')
    for (const title of ['Buy milk', 'Walk the dog']) {
      await page.fill('[data-testid=new-todo]', title)
      await page.press('[data-testid=new-todo]', 'Enter')
    }
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=todo-list] li').length === 2)
    await page.click('[data-testid=todo-list] li input[type=checkbox]')
    await page.waitForFunction(() => document.querySelector('[data-testid=todo-count]').textContent === '1 open · 1 done')
    await page.waitForFunction(() => document.querySelector('[data-testid=connection]').textContent.startsWith('online'))
    assert.deepEqual(problems, [])
  } finally {
    await browser.close()
    await http.close()
    await stopServers(servers)
  }
})
