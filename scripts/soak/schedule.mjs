// The fault schedule: computed up front from the seed alone (and the run's length), so two
// runs with the same seed inject the same faults at the same offsets; its digest is printed.
import { createHash } from 'node:crypto'
import { Random, seedOf } from './random.mjs'

export const FAULT_KINDS = ['freeze', 'kill', 'blackhole', 'latency', 'reset', 'drop-up', 'drop-down']

const WEIGHTS = { freeze: 3, kill: 3, blackhole: 3, latency: 2, reset: 2, 'drop-up': 1.5, 'drop-down': 1.5 }

/** Faults that keep a server from answering while they last (a reset is over at once). */
const TAKES_DOWN = new Set(['freeze', 'kill', 'blackhole', 'latency', 'drop-up', 'drop-down'])

/**
 * @param {{ seed: number|string, dialect: string, durationMs: number, servers?: number,
 *   allDownMaxMs?: number, restartAllowanceMs?: number }} options
 * @returns {{ at: number, server: number, kind: string, durationMs: number, ms?: number, resets?: number[] }[]}
 *   one entry per fault, by start time; at most one fault per server at a time, and all
 *   servers down together for at most `allDownMaxMs` (a killed server counts as down until
 *   `restartAllowanceMs` after its restart begins).
 */
export function planFaults({ seed, dialect, durationMs, servers = 3, allDownMaxMs = 3000, restartAllowanceMs = 2000 }) {
  const rng = new Random(seedOf('faults', seed, dialect))
  const faults = []
  const busyUntil = new Array(servers).fill(0)
  const downUntil = new Array(servers).fill(0) // end of each server's latest down interval
  let t = Math.min(3000, durationMs * 0.1)
  for (;;) {
    t += rng.int(800, 3500)
    if (t >= durationMs - 1000) break
    const kind = rng.weighted(WEIGHTS)
    const free = [...busyUntil.keys()].filter((s) => busyUntil[s] <= t)
    const server = free.length > 0 ? rng.pick(free) : -1
    // Faults may outlast the run: the heal at its end cuts them short, so it has work to do.
    let duration = rng.int(1000, 9000)
    const fault = { at: t, server, kind, durationMs: duration }
    if (kind === 'latency') fault.ms = rng.int(50, 900)
    if (kind === 'reset') {
      const shots = rng.int(1, 3)
      fault.resets = Array.from({ length: shots }, (_, i) => (i === 0 ? 0 : rng.int(0, duration))).sort((a, b) => a - b)
    }
    if (server < 0) continue // every server is busy: this slot passes
    const extra = kind === 'kill' ? restartAllowanceMs : 0
    if (TAKES_DOWN.has(kind)) {
      const othersDown = [...downUntil.keys()].filter((s) => s !== server).map((s) => downUntil[s])
      const overlapEnd = Math.min(...othersDown)
      if (overlapEnd > t && overlapEnd - t > allDownMaxMs && duration + extra > allDownMaxMs) {
        duration = fault.durationMs = Math.max(300, allDownMaxMs - extra)
        if (fault.resets) fault.resets = fault.resets.filter((r) => r <= duration)
      }
      downUntil[server] = t + duration + extra
    }
    busyUntil[server] = t + duration + extra + 500
    faults.push(fault)
  }
  return faults
}

/** A short fingerprint of a schedule: equal schedules have equal digests. */
export function digest(faults) {
  return createHash('sha256').update(JSON.stringify(faults)).digest('hex').slice(0, 12)
}

export function countByKind(faults) {
  const counts = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0]))
  for (const f of faults) counts[f.kind]++
  return counts
}

/** The longest time every server was down at once, per the plan (a check of the planner). */
export function longestAllDown(faults, servers = 3, restartAllowanceMs = 2000) {
  const intervals = Array.from({ length: servers }, () => [])
  for (const f of faults) {
    if (TAKES_DOWN.has(f.kind)) intervals[f.server].push([f.at, f.at + f.durationMs + (f.kind === 'kill' ? restartAllowanceMs : 0)])
  }
  const points = [...new Set(intervals.flat(2))].sort((a, b) => a - b)
  let longest = 0
  let since = null
  for (const p of points) {
    const allDown = intervals.every((list) => list.some(([a, b]) => a <= p && p < b))
    if (allDown && since === null) since = p
    if (!allDown && since !== null) {
      longest = Math.max(longest, p - since)
      since = null
    }
  }
  return longest
}
