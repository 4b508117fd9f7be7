// Small text helpers for the human-readable output.

export const bytes = (n) => `${n.toLocaleString('en-US')} B`

export const plural = (n, one, many = `${one}s`) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`

/** "12 clocks + 1 deletion (340 B)", or "nothing" when nothing is missing. */
export function describeLack({ clocks, deletions, bytes: size }) {
  if (clocks === 0 && deletions === 0) return 'nothing'
  const parts = []
  if (clocks > 0) parts.push(plural(clocks, 'clock'))
  if (deletions > 0) parts.push(plural(deletions, 'deletion'))
  return `${parts.join(' + ')} (${bytes(size)})`
}

/** A state vector for people: "client:clock" pairs, the first few only when there are many. */
export function describeStateVector(sv, max = 6) {
  const clients = [...sv.keys()].sort((a, b) => a - b)
  if (clients.length === 0) return 'empty'
  const shown = clients.slice(0, max).map((c) => `${c}:${sv.get(c)}`)
  const more = clients.length > max ? ` … (+${clients.length - max} more clients; --json lists all)` : ''
  return `${shown.join(' ')}${more}`
}

export function describeCounts(counts) {
  const names = Object.keys(counts)
  if (names.length === 0) return 'none'
  return names.map((name) => `${name} ${counts[name].toLocaleString('en-US')}`).join(', ')
}
