// Timing and memory readings shared by the child processes.
import { createRequire } from 'node:module'

export function time(fn) {
  const start = performance.now()
  const value = fn()
  return { ms: performance.now() - start, value }
}

export async function timeAsync(fn) {
  const start = performance.now()
  const value = await fn()
  return { ms: performance.now() - start, value }
}

export const median = (xs) => {
  const sorted = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b)
  if (sorted.length === 0) return undefined
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** Median time of `times` calls of a read-only `fn` (the first call included), and its last value. */
export function timeRepeated(fn, times = 5) {
  const samples = []
  let value
  for (let i = 0; i < times; i++) {
    const run = time(fn)
    samples.push(run.ms)
    value = run.value
  }
  return { ms: median(samples), first: samples[0], value }
}

/** The JS heap after full collections (needs node --expose-gc). */
export function heapUsedAfterGc() {
  if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc')
  globalThis.gc()
  globalThis.gc()
  return process.memoryUsage().heapUsed
}

const core = () => createRequire(import.meta.url)('../../pkg/node/yreplica.js')

/** The size of yreplica's Wasm memory: the module instance js/node.js uses. */
export function wasmMemoryBytes() {
  return typeof core().wasmMemoryBytes === 'function' ? core().wasmMemoryBytes() : undefined
}

/** What yreplica's allocator has handed out and not taken back, in bytes, where the build tells. */
export function wasmBytesInUse() {
  return typeof core().wasmMemoryStats === 'function' ? JSON.parse(core().wasmMemoryStats()).inUse : undefined
}

/**
 * Resolves with the milliseconds since `start` at which `check()` first holds, checking
 * every `everyMs` (the check itself must be cheap); rejects after `timeoutMs`.
 */
export function whenTrue(check, start, { everyMs = 2, timeoutMs, what }) {
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      let done
      try {
        done = check()
      } catch (error) {
        clearInterval(timer)
        reject(error)
        return
      }
      if (done) {
        clearInterval(timer)
        resolve(performance.now() - start)
      } else if (performance.now() - start > timeoutMs) {
        clearInterval(timer)
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`))
      }
    }, everyMs)
  })
}
