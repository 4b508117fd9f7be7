// Waiting on something that happens, instead of sleeping a fixed time: a condition polled
// until it holds, or a line a child process prints; each gives up after a timeout that names
// what it waited for.

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Sends child process `proc` each of `signals` in turn (unless it has ended) and waits until it is gone. */
export async function signalAndWait(proc, ...signals) {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return
  const gone = new Promise((resolve) => proc.once('exit', resolve))
  for (const signal of signals) proc.kill(signal)
  await gone
}

/**
 * Polls `predicate` (may be async) until it returns something truthy, and resolves with it.
 * Rejects after `timeoutMs` with "timed out after N ms waiting for <what>".
 *
 *   await waitFor(() => replica.status.connection === 'online', { timeoutMs: 10_000, what: 'online' })
 *
 * The older positional form `waitFor(predicate, timeoutMs, what)` works too.
 */
export async function waitFor(predicate, options = {}, legacyWhat) {
  const { timeoutMs = 10_000, what = 'condition', intervalMs = 20 } =
    typeof options === 'number' ? { timeoutMs: options, what: legacyWhat } : options
  const start = Date.now()
  for (;;) {
    const value = await predicate()
    if (value) return value
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(intervalMs)
  }
}

/**
 * Resolves once child process `proc` has printed `text` on `stream` (stdout unless given; pieces split across
 * chunks count). Rejects when the process ends first (the error has `exitCode` and `signal`;
 * it fires on 'close', so all of stderr has been read by then) or after `timeoutMs` (the
 * error has `timedOut: true`).
 */
export function waitForOutput(proc, text, { timeoutMs = 15_000, what = 'the process', stream = 'stdout' } = {}) {
  const output = proc[stream]
  return new Promise((resolve, reject) => {
    let seen = ''
    const done = () => {
      clearTimeout(timer)
      output.off('data', onData)
      proc.off('close', onClose)
    }
    const onData = (chunk) => {
      seen = (seen + chunk).slice(-(text.length + 4096))
      if (!seen.includes(text)) return
      done()
      resolve()
    }
    const onClose = (code, signal) => {
      done()
      reject(Object.assign(new Error(`${what} exited (${signal ?? `code ${code}`}) before printing '${text}'`), { exitCode: code, signal }))
    }
    const timer = setTimeout(() => {
      done()
      reject(Object.assign(new Error(`${what} did not print '${text}' within ${timeoutMs} ms`), { timedOut: true }))
    }, timeoutMs)
    output.on('data', onData)
    proc.once('close', onClose)
  })
}
