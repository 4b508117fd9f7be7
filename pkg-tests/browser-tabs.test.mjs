// What tests of several tabs rely on, checked in both engines (and the pattern for them): three
// pages of one origin in one browser context share Web Locks and BroadcastChannel; a busy main
// thread stalls only its own tab; a lock held by a closed tab passes to a waiting one.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { waitFor } from '../dev/wait.mjs'
import { ENGINES, launchBrowser } from '../dev/browser.mjs'
import { serveBrowserSite } from '../dev/browser-site.mjs'

let http

before(async () => {
  http = await serveBrowserSite()
})

after(async () => {
  await http?.close()
})

for (const engine of ENGINES) {
  test(`three tabs of one origin: one lock holder, a busy tab stalls only itself, its lock passes on when it closes [${engine}]`, async () => {
    const browser = await launchBrowser(engine)
    try {
      const context = await browser.newContext()
      const tabs = []
      for (let i = 0; i < 3; i++) {
        const page = await context.newPage()
        await page.goto(`${http.url}/index.html`)
        await page.waitForFunction(() => window.ready === true)
        await page.evaluate(() => {
          window.ticks = 0
          setInterval(() => window.ticks++, 50)
          window.heard = []
          window.channel = new BroadcastChannel('tabs-test')
          window.channel.onmessage = (event) => window.heard.push(event.data)
          window.holds = false
          navigator.locks.request('leader', () => {
            window.holds = true
            return new Promise(() => {}) // held until the tab goes
          })
        })
        tabs.push(page)
      }
      const holders = async () => Promise.all(tabs.map((tab) => tab.evaluate(() => window.holds).catch(() => 'closed')))
      await waitFor(async () => (await holders()).includes(true), 5_000, 'a tab holds the lock')
      assert.deepEqual(await holders(), [true, false, false], 'the first tab to ask holds it; the others wait')

      // Block the holder's main thread for 3 s (not awaited: its evaluate returns when the loop ends).
      const [first, second, third] = tabs
      const busy = first.evaluate((ms) => {
        const end = Date.now() + ms
        while (Date.now() < end);
        return window.ticks
      }, 3_000)
      await new Promise((resolve) => setTimeout(resolve, 300))
      const before = await Promise.all([second, third].map((tab) => tab.evaluate(() => window.ticks)))
      await second.evaluate(() => window.channel.postMessage('sent while the first tab is busy'))
      await new Promise((resolve) => setTimeout(resolve, 1_000))
      const after = await Promise.all([second, third].map((tab) => tab.evaluate(() => window.ticks)))
      assert.ok(after.every((n, i) => n - before[i] >= 5), `the other tabs' timers ran on: ${before} → ${after}`)
      assert.deepEqual(await third.evaluate(() => window.heard), ['sent while the first tab is busy'])
      await busy
      // the busy tab gets the message once it is free again
      await waitFor(() => first.evaluate(() => window.heard.length === 1), 5_000, 'the busy tab hears the message afterwards')

      // The holder goes: one of the waiting tabs gets the lock.
      await first.close()
      await waitFor(async () => (await holders()).filter((h) => h === true).length === 1, 5_000, 'the lock passed on')
      await context.close()
    } finally {
      await browser.close()
    }
  })
}
