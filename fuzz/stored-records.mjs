// The storage_records target's input format, shared by the Wasm replay scripts: records of a
// 2-byte little-endian length followed by that many bytes (a short last record is cut off).
export function records(data) {
  const out = []
  for (let at = 0; at + 2 <= data.length; ) {
    const len = data[at] | (data[at + 1] << 8)
    out.push(data.subarray(at + 2, Math.min(at + 2 + len, data.length)))
    at += 2 + len
  }
  return out
}
