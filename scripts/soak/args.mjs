// Command-line options of `npm run soak -- …`.

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
  --repair M         how y-websocket servers are made to agree: auto | cli | api | none
                     (default auto: 'yreplica sync' when bin/yreplica.mjs has it; none skips
                     it, so the state check shows how far standalone servers diverged)
  --report FILE      also write the report as JSON to FILE
  --plan             print the fault schedule for the seed and exit (nothing is started)
  --verbose          log every fault as it is applied
  --help             show this help`

export class UsageError extends Error {}

export function parseArgs(argv) {
  const options = { minutes: 2, seed: null, replicas: 4, dialect: 'both', ops: 3, repair: 'auto', report: null, plan: false, verbose: false }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const value = () => {
      if (i + 1 >= argv.length || argv[i + 1].startsWith('--')) throw new UsageError(`${arg} needs a value`)
      return argv[++i]
    }
    const number = (what, min) => {
      const text = value()
      const n = Number(text)
      if (!Number.isFinite(n) || n < min) throw new UsageError(`${arg}: expected ${what}, got '${text}'`)
      return n
    }
    switch (arg) {
      case '--minutes': options.minutes = number('a number of minutes > 0', Number.MIN_VALUE); break
      case '--seed': options.seed = value(); break
      case '--replicas': options.replicas = number('an integer >= 2', 2); break
      case '--ops': options.ops = number('writes per second > 0', Number.MIN_VALUE); break
      case '--dialect': options.dialect = value(); break
      case '--repair': options.repair = value(); break
      case '--report': options.report = value(); break
      case '--plan': options.plan = true; break
      case '--verbose': options.verbose = true; break
      case '--help': case '-h': options.help = true; break
      default: throw new UsageError(`unknown option '${arg}'`)
    }
  }
  if (!Number.isInteger(options.replicas)) throw new UsageError(`--replicas: expected an integer, got ${options.replicas}`)
  if (!['y-websocket', 'hocuspocus', 'both'].includes(options.dialect)) throw new UsageError(`--dialect: expected y-websocket, hocuspocus or both, got '${options.dialect}'`)
  if (!['auto', 'cli', 'api', 'none'].includes(options.repair)) throw new UsageError(`--repair: expected auto, cli, api or none, got '${options.repair}'`)
  // A numeric seed stays a number, so `--seed 1` and the report agree on its type.
  if (options.seed === null) options.seed = Math.floor(Math.random() * 2 ** 31)
  else if (/^\d+$/.test(options.seed)) options.seed = Number(options.seed)
  return options
}
