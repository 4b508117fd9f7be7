// Markdown for a bench:scale run: a table per size, the growth between sizes, memory per
// record, the targets of issue #12, and the notes.
import { OPERATIONS, LIBS } from './figures.mjs'

const LIB_NAMES = { yreplica: 'yreplica', yjs: 'Yjs 13', native: 'native yrs' }

const group = (x) => Math.round(x).toLocaleString('en-US')

export function formatValue(value, unit = 'ms') {
  if (value === undefined || value === null) return '—'
  if (typeof value === 'object' && value.error) return 'failed'
  if (typeof value !== 'number') return String(value)
  if (unit === 'B') return group(value)
  if (value >= 100) return group(value)
  if (value >= 10) return value.toFixed(1)
  return value.toFixed(2)
}

const isNumber = (x) => typeof x === 'number' && Number.isFinite(x)
const ratio = (a, b) => (isNumber(a) && isNumber(b) && b > 0 ? a / b : undefined)

function table(header, rows) {
  const align = header.map((_, i) => (i === 0 ? '---' : '--:'))
  return [header, align, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n')
}

export const sizeName = (n) => n.toLocaleString('en-US')

export function sizeTable(n, figures) {
  const rows = []
  for (const { key, label, unit } of OPERATIONS) {
    const cells = figures[key]
    if (!LIBS.some((lib) => cells[lib] !== undefined)) continue
    const r = ratio(cells.yreplica, cells.yjs)
    rows.push([label.replaceAll(' N', ` ${sizeName(n)}`), ...LIBS.map((lib) => formatValue(cells[lib], unit)), r === undefined ? '—' : r.toFixed(2)])
  }
  return table(['operation (ms unless noted)', ...LIBS.map((l) => LIB_NAMES[l]), 'yreplica / Yjs'], rows)
}

/** Ratio of each figure between consecutive sizes; ⚠ where it grows more than 1.2× linearly. */
export function growthTable(sizes, figuresBySize) {
  const steps = []
  for (let i = 1; i < sizes.length; i++) steps.push([sizes[i - 1], sizes[i]])
  if (steps.length === 0) return null
  const growth = (key, lib, [a, b]) => ratio(figuresBySize[b]?.[key]?.[lib], figuresBySize[a]?.[key]?.[lib])
  const columns = LIBS.flatMap((lib) => steps.map((step) => [lib, step])).filter(([lib, step]) => OPERATIONS.some(({ key }) => growth(key, lib, step) !== undefined))
  if (columns.length === 0) return null
  const abbreviate = (n) => (n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n))
  const rows = OPERATIONS.map(({ key, short }) => [
    short,
    ...columns.map(([lib, step]) => {
      const r = growth(key, lib, step)
      return r === undefined ? '—' : `${r.toFixed(1)}${r > 1.2 * (step[1] / step[0]) ? ' ⚠' : ''}`
    }),
  ]).filter((row) => row.slice(1).some((c) => c !== '—'))
  return table(['figure', ...columns.map(([lib, [a, b]]) => `${LIB_NAMES[lib]} ${abbreviate(b)} ÷ ${abbreviate(a)}`)], rows)
}

export function memoryTable(sizes, memoryBySize) {
  const present = sizes.filter((n) => memoryBySize[n])
  if (present.length === 0) return null
  const rows = [
    ['yreplica Wasm memory per record, after insert', (m) => m.wasm.yreplica],
    ['… of it in use by the allocator', (m) => m.wasmInUse?.yreplica],
    ['yreplica JS heap per record, after insert', (m) => m.heap.yreplica],
    ['Yjs JS heap per record, after insert', (m) => m.heap.yjs],
    ['native yrs heap per record, after insert', (m) => m.heap.native],
    ['yreplica Wasm memory per record, fresh client after sync', (m) => m.syncedWasm.yreplica],
    ['… of it in use by the allocator', (m) => m.syncedWasmInUse?.yreplica],
    ['yreplica JS heap per record, fresh client after sync', (m) => m.syncedHeap.yreplica],
    ['Yjs JS heap per record, fresh client after sync (y-websocket)', (m) => m.syncedHeap.yjs],
  ]
  const filled = rows
    .map(([label, pick]) => [label, ...present.map((n) => formatValue(pick(memoryBySize[n]), 'B'))])
    .filter((row) => row.slice(1).some((cell) => cell !== '—'))
  return filled.length === 0 ? null : table(['bytes per record', ...present.map(sizeName)], filled)
}

/** Memory after insert, after deleting every record and after inserting them again. */
export function reuseTable(n, memory) {
  const ours = memory?.reuse?.yreplica
  const theirs = memory?.reuse?.yjs
  if (!ours && !theirs) return null
  const steps = (ours ?? theirs).steps.map((s) => s.step)
  const mb = (b) => (isNumber(b) ? (b / 1024 / 1024).toFixed(1) : '—')
  const inUse = ours?.steps.some((s) => isNumber(s.wasmInUse))
  const rows = steps.map((step, i) => [
    step,
    mb(ours?.steps[i]?.wasmBytes),
    ...(inUse ? [mb(ours?.steps[i]?.wasmInUse)] : []),
    mb(ours?.steps[i]?.heapBytes),
    formatValue(ours?.steps[i]?.ms),
    mb(theirs?.steps[i]?.heapBytes),
    formatValue(theirs?.steps[i]?.ms),
    formatValue(ours?.steps[i]?.stateBytes ?? theirs?.steps[i]?.stateBytes, 'B'),
  ])
  return table(['step (one transaction each)', 'yreplica Wasm memory (MB)', ...(inUse ? ['of it in use (MB)'] : []), 'yreplica JS heap (MB)', 'yreplica ms', 'Yjs JS heap (MB)', 'Yjs ms', 'state bytes'], rows)
}

