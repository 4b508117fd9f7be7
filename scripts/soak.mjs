#!/usr/bin/env node
// The fault-injection soak (`npm run soak -- --minutes N --seed S`): see scripts/soak/args.mjs
// for the options and scripts/soak/run.mjs for what one run does and checks.
import { writeFileSync } from 'node:fs'
import { parseArgs, USAGE, UsageError } from './soak/args.mjs'
import { planFaults, digest, countByKind } from './soak/schedule.mjs'
import { formatReport } from './soak/report.mjs'
import { stopAll } from './soak/children.mjs'

let options
try {
  options = parseArgs(process.argv.slice(2))
} catch (error) {
  if (!(error instanceof UsageError)) throw error
  console.error(`soak: ${error.message}\n\n${USAGE}`)
  process.exit(2)
}
if (options.help) {
  console.log(USAGE)
  process.exit(0)
}

const dialects = options.dialect === 'both' ? ['y-websocket', 'hocuspocus'] : [options.dialect]
const durationMs = Math.round((options.minutes * 60_000) / dialects.length)
const log = (line) => console.log(line)

if (options.plan) {
  for (const dialect of dialects) {
    const faults = planFaults({ seed: options.seed, dialect, durationMs })
    console.log(`[${dialect}] seed ${options.seed}: ${faults.length} faults, digest ${digest(faults)} ${JSON.stringify(countByKind(faults))}`)
    for (const f of faults) console.log(`  ${(f.at / 1000).toFixed(1).padStart(7)} s  server ${f.server}  ${f.kind}${f.ms ? ` ${f.ms} ms` : ''} for ${(f.durationMs / 1000).toFixed(1)} s`)
  }
  process.exit(0)
}

// The wasm build is loaded by the runs; a missing one is a setup problem, said plainly.
const { runDialect } = await import('./soak/run.mjs').catch((error) => {
  console.error(`soak: cannot load the library (${error.message}); build it first: node scripts/build.mjs`)
  process.exit(2)
})

log(`soak: seed ${options.seed}, ${options.minutes} min, ${options.replicas} replicas, ${options.ops} writes/s each, ${options.servers} server(s) per replica, dialects ${dialects.join(' + ')}`)
const results = []
let failure = null
try {
  for (const dialect of dialects) {
    results.push(await runDialect({ dialect, seed: options.seed, durationMs, replicas: options.replicas, opsPerSecond: options.ops, servers: options.servers, repair: options.repair, log, verbose: options.verbose }))
  }
} catch (error) {
  failure = error
  console.error(`soak: ${error.stack ?? error}`)
} finally {
  await stopAll()
}
console.log(formatReport(results, options))
if (options.report) writeFileSync(options.report, JSON.stringify({ seed: options.seed, minutes: options.minutes, ok: !failure && results.every((r) => r.ok), results }, null, 2))
process.exit(!failure && results.every((r) => r.ok) ? 0 : 1)
