// Everything the soak starts (server processes, Redis, replica processes, proxies, temp
// dirs) registers here, so it all stops on the way out: normally, on a failed check, on an
// exception, and on Ctrl-C / SIGTERM.
import { rmSync } from 'node:fs'

/** @type {Set<{ name: string, stop: () => Promise<void>, killNow?: () => void }>} */
const live = new Set()

/** Registers something to stop; returns a function that unregisters it. */
export function track(resource) {
  live.add(resource)
  return () => live.delete(resource)
}

/** Registers a temp directory to remove at the end. */
export function trackDir(dir) {
  return track({ name: dir, stop: async () => rmSync(dir, { recursive: true, force: true }), killNow: () => rmSync(dir, { recursive: true, force: true }) })
}

/** Stops everything still registered, newest first (replicas before servers, dirs last). */
export async function stopAll() {
  for (const resource of [...live].reverse()) {
    try {
      await resource.stop()
    } catch (error) {
      console.error(`soak: stopping ${resource.name} failed: ${error.message}`)
      try {
        resource.killNow?.()
      } catch {
        // already gone
      }
    }
    live.delete(resource)
  }
}

// Last resort, synchronous: the process is exiting (an uncaught error, process.exit).
process.on('exit', () => {
  for (const resource of [...live].reverse()) {
    try {
      resource.killNow?.()
    } catch {
      // already gone
    }
  }
})

let stopping = false
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (stopping) process.exit(130)
    stopping = true
    console.error(`\nsoak: ${signal}, stopping everything…`)
    stopAll().finally(() => process.exit(130))
  })
}
