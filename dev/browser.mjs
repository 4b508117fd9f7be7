// Headless browsers for the browser tests, one API for two engines:
//
// - 'chromium': Debian's /usr/bin/chromium (or CHROMIUM_PATH) driven by playwright-core. What
//   launchBrowser('chromium') returns IS Playwright's Browser, unchanged.
// - 'firefox': Debian's /usr/bin/firefox-esr (or FIREFOX_PATH) driven by puppeteer-core over
//   WebDriver BiDi (no geckodriver needed here; wasm-pack's Firefox run uses geckodriver). What
//   launchBrowser('firefox') returns is a small adapter with the same names and meanings as the
//   part of Playwright's API listed below, so one test body drives both engines.
//
// The shared API (use only this in a test meant for both engines):
//   browser: newContext({ viewport }), newPage(), close()             (browser.engine: the name)
//   context: newPage(), pages(), close()
//   page:    goto(url), reload(), close(), context(), evaluate(fn, arg), waitForFunction(fn, arg, { timeout }),
//            on('pageerror' | 'console', listener), $eval(sel, fn, arg), $$eval(sel, fn, arg),
//            click(sel), fill(sel, text), press(sel, key), textContent(sel), screenshot({ path, fullPage }),
//            locator(css, { hasText, has })
//   locator: locator(css, { hasText, has }), and(locator), waitFor({ state, timeout }), click(), dblclick(),
//            check(), hover(), fill(text), press(key), getAttribute(name), isDisabled(), textContent(),
//            screenshot({ path })
// Locators are strict as in Playwright: an action or waitFor on one that matches several elements
// throws. `hasText` is a case-insensitive substring of the element's text. Anything else
// (Chromium's DevTools protocol, Playwright's auto-retrying assertions) is Chromium only: check
// `browser.engine` and skip in Firefox with the reason.
//
// Several tabs of one origin: `const context = await browser.newContext()`, then
// `await context.newPage()` three times: the pages share IndexedDB, BroadcastChannel and Web
// Locks, as tabs do. To block one tab's main thread, start a busy loop in it without awaiting
// it: `const busy = page.evaluate((ms) => { const end = Date.now() + ms; while (Date.now() < end); }, 3000)`,
// work with the other pages meanwhile, then `await busy`.
import { readFileSync } from 'node:fs'
import { chromium } from 'playwright-core'
import puppeteer from 'puppeteer-core'

export const ENGINES = ['chromium', 'firefox']
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
export const FIREFOX = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr'
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync']
/** Firefox preferences that stop its background connections (updates, telemetry, safe browsing,
 * captive-portal and connectivity checks, DNS over HTTPS); shared with wasm-pack's geckodriver run. */
export const FIREFOX_WEBDRIVER_JSON = new URL('./firefox-webdriver.json', import.meta.url)
const FIREFOX_PREFS = JSON.parse(readFileSync(FIREFOX_WEBDRIVER_JSON, 'utf8'))['moz:firefoxOptions'].prefs
const FIREFOX_NETWORK_REPORT = /^(Firefox can.t establish a connection to the server at wss?:|The connection to wss?:\S+ was interrupted while the page was loading\.)/
const DEFAULT_VIEWPORT = { width: 1280, height: 720 } // Playwright's
const DEFAULT_TIMEOUT = 30_000 // Playwright's

/** A headless browser with a fresh, throwaway profile. `firefoxPrefs`: more preferences for
 * Firefox (e.g. { 'dom.quotaManager.temporaryStorage.fixedLimit': 200 } for a 200 KB quota). */
export async function launchBrowser(engine = 'chromium', { firefoxPrefs = {} } = {}) {
  if (engine === 'chromium') {
    const browser = await launchChromium()
    browser.engine = 'chromium'
    return browser
  }
  if (engine === 'firefox') return new FirefoxBrowser(await launchFirefox({ extraPrefsFirefox: { ...FIREFOX_PREFS, ...firefoxPrefs } }))
  throw new Error(`unknown browser engine '${engine}' (one of ${ENGINES.join(', ')})`)
}

