// Runs the `npm start` demo (examples/browser-todo/start.mjs) as a child process, reads its
// machine-readable line, and stops it the way a person does: SIGINT (Ctrl-C).
import { spawn } from 'node:child_process'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const DEMO_SCRIPT = resolve(ROOT, 'examples', 'browser-todo', 'start.mjs')

/**
 * Runs start.mjs with `args` until it exits or `timeoutMs` passes.
 * @returns {Promise<{ code: number|null, signal: string|null, stdout: string, stderr: string }>}
 */
export function runDemo(args, timeoutMs = 20_000) {
  return new Promise((resolvePromise, reject) => {
    const proc = spawn(process.execPath, [DEMO_SCRIPT, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    proc.stdout.on('data', (chunk) => (stdout += chunk))
    proc.stderr.on('data', (chunk) => (stderr += chunk))
    const timer = setTimeout(() => {
      proc.kill('SIGKILL')
      reject(new Error(`start.mjs ${args.join(' ')} did not exit within ${timeoutMs} ms; stdout:\n${stdout}\nstderr:\n${stderr}`))
    }, timeoutMs)
    proc.once('exit', (code, signal) => {
      clearTimeout(timer)
      resolvePromise({ code, signal, stdout, stderr })
    })
  })
}

/**
 * Starts the demo and resolves once it printed `YREPLICA_DEMO {...}`.
 * @returns {Promise<{ proc, info: { http: string, servers: Array<{ index, url, port, pid, state }> }, output: () => string, stop: () => Promise<{ code, signal }> }>}
 */
export function startDemo(args = ['--http-port', '0', '--ws-ports', '0,0,0'], timeoutMs = 30_000) {
  return new Promise((resolvePromise, reject) => {
    const proc = spawn(process.execPath, [DEMO_SCRIPT, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    const exited = new Promise((resolveExit) => proc.once('exit', (code, signal) => resolveExit({ code, signal })))
    const output = () => `stdout:\n${stdout}\nstderr:\n${stderr}`
    const timer = setTimeout(() => {
      proc.kill('SIGINT')
      reject(new Error(`the demo did not print its YREPLICA_DEMO line within ${timeoutMs} ms\n${output()}`))
    }, timeoutMs)
    proc.stderr.on('data', (chunk) => (stderr += chunk))
    let ready = false
    proc.stdout.on('data', (chunk) => {
      stdout += chunk
      const line = ready ? null : /^YREPLICA_DEMO (.+)\n/m.exec(stdout) // a whole line only
      if (!line) return
      ready = true
      clearTimeout(timer)
      resolvePromise({
        proc,
        info: JSON.parse(line[1]),
        output,
        /** Ctrl-C; resolves with how it exited (SIGKILL after `graceMs` if it hangs). */
        async stop(graceMs = 10_000) {
          if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGINT')
          const hang = setTimeout(() => proc.kill('SIGKILL'), graceMs)
          const result = await exited
          clearTimeout(hang)
          return result
        },
      })
    })
    exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`the demo exited (${signal ?? code}) before it was ready\n${output()}`))
    })
  })
}

/** True if a process with this id still exists. */
export function processExists(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return error.code === 'EPERM'
  }
}
