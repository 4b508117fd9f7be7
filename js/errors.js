// The errors the facade makes. Every `code` yreplica gives an error, here or in the Wasm core,
// is listed once in index.d.ts (`ErrorCode`) and described in docs/api.md; tests/contract.rs
// checks that every code the sources emit is in both.

/** An Error (or a TypeError, a RangeError) carrying `code`. */
export function codedError(code, message, Kind = Error) {
  const error = new Kind(message)
  error.code = code
  return error
}

/** A value or an argument a call refuses: a TypeError with code INVALID_VALUE. */
export function invalidValue(message) {
  return codedError('INVALID_VALUE', message, TypeError)
}

export function closedError() {
  return codedError('CLOSED', 'the replica is closed')
}
