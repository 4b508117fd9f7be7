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

/** CLOSED, naming the call (`todos.get: the replica is closed`) when it is known. */
export function closedError(what) {
  return codedError('CLOSED', what === undefined ? 'the replica is closed' : `${what}: the replica is closed`)
}
