// npm run bench:leader-tab: one connection per browser. Handover time when the leader tab
// closes and when its main thread freezes (p50/p99 over --trials), and, for --tabs tabs of one
// origin, the connections and bytes per second the servers see with leaderTab off and on.
// Headless Chromium (dev/browser.mjs) against real @y/websocket-server processes, each
// behind a proxy that counts connections and bytes (dev/fault-proxy.mjs).
import { parseArgs } from 'node:util'
import { writeFileSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startServers, stopServers } from '../dev/servers.mjs'
import { FaultProxy } from '../dev/fault-proxy.mjs'
import { waitFor, sleep } from '../dev/wait.mjs'
import { ENGINES, launchBrowser } from '../dev/browser.mjs'
import { serveDir } from '../dev/static-server.mjs'

const { values: args } = parseArgs({
  options: {
    trials: { type: 'string', default: '20' },
    tabs: { type: 'string', default: '10' },
    'idle-seconds': { type: 'string', default: '10' },
    only: { type: 'string', default: 'handover,idle' },
    engines: { type: 'string', default: ENGINES.join(',') },
  },
})
const TRIALS = Number(args.trials)
const TABS = Number(args.tabs)
const IDLE_S = Number(args['idle-seconds'])
const ONLY = new Set(args.only.split(','))
const BROWSERS = args.engines.split(',')
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]
const fmt = (xs) => `p50 ${pct(xs, 50).toFixed(0)} ms, p99 ${pct(xs, 99).toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms (n=${xs.length})`

const site = mkdtempSync(join(tmpdir(), 'yreplica-bench-leader-'))
symlinkSync(ROOT, join(site, 'yreplica'))
writeFileSync(join(site, 'index.html'), `<!doctype html>
<script type="importmap">{ "imports": { "yreplica": "./yreplica/js/web.js" } }</script>
<script type="module">import { Replica } from 'yreplica'; window.Replica = Replica; window.ready = true</script>`)
const http = await serveDir(site)
let browser = null
const servers = await startServers(1)
const proxy = await new FaultProxy({ targetPort: servers[0].port }).start()

async function openTabs(context, n, name, options = {}) {
  const tabs = []
  for (let i = 0; i < n; i++) {
    const page = await context.newPage()
    await page.goto(`${http.url}/index.html`)
    await page.waitForFunction(() => window.ready === true)
    await page.evaluate(async ({ name, url, options }) => {
      window.replica = await window.Replica.open({ name, room: name, storage: 'memory', endpoints: [url], heartbeatIntervalMs: 1000, ...options })
    }, { name, url: proxy.url, options })
    tabs.push(page)
  }
  await waitFor(async () => (await Promise.all(tabs.map((t) => t.evaluate(() => window.replica.status.connection)))).every((c) => c === 'online'), 20_000, 'all online')
  return tabs
}

const leaderOf = async (tabs) => {
  const flags = await Promise.all(tabs.map((t) => t.evaluate(() => window.replica.isLeader).catch(() => false)))
  return tabs.filter((_, i) => flags[i])
}

async function handover(kind, trial) {
  const context = await browser.newContext()
  try {
    const tabs = await openTabs(context, 3, `handover-${kind}-${trial}`)
    const [leader] = await leaderOf(tabs)
    const others = tabs.filter((t) => t !== leader)
    const start = performance.now()
    if (kind === 'close') await leader.close()
    else leader.evaluate(() => { const until = Date.now() + 6000; while (Date.now() < until) { /* frozen */ } }).catch(() => {})
    // the new leader is online: its followers see it too
    await waitFor(async () => {
      const led = await leaderOf(others)
      return led.length === 1 && (await led[0].evaluate(() => window.replica.status.connection)) === 'online'
    }, { timeoutMs: 15_000, intervalMs: 5, what: 'a new leader online' })
    return performance.now() - start
  } finally {
    await context.close()
  }
}

async function idle(leaderTab) {
  const context = await browser.newContext()
  try {
    await openTabs(context, TABS, `idle-${leaderTab}`, { leaderTab })
    await sleep(1000)
    const connections = proxy.connections
    const before = { ...proxy.stats }
    await sleep(IDLE_S * 1000)
    const up = (proxy.stats.bytesUp - before.bytesUp) / IDLE_S
    const down = (proxy.stats.bytesDown - before.bytesDown) / IDLE_S
    return { connections, up, down }
  } finally {
    await context.close()
  }
}

try {
  for (const engine of BROWSERS) {
    browser = await launchBrowser(engine)
    if (ONLY.has('handover')) {
      for (const kind of ['close', 'freeze']) {
        const times = []
        for (let i = 0; i < TRIALS; i++) times.push(await handover(kind, i))
        console.log(`[${engine}] handover when the leader tab ${kind === 'close' ? 'closes' : 'freezes (main thread blocked)'}: ${fmt(times)}`)
      }
    }
    if (ONLY.has('idle')) {
      for (const leaderTab of [false, true]) {
        const r = await idle(leaderTab)
        console.log(`[${engine}] ${TABS} tabs, leaderTab ${leaderTab}: ${r.connections} connections at the server, idle ${r.up.toFixed(0)} B/s up, ${r.down.toFixed(0)} B/s down (heartbeat 1000 ms, ${IDLE_S} s)`)
      }
    }
    await browser.close()
    browser = null
  }
} finally {
  await browser?.close()
  await proxy.close()
  await stopServers(servers)
  await http.close()
  rmSync(site, { recursive: true, force: true })
}
