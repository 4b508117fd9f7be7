// The two small pieces of the Yjs v1 encoding the CLI reads and writes itself: state vectors
// and delete sets (lib0 variable-length unsigned integers inside). Clients and clocks are
// decoded with arithmetic, not bit operations, so values up to 2^53 stay exact.

const MAX = Number.MAX_SAFE_INTEGER

/** Reads lib0 varuints from `bytes`, failing with a message that says what was being read. */
export class Reader {
  constructor(bytes, what) {
    this.bytes = bytes
    this.pos = 0
    this.what = what
  }

  get done() {
    return this.pos >= this.bytes.length
  }

  varUint() {
    let value = 0
    let scale = 1
    for (;;) {
      if (this.pos >= this.bytes.length) throw new Error(`${this.what}: truncated at byte ${this.pos}`)
      const byte = this.bytes[this.pos++]
      value += (byte & 0x7f) * scale
      if (value > MAX) throw new Error(`${this.what}: a number beyond 2^53 at byte ${this.pos}`)
      if (byte < 0x80) return value
      scale *= 128
    }
  }
}

export class Writer {
  constructor() {
    this.bytes = []
  }

  varUint(value) {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a varuint: ${value}`)
    while (value >= 0x80) {
      this.bytes.push((value % 128) | 0x80)
      value = Math.floor(value / 128)
    }
    this.bytes.push(value)
  }

  finish() {
    return Uint8Array.from(this.bytes)
  }
}

/**
 * A Yjs v1 state vector (varuint count, then (client, clock) pairs) as a Map client → clock,
 * where clock is the number of structs of that client the document holds.
 */
export function decodeStateVector(bytes) {
  const reader = new Reader(bytes, 'state vector')
  const count = reader.varUint()
  const sv = new Map()
  for (let i = 0; i < count; i++) {
    const client = reader.varUint()
    sv.set(client, reader.varUint())
  }
  return sv
}

/** Sum over clients of what `have` lacks of `source`'s clocks. */
export function missingClocks(have, source) {
  let missing = 0
  for (const [client, clock] of source) missing += Math.max(0, clock - (have.get(client) ?? 0))
  return missing
}

/** True when two state vectors hold the same clocks (a client at clock 0 counts as absent). */
export function sameStateVector(a, b) {
  return missingClocks(a, b) === 0 && missingClocks(b, a) === 0
}

/** A state vector as a plain object { "client": clock } sorted by client, for JSON output. */
export function stateVectorObject(sv) {
  const out = {}
  for (const client of [...sv.keys()].sort((x, y) => x - y)) out[client] = sv.get(client)
  return out
}

/**
 * Reads a Yjs v1 delete set (varuint client count; per client: client, range count, then
 * (clock, length) pairs) into a Map client → sorted, merged [clock, length] ranges.
 */
export function decodeDeleteSet(bytes, what = 'delete set') {
  const reader = new Reader(bytes, what)
  const clients = reader.varUint()
  const ds = new Map()
  for (let i = 0; i < clients; i++) {
    const client = reader.varUint()
    const n = reader.varUint()
    const ranges = ds.get(client) ?? []
    for (let j = 0; j < n; j++) {
      const clock = reader.varUint()
      ranges.push([clock, reader.varUint()])
    }
    ds.set(client, ranges)
  }
  if (!reader.done) throw new Error(`${what}: ${bytes.length - reader.pos} bytes left after the delete set`)
  for (const [client, ranges] of ds) ds.set(client, normalize(ranges))
  return ds
}

export function encodeDeleteSet(ds) {
  const writer = new Writer()
  const clients = [...ds.keys()].filter((c) => ds.get(c).length > 0).sort((a, b) => a - b)
  writer.varUint(clients.length)
  for (const client of clients) {
    const ranges = ds.get(client)
    writer.varUint(client)
    writer.varUint(ranges.length)
    for (const [clock, length] of ranges) {
      writer.varUint(clock)
      writer.varUint(length)
    }
  }
  return writer.finish()
}

function normalize(ranges) {
  const sorted = ranges.filter(([, len]) => len > 0).sort((a, b) => a[0] - b[0])
  const out = []
  for (const [clock, length] of sorted) {
    const last = out[out.length - 1]
    if (last && clock <= last[0] + last[1]) last[1] = Math.max(last[1], clock + length - last[0])
    else out.push([clock, length])
  }
  return out
}

/** The deletions in `source` that `have` lacks, as a delete set. */
export function subtractDeleteSet(source, have) {
  const out = new Map()
  for (const [client, ranges] of source) {
    const holes = have.get(client) ?? []
    const left = []
    for (const [clock, length] of ranges) {
      let start = clock
      const end = clock + length
      for (const [hClock, hLength] of holes) {
        const hEnd = hClock + hLength
        if (hEnd <= start || hClock >= end) continue
        if (hClock > start) left.push([start, hClock - start])
        start = Math.max(start, hEnd)
        if (start >= end) break
      }
      if (start < end) left.push([start, end - start])
    }
    if (left.length > 0) out.set(client, left)
  }
  return out
}

/** How many structs a delete set marks deleted. */
export function deleteSetSize(ds) {
  let n = 0
  for (const ranges of ds.values()) for (const [, length] of ranges) n += length
  return n
}

export function concatBytes(a, b) {
  const out = new Uint8Array(a.length + b.length)
  out.set(a, 0)
  out.set(b, a.length)
  return out
}
