// bench:scale's command line.
import { parseArgs } from 'node:util'
import { PARTS } from './parts.mjs'

export const USAGE = `npm run bench:scale -- [--sizes 10000,100000,1000000] [--only ${PARTS.join(',')}] [--runs 1] [--idb-max 100000] [--out artifacts/bench-scale]

  --sizes    record counts, each measured in fresh processes (default 10000,100000,1000000)
  --only     parts to run (default all): ${PARTS.join(', ')}
  --runs     runs per figure; the report shows medians (default 1)
  --idb-max  largest size measured in Chromium IndexedDB (default 100000)
  --out      directory for <timestamp>.md and .json (default artifacts/bench-scale)`

function list(text, what) {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const n = Number(s.replaceAll('_', ''))
      if (!Number.isInteger(n) || n < 100) throw new Error(`${what}: '${s}' is not a whole number of at least 100`)
      return n
    })
}

export function readOptions(argv = process.argv.slice(2)) {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: 'string', default: '10000,100000,1000000' },
      only: { type: 'string' },
      runs: { type: 'string', default: '1' },
      'idb-max': { type: 'string', default: '100000' },
      out: { type: 'string', default: 'artifacts/bench-scale' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) return { help: true }
  const sizes = [...new Set(list(values.sizes, '--sizes'))].sort((a, b) => a - b)
  const parts = values.only ? values.only.split(',').map((s) => s.trim()).filter(Boolean) : PARTS
  for (const part of parts) if (!PARTS.includes(part)) throw new Error(`--only: unknown part '${part}' (known: ${PARTS.join(', ')})`)
  const runs = Number(values.runs)
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: '${values.runs}' is not a whole number of at least 1`)
  const [idbMax] = list(values['idb-max'], '--idb-max')
  return { sizes, parts, runs, idbMax, out: values.out }
}
