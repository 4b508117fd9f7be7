// The test runs of `npm test` (after setup and build): lints, native tests, the wasm surface in
// Node, headless Chromium and headless Firefox, then the packed package against real Yjs, Node,
// Chromium and Firefox.
// Each runner's own summary shows; the last line sums them up. Any failure fails the run.
//
// `--quick` (npm run test:quick) is the loop while changing code: the lints, the native tests
// and the pkg-tests that need neither a browser nor minutes of real servers.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { root, CHROMEDRIVER, GECKODRIVER } from './env.mjs'
import { installPackage } from './pkg-install.mjs'

const { values: flags } = parseArgs({ options: { quick: { type: 'boolean', default: false } } })

/** Per-test bound: a test that hangs fails with its name instead of stalling the run. */
const TEST_TIMEOUT_MS = 600_000

/** The pkg-tests of the quick loop: Node only, each well under a minute. */
const QUICK_PKG_TESTS = ['crud', 'cache', 'indexes', 'interop', 'storage', 'cli', 'hostile-server', 'live-query', 'validation'].map((name) => `pkg-tests/${name}.test.mjs`)

const LINTS = [
  ['rustfmt', 'cargo', ['fmt', '--all', '--', '--check']],
  ['clippy (native)', 'cargo', ['clippy', '--all-targets', '--', '-D', 'warnings']],
  ['clippy (wasm32)', 'cargo', ['clippy', '--target', 'wasm32-unknown-unknown', '--all-targets', '--', '-D', 'warnings']],
  ['eslint', process.execPath, ['node_modules/eslint/bin/eslint.js', '--max-warnings', '0', '.']],
]

const steps = flags.quick
  ? [...LINTS, ['core tests (native)', 'cargo', ['test']], ['packed package (pkg-tests, Node only)', null, QUICK_PKG_TESTS]]
  : [
      ...LINTS,
      ['core tests (native)', 'cargo', ['test']],
      ['wasm surface in Node', 'wasm-pack', ['test', '--node', '--', '--test', 'web_node']],
      ['wasm surface in headless Chromium', 'wasm-pack', ['test', '--headless', '--chrome', '--', '--test', 'web_browser']],
      // --geckodriver: the installed one, never a download; the capabilities file: Debian's
      // firefox-esr, with the prefs that stop its background connections.
      ['wasm surface in headless Firefox', 'wasm-pack', ['test', '--headless', '--firefox', '--geckodriver', GECKODRIVER, '--', '--test', 'web_browser'],
        { WASM_BINDGEN_TEST_WEBDRIVER_JSON: join(root, 'dev', 'firefox-webdriver.json') }],
      ['packed package (pkg-tests)', null, ['pkg-tests/']],
      ['soak planner and checker', process.execPath, ['--test', `--test-timeout=${TEST_TIMEOUT_MS}`, '--test-reporter=spec', 'scripts/soak/']],
      // A short seeded fault-injection soak (both dialects); `npm run soak -- --minutes 30` is the long one.
      ['fault-injection soak (short)', process.execPath, ['scripts/soak.mjs', '--minutes', '2', '--seed', '1']],
      // Replication keeps standalone servers copies of each other, with no repair.
      ['fault-injection soak (servers: 2, no repair)', process.execPath, ['scripts/soak.mjs', '--minutes', '1', '--seed', '2', '--dialect', 'y-websocket', '--servers', '2', '--repair', 'none']],
    ]

function runStep(cmd, args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let text = ''
    const relay = (stream) => (chunk) => {
      text += chunk
      stream.write(chunk)
    }
    child.stdout.on('data', relay(process.stdout))
    child.stderr.on('data', relay(process.stderr))
    child.on('close', (code) => resolve({ code, text }))
  })
}

/** Sums the counts that cargo/wasm-bindgen-test ("test result: ...") and node --test ("# pass N") print. */
function counts(text) {
  let passed = 0
  let failed = 0
  for (const m of text.matchAll(/test result: \w+\. (\d+) passed; (\d+) failed/g)) {
    passed += Number(m[1])
    failed += Number(m[2])
  }
  for (const m of text.matchAll(/^# pass (\d+)$/gm)) passed += Number(m[1])
  // the soak's checks: "  ok   name" / "  FAIL name"
  passed += [...text.matchAll(/^ {2}ok {3}\S/gm)].length
  failed += [...text.matchAll(/^ {2}FAIL \S/gm)].length
  for (const m of text.matchAll(/^# fail (\d+)$/gm)) failed += Number(m[1])
  return { passed, failed }
}

async function packageTests(files) {
  const tarball = await installPackage()
  return runStep(process.execPath, ['--test', `--test-timeout=${TEST_TIMEOUT_MS}`, '--test-reporter=spec', ...files], { YREPLICA_TARBALL: tarball })
}

const results = []
for (const [name, cmd, args, env = {}] of steps) {
  console.log(`\n=== ${name} ===`)
  const { code, text } = cmd === null ? await packageTests(args) : await runStep(cmd, args, { CHROMEDRIVER, GECKODRIVER, ...env })
  const c = counts(text)
  if (/^ℹ pass (\d+)$/m.test(text)) {
    c.passed += Number(text.match(/^ℹ pass (\d+)$/m)[1])
    c.failed += Number(text.match(/^ℹ fail (\d+)$/m)?.[1] ?? 0)
  }
  results.push({ name, ok: code === 0, ...c })
  console.log(`=== ${name}: ${code === 0 ? 'ok' : `FAILED (exit ${code})`} ===`)
}

console.log('\nsummary:')
for (const r of results) console.log(`  ${r.ok ? 'ok    ' : 'FAILED'} ${r.name}${r.passed + r.failed > 0 ? ` (${r.passed} passed, ${r.failed} failed)` : ''}`)
const passed = results.reduce((s, r) => s + r.passed, 0)
const failed = results.reduce((s, r) => s + r.failed, 0) + results.filter((r) => !r.ok && r.failed === 0).length
console.log(`tests: ${passed} passed, ${failed} failed`)
process.exit(results.every((r) => r.ok) ? 0 : 1)