/** The numbers issue #12 asks to hold, checked against this run. */
export function targetsTable(sizes, figuresBySize) {
  const rows = []
  const mark = (pass) => (pass === undefined ? 'not measured' : pass ? 'holds' : '**misses**')
  for (const n of sizes.filter((s) => s >= 100_000)) {
    for (const key of ['insert', 'update', 'load', 'syncYws', 'syncHp']) {
      const name = OPERATIONS.find((o) => o.key === key).short
      const r = ratio(figuresBySize[n]?.[key]?.yreplica, figuresBySize[n]?.[key]?.yjs)
      rows.push([`${sizeName(n)}: ${name} at or below Yjs (yreplica / Yjs ≤ 1)`, r === undefined ? '—' : r.toFixed(2), mark(r === undefined ? undefined : r <= 1)])
    }
  }
  if (sizes.includes(1_000_000)) {
    const ms = figuresBySize[1_000_000]?.findIndexed?.yreplica
    rows.push(['1,000,000: indexed find under 5 ms', isNumber(ms) ? `${formatValue(ms)} ms` : '—', mark(isNumber(ms) ? ms < 5 : undefined)])
  }
  if (sizes.includes(100_000) && sizes.includes(1_000_000)) {
    const over = OPERATIONS.filter(({ key, server }) => {
      if (server) return false
      const r = ratio(figuresBySize[1_000_000]?.[key]?.yreplica, figuresBySize[100_000]?.[key]?.yreplica)
      return r !== undefined && r > 12
    }).map(({ short }) => short)
    const measured = OPERATIONS.some(({ key }) => ratio(figuresBySize[1_000_000]?.[key]?.yreplica, figuresBySize[100_000]?.[key]?.yreplica) !== undefined)
    rows.push(['every yreplica figure at 1M ≤ 12× its 100k figure', over.length > 0 ? `over: ${over.join('; ')}` : measured ? 'all within' : '—', mark(measured ? over.length === 0 : undefined)])
    // How fast memory gets slower with the heap's size is the machine's: native yrs in the same
    // run shows it for the figures it measures.
    const growthOf = (key, lib) => ratio(figuresBySize[1_000_000]?.[key]?.[lib], figuresBySize[100_000]?.[key]?.[lib])
    const floor = OPERATIONS.filter(({ key }) => key !== 'stateBytes' && growthOf(key, 'native') !== undefined && growthOf(key, 'yreplica') !== undefined)
    if (floor.length > 0) {
      const faster = floor.filter(({ key }) => growthOf(key, 'yreplica') > growthOf(key, 'native')).map(({ short }) => short)
      const label = `context, not a target: yreplica's growth from 100k to 1M at most native yrs' in the same run (${floor.map(({ short }) => short).join(', ')})`
      rows.push([label, faster.length > 0 ? `over: ${faster.join('; ')}` : 'all within', faster.length > 0 ? 'over' : 'within'])
    }
  }
  return rows.length === 0 ? null : table(['target (issue #12)', 'this run', 'verdict'], rows)
}

export function renderReport({ meta, sizes, figuresBySize, memoryBySize, notesBySize }) {
  const out = []
  out.push(`# bench:scale — ${meta.startedAt}`)
  out.push('')
  out.push(`\`${meta.command}\` · commit ${meta.commit} · Node ${meta.node} · ${meta.chromium ? `Chromium ${meta.chromium} · ` : ''}${meta.cpus} CPUs · ${meta.runs === 1 ? 'one run' : `median of ${meta.runs} runs`} per figure · each size and library in its own process`)
  for (const n of sizes) {
    out.push('', `## ${sizeName(n)} records`, '', sizeTable(n, figuresBySize[n]))
    const reuse = reuseTable(n, memoryBySize[n])
    if (reuse) out.push('', `Memory when every record is deleted and inserted again (${sizeName(n)}):`, '', reuse)
  }
  const growth = growthTable(sizes, figuresBySize)
  if (growth) out.push('', '## Growth', '', 'Each figure divided by the same figure at the previous size (linear growth: the ratio of the sizes, 10 for 10k → 100k → 1M); ⚠ marks growth more than 1.2× linear.', '', growth)
  const memory = memoryTable(sizes, memoryBySize)
  if (memory) out.push('', '## Memory per record', '', memory)
  const targets = targetsTable(sizes, figuresBySize)
  if (targets) out.push('', '## Targets', '', targets)
  const notes = sizes.flatMap((n) => (notesBySize[n] ?? []).map((text) => `- ${sizeName(n)}: ${text}`))
  if (notes.length > 0) out.push('', '## Notes', '', ...notes)
  return out.join('\n') + '\n'
}
