// One soak run for one dialect: servers behind proxies, K replica processes doing random
// CRUD, the seeded faults, then heal, flush, make the servers agree, and check.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startCluster } from './cluster.mjs'
import { ReplicaProcess } from './fleet.mjs'
import { Ledger } from './ledger.mjs'
import { playFaults } from './faults.mjs'
import { planFaults, digest, countByKind } from './schedule.mjs'
import { seedOf } from './random.mjs'
import { readServer, readFileStore, differences, stateText } from './observe.mjs'
import { repairServers } from './repair.mjs'
import { trackDir } from './children.mjs'

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const MB = 1024 * 1024

/** Replica options: short heartbeats so faults are noticed (and survived) within seconds. */
export const REPLICA_TIMING = {
  heartbeatIntervalMs: 400,
  missedHeartbeats: 2,
  connectTimeoutMs: 1500,
  failbackAfterMs: 2000,
  backoff: { initialMs: 100, maxMs: 2000 },
}

/** Bounds of the checks. */
export const LIMITS = {
  onlineAfterHealMs: 30_000, // every replica online again within this after the heal
  flushAfterHealMs: 30_000,
  convergeAfterHealMs: 30_000, // observed: under 2 s; a failing run should not take long
  peakRssMb: 400, // per replica process
  rssGrowthMb: 150, // per replica process, from early in the run to its end
}

async function waitUntil(check, timeoutMs) {
  const until = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > until) return null
    await sleep(50)
  }
}

