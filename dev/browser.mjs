// Headless Chromium (Debian's /usr/bin/chromium, or CHROMIUM_PATH) driven by playwright-core:
// a throwaway browser, or one on a profile directory that outlives it.
import { chromium } from 'playwright-core'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync']

/** A headless browser with a fresh, throwaway profile. */
export function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS })
}

/** A headless browser context on `profile` (a directory): a second launch sees what the first stored. */
export function launchPersistentContext(profile) {
  return chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS })
}
