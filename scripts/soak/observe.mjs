// Reading final states: a server's, through a fresh memory Replica connected to it alone,
// and comparing states (decoded collections, compared as canonical JSON).
import { Replica } from '../../js/node.js'
import { canonical } from './workload.mjs'

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
let readers = 0

/** The replica's collections: { name: records sorted by id }, empty ones left out. */
export function dumpReplica(replica) {
  const collections = {}
  for (const name of replica.collections()) {
    const records = replica.collection(name).all()
    if (records.length > 0) collections[name] = records.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  }
  return collections
}

/** Opens a memory replica on `url` alone; resolves once it is online (the handshake is done). */
export async function openReader(url, { room, protocol, timeoutMs = 15_000, storage = 'memory' }) {
  const replica = await Replica.open({
    name: `soak-reader-${++readers}`, room, storage, endpoints: [url], protocol,
    heartbeatIntervalMs: 500, missedHeartbeats: 2, connectTimeoutMs: 2000, failback: false,
    backoff: { initialMs: 100, maxMs: 1000 },
  })
  const until = Date.now() + timeoutMs
  while (replica.status.connection !== 'online') {
    if (Date.now() > until) {
      await replica.close()
      throw new Error(`a reader of ${url} was not online within ${timeoutMs} ms`)
    }
    await sleep(20)
  }
  return replica
}

/** What the server at `url` holds for the room. */
export async function readServer(url, options) {
  const replica = await openReader(url, options)
  try {
    return { collections: dumpReplica(replica), stateBytes: replica.encodeState().length }
  } finally {
    await replica.close()
  }
}

/** What a file store holds: opened offline, as the app would after a restart. */
export async function readFileStore(dir, name) {
  const replica = await Replica.open({ name, storage: { dir } })
  const errors = []
  replica.on('error', (e) => errors.push(`${e.code}: ${e.message}`))
  await sleep(0) // errors found while opening are emitted right after open()
  try {
    return { collections: dumpReplica(replica), errors }
  } finally {
    await replica.close()
  }
}

export function stateText(collections) {
  const names = Object.keys(collections).filter((n) => collections[n].length > 0).sort()
  return canonical(Object.fromEntries(names.map((n) => [n, collections[n]])))
}

/**
 * Compares observers' states. Returns [] when all are equal, else one line per observer that
 * differs from the first, naming a few records that differ.
 */
export function differences(observers) {
  if (observers.length < 2) return []
  const [first, ...rest] = observers
  const firstText = stateText(first.collections)
  const out = []
  for (const other of rest) {
    if (stateText(other.collections) === firstText) continue
    out.push(`${other.name} differs from ${first.name}: ${describeDiff(first.collections, other.collections)}`)
  }
  return out
}

function describeDiff(a, b) {
  const notes = []
  for (const name of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const left = new Map((a[name] ?? []).map((r) => [r.id, canonical(r)]))
    const right = new Map((b[name] ?? []).map((r) => [r.id, canonical(r)]))
    let n = 0
    for (const id of new Set([...left.keys(), ...right.keys()])) {
      if (left.get(id) === right.get(id)) continue
      n++
      if (notes.length < 3) notes.push(`${name}/${id}: ${left.get(id) ?? 'missing'} vs ${right.get(id) ?? 'missing'}`)
    }
    if (n > 0) notes.push(`${name}: ${n} records differ`)
  }
  return notes.join('; ')
}
