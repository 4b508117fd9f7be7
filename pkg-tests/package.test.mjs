// The packed tarball installed into an empty project: the same `import { Replica } from 'yreplica'`
// works in Node 20 and in a browser page (native ESM, import map, no bundler).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync, rmSync, existsSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { ENGINES, launchBrowser } from '../dev/browser.mjs'
import { serveDir } from '../dev/static-server.mjs'

const tarball = process.env.YREPLICA_TARBALL && resolve(process.env.YREPLICA_TARBALL)
let project

// The same checks run in Node and in the page; they return a summary to compare.
const APP = `
import { Replica } from 'yreplica'
export async function run() {
  const r = await Replica.open({ name: 'app', storage: 'memory' })
  const todos = r.collection('todos')
  const id = await todos.insert({ title: 'Buy milk', done: false, prio: 2 })
  await todos.insertMany([{ id: 'b', title: 'Bread', done: true, prio: 1 }, { id: 'c', title: 'Cheese', done: false, prio: 3 }])
  await todos.update(id, { done: true })
  const found = todos.find({ where: { done: false }, orderBy: '-prio' }).map((t) => t.title)
  let notFound = null
  try { await todos.update('missing', { a: 1 }) } catch (e) { notFound = e.code }
  let typeError = null
  try { await todos.insert({ when: new Date() }) } catch (e) { typeError = e instanceof TypeError && e.message.includes("'when'") }
  const deleted = await todos.delete('b')
  const state = r.encodeState().length > 0
  const result = { id: /^[0-9a-f-]{36}$/.test(id), got: todos.get(id), found, count: todos.count(), notFound, typeError, deleted, state, collections: r.collections() }
  await r.close()
  return result
}
`

const EXPECTED = (id) => ({
  id: true,
  got: { id, title: 'Buy milk', done: true, prio: 2 },
  found: ['Cheese'],
  count: 2,
  notFound: 'NOT_FOUND',
  typeError: true,
  deleted: true,
  state: true,
  collections: ['todos'],
})

before(() => {
  assert.ok(tarball && existsSync(tarball), 'YREPLICA_TARBALL must point at the packed package (scripts/test.mjs sets it)')
  project = mkdtempSync(join(tmpdir(), 'yreplica-empty-project-'))
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'empty-project', private: true, type: 'module' }))
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball], { cwd: project, stdio: 'inherit' })
  writeFileSync(join(project, 'app.mjs'), APP)
})

after(() => {
  if (project) rmSync(project, { recursive: true, force: true })
})

test('the tarball ships types, both builds, and no stray files', () => {
  const pkg = JSON.parse(readFileSync(join(project, 'node_modules/yreplica/package.json'), 'utf8'))
  assert.equal(pkg.exports['.'].types, './js/index.d.ts')
  for (const file of ['js/index.d.ts', 'js/web.js', 'js/node.js', 'pkg/web/yreplica_bg.wasm', 'pkg/node/yreplica_bg.wasm']) {
    assert.ok(existsSync(join(project, 'node_modules/yreplica', file)), `${file} is in the package`)
  }
  assert.ok(!existsSync(join(project, 'node_modules/yreplica/src')), 'Rust sources are not shipped')
})

test('Node 20 imports the installed package and does CRUD', () => {
  writeFileSync(join(project, 'node-main.mjs'), `import { run } from './app.mjs'\nconsole.log(JSON.stringify(await run()))\n`)
  const out = execFileSync(process.execPath, ['node-main.mjs'], { cwd: project, encoding: 'utf8' })
  const result = JSON.parse(out)
  assert.deepEqual(result, EXPECTED(result.got.id))
})

for (const engine of ENGINES) test(`a browser page imports the installed package natively and does CRUD [${engine}]`, async () => {
  writeFileSync(join(project, 'index.html'), `<!doctype html>
<script type="importmap">{ "imports": { "yreplica": "./node_modules/yreplica/js/web.js" } }</script>
<script type="module">
  import { run } from './app.mjs'
  run().then((r) => { window.__result = r }, (e) => { window.__result = { error: String(e && e.stack || e) } })
</script>`)
  // the browser first: if it cannot start, nothing else is left running
  const browser = await launchBrowser(engine)
  const server = await serveDir(project)
  try {
    const page = await browser.newPage()
    const errors = []
    page.on('pageerror', (e) => errors.push(String(e)))
    await page.goto(`${server.url}/index.html`)
    await page.waitForFunction(() => window.__result !== undefined, null, { timeout: 20_000 })
    const result = await page.evaluate(() => window.__result)
    assert.equal(result.error, undefined, result.error)
    assert.deepEqual(result, EXPECTED(result.got.id))
    assert.deepEqual(errors, [])
  } finally {
    await browser.close()
    await server.close()
  }
})

for (const engine of ENGINES) test(`the package runs under a strict Content-Security-Policy: no eval, no new Function [${engine}]`, async () => {
  // Only Wasm compilation is allowed ('wasm-unsafe-eval'); any eval() or Function() in the glue
  // or the facade would be refused and reported as a violation.
  const csp = "default-src 'self'; script-src 'self' 'nonce-yr' 'wasm-unsafe-eval'; connect-src 'self'"
  writeFileSync(join(project, 'csp.html'), `<!doctype html>
<script nonce="yr">
  window.__evalRefused = (() => { try { eval('1'); return false } catch { return true } })()
  window.__violations = []
  document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI))
</script>
<script nonce="yr" type="importmap">{ "imports": { "yreplica": "./node_modules/yreplica/js/web.js" } }</script>
<script nonce="yr" type="module">
  import { run } from './app.mjs'
  run().then((r) => { window.__result = r }, (e) => { window.__result = { error: String(e && e.stack || e) } })
</script>`)
  // the browser first: if it cannot start, nothing else is left running
  const browser = await launchBrowser(engine)
  const server = await serveDir(project, { 'content-security-policy': csp })
  try {
    const page = await browser.newPage()
    await page.goto(`${server.url}/csp.html`)
    await page.waitForFunction(() => window.__result !== undefined, null, { timeout: 20_000 })
    const result = await page.evaluate(() => window.__result)
    assert.equal(result.error, undefined, result.error)
    assert.deepEqual(result, EXPECTED(result.got.id))
    // the policy is really enforced: the page's own probe eval was refused, and reported as
    // the one violation; an eval or Function() in the package would add more
    assert.equal(await page.evaluate(() => window.__evalRefused), true)
    assert.deepEqual(await page.evaluate(() => window.__violations), ['script-src eval'])
  } finally {
    await browser.close()
    await server.close()
  }
})
