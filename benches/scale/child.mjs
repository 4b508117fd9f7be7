// The child side of bench:scale: every measurement runs in its own Node process, forked by
// run.mjs with its task as JSON in argv[2]. It reports { type: 'result', ok, value, notes }
// over IPC and exits; it also exits as soon as the parent goes away.

export function task() {
  return JSON.parse(process.argv[2] ?? '{}')
}

/** Sends a report to the parent; run by hand (no parent), prints it instead. */
function send(message) {
  return new Promise((resolve) => {
    if (typeof process.send !== 'function') {
      console.log(JSON.stringify(message, null, 1))
      return resolve()
    }
    if (!process.connected) return resolve()
    process.send(message, () => resolve())
  })
}

const cleanups = []

/** Runs `fn()` before the process exits (after the result, on errors and when the parent goes). */
export function onExit(fn) {
  cleanups.push(fn)
}

async function cleanUp() {
  while (cleanups.length > 0) {
    try {
      await cleanups.pop()()
    } catch {
      // keep cleaning up
    }
  }
}

let exiting = false
async function exit(code) {
  if (exiting) return
  exiting = true
  await cleanUp()
  process.exit(code)
}

process.on('disconnect', () => exit(1))
process.on('SIGTERM', () => exit(1))
process.on('SIGINT', () => exit(1))

/**
 * Runs `measure(task, note)` and reports its value. With `stay`, the process reports and then
 * keeps running (a filler holding a server's document) until the parent stops it.
 */
export async function runChild(measure, { stay = false } = {}) {
  const notes = []
  const note = (text) => notes.push(text)
  try {
    const value = await measure(task(), note)
    await send({ type: 'result', ok: true, value, notes })
    if (!stay) await exit(0)
  } catch (error) {
    await send({ type: 'result', ok: false, error: String(error?.stack ?? error), notes })
    await exit(1)
  }
}
