// What one document holds, in the terms replication health is measured in: its state vector
// (which structs it has) and its delete set (which of them are deleted). Equal state vectors
// do not mean equal documents: deleting a map entry adds no struct, only a delete-set range.
import {
  decodeStateVector, decodeDeleteSet, encodeDeleteSet, subtractDeleteSet, deleteSetSize,
  missingClocks, concatBytes,
} from './yjs-encoding.js'

/**
 * @param replica a Replica (or anything with stateVector() and encodeState([sv]))
 * @returns {{ replica, svBytes: Uint8Array, sv: Map<number, number>, dsBytes: Uint8Array, ds: Map, size: number }}
 */
export function snapshot(replica) {
  const svBytes = replica.stateVector()
  // Encoding against its own state vector leaves no structs: a 0 (no clients), then the
  // document's whole delete set.
  const own = replica.encodeState(svBytes)
  if (own[0] !== 0) throw new Error('unexpected Yjs encoding: a diff against the own state vector holds structs')
  const dsBytes = own.subarray(1)
  return {
    replica,
    svBytes,
    sv: decodeStateVector(svBytes),
    dsBytes,
    ds: decodeDeleteSet(dsBytes),
    size: replica.encodeState().length,
  }
}

function endsWith(bytes, suffix) {
  if (suffix.length > bytes.length) return false
  const offset = bytes.length - suffix.length
  for (let i = 0; i < suffix.length; i++) if (bytes[offset + i] !== suffix[i]) return false
  return true
}

/**
 * What `have` lacks of `source`: missing structs (clock count), missing deletions (struct
 * count) and the smallest update that brings them (null when nothing is missing). Yjs diffs
 * always carry the source's whole delete set; this one carries only the missing part.
 */
export function lackOf(have, source) {
  const clocks = missingClocks(have.sv, source.sv)
  const deletes = subtractDeleteSet(source.ds, have.ds)
  const deletions = deleteSetSize(deletes)
  if (clocks === 0 && deletions === 0) return { clocks, deletions, update: null }
  const diff = source.replica.encodeState(have.svBytes)
  // A diff is the structs the other side lacks followed by the source's whole delete set.
  const update = endsWith(diff, source.dsBytes)
    ? concatBytes(diff.subarray(0, diff.length - source.dsBytes.length), encodeDeleteSet(deletes))
    : diff
  return { clocks, deletions, update }
}