const median = (xs) => {
  if (xs.length === 0) return 0
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

/** Peak RSS, and growth: median of the last tenth of the fault period minus median of 20–30 %. */
function memoryOf(samples, from, to) {
  const span = to - from
  const window = (a, b) => samples.filter((s) => s.at >= from + a * span && s.at <= from + b * span).map((s) => s.rss)
  const early = window(0.2, 0.3)
  const late = window(0.9, 1.0)
  return {
    peakMb: Math.max(0, ...samples.map((s) => s.rss)) / MB,
    growthMb: early.length > 0 && late.length > 0 ? (median(late) - median(early)) / MB : 0,
  }
}

/**
 * @param {{ dialect: 'y-websocket'|'hocuspocus', seed: number|string, durationMs: number,
 *   replicas: number, opsPerSecond: number, servers: number, repair: 'auto'|'cli'|'api'|'none',
 *   log: Function, verbose: boolean }} options
 */
export async function runDialect({ dialect, seed, durationMs, replicas, opsPerSecond, servers: replicaServers = 1, repair, log, verbose }) {
  const faults = planFaults({ seed, dialect, durationMs })
  const plan = { faults: faults.length, digest: digest(faults), byKind: countByKind(faults) }
  log(`[${dialect}] schedule for seed ${seed}: ${plan.faults} faults over ${(durationMs / 1000).toFixed(0)} s, digest ${plan.digest} (${Object.entries(plan.byKind).map(([k, n]) => `${k} ${n}`).join(', ')})`)

  const result = { dialect, seed, durationMs, replicas, servers: replicaServers, plan, checks: [] }
  // Standalone servers left unrepaired agree only as far as the replicas' own writes to
  // several of them made them: then each confirmed write must be on `replicaServers` servers,
  // and the replicas (whose sets of servers overlap) must agree among themselves.
  const replicated = dialect === 'y-websocket' && repair === 'none' && replicaServers > 1
  const check = (name, ok, detail = '') => {
    result.checks.push({ name, ok, detail })
    if (!ok) log(`[${dialect}] CHECK FAILED: ${name}${detail ? ` — ${detail}` : ''}`)
  }

  const cluster = await startCluster(dialect)
  const room = `soak-${seed}-${dialect}`
  const dir = mkdtempSync(join(tmpdir(), 'yreplica-soak-'))
  const removeDir = trackDir(dir)
  const ledger = new Ledger()
  const fleet = []
  try {
    log(`[${dialect}] servers ${cluster.nodes.map((n) => `${n.directUrl} (proxy ${n.url})`).join(', ')}`)
    for (let i = 0; i < replicas; i++) {
      const replica = await new ReplicaProcess(i, ledger).start()
      fleet.push(replica)
      replica.storage = i % 2 === 0 ? 'file' : 'memory'
      await replica.call('open', {
        options: {
          name: `soak-${i}`, room, storage: replica.storage === 'file' ? { dir: join(dir, `r${i}`) } : 'memory',
          // Priority orders rotate, so replicas spread over the servers and edit through
          // different ones at once (y-websocket servers then diverge until the repair).
          endpoints: cluster.nodes.map((_, k) => cluster.nodes[(k + i) % cluster.nodes.length].url), protocol: dialect, ...REPLICA_TIMING,
          servers: replicaServers,
          writeConcern: replicaServers,
        },
        workload: { index: i, replicas, seed: seedOf('workload', seed, dialect, i) },
      })
    }
    const allOnline = () => fleet.every((r) => r.status.connection === 'online')
    if (!(await waitUntil(allOnline, 30_000))) throw new Error(`[${dialect}] the replicas did not all come online before the faults`)

    // The run: writes and faults for durationMs.
    const startedAt = Date.now()
    for (const [i, replica] of fleet.entries()) await replica.call('start', { opsPerSecond, seed: seedOf('ops', seed, dialect, i) })
    const player = playFaults(cluster, faults, { log: verbose ? (line) => log(`[${dialect}] ${line}`) : () => {} })
    const progress = setInterval(() => {
      const c = ledger.counts()
      const online = fleet.filter((r) => r.status.connection === 'online').length
      log(`[${dialect}] ${((Date.now() - startedAt) / 1000).toFixed(0)} s: ${c.made} writes, ${c.confirmed} confirmed, ${online}/${fleet.length} replicas online, faults so far ${Object.values(player.injected).reduce((a, b) => a + b, 0)}`)
    }, 15_000)
    await sleep(durationMs)
    clearInterval(progress)
    await player.stop()
    const endedAt = Date.now()
    result.injected = { ...player.injected }
    check('every fault was applied', player.errors.length === 0, player.errors.slice(0, 3).join('; '))

    // Stop writing, heal everything, and time the way back.
    for (const replica of fleet) await replica.call('quiesce')
    const beforeHeal = ledger.counts()
    const healAt = Date.now()
    await Promise.all(cluster.nodes.map((n) => n.heal()))
    log(`[${dialect}] healed; waiting for every replica to be online, then flushing`)

    const onlineMs = {}
    await waitUntil(() => {
      for (const r of fleet) if (onlineMs[r.index] === undefined && r.status.connection === 'online') onlineMs[r.index] = Date.now() - healAt
      return allOnline()
    }, LIMITS.onlineAfterHealMs)
    const stuck = fleet.filter((r) => r.status.connection !== 'online').map((r) => `replica ${r.index} (${r.status.connection})`)
    check(`every replica online within ${LIMITS.onlineAfterHealMs / 1000} s after the heal`, stuck.length === 0, stuck.join(', '))

    const flushes = await Promise.all(fleet.map((r) => r.call('finalFlush', { deadlineMs: LIMITS.flushAfterHealMs }, LIMITS.flushAfterHealMs + 10_000).catch((e) => ({ ok: false, error: e.message }))))
    const unflushed = flushes.map((f, i) => (f.ok ? null : `replica ${i}: ${f.error}`)).filter(Boolean)
    check('every replica flushed after the heal', unflushed.length === 0, unflushed.join('; '))

    if (dialect === 'y-websocket' && repair !== 'none') {
      // Standalone servers do not share: make them agree, as an operator would.
      try {
        result.repair = await repairServers(cluster.nodes.map((n) => n.directUrl), { room, protocol: dialect, method: repair === 'auto' ? undefined : repair })
        log(`[${dialect}] servers repaired with ${result.repair.method} in ${result.repair.ms} ms`)
      } catch (error) {
        check('the servers were repaired', false, error.message)
      }
    }

    // Converged: every replica and every server hold the same state.
    let observers = []
    let serverStates = []
    let replicaStates = []
    let diffs = ['not compared yet']
    const converged = await waitUntil(async () => {
      const dumps = await Promise.all(fleet.map((r) => r.call('dump').then((d) => ({ name: `replica ${r.index}`, collections: d.collections, stateBytes: d.stateBytes }))))
      const servers = []
      for (const node of cluster.nodes) {
        try {
          servers.push({ name: `server ${node.index}`, ...(await readServer(node.directUrl, { room, protocol: dialect })) })
        } catch (error) {
          servers.push({ name: `server ${node.index}`, collections: {}, error: error.message })
        }
      }
      observers = [...dumps, ...servers]
      diffs = differences(replicated ? dumps : observers)
      serverStates = servers
      replicaStates = dumps
      return diffs.length === 0
    }, LIMITS.convergeAfterHealMs)
    result.convergeMs = converged ? Date.now() - healAt : null
    if (replicated) {
      check('every replica holds the same state', Boolean(converged), diffs.slice(0, 4).join(' | '))
      const thin = ledger.coverage(serverStates, replicaServers)
      result.serverCopies = { checked: thin.checked, onFewer: thin.onFewer }
      check(`every confirmed write is on at least ${replicaServers} servers (unrepaired)`, thin.onFewer === 0, thin.examples.slice(0, 5).join(' | '))
      observers = replicaStates // "no confirmed write lost" below: in every replica
    } else {
      check('every replica and every server hold the same state', Boolean(converged), diffs.slice(0, 4).join(' | '))
    }
    result.stateBytes = Math.max(0, ...observers.map((o) => o.stateBytes ?? 0))
    result.records = Object.fromEntries(Object.entries(observers[0]?.collections ?? {}).map(([name, recs]) => [name, recs.length]))

    // Nothing confirmed was lost, anywhere.
    const final = ledger.counts()
    const lost = ledger.check(observers)
    result.writes = { made: final.made, confirmedDuringFaults: beforeHeal.confirmed, confirmed: final.confirmed, failed: final.failed, lost: lost.lost }
    check('no confirmed write lost', lost.lost === 0, lost.examples.slice(0, 5).join(' | '))
    check('no write was rejected', final.failed === 0, `${final.failed} writes rejected`)
    check('every write was confirmed by the end', final.confirmed === final.made, `${final.made - final.confirmed} unconfirmed`)

    // Health: no crash, bounded memory.
    const crashed = fleet.filter((r) => r.exit || r.fatal.length > 0).map((r) => `replica ${r.index}: ${r.exit ? `exited ${r.exit.signal ?? r.exit.code}` : ''} ${r.fatal.slice(0, 2).join('; ')}`)
    check('no replica crashed', crashed.length === 0, crashed.join(' | '))
    const serverCrashes = cluster.nodes.flatMap((n) => n.crashes.map((c) => `server ${n.index} exited ${c.signal ?? c.code}: ${n.stderrTail.slice(-300)}`))
    check('no server crashed', serverCrashes.length === 0, serverCrashes.join(' | '))
    result.replicaStats = fleet.map((r) => {
      const memory = memoryOf(r.memory, startedAt, endedAt)
      const failovers = {}
      for (const f of r.failovers) failovers[f.reason] = (failovers[f.reason] ?? 0) + 1
      const stretches = r.offlineStretches.filter(([a]) => a >= startedAt).map(([a, b]) => b - a)
      return {
        index: r.index,
        storage: r.storage,
        peakRssMb: Math.round(memory.peakMb),
        rssGrowthMb: Math.round(memory.growthMb),
        failovers,
        longestNotOnlineMs: Math.max(0, ...stretches),
        onlineAfterHealMs: onlineMs[r.index] ?? null,
        errors: Object.fromEntries(r.errors),
        errorSamples: r.errorSamples,
      }
    })
    const heavy = result.replicaStats.filter((r) => r.peakRssMb > LIMITS.peakRssMb).map((r) => `replica ${r.index}: ${r.peakRssMb} MB`)
    check(`peak RSS per replica at most ${LIMITS.peakRssMb} MB`, heavy.length === 0, heavy.join(', '))
    const growing = result.replicaStats.filter((r) => r.rssGrowthMb > LIMITS.rssGrowthMb).map((r) => `replica ${r.index}: +${r.rssGrowthMb} MB`)
    check(`RSS growth per replica at most ${LIMITS.rssGrowthMb} MB`, growing.length === 0, growing.join(', '))
    result.failovers = {}
    for (const r of result.replicaStats) for (const [reason, n] of Object.entries(r.failovers)) result.failovers[reason] = (result.failovers[reason] ?? 0) + n

    // The file stores kept everything: reopened offline, each holds the converged state.
    await Promise.all(fleet.map((r) => r.close()))
    if (converged) {
      const expected = stateText(observers[0].collections)
      const wrong = []
      for (const r of fleet.filter((each) => each.storage === 'file')) {
        const stored = await readFileStore(join(dir, `r${r.index}`), `soak-${r.index}`)
        if (stateText(stored.collections) !== expected) wrong.push(`replica ${r.index}: ${differences([observers[0], { name: 'its file store', ...stored }]).join('')}`)
        if (stored.errors.length > 0) wrong.push(`replica ${r.index}: ${stored.errors.join('; ')}`)
      }
      check('every file store reopens with the converged state', wrong.length === 0, wrong.join(' | '))
    }
  } catch (error) {
    check('the run completed', false, error.stack ?? String(error))
  } finally {
    await Promise.all(fleet.map((r) => r.close()))
    await cluster.stop()
    rmSync(dir, { recursive: true, force: true })
    removeDir()
  }
  result.ok = result.checks.every((c) => c.ok)
  return result
}