/** Debian's Chromium now and then dies during start-up ("Target page, context or browser has
 * been closed" before any page): that is the browser, not the code under test, so a failed launch
 * is tried again, up to three times. */
async function launchChromium(attempts = 3) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS })
    } catch (error) {
      if (attempt >= attempts) throw error
      console.error(`Chromium did not start (attempt ${attempt} of ${attempts}): ${error.message.split('\n')[0]}`)
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
  }
}

/** A headless browser context on `profile` (a directory): a second launch sees what the first
 * stored. Closing the context closes its browser. */
export async function launchPersistentContext(profile, engine = 'chromium') {
  if (engine === 'chromium') return chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS })
  if (engine === 'firefox') {
    const browser = new FirefoxBrowser(await launchFirefox({ userDataDir: profile }))
    const context = new FirefoxContext(browser, browser.raw.defaultBrowserContext(), {})
    context.close = () => browser.close()
    return context
  }
  throw new Error(`unknown browser engine '${engine}' (one of ${ENGINES.join(', ')})`)
}

function launchFirefox(options) {
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    extraPrefsFirefox: FIREFOX_PREFS,
    defaultViewport: null, // set per page: see setViewport
    protocolTimeout: 120_000,
    ...options,
  })
}

class FirefoxBrowser {
  engine = 'firefox'
  #contexts = new Set()
  constructor(raw) {
    /** puppeteer-core's Browser, for what the adapter lacks (Firefox only). */
    this.raw = raw
  }

  async newContext({ viewport = DEFAULT_VIEWPORT } = {}) {
    const context = new FirefoxContext(this, await this.raw.createBrowserContext(), { viewport })
    this.#contexts.add(context)
    return context
  }

  /** A page in a new context of its own, as Playwright's browser.newPage(). */
  async newPage() {
    const context = await this.newContext()
    const page = await context.newPage()
    page.ownsContext = true
    return page
  }

  /** Closes the browser; kills its process if it does not exit within 10 s. */
  async close() {
    const process = this.raw.process()
    let timer
    const hang = new Promise((resolve) => (timer = setTimeout(resolve, 10_000, 'hang')))
    const outcome = await Promise.race([this.raw.close().catch(() => {}), hang])
    clearTimeout(timer)
    if (outcome === 'hang' && process && process.exitCode === null) process.kill('SIGKILL')
  }
}

class FirefoxContext {
  #pages = []
  constructor(browser, raw, { viewport = DEFAULT_VIEWPORT }) {
    this.browser = () => browser
    this.raw = raw
    this.viewport = viewport
  }

  /** Each page in a window of its own: a Firefox tab behind another is hidden, and its timers
   * run at most once a second (and an element screenshot of it never finishes); Chromium's
   * headless pages are all visible. */
  async newPage() {
    const raw = await this.raw.newPage({ type: 'window' })
    if (this.viewport) await setViewport(raw, this.viewport)
    const page = new FirefoxPage(this, raw)
    this.#pages.push(page)
    return page
  }

  pages() {
    return [...this.#pages]
  }

  async close() {
    await this.raw.close()
  }
}

/** puppeteer-core sends BiDi's browsingContext.setViewport and, with it, an
 * emulation.setScreenOrientationOverride that Firefox 140 ESR does not know: the viewport is set,
 * only the orientation is refused. */
async function setViewport(raw, viewport) {
  try {
    await raw.setViewport(viewport)
  } catch (error) {
    if (!/unknown command emulation\.setScreenOrientationOverride/.test(error.message)) throw error
  }
}

class FirefoxPage {
  ownsContext = false
  constructor(context, raw) {
    this.#context = context
    /** puppeteer-core's Page (Firefox only). */
    this.raw = raw
  }

  #context
  context() {
    return this.#context
  }

