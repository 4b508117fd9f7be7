// npm run bench:scale: yreplica against Yjs 13 (+ y-websocket, Hocuspocus, y-indexeddb) and
// plain native yrs at 10k, 100k and 1M records. Every size and library runs in fresh child
// processes; servers and Chromium are real. See docs/benchmarks.md.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { readOptions, USAGE } from './options.mjs'
import { measureNative, measureCrud, measureMemory, measureSync, measureIdb } from './parts.mjs'
import { buildFloor } from './native.mjs'
import { figuresOf, memoryOf, notesOf, findMismatches, OPERATIONS } from './figures.mjs'
import { renderReport, sizeTable, sizeName } from './report.mjs'

const root = fileURLToPath(new URL('../..', import.meta.url))
const log = (line) => console.log(line)

let options
try {
  options = readOptions()
} catch (error) {
  console.error(`bench:scale: ${error.message}\n\n${USAGE}`)
  process.exit(2)
}
if (options.help) {
  console.log(USAGE)
  process.exit(0)
}
if (!existsSync(join(root, 'pkg', 'node', 'yreplica.js'))) {
  console.error('bench:scale: pkg/node is missing: run `node scripts/build.mjs` (npm run bench:scale does)')
  process.exit(2)
}

function commit() {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== ''
    return dirty ? `${sha} (with uncommitted changes)` : sha
  } catch {
    return 'unknown'
  }
}

const startedAt = new Date()
const meta = {
  startedAt: startedAt.toISOString(),
  command: `npm run bench:scale -- --sizes ${options.sizes.join(',')}${options.parts.length < 5 ? ` --only ${options.parts.join(',')}` : ''} --runs ${options.runs}`,
  commit: commit(),
  node: process.version,
  cpus: cpus().length,
  runs: options.runs,
  chromium: null,
}
const outDir = join(root, options.out)
const stamp = meta.startedAt.replace(/[:.]/g, '-')
const files = { md: join(outDir, `${stamp}.md`), json: join(outDir, `${stamp}.json`) }
const has = (part) => options.parts.includes(part)

const raws = {}
const figuresBySize = {}
const memoryBySize = {}
const notesBySize = {}
const done = []

function save() {
  mkdirSync(outDir, { recursive: true })
  const report = renderReport({ meta, sizes: done, figuresBySize, memoryBySize, notesBySize })
  writeFileSync(files.md, report)
  writeFileSync(files.json, JSON.stringify({ meta, figures: figuresBySize, memory: memoryBySize, notes: notesBySize, raw: raws }, null, 1))
  return report
}

function failuresOf(figures) {
  const out = []
  for (const { key, label } of OPERATIONS) {
    for (const [lib, value] of Object.entries(figures[key])) if (value?.error) out.push(`${label} — ${lib} failed: ${value.error}`)
  }
  return out
}

log(`bench:scale: sizes ${options.sizes.map(sizeName).join(', ')}; parts ${options.parts.join(', ')}; ${options.runs} run(s); results in ${options.out}/`)
const floor = {}
if (has('native')) {
  log('building examples/yrs_floor.rs (release, opt-level 3)…')
  try {
    floor.executable = await buildFloor()
  } catch (error) {
    floor.error = error.message
    log(`  FAILED: ${error.message}`)
  }
}

for (const n of options.sizes) {
  const sizeStart = performance.now()
  log(`\n── ${sizeName(n)} records ──`)
  const raw = {}
  const context = { n, runs: options.runs, log, floor }
  const extra = []
  if (has('native')) raw.native = await measureNative(context)
  if (has('crud')) raw.crud = await measureCrud(context)
  if (has('memory')) raw.memory = await measureMemory(context)
  if (has('sync')) raw.sync = await measureSync(context)
  if (has('idb')) {
    if (n <= options.idbMax) {
      raw.idb = await measureIdb(context)
      meta.chromium ??= [...(raw.idb.yreplica ?? []), ...(raw.idb.yjs ?? [])].find((r) => r.value?.chromium)?.value.chromium ?? null
    } else extra.push(`Chromium IndexedDB not measured above ${sizeName(options.idbMax)} records (--idb-max)`)
  }
  raws[n] = raw
  figuresBySize[n] = figuresOf(raw)
  memoryBySize[n] = memoryOf(raw, n)
  notesBySize[n] = [...notesOf(raw), ...findMismatches(raw), ...failuresOf(figuresBySize[n]), ...extra]
  const seconds = (performance.now() - sizeStart) / 1000
  notesBySize[n].push(`this size took ${Math.round(seconds)} s to measure (all parts, ${options.runs} run(s))`)
  done.push(n)
  save()
  log(`\n${sizeTable(n, figuresBySize[n])}`)
}

const report = save()
log(`\n${report}`)
log(`written: ${files.md}\n         ${files.json}`)
