// What one document holds, in the terms replication health is measured in: its state vector
// (how many structs each client wrote) and its delete set (which of them are deleted), both
// read by the core (`replica.stateSummary()`, yrs' own decoding). Equal state vectors do not
// mean equal documents: deleting a map entry adds no struct, only a delete-set range. This
// file only does arithmetic on those numbers.

/**
 * @param replica a Replica
 * @returns {{ replica, svBytes: Uint8Array, sv: Map<number, number>, ds: Map<number, number[][]>, size: number }}
 */
export function snapshot(replica) {
  const { stateVector, deleteSet } = replica.stateSummary()
  return {
    replica,
    svBytes: replica.stateVector(),
    // client ids are below 2^53 (Yjs' limit), so Number keeps them exact
    sv: new Map(Object.entries(stateVector).map(([client, clock]) => [Number(client), clock])),
    ds: new Map(Object.entries(deleteSet).map(([client, ranges]) => [Number(client), ranges])),
    size: replica.encodeState().length,
  }
}

/** Sum over clients of what `have` lacks of `source`'s clocks. */
export function missingClocks(have, source) {
  let missing = 0
  for (const [client, clock] of source) missing += Math.max(0, clock - (have.get(client) ?? 0))
  return missing
}

/** How many structs `source` marks deleted that `have` does not (sorted, merged ranges). */
export function missingDeletions(have, source) {
  let missing = 0
  for (const [client, ranges] of source) {
    const holes = have.get(client) ?? []
    for (const [clock, length] of ranges) {
      let start = clock
      const end = clock + length
      for (const [hClock, hLength] of holes) {
        const hEnd = hClock + hLength
        if (hEnd <= start || hClock >= end) continue
        if (hClock > start) missing += hClock - start
        start = Math.max(start, hEnd)
        if (start >= end) break
      }
      if (start < end) missing += end - start
    }
  }
  return missing
}

/** A state vector as a plain object { "client": clock } sorted by client, for JSON output. */
export function stateVectorObject(sv) {
  const out = {}
  for (const client of [...sv.keys()].sort((x, y) => x - y)) out[client] = sv.get(client)
  return out
}

/**
 * What `have` lacks of `source`: missing structs (clock count), missing deletions (struct
 * count) and the update that brings them (a Yjs diff against `have`'s state vector; null when
 * nothing is missing, so a second sync sends nothing).
 */
export function lackOf(have, source) {
  const clocks = missingClocks(have.sv, source.sv)
  const deletions = missingDeletions(have.ds, source.ds)
  if (clocks === 0 && deletions === 0) return { clocks, deletions, update: null }
  return { clocks, deletions, update: source.replica.encodeState(have.svBytes) }
}
