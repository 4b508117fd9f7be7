// The `npm start` demo end to end: start.mjs with its three real y-websocket servers and its
// controller, the todo app in two headless browser contexts (so only the servers carry data
// between them; once in Chromium, once in Firefox), a freeze of the active server clicked in the page, failover, work on both
// sides, resume, failback, and nothing missing; an operator directive ("Drain for everyone",
// "Restore") clicked in one page and followed by all. Then Ctrl-C must leave nothing running.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { freePort, portIsFree } from '../dev/ports.mjs'
import { waitFor } from '../dev/wait.mjs'
import { ENGINES, launchBrowser } from '../dev/browser.mjs'
import { ROOT, processExists, runDemo, startDemo } from './helpers/demo.mjs'

const ARTIFACTS = join(ROOT, 'artifacts', 'demo')
const SCREENSHOT = join(ROOT, 'examples', 'browser-todo', 'screenshot.png')
const VIEWPORT = { width: 1000, height: 700 }
const WAIT = 15_000 // generous: two shared cores
// A short heartbeat so failover and failback happen within seconds.
const QUERY = '?db=e2e&hb=500&missed=2&failback=2000'

/** The todo list as the page shows it (filter "all"): [{ title, done }] in display order. */
const shownTodos = (page) =>
  page.$$eval('[data-testid=todo]', (items) =>
    items.map((li) => ({ title: li.querySelector('[data-testid=todo-title]')?.textContent, done: li.dataset.done === 'true' })))

const connectionOf = (page) =>
  page.$eval('[data-testid=connection]', (el) => ({ connection: el.dataset.connection, endpoint: el.dataset.endpoint }))

async function waitOnlineAt(page, url, what) {
  await waitFor(async () => {
    const { connection, endpoint } = await connectionOf(page)
    return connection === 'online' && endpoint === url
  }, WAIT, what)
}

async function addTodo(page, title) {
  await page.fill('[data-testid=new-todo]', title)
  await page.press('[data-testid=new-todo]', 'Enter')
  await page.locator('[data-testid=todo]', { hasText: title }).waitFor({ timeout: WAIT })
}

const todoRow = (page, title) => page.locator('[data-testid=todo]', { has: page.locator('[data-testid=todo-title]', { hasText: title }) })

async function waitForTodos(page, expected, what) {
  const sorted = (list) => [...list].sort((a, b) => a.title.localeCompare(b.title))
  try {
    await waitFor(async () => JSON.stringify(sorted(await shownTodos(page))) === JSON.stringify(sorted(expected)), WAIT, what)
  } catch (error) {
    assert.deepEqual(sorted(await shownTodos(page)), sorted(expected), error.message)
  }
}

