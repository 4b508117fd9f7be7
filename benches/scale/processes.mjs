// The parent side of bench:scale's processes: forks measurement children and starts servers,
// and stops every one of them when the run ends, fails or is interrupted (Ctrl-C).
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const here = (file) => fileURLToPath(new URL(file, import.meta.url))

/** Everything still running: each entry is a function that stops it. */
const live = new Set()

function stopAllNow() {
  for (const stop of [...live]) {
    try {
      stop()
    } catch {
      // the process is gone already
    }
  }
  live.clear()
}

let installed = false
function installHandlers() {
  if (installed) return
  installed = true
  process.on('exit', stopAllNow)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      console.error(`\nbench:scale: ${signal}, stopping every child process and server`)
      stopAllNow()
      process.exit(130)
    })
  }
}

/** Registers a running thing with a synchronous `stop()`; returns the function that unregisters it. */
export function track(stop) {
  installHandlers()
  live.add(stop)
  return () => live.delete(stop)
}

/**
 * Forks `benches/scale/<script>` with `task` (JSON) and a heap of `heapMb`. Returns
 * { result, stop }: `result` resolves with { value, notes } from the child's report, or
 * rejects when it fails, exits without reporting or runs past `timeoutMs`.
 */
export function startChild(script, task, { heapMb = 4096, timeoutMs = 30 * 60_000 } = {}) {
  installHandlers()
  const child = fork(here(script), [JSON.stringify(task)], {
    execArgv: ['--expose-gc', `--max-old-space-size=${heapMb}`],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  const untrack = track(kill)
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  exited.then(untrack)
  let timer
  const result = new Promise((resolve, reject) => {
    timer = setTimeout(() => {
      kill()
      reject(new Error(`${script} did not finish within ${Math.round(timeoutMs / 1000)} s`))
    }, timeoutMs)
    child.on('message', (message) => {
      if (message?.type !== 'result') return
      if (message.ok) resolve({ value: message.value, notes: message.notes })
      else reject(Object.assign(new Error(firstLine(message.error)), { detail: message.error, notes: message.notes }))
    })
    exited.then(({ code, signal }) => reject(new Error(`${script} exited (${signal ?? `code ${code}`}) without a result${signal === 'SIGABRT' || code === 134 ? ': out of memory?' : ''}`)))
  }).finally(() => clearTimeout(timer))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    const killer = setTimeout(kill, 5_000)
    await exited
    clearTimeout(killer)
  }
  const running = () => child.exitCode === null && child.signalCode === null
  return { result, stop, running, pid: child.pid }
}

/** Runs a child to its end: { value, notes }. */
export async function runChild(script, task, options) {
  const child = startChild(script, task, options)
  try {
    return await child.result
  } finally {
    await child.stop()
  }
}

function firstLine(text) {
  return String(text).split('\n')[0]
}