  /** 'pageerror' listeners get an Error; 'console' ones a message with text(). Firefox reports a
   * WebSocket that cannot connect, or is cut by a navigation, as a script error where Chromium
   * logs it to the console (the page itself sees only the socket's error and close events):
   * those are not passed to 'pageerror', so it means an uncaught exception in both engines. */
  on(event, listener) {
    if (event === 'pageerror') {
      this.raw.on(event, (error) => {
        if (!FIREFOX_NETWORK_REPORT.test(error.message)) listener(error)
      })
    } else this.raw.on(event, listener)
    return this
  }

  goto(url) {
    return this.raw.goto(url, { waitUntil: 'load' })
  }

  reload() {
    return this.raw.reload({ waitUntil: 'load' })
  }

  evaluate(fn, arg) {
    return arg === undefined ? this.raw.evaluate(fn) : this.raw.evaluate(fn, arg)
  }

  /** Polls `fn` from here (puppeteer's own waitForFunction builds a Function in the page, which
   * a strict Content-Security-Policy refuses); resolves with its first truthy value. */
  async waitForFunction(fn, arg, { timeout = DEFAULT_TIMEOUT } = {}) {
    const deadline = Date.now() + timeout
    for (;;) {
      const value = await this.evaluate(fn, arg ?? undefined).catch((error) => {
        // a navigation in between destroys the context: try again in the next one
        if (/context|navigat|destroyed|discarded/i.test(error.message)) return undefined
        throw error
      })
      if (value) return value
      if (Date.now() > deadline) throw new Error(`waitForFunction: ${fn} was not true within ${timeout} ms`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  $eval(selector, fn, arg) {
    return arg === undefined ? this.raw.$eval(selector, fn) : this.raw.$eval(selector, fn, arg)
  }

  $$eval(selector, fn, arg) {
    return arg === undefined ? this.raw.$$eval(selector, fn) : this.raw.$$eval(selector, fn, arg)
  }

  locator(css, options = {}) {
    return new FirefoxLocator(this, spec(css, options, null))
  }

  click(selector, options) {
    return this.locator(selector).click(options)
  }

  fill(selector, text, options) {
    return this.locator(selector).fill(text, options)
  }

  press(selector, key, options) {
    return this.locator(selector).press(key, options)
  }

  textContent(selector, options) {
    return this.locator(selector).textContent(options)
  }

  screenshot(options) {
    return this.raw.screenshot(options)
  }

  async close() {
    if (this.ownsContext) await this.#context.close()
    else await this.raw.close()
  }
}

function spec(css, { hasText = null, has = null } = {}, parent) {
  return { css, hasText, has: has ? has.spec : null, and: null, parent }
}

/** In the page: the elements a locator spec matches, in document order. Self-contained (it is
 * sent to the page as source). */
function locateAll(spec) {
  const all = (s, scope) => {
    const scopes = s.parent ? all(s.parent, scope) : [scope]
    const found = []
    for (const sc of scopes) for (const el of sc.querySelectorAll(s.css)) if (!found.includes(el)) found.push(el)
    const text = (el) => (el.textContent ?? '').replace(/\s+/g, ' ').toLowerCase()
    return found.filter(
      (el) =>
        (s.hasText === null || text(el).includes(s.hasText.replace(/\s+/g, ' ').toLowerCase())) &&
        (s.has === null || all(s.has, el).length > 0) &&
        (s.and === null || all(s.and, document).includes(el)),
    )
  }
  return all(spec, document)
}

/** In the page: [how many match, is the first one visible, is it enabled]. */
function probe(elements) {
  const el = elements[0]
  if (!el) return [0, false, false]
  const box = el.getBoundingClientRect()
  const visible = box.width > 0 && box.height > 0 && getComputedStyle(el).visibility !== 'hidden'
  return [elements.length, visible, !el.disabled]
}

class FirefoxLocator {
  constructor(page, spec) {
    this.page = page
    this.spec = spec
  }

  locator(css, options = {}) {
    return new FirefoxLocator(this.page, spec(css, options, this.spec))
  }

  and(other) {
    const both = structuredClone(this.spec)
    let last = both
    while (last.and) last = last.and
    last.and = other.spec
    return new FirefoxLocator(this.page, both)
  }

  toString() {
    const part = (s) => `${s.parent ? `${part(s.parent)} >> ` : ''}${s.css}${s.hasText !== null ? ` [hasText=${JSON.stringify(s.hasText)}]` : ''}${s.has ? ` [has=${part(s.has)}]` : ''}${s.and ? ` [and ${part(s.and)}]` : ''}`
    return `locator(${part(this.spec)})`
  }

  async #probe() {
    const handle = await this.page.raw.evaluateHandle(locateAll, this.spec)
    try {
      return await handle.evaluate(probe)
    } finally {
      await handle.dispose()
    }
  }

  /** Polls until `ready([count, visible, enabled])` holds; strict: more than one match throws. */
  async #until(what, ready, { timeout = DEFAULT_TIMEOUT, strict = true } = {}) {
    const deadline = Date.now() + timeout
    let last = [0, false, false]
    for (;;) {
      last = await this.#probe().catch(() => [0, false, false]) // a navigation in between
      if (strict && last[0] > 1) throw new Error(`strict mode violation: ${this} matches ${last[0]} elements`)
      if (ready(last)) return last
      if (Date.now() > deadline) throw new Error(`${this}: not ${what} within ${timeout} ms (matches ${last[0]}, visible ${last[1]}, enabled ${last[2]})`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  async waitFor({ state = 'visible', timeout = DEFAULT_TIMEOUT } = {}) {
    const ready = {
      attached: ([n]) => n === 1,
      visible: ([n, visible]) => n === 1 && visible,
      hidden: ([n, visible]) => n === 0 || !visible,
      detached: ([n]) => n === 0,
    }[state]
    if (!ready) throw new Error(`waitFor: unknown state '${state}'`)
    await this.#until(state, ready, { timeout, strict: state === 'attached' || state === 'visible' })
  }

  /** The one matching element, once it is there (and visible and enabled, for an action). */
  async #element(forAction, options = {}) {
    await this.#until(forAction ? 'visible and enabled' : 'attached', ([n, visible, enabled]) => n === 1 && (!forAction || (visible && enabled)), options)
    const list = await this.page.raw.evaluateHandle(locateAll, this.spec)
    const element = (await list.evaluateHandle((elements) => elements[0])).asElement()
    await list.dispose()
    if (!element) throw new Error(`${this}: the element went away`)
    return element
  }

  async #act(options, fn) {
    const element = await this.#element(true, options)
    try {
      return await fn(element)
    } finally {
      await element.dispose()
    }
  }

  click(options) {
    return this.#act(options, (el) => el.click())
  }

  dblclick(options) {
    return this.#act(options, (el) => el.click({ count: 2 }))
  }

  hover(options) {
    return this.#act(options, (el) => el.hover())
  }

  check(options) {
    return this.#act(options, async (el) => {
      if (!(await el.evaluate((e) => e.checked))) await el.click()
      if (!(await el.evaluate((e) => e.checked))) throw new Error(`${this}: clicking did not check it`)
    })
  }

  /** As Playwright's fill: focus, select what is there, insert the text (one input event). */
  fill(text, options) {
    return this.#act(options, (el) =>
      el.evaluate((e, value) => {
        e.focus()
        e.select?.()
        if (value === '' || !document.execCommand('insertText', false, value)) {
          e.value = value
          e.dispatchEvent(new Event('input', { bubbles: true }))
        }
      }, text),
    )
  }

  press(key, options) {
    return this.#act(options, (el) => el.press(key))
  }

  screenshot(options) {
    return this.#act({}, (el) => el.screenshot(options))
  }

  async #read(options, fn, arg) {
    const element = await this.#element(false, options)
    try {
      return await element.evaluate(fn, arg)
    } finally {
      await element.dispose()
    }
  }

  getAttribute(name, options) {
    return this.#read(options, (e, n) => e.getAttribute(n), name)
  }

  isDisabled(options) {
    return this.#read(options, (e) => e.disabled === true)
  }

  textContent(options) {
    return this.#read(options, (e) => e.textContent)
  }
}
