// Checking app values before they are stored: only JSON data is accepted, and a rejected
// value names the field it sits in. Nothing is written when a check fails. A refused value is
// a TypeError with code INVALID_VALUE.

import { invalidValue } from './errors.js'

/** @param {string} where  @param {string} path  @param {string} what */
function reject(where, path, what) {
  const field = path === '' ? 'the value' : `field '${path}'`
  return invalidValue(`${where}: ${field} is ${what}; only JSON values (string, finite number, boolean, null, arrays, plain objects) can be stored`)
}

function describe(value) {
  if (value instanceof Date) return 'a Date (store value.toISOString() or a timestamp instead)'
  const proto = Object.getPrototypeOf(value)
  const name = proto && proto.constructor && proto.constructor.name
  return name ? `an instance of ${name}` : 'an object with a custom prototype'
}

const join = (path, key) => (path === '' ? key : `${path}.${key}`)

/** A string, boolean, null or finite number: stored as it is (checked without naming a path). */
function isPlainScalar(value) {
  const type = typeof value
  return type === 'string' || type === 'boolean' || value === null || (type === 'number' && Number.isFinite(value))
}

/**
 * Throws a TypeError (INVALID_VALUE) naming the first non-JSON value inside `value`.
 * `undefined` is allowed as an object property (it means "absent"), not inside arrays.
 */
function checkValue(value, where, path, stack) {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return
    case 'number':
      if (!Number.isFinite(value)) throw reject(where, path, String(value))
      return
    case 'bigint':
      throw reject(where, path, 'a BigInt')
    case 'symbol':
      throw reject(where, path, 'a symbol')
    case 'function':
      throw reject(where, path, 'a function')
    case 'undefined':
      throw reject(where, path, 'undefined')
  }
  if (value === null) return
  if (stack.includes(value)) throw reject(where, path, 'a reference back to a containing value (a cycle)')
  stack.push(value)
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!isPlainScalar(value[i])) checkValue(value[i], where, `${path}[${i}]`, stack)
    }
  } else {
    checkPlainObject(value, where, path, stack)
  }
  stack.pop()
}

/** Returns how many keys the object has. */
function checkPlainObject(value, where, path, stack) {
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) throw reject(where, path, describe(value))
  if (Object.getOwnPropertySymbols(value).length > 0) throw reject(where, path, 'an object with symbol keys')
  const keys = Object.keys(value)
  for (const key of keys) {
    const field = value[key]
    if (field !== undefined && !isPlainScalar(field)) checkValue(field, where, join(path, key), stack)
  }
  return keys.length
}

// The chain of containers being checked, for cycle detection (checks are synchronous, so one
// array serves every call).
const stack = []

/** Checks a record (or patch): a plain object of JSON fields. Returns its number of fields. */
export function checkRecord(record, where) {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    throw invalidValue(`${where}: a record must be a plain object, got ${record === null ? 'null' : Array.isArray(record) ? 'an array' : typeof record}`)
  }
  stack.length = 0
  stack.push(record)
  return checkPlainObject(record, where, '', stack)
}

/** Checks a query's literal values the same way (they are compared with stored JSON). */
export function checkQueryValue(value, where) {
  if (value === undefined) return
  stack.length = 0
  checkValue(value, where, '', stack)
}

/**
 * A deep copy of stored JSON data, so records handed to the app can be mutated freely.
 * A key named `__proto__` is copied as a plain data property, never as a prototype.
 */
export function cloneJson(value) {
  if (typeof value !== 'object' || value === null) return value
  if (Array.isArray(value)) {
    const n = value.length
    const copy = new Array(n)
    for (let i = 0; i < n; i++) copy[i] = cloneJson(value[i])
    return copy
  }
  const copy = {}
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue
    const field = value[key]
    const cloned = typeof field === 'object' && field !== null ? cloneJson(field) : field
    if (key === '__proto__') Object.defineProperty(copy, key, { value: cloned, writable: true, enumerable: true, configurable: true })
    else copy[key] = cloned
  }
  return copy
}
