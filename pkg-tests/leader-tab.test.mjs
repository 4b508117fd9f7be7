// One connection per browser (leaderTab): tabs of one origin in headless Chromium elect one
// leader that holds the connections to real @y/websocket-server processes; each server sits
// behind a TCP proxy that counts the connections it carries.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startServers, stopServers } from '../dev/servers.mjs'
import { FaultProxy } from '../dev/fault-proxy.mjs'
import { readServer } from './helpers/read-server.mjs'
import { waitFor, sleep } from '../dev/wait.mjs'
import { ENGINES, launchBrowser } from '../dev/browser.mjs'
import { serveDir } from '../dev/static-server.mjs'

const here = dirname(fileURLToPath(import.meta.url))
/** The documented bound: a silent leader is replaced within LEADER_TIMEOUT_MS + JITTER_MS. */
const BOUND_MS = 2500

let site
let http
const browsers = {}

before(async () => {
  site = mkdtempSync(join(tmpdir(), 'yreplica-leader-tab-'))
  symlinkSync(join(here, 'node_modules'), join(site, 'node_modules'))
  writeFileSync(join(site, 'index.html'), `<!doctype html>
<script type="importmap">{ "imports": { "yreplica": "./node_modules/yreplica/js/web.js" } }</script>
<script type="module">import { Replica } from 'yreplica'; window.Replica = Replica; window.ready = true</script>`)
  http = await serveDir(site)
  for (const engine of ENGINES) browsers[engine] = await launchBrowser(engine)
})

after(async () => {
  for (const browser of Object.values(browsers)) await browser.close()
  await http?.close()
  if (site) rmSync(site, { recursive: true, force: true })
})

/** Three servers, each behind a proxy that counts connections. */
async function startProxiedServers(n = 3) {
  const servers = await startServers(n)
  const proxies = await Promise.all(servers.map((s) => new FaultProxy({ targetPort: s.port }).start()))
  return {
    servers,
    proxies,
    urls: proxies.map((p) => p.url),
    connections: () => proxies.map((p) => p.connections),
    async stop() {
      for (const s of servers) if (s.state === 'frozen') s.resume()
      await Promise.all(proxies.map((p) => p.close()))
      await stopServers(servers)
    },
  }
}

/** `n` tabs of one origin (one browser context), each with a replica named `name`. */
async function openTabs(context, n, name, urls, options = {}) {
  const tabs = []
  for (let i = 0; i < n; i++) {
    const page = await context.newPage()
    page.errors = []
    page.on('pageerror', (e) => page.errors.push(String(e)))
    await page.goto(`${http.url}/index.html`)
    await page.waitForFunction(() => window.ready === true)
    await page.evaluate(async ({ name, urls, options }) => {
      window.replica = await window.Replica.open({
        name, room: name, storage: 'memory', endpoints: urls,
        heartbeatIntervalMs: 300, missedHeartbeats: 2, connectTimeoutMs: 1000, backoff: { initialMs: 100, maxMs: 1000 }, failback: false,
        ...options,
      })
      window.failovers = []
      window.leaderEvents = []
      window.replica.on('failover', (f) => window.failovers.push(f))
      window.replica.on('leader', (l) => window.leaderEvents.push(l))
    }, { name, urls, options })
    tabs.push(page)
  }
  return tabs
}

const state = (page) => page.evaluate(() => ({ isLeader: window.replica.isLeader, status: window.replica.status }))

async function leaders(tabs) {
  const states = await Promise.all(tabs.map(state))
  return tabs.filter((_, i) => states[i].isLeader)
}

async function allOnlineAt(tabs, url) {
  await waitFor(async () => {
    const states = await Promise.all(tabs.map(state))
    return states.every((s) => s.status.connection === 'online' && s.status.endpoint === url)
  }, 15_000, `every tab online at ${url}`)
}