const endpointCard = (page, url) => page.locator(`[data-testid=endpoint][data-url="${url}"]`)
const hostOf = (url) => url.replace(/^wss?:\/\//, '')

/** The directive line as the page shows it: its text, and the URLs it drains. */
const directiveOf = (page) =>
  page.$eval('[data-testid=directive]', (el) => ({ text: el.querySelector('[data-testid=directive-text]').textContent, drain: el.dataset.drain }))

for (const engine of ENGINES) test(`npm start demo: two pages sync, watch a frozen server fail over and back, nothing lost, Ctrl-C stops all [${engine}]`, async () => {
  // Chromium's pictures in artifacts/demo (and the README's screenshot), Firefox's beside them.
  const artifacts = engine === 'chromium' ? ARTIFACTS : `${ARTIFACTS}-${engine}`
  const updateScreenshot = process.env.UPDATE_SCREENSHOTS === '1' && engine === 'chromium'
  mkdirSync(artifacts, { recursive: true })
  // The README's screenshot shows the ports `npm start` uses, when they are free here.
  const defaultPorts = [1234, 1235, 1236]
  const useDefaults = updateScreenshot && (await Promise.all(defaultPorts.map(portIsFree))).every(Boolean)
  const demo = await startDemo(['--http-port', '0', '--ws-ports', useDefaults ? defaultPorts.join(',') : '0,0,0'])
  const { http, servers } = demo.info
  const [first, second] = servers.map((s) => s.url)
  let browser = null
  try {
    assert.equal(servers.length, 3)
    assert.ok(servers.every((s) => s.state === 'running' && s.pid > 0), JSON.stringify(servers))

    // The page server: the library's browser build with the right types, nothing outside its roots.
    const wasm = await fetch(new URL('/pkg/web/yreplica_bg.wasm', http))
    assert.equal(wasm.headers.get('content-type'), 'application/wasm')
    assert.equal((await fetch(new URL('/js/web.js', http))).headers.get('content-type'), 'text/javascript; charset=utf-8')
    for (const escape of ['/js/..%2f..%2fpackage.json', '/..%2fpackage.json', '/pkg/web/..%2f..%2fCargo.toml']) {
      assert.equal((await fetch(new URL(escape, http))).status, 404, escape)
    }
    assert.deepEqual((await (await fetch(new URL('/api/servers', http))).json()).map((s) => s.state), ['running', 'running', 'running'])
    assert.equal((await fetch(new URL('/api/servers/7/freeze', http), { method: 'POST' })).status, 404)

    browser = await launchBrowser(engine)
    const pages = []
    const pageErrors = []
    for (const name of ['A', 'B']) {
      // separate contexts: separate IndexedDB and no BroadcastChannel between them
      const context = await browser.newContext({ viewport: VIEWPORT })
      const page = await context.newPage()
      page.on('pageerror', (error) => pageErrors.push(`${name}: ${error}`))
      await page.goto(new URL(QUERY, http).href)
      await page.locator('body[data-ready=true]').waitFor({ timeout: WAIT })
      pages.push(page)
    }
    const [a, b] = pages
    await waitOnlineAt(a, first, 'page A online at server 1')
    await waitOnlineAt(b, first, 'page B online at server 1')

    // Todos added in one page appear in the other.
    await addTodo(a, 'A1 buy milk')
    await addTodo(a, 'A2 write docs')
    await addTodo(b, 'B1 call Bob')
    let expected = [
      { title: 'A1 buy milk', done: false },
      { title: 'A2 write docs', done: false },
      { title: 'B1 call Bob', done: false },
    ]
    await waitForTodos(a, expected, 'page A sees B1')
    await waitForTodos(b, expected, 'page B sees A1 and A2')
    await endpointCard(a, first).locator('[data-testid=endpoint-state]', { hasText: 'up' }).waitFor({ timeout: WAIT })
    await a.locator('[data-testid=sync-panel]').screenshot({ path: join(artifacts, 'endpoints-before.png') })

    // Freeze the active server the way a person does: its button in page A.
    await endpointCard(a, first).locator('[data-action=freeze]').click({ timeout: WAIT })
    for (const [page, name] of [[a, 'A'], [b, 'B']]) {
      await waitOnlineAt(page, second, `page ${name} failed over to server 2`)
      await page.locator(`[data-testid=failover-event][data-from="${first}"][data-to="${second}"][data-reason=heartbeat]`).waitFor({ timeout: WAIT })
      await endpointCard(page, first).and(page.locator('[data-process=frozen][data-state=down]')).waitFor({ timeout: WAIT })
      assert.equal(await endpointCard(page, second).getAttribute('data-active'), 'true')
    }

    // Both keep working through server 2: add, complete, edit inline, delete.
    await addTodo(a, 'A3 during failover')
    await addTodo(b, 'B2 during failover')
    await todoRow(a, 'B1 call Bob').locator('[data-testid=todo-toggle]').check()
    await todoRow(b, 'A1 buy milk').locator('[data-testid=todo-toggle]').check()
    await todoRow(b, 'A2 write docs').locator('[data-testid=todo-title]').dblclick()
    await b.fill('[data-testid=todo-edit-input]', 'A2 write docs (edited in B)')
    await b.press('[data-testid=todo-edit-input]', 'Enter')
    await addTodo(a, 'A4 to delete')
    await waitForTodos(b, [...expected, { title: 'A3 during failover', done: false }, { title: 'B2 during failover', done: false }, { title: 'A4 to delete', done: false }]
      .map((t) => (t.title === 'B1 call Bob' || t.title === 'A1 buy milk' ? { ...t, done: true } : t))
      .map((t) => (t.title === 'A2 write docs' ? { ...t, title: 'A2 write docs (edited in B)' } : t)), 'page B sees A\'s work during the failover')
    await todoRow(b, 'A4 to delete').hover() // the delete button shows on hover
    await todoRow(b, 'A4 to delete').locator('[data-testid=todo-delete]').click()
    expected = [
      { title: 'A1 buy milk', done: true },
      { title: 'A2 write docs (edited in B)', done: false },
      { title: 'B1 call Bob', done: true },
      { title: 'A3 during failover', done: false },
      { title: 'B2 during failover', done: false },
    ]
    await waitForTodos(a, expected, 'page A sees B\'s work during the failover')
    await waitForTodos(b, expected, 'page B has everything during the failover')
    await a.locator('[data-testid=sync-panel]').screenshot({ path: join(artifacts, 'endpoints-after-failover.png') })
    if (updateScreenshot) await a.screenshot({ path: SCREENSHOT, fullPage: true })

    // Resume from page B; after failbackAfterMs of answered probes both pages return to server 1.
    await endpointCard(b, first).locator('[data-action=resume]').click({ timeout: WAIT })
    for (const [page, name] of [[a, 'A'], [b, 'B']]) {
      await waitOnlineAt(page, first, `page ${name} failed back to server 1`)
      await page.locator(`[data-testid=failover-event][data-from="${second}"][data-to="${first}"][data-reason=failback]`).waitFor({ timeout: WAIT })
    }
    await addTodo(b, 'B3 after failback')
    expected = [...expected, { title: 'B3 after failback', done: false }]
    await waitForTodos(a, expected, 'page A has everything after failback')
    await waitForTodos(b, expected, 'page B has everything after failback')
    assert.deepEqual(await shownTodos(a), await shownTodos(b), 'both pages show the same list in the same order')
    for (const page of pages) await page.locator('[data-testid=pending][data-pending="0"]').waitFor({ timeout: WAIT })

    // Server 1 itself holds everything: a fresh page with an empty database loads it from there.
    const fresh = await (await browser.newContext({ viewport: VIEWPORT })).newPage()
    fresh.on('pageerror', (error) => pageErrors.push(`fresh: ${error}`))
    await fresh.goto(new URL('?db=e2e-fresh&hb=500', http).href)
    await waitOnlineAt(fresh, first, 'the fresh page online at server 1')
    await waitForTodos(fresh, expected, 'the fresh page loads everything from server 1')

    // The filter shows only the done ones.
    await a.click('[data-testid=filter-done]')
    await waitFor(async () => (await shownTodos(a)).length === 2, WAIT, 'filter done')
    assert.deepEqual((await shownTodos(a)).map((t) => t.title).sort(), ['A1 buy milk', 'B1 call Bob'])
    await a.click('[data-testid=filter-all]')
    await a.locator('[data-testid=sync-panel]').screenshot({ path: join(artifacts, 'endpoints-after-failback.png') })

    // "Drain for everyone" on server 1, clicked in page A: every page of the room (A, B and the
    // fresh one, all on server 1) leaves it at once for server 2, and each shows the directive.
    await endpointCard(a, first).locator('[data-action=drain]').click({ timeout: WAIT })
    for (const [page, name] of [[a, 'A'], [b, 'B'], [fresh, 'fresh']]) {
      await waitOnlineAt(page, second, `page ${name} drained off server 1`)
      await page.locator(`[data-testid=failover-event][data-from="${first}"][data-to="${second}"][data-reason=operator]`).waitFor({ timeout: WAIT })
      await page.locator(`[data-testid=directive][data-drain="${first}"]`).waitFor({ timeout: WAIT })
      const { text } = await directiveOf(page)
      assert.match(text, new RegExp(`^drain ${hostOf(first)} · by e2e`), `page ${name}: ${text}`)
      assert.equal(await page.textContent('[data-testid=active-endpoint]'), `via ${hostOf(second)}`)
      assert.equal(await endpointCard(page, first).getAttribute('data-directive'), 'drained')
      assert.equal(await endpointCard(page, first).getAttribute('class'), 'endpoint-card')
      assert.equal(await endpointCard(page, second).getAttribute('data-directive'), '')
      assert.equal(await endpointCard(page, first).locator('[data-action=drain]').isDisabled(), true)
      assert.equal(await page.locator('[data-testid=directive-restore]').isDisabled(), false)
    }
    // Work goes on through server 2, and nobody returns to server 1 while the drain stands
    // (failbackAfterMs is 2 s here; server 1 answers all along).
    await addTodo(b, 'B4 while drained')
    expected = [...expected, { title: 'B4 while drained', done: false }]
    await waitForTodos(a, expected, 'page A sees B\'s todo while server 1 is drained')
    for (const page of [a, b]) assert.equal((await connectionOf(page)).endpoint, second, 'no failback while drained')
    await a.locator('[data-testid=sync-panel]').screenshot({ path: join(artifacts, 'endpoints-drained.png') })

    // "Restore" in page A clears it in both; after failbackAfterMs both return to server 1.
    await a.locator('[data-testid=directive-restore]').click({ timeout: WAIT })
    for (const [page, name] of [[a, 'A'], [b, 'B']]) {
      await waitFor(async () => (await directiveOf(page)).text === 'none', WAIT, `page ${name} shows no directive`)
      assert.equal((await directiveOf(page)).drain, '')
      await waitOnlineAt(page, first, `page ${name} back at server 1 after the restore`)
      // the newest entry of the log (the one before it was the operator's move)
      await page.locator(`[data-testid=failover-event]:first-child[data-from="${second}"][data-to="${first}"][data-reason=failback]`).waitFor({ timeout: WAIT })
      assert.equal(await page.locator('[data-testid=directive-restore]').isDisabled(), true)
    }
    await fresh.close()

    // Kill and restart the third server from the page: the controller reports each state.
    const third = servers[2]
    await endpointCard(a, third.url).locator('[data-action=kill]').click({ timeout: WAIT })
    await endpointCard(a, third.url).and(a.locator('[data-process=killed]')).waitFor({ timeout: WAIT })
    assert.equal(processExists(third.pid), false, 'the killed server process is gone')
    await endpointCard(a, third.url).locator('[data-action=restart]').click({ timeout: WAIT })
    await endpointCard(a, third.url).and(a.locator('[data-process=running]')).waitFor({ timeout: WAIT })
    const restarted = (await (await fetch(new URL('/api/servers', http))).json())[2]
    assert.notEqual(restarted.pid, third.pid)
    servers[2] = restarted

    // Every server killed: page A keeps working offline, a second tab of A loads it from
    // IndexedDB, and once server 1 is back (restarted empty) B receives it through it.
    for (const s of servers) await fetch(new URL(`/api/servers/${s.index}/kill`, http), { method: 'POST' })
    await waitFor(async () => (await connectionOf(a)).connection !== 'online', WAIT, 'page A notices every server is gone')
    await addTodo(a, 'A5 offline')
    await a.locator('[data-testid=pending]:not([data-pending="0"])').waitFor({ timeout: WAIT })
    const secondTab = await a.context().newPage()
    secondTab.on('pageerror', (error) => pageErrors.push(`A's second tab: ${error}`))
    await secondTab.goto(new URL(QUERY, http).href)
    expected = [...expected, { title: 'A5 offline', done: false }]
    await waitForTodos(secondTab, expected, 'a second tab of A shows everything, offline')
    await endpointCard(b, first).locator('[data-action=restart]').click({ timeout: WAIT })
    await waitOnlineAt(a, first, 'page A back online at the restarted server 1')
    await waitForTodos(b, expected, 'page B receives the offline todo once server 1 is back')
    await a.locator('[data-testid=pending][data-pending="0"]').waitFor({ timeout: WAIT })
    servers[0] = (await (await fetch(new URL('/api/servers', http))).json())[0]

    assert.deepEqual(pageErrors, [])
    await browser.close()
    browser = null

    // Ctrl-C: exit 0 and nothing left listening or running.
    const exit = await demo.stop()
    assert.deepEqual(exit, { code: 0, signal: null }, demo.output())
    for (const port of [new URL(http).port, ...servers.map((s) => s.port)].map(Number)) {
      assert.equal(await portIsFree(port), true, `port ${port} is free after Ctrl-C`)
    }
    for (const s of servers) assert.equal(processExists(s.pid), false, `server process ${s.pid} is gone after Ctrl-C`)
  } finally {
    await browser?.close()
    await demo.stop()
    for (const s of servers) if (processExists(s.pid)) process.kill(s.pid, 'SIGKILL') // only after a failure
  }
})

for (const engine of ENGINES) test(`npm start demo: two windows of one browser share one connection; closing the leading one hands it to the other, nothing lost [${engine}]`, async () => {
  const demo = await startDemo(['--http-port', '0', '--ws-ports', '0,0,0'])
  const { http, servers } = demo.info
  const [first] = servers.map((s) => s.url)
  let browser = null
  try {
    browser = await launchBrowser(engine)
    // one context: the windows share BroadcastChannel, Web Locks and IndexedDB
    const context = await browser.newContext({ viewport: VIEWPORT })
    const pages = []
    const closed = new Set()
    for (let i = 0; i < 2; i++) {
      const page = await context.newPage()
      await page.goto(new URL('?db=e2e-leader&hb=500&missed=2&failback=2000', http).href)
      await page.locator('body[data-ready=true]').waitFor({ timeout: WAIT })
      await waitOnlineAt(page, first, `window ${i} online at server 1`)
      pages.push(page)
    }
    const leading = async () => {
      const flags = await Promise.all(pages.map((p) => (closed.has(p) ? 'closed' : p.locator('[data-testid=leader]').getAttribute('data-leader'))))
      return pages.filter((_, i) => flags[i] === 'true')
    }
    await waitFor(async () => (await leading()).length === 1, WAIT, 'one window leads')
    const connections = () => endpointCard(pages.find((p) => !closed.has(p)), first).locator('.process').getAttribute('data-connections')
    await waitFor(async () => (await connections()) === '1', WAIT, 'one connection to server 1 for two windows')
    const [leader] = await leading()
    const follower = pages.find((p) => p !== leader)
    await addTodo(follower, 'F1 from the follower')
    await addTodo(leader, 'L1 from the leader')
    await waitForTodos(follower, [{ title: 'F1 from the follower', done: false }, { title: 'L1 from the leader', done: false }], 'both todos in the follower')
    closed.add(leader)
    await leader.close()
    await follower.locator('[data-testid=leader][data-leader=true]').waitFor({ timeout: WAIT })
    await waitOnlineAt(follower, first, 'the other window online, now leading')
    await addTodo(follower, 'F2 after the handover')
    await waitFor(async () => (await connections()) === '1', WAIT, 'still one connection')
    // a fresh window in another browser context reads everything from the servers
    const reader = await (await browser.newContext({ viewport: VIEWPORT })).newPage()
    await reader.goto(new URL('?db=e2e-leader-reader&hb=500&missed=2&failback=2000', http).href)
    await reader.locator('body[data-ready=true]').waitFor({ timeout: WAIT })
    await waitForTodos(reader, [
      { title: 'F1 from the follower', done: false },
      { title: 'L1 from the leader', done: false },
      { title: 'F2 after the handover', done: false },
    ], 'the servers have every todo')
  } finally {
    await browser?.close()
    await demo.stop()
  }
})

test('npm start demo: a port in use is one clear line and exit code 1, with nothing left running', async () => {
  const busy = createServer()
  await new Promise((resolve) => busy.listen(0, '127.0.0.1', resolve))
  const port = busy.address().port
  const [p1, p2, p3] = [await freePort(), await freePort(), await freePort()]
  try {
    for (const args of [['--http-port', String(port), '--ws-ports', `${p1},${p2},${p3}`], ['--http-port', String(p1), '--ws-ports', `${p2},${port},${p3}`]]) {
      const result = await runDemo(args)
      for (const other of [p1, p2, p3]) assert.equal(await portIsFree(other), true, `port ${other} is free after the refusal`)
      assert.equal(result.code, 1, `${args.join(' ')}: ${result.stdout}${result.stderr}`)
      const lines = result.stderr.trim().split('\n')
      assert.equal(lines.length, 1, result.stderr)
      assert.match(lines[0], new RegExp(`port ${port} is already in use`))
      assert.match(lines[0], /--http-port .*--ws-ports/)
      assert.doesNotMatch(result.stdout, /YREPLICA_DEMO/)
    }
    const bad = await runDemo(['--ws-ports', '12,abc'])
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /--ws-ports must be a port number 0-65535, got 'abc'/)
  } finally {
    await new Promise((resolve) => busy.close(resolve))
  }
})
