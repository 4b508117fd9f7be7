// The parts of bench:scale, each run for one size: which child processes measure it, in what
// order, and what they return. A part never throws: a failed measurement is recorded as
// { error } and the run goes on.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runChild, startChild } from './processes.mjs'
import { startSyncServer, whenIdle, SERVER_KINDS } from './sync-servers.mjs'
import { RELAXED_TIMEOUTS } from './limits.mjs'
import { runFloor } from './native.mjs'

export const PARTS = ['native', 'crud', 'memory', 'sync', 'idb']

/** Node's heap limit for a process holding n records (Yjs at 1M needs several GB). */
export const heapMbFor = (n) => Math.round(Math.min(16_384, Math.max(4_096, 2_048 + n * 0.012)))
const timeoutFor = (n) => 10 * 60_000 + n * 2

async function attempt(what, log, fn) {
  const start = performance.now()
  try {
    const result = await fn()
    log(`  ${what}: done in ${((performance.now() - start) / 1000).toFixed(1)} s`)
    return result
  } catch (error) {
    log(`  ${what}: FAILED: ${error.message}`)
    return { error: error.message, notes: error.notes ?? [] }
  }
}

/** Runs of yreplica and Yjs alternate, so neither always runs on a cooler machine. */
async function alternate(runs, libs, what, log, measure) {
  const out = Object.fromEntries(libs.map((lib) => [lib, []]))
  for (let run = 0; run < runs; run++) {
    for (const lib of run % 2 === 0 ? libs : [...libs].reverse()) {
      out[lib].push(await attempt(`${what} ${lib} (run ${run + 1}/${runs})`, log, () => measure(lib)))
    }
  }
  return out
}

export function measureNative({ n, runs, floor, log }) {
  return alternate(runs, ['native'], `native yrs floor, ${n}`, log, () => {
    if (floor.error) throw new Error(floor.error)
    return runFloor(floor.executable, n, timeoutFor(n)).then((value) => ({ value, notes: [] }))
  })
}

/**
 * Insert, get, find, update and encode in one process; load (and the indexed find) in a
 * fresh one, from the encoded state in a temp file.
 */
export function measureCrud({ n, runs, log }) {
  const scripts = { yreplica: ['crud-yreplica.mjs', 'load-yreplica.mjs'], yjs: ['crud-yjs.mjs', 'load-yjs.mjs'] }
  const options = { heapMb: heapMbFor(n), timeoutMs: timeoutFor(n) }
  return alternate(runs, ['yreplica', 'yjs'], `CRUD, ${n}`, log, async (lib) => {
    const dir = await mkdtemp(join(tmpdir(), 'yreplica-scale-state-'))
    const statePath = join(dir, 'state.bin')
    try {
      const [crudScript, loadScript] = scripts[lib]
      const crud = await runChild(crudScript, { n, statePath }, options)
      const load = await runChild(loadScript, { n, statePath }, options)
      return {
        value: { t: { ...crud.value.t, ...load.value.t }, found: { ...crud.value.found, ...load.value.found } },
        notes: [...crud.notes, ...load.notes],
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
}

/**
 * Deleting many records in one transaction costs Yjs time that grows with the square of the
 * records (100,000 deletes take ~10 s; a million would take hours); yreplica's are linear for
 * records an insertMany wrote (docs/data-at-scale.md). The delete-all / insert-again cycles
 * that show whether freed Wasm memory is reused run up to this size only, for both.
 */
export const REUSE_MAX = 100_000

/** Memory per record after insert; up to REUSE_MAX, two delete-all / insert-again cycles. */
export async function measureMemory({ n, runs, log }) {
  const scripts = { yreplica: 'memory-yreplica.mjs', yjs: 'memory-yjs.mjs' }
  const cycles = n <= REUSE_MAX ? 2 : 0
  const out = await alternate(runs, ['yreplica', 'yjs'], `memory, ${n}`, log, (lib) =>
    runChild(scripts[lib], { n, cycles }, { heapMb: heapMbFor(n), timeoutMs: timeoutFor(n) }),
  )
  if (cycles === 0) {
    out.notes = [`memory: the delete-all / insert-again cycles run up to ${REUSE_MAX.toLocaleString('en-US')} records only: deleting a million records in one transaction would take Yjs hours`]
  }
  return out
}

/**
 * Per server kind: one server holding the N-record document (filled beforehand in pieces by
 * a filler that stays connected), then fresh clients, yreplica and Yjs, one process each.
 */
export async function measureSync({ n, runs, log }) {
  const out = {}
  for (const kind of SERVER_KINDS) {
    const room = `scale-${n}`
    let server
    let filler
    try {
      server = await startSyncServer(kind, heapMbFor(n))
      filler = startChild('fill.mjs', { dialect: kind, url: server.url, room, n }, { heapMb: 4096, timeoutMs: timeoutFor(n) })
      const fill = await attempt(`fill a ${kind} server with ${n} records`, log, () => filler.result)
      if (fill.error) {
        out[kind] = { fill, yreplica: [fill], yjs: [fill] }
        continue
      }
      const clients = await alternate(runs, ['yreplica', 'yjs'], `sync from ${kind}, ${n}`, log, async (client) => {
        const options = { heapMb: heapMbFor(n), timeoutMs: timeoutFor(n) }
        const task = { client, dialect: kind, url: server.url, room, n, timeouts: 'default' }
        if (!filler.running()) throw new Error('the filler lost its connection: the server may no longer hold the document')
        await whenIdle(server)
        const first = await runChild('sync-client.mjs', task, options)
        if (!first.value.dropped) return first
        // yreplica dropped the link while the server was still preparing the document.
        const { droppedAfterMs, statuses } = first.value
        log(`    yreplica dropped the link after ${Math.round(droppedAfterMs)} ms with default timeouts; measuring again with ${JSON.stringify(RELAXED_TIMEOUTS)}`)
        await whenIdle(server)
        const again = await runChild('sync-client.mjs', { ...task, timeouts: 'relaxed' }, options)
        const defaults = 'heartbeatIntervalMs 1000, missedHeartbeats 2, connectTimeoutMs 3000'
        again.notes.push(`sync from ${kind}: with the default timeouts (${defaults}) yreplica dropped the link ${Math.round(droppedAfterMs)} ms after opening, before the server's answer arrived (${statuses.slice(0, 4).join(', ')}), and would start over; measured with ${JSON.stringify(RELAXED_TIMEOUTS)}`)
        return again
      })
      out[kind] = { fill: fill.value, ...clients }
    } catch (error) {
      log(`  ${kind} server: FAILED: ${error.message}`)
      out[kind] = { yreplica: [{ error: error.message }], yjs: [{ error: error.message }] }
    } finally {
      await filler?.stop()
      await server?.kill()
    }
  }
  return out
}

export function measureIdb({ n, runs, log }) {
  return alternate(runs, ['yreplica', 'yjs'], `Chromium IndexedDB, ${n}`, log, (lib) =>
    runChild('idb.mjs', { lib, n }, { heapMb: 4096, timeoutMs: timeoutFor(n) }),
  )
}