for (const engine of ENGINES) {
  test(`three tabs hold one connection; writes from each reach the server; a frozen server moves them together [${engine}]`, async () => {
    const browser = browsers[engine]
    const net = await startProxiedServers()
    const context = await browser.newContext()
    try {
      const tabs = await openTabs(context, 3, 'three', net.urls)
      await allOnlineAt(tabs, net.urls[0])
      assert.equal((await leaders(tabs)).length, 1)
      assert.deepEqual(net.connections(), [1, 0, 0], 'one connection for three tabs')

      const ids = []
      for (const [i, tab] of tabs.entries()) {
        ids.push(await tab.evaluate(async (i) => {
          const id = await window.replica.collection('todos').insert({ title: `from tab ${i}` })
          await window.replica.flush({ timeoutMs: 5000 })
          return id
        }, i))
      }
      const onServer = await readServer(net.urls[0], 'three')
      assert.deepEqual(ids.filter((id) => !onServer[id]), [], 'every tab\'s write is on the server')
      for (const tab of tabs) {
        await waitFor(() => tab.evaluate((ids) => ids.every((id) => window.replica.collection('todos').get(id)), ids), 5_000, 'every tab sees every write')
      }

      net.servers[0].freeze()
      await allOnlineAt(tabs, net.urls[1])
      for (const tab of tabs) {
        const failovers = await tab.evaluate(() => window.failovers)
        assert.deepEqual(failovers.map((f) => [f.to, f.reason]), [[net.urls[1], 'heartbeat']], 'one failover, the same for every tab')
      }
      await waitFor(() => net.connections()[1] === 1, 5_000, 'one connection to the new server')
      for (const tab of tabs) assert.deepEqual(tab.errors, [])
    } finally {
      await context.close()
      await net.stop()
    }
  })

  test(`closing the leader tab mid-burst: another tab leads at once, nothing is lost [${engine}]`, async () => {
    const browser = browsers[engine]
    const net = await startProxiedServers()
    const context = await browser.newContext()
    try {
      const tabs = await openTabs(context, 3, 'close', net.urls)
      await allOnlineAt(tabs, net.urls[0])
      const [leader] = await leaders(tabs)
      const followers = tabs.filter((t) => t !== leader)
      // the followers write without pause while the leader goes away
      const bursts = followers.map((tab, i) => tab.evaluate(async (i) => {
        const ids = []
        for (let k = 0; k < 60; k++) {
          ids.push(await window.replica.collection('todos').insert({ id: `t${i}-${k}`, k }))
          await new Promise((resolve) => setTimeout(resolve, 10))
        }
        return ids
      }, i))
      await sleep(150)
      const closedAt = Date.now()
      await leader.close()
      await waitFor(async () => (await leaders(followers)).length === 1, BOUND_MS, 'a new leader')
      const handover = Date.now() - closedAt
      const written = (await Promise.all(bursts)).flat()
      for (const tab of followers) await tab.evaluate(() => window.replica.flush({ timeoutMs: 10_000 }))
      const onServer = await readServer(net.urls[0], 'close')
      assert.deepEqual(written.filter((id) => !onServer[id]), [], 'every write is on the server')
      assert.ok(handover < BOUND_MS, `handover took ${handover} ms`)
      await waitFor(() => net.connections()[0] === 1, 5_000, 'one connection again')
    } finally {
      await context.close()
      await net.stop()
    }
  })

  test(`a leader whose main thread is blocked is replaced within the bound and does not reconnect when it wakes [${engine}]`, async () => {
    const browser = browsers[engine]
    const net = await startProxiedServers()
    const context = await browser.newContext()
    try {
      const tabs = await openTabs(context, 3, 'blocked', net.urls)
      await allOnlineAt(tabs, net.urls[0])
      const [leader] = await leaders(tabs)
      const followers = tabs.filter((t) => t !== leader)
      const blockedAt = Date.now()
      // 5 s of a busy main thread (not awaited: the page cannot answer meanwhile)
      const blocked = leader.evaluate(() => {
        const until = Date.now() + 5000
        while (Date.now() < until) {
          // busy
        }
      })
      // the bound, plus the timer slack of a loaded machine
      await waitFor(async () => (await leaders(followers)).length === 1, BOUND_MS + 3000, 'a follower took over')
      const takeover = Date.now() - blockedAt
      await blocked
      await sleep(1500) // the woken tab has had time to act
      const woken = await state(leader)
      assert.equal(woken.isLeader, false, 'the woken tab follows')
      assert.equal(await leader.evaluate(() => window.leaderEvents.at(-1)), false)
      await waitFor(() => net.connections().reduce((a, b) => a + b, 0) === 1, 5_000, 'one connection in all')
      assert.ok(takeover <= BOUND_MS + 1500, `takeover after ${takeover} ms`)
      // and it still writes, through the new leader
      await leader.evaluate(async () => {
        await window.replica.collection('todos').insert({ id: 'after-wake' })
        await window.replica.flush({ timeoutMs: 5000 })
      })
      assert.ok((await readServer(net.urls[0], 'blocked'))['after-wake'])
      const errors = await leader.evaluate(() => window.errors ?? [])
      assert.deepEqual(errors, [])
    } finally {
      await context.close()
      await net.stop()
    }
  })

  test(`leaderTab: false keeps one connection per tab [${engine}]`, async () => {
    const browser = browsers[engine]
    const net = await startProxiedServers()
    const context = await browser.newContext()
    try {
      const tabs = await openTabs(context, 3, 'each', net.urls, { leaderTab: false })
      await allOnlineAt(tabs, net.urls[0])
      await waitFor(() => net.connections()[0] === 3, 5_000, 'three connections')
      assert.equal((await leaders(tabs)).length, 3, 'each tab syncs itself')
    } finally {
      await context.close()
      await net.stop()
    }
  })
}
