// Command-line options of `npm run soak -- …`, parsed by node:util's parseArgs.
import { parseArgs as nodeParseArgs } from 'node:util'

export const USAGE = `Usage: node scripts/soak.mjs [options]   (or: npm run soak -- [options])

Replicas do random CRUD against three servers, each behind a fault proxy, while a seeded
scheduler injects faults; then everything is healed and checked. Exit 0 when every check
passed, 1 when one failed, 2 on bad arguments.

Options:
  --minutes N        length of the fault period, fractions allowed (default 2); with
                     --dialect both, each dialect gets half
  --seed S           seed of the fault schedule and the workloads (default: random, printed)
  --replicas K       replica processes (default 4; even ones use the file store, odd 'memory')
  --dialect D        y-websocket | hocuspocus | both (default both)
  --ops N            writes per second per replica (default 3)
  --servers N        servers each replica keeps in sync at once, and its writeConcern
                     (default 1; 2 or 3 replicate every write; with --repair none the
                     check is then that every confirmed write is on N live servers)
  --repair M         how y-websocket servers are made to agree: auto | cli | api | none
                     (default auto: 'yreplica sync' when bin/yreplica.mjs has it; none skips
                     it, so the state check shows how far standalone servers diverged)
  --report FILE      also write the report as JSON to FILE
  --plan             print the fault schedule for the seed and exit (nothing is started)
  --verbose          log every fault as it is applied
  --help             show this help`

export class UsageError extends Error {}

const OPTIONS = {
  minutes: { type: 'string' },
  seed: { type: 'string' },
  replicas: { type: 'string' },
  dialect: { type: 'string', default: 'both' },
  ops: { type: 'string' },
  servers: { type: 'string' },
  repair: { type: 'string', default: 'auto' },
  report: { type: 'string' },
  plan: { type: 'boolean', default: false },
  verbose: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
}

function number(values, name, what, min, fallback) {
  if (values[name] === undefined) return fallback
  const n = Number(values[name])
  if (values[name].trim() === '' || !Number.isFinite(n) || n < min) throw new UsageError(`--${name}: expected ${what}, got '${values[name]}'`)
  return n
}

export function parseArgs(argv) {
  let values
  try {
    ;({ values } = nodeParseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }))
  } catch (error) {
    throw new UsageError(error.message)
  }
  const options = {
    minutes: number(values, 'minutes', 'a number of minutes > 0', Number.MIN_VALUE, 2),
    seed: values.seed ?? null,
    replicas: number(values, 'replicas', 'an integer >= 2', 2, 4),
    dialect: values.dialect,
    ops: number(values, 'ops', 'writes per second > 0', Number.MIN_VALUE, 3),
    servers: number(values, 'servers', 'an integer from 1 to 3', 1, 1),
    repair: values.repair,
    report: values.report ?? null,
    plan: values.plan,
    verbose: values.verbose,
  }
  if (values.help) options.help = true
  if (!Number.isInteger(options.replicas)) throw new UsageError(`--replicas: expected an integer, got ${options.replicas}`)
  if (!(Number.isInteger(options.servers) && options.servers <= 3)) throw new UsageError(`--servers: expected an integer from 1 to 3, got ${options.servers}`)
  if (!['y-websocket', 'hocuspocus', 'both'].includes(options.dialect)) throw new UsageError(`--dialect: expected y-websocket, hocuspocus or both, got '${options.dialect}'`)
  if (!['auto', 'cli', 'api', 'none'].includes(options.repair)) throw new UsageError(`--repair: expected auto, cli, api or none, got '${options.repair}'`)
  // A numeric seed stays a number, so `--seed 1` and the report agree on its type.
  if (options.seed === null) options.seed = Math.floor(Math.random() * 2 ** 31)
  else if (/^\d+$/.test(options.seed)) options.seed = Number(options.seed)
  return options
}
