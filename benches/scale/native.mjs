// The native floor: examples/yrs_floor.rs (plain yrs, no replica), built once in release with
// opt-level 3 (the crate's release profile is opt-level "s", for the Wasm build), then run
// as its own process per size.
import { execFile, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { track } from './processes.mjs'

const root = fileURLToPath(new URL('../..', import.meta.url))
const ENV = { ...process.env, CARGO_PROFILE_RELEASE_OPT_LEVEL: '3' }

/** Builds the example; resolves with the path of its executable. */
export function buildFloor() {
  return new Promise((resolve, reject) => {
    const args = ['build', '--release', '--example', 'yrs_floor', '--message-format', 'json-render-diagnostics']
    const child = execFile('cargo', args, { cwd: root, env: ENV, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      untrack()
      if (error) return reject(new Error(`cargo build --example yrs_floor failed: ${stderr.trim().split('\n').slice(-5).join(' / ')}`))
      const artifact = stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line))
        .find((m) => m.reason === 'compiler-artifact' && m.target?.name === 'yrs_floor' && m.executable)
      if (!artifact) return reject(new Error('cargo build did not report the yrs_floor executable'))
      resolve(artifact.executable)
    })
    const untrack = track(() => child.kill('SIGKILL'))
  })
}

/** Runs the floor on n records: { insert, update, encode, load, stateBytes, heapBytesPerRecord }. */
export function runFloor(executable, n, timeoutMs = 30 * 60_000) {
  return new Promise((resolve, reject) => {
    const child = spawn(executable, [String(n)], { stdio: ['ignore', 'pipe', 'pipe'] })
    const untrack = track(() => child.kill('SIGKILL'))
    let out = ''
    let err = ''
    child.stdout.on('data', (chunk) => (out += chunk))
    child.stderr.on('data', (chunk) => (err += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      untrack()
      if (code !== 0) return reject(new Error(`yrs_floor ${n} exited (${signal ?? `code ${code}`}): ${err.trim().split('\n').slice(-3).join(' / ')}`))
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()))
      } catch {
        reject(new Error(`yrs_floor ${n} printed no result: ${out.slice(0, 200)}`))
      }
    })
  })
}
