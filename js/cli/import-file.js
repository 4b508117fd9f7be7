// Reading and checking an import file before anything is written: a bad file is reported at
// its first bad record (collection and index) and writes nothing.
import { CliError } from './errors.js'

const kind = (value) => (value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value)

/**
 * @param {string} text the file's contents
 * @param {string} source the file name (or 'stdin'), for messages
 * @param {number} maxRecordBytes the largest record (as JSON text) one write may carry
 * @returns {{ collections: [string, object[], number[]][], total: number }} each collection's
 *   records with their sizes as JSON text
 */
export function parseImport(text, source, maxRecordBytes = Infinity) {
  let data
  try {
    data = JSON.parse(text)
  } catch (error) {
    throw new CliError(`${source} is not valid JSON: ${error.message}`)
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new CliError(`${source}: expected an object mapping collection names to arrays of records ({ "todos": [{ "id": "…", … }] }), got ${kind(data)}`)
  }
  const collections = []
  let total = 0
  for (const [name, records] of Object.entries(data)) {
    if (name === '') throw new CliError(`${source}: a collection name must not be empty`)
    if (!Array.isArray(records)) throw new CliError(`${source}: collection '${name}': expected an array of records, got ${kind(records)}`)
    const firstAt = new Map()
    const sizes = new Array(records.length)
    records.forEach((record, index) => {
      const at = `${source}: collection '${name}', record ${index}`
      if (record === null || typeof record !== 'object' || Array.isArray(record)) {
        throw new CliError(`${at}: expected an object { "id": "…", …fields }, got ${kind(record)}`)
      }
      if (typeof record.id !== 'string' || record.id === '') {
        throw new CliError(`${at}: 'id' must be a non-empty string, got ${record.id === '' ? 'an empty string' : kind(record.id)}`)
      }
      if (firstAt.has(record.id)) throw new CliError(`${at}: id '${record.id}' appears twice (first as record ${firstAt.get(record.id)})`)
      firstAt.set(record.id, index)
      sizes[index] = JSON.stringify(record).length
      if (sizes[index] > maxRecordBytes) {
        throw new CliError(`${at}: the record is ${sizes[index]} bytes of JSON, over the ${maxRecordBytes} one write may carry`)
      }
    })
    collections.push([name, records, sizes])
    total += records.length
  }
  return { collections, total }
}

/** Deep equality of JSON values (key order ignored), to skip records that would not change. */
export function sameJson(a, b) {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  if (Array.isArray(a)) return a.length === b.length && a.every((value, i) => sameJson(value, b[i]))
  const keys = Object.keys(a)
  if (keys.length !== Object.keys(b).length) return false
  return keys.every((key) => Object.hasOwn(b, key) && sameJson(a[key], b[key]))
}
