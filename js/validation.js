// Record validation per collection: replica.collection(name, { validate }) (docs/api.md
// "Validation"). A local write that fails is refused (INVALID_VALUE) before anything is
// written; a record that arrives from elsewhere and fails is kept (every replica must converge
// on the same document) but remembered as invalid: `find`, `count`, `watch` and `watchOne`
// leave it out unless asked (`includeInvalid: true`), and it is reported in an 'invalid' event.

import { invalidValue } from './errors.js'

/** An issue's path (Standard Schema: keys, or `{ key }` segments) as `a.b.0`. */
function pathText(path) {
  if (!Array.isArray(path) || path.length === 0) return ''
  return path.map((segment) => String(segment !== null && typeof segment === 'object' ? segment.key : segment)).join('.')
}

function issuesMessage(issues) {
  const first = issues[0]
  const where = pathText(first?.path)
  const text = typeof first?.message === 'string' ? first.message : 'invalid'
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''
  return `${where === '' ? '' : `${where}: `}${text}${more}`
}

/**
 * What `validate(record)` said, as null (valid) or `{ message, issues }`. Valid: `true`,
 * `undefined`, or a result without issues (Standard Schema's `{ value }`, `{ success: true }`).
 * Invalid: `false`, a string (the message), `{ issues: [...] }` (Standard Schema),
 * `{ success: false, error }` (a `safeParse` result), or anything thrown.
 */
export function runValidator(validate, record) {
  let outcome
  try {
    outcome = validate(record)
  } catch (error) {
    const issues = Array.isArray(error?.issues) ? error.issues : undefined
    return { message: issues?.length ? issuesMessage(issues) : String(error?.message ?? error), issues }
  }
  if (outcome === true || outcome === undefined || outcome === null) return null
  if (outcome === false) return { message: 'refused by validate', issues: undefined }
  if (typeof outcome === 'string') return { message: outcome, issues: undefined }
  if (typeof outcome === 'object') {
    if (typeof outcome.then === 'function') return { message: 'validate returned a promise: it must be synchronous', issues: undefined }
    if (Array.isArray(outcome.issues)) return outcome.issues.length === 0 ? null : { message: issuesMessage(outcome.issues), issues: outcome.issues }
    if (outcome.success === false) {
      const issues = Array.isArray(outcome.error?.issues) ? outcome.error.issues : undefined
      return { message: issues?.length ? issuesMessage(issues) : String(outcome.error?.message ?? 'invalid'), issues }
    }
  }
  return null
}

/** A record with a patch merged in, as `update` stores it (`undefined` removes a field). */
function merged(current, fields) {
  const record = { ...current }
  for (const key of Object.keys(fields)) {
    if (fields[key] === undefined) delete record[key]
    else record[key] = fields[key]
  }
  return record
}

/** The validation state of one collection: its validator and the records that failed it. */
export class Validation {
  constructor(name) {
    this.name = name
    this.validate = null
    /** id → `{ message, issues }` of the records kept although they fail validation */
    this.invalid = new Map()
  }

  get active() {
    return this.validate !== null
  }

  /**
   * A local write about to be made: throws INVALID_VALUE (nothing written) if the record it
   * leaves fails. `current` is the record now (for `update`), undefined if there is none.
   */
  checkLocal(where, op, id, fields, current) {
    if (this.validate === null) return
    if (op === 'update' && current === undefined) return // NOT_FOUND follows
    const record = op === 'update' ? merged(current, fields) : { ...fields, id }
    record.id = id
    const failed = runValidator(this.validate, record)
    if (failed === null) return
    const error = invalidValue(`${where}: record '${id}' fails validation: ${failed.message}; nothing was written`)
    if (failed.issues !== undefined) error.issues = failed.issues
    throw error
  }

  /** A local write went in (it was valid), or a record was deleted here. */
  written(id) {
    this.invalid.delete(id)
  }

  /**
   * Records that arrived from elsewhere (or were here before the validator): `records` as
   * read, undefined for those deleted. Returns the reports of those that fail.
   */
  checkRemote(ids, records) {
    const reports = []
    if (this.validate === null) return reports
    for (let i = 0; i < ids.length; i++) {
      const record = records[i]
      if (record === undefined) {
        this.invalid.delete(ids[i])
        continue
      }
      const failed = runValidator(this.validate, record)
      if (failed === null) {
        this.invalid.delete(ids[i])
      } else {
        this.invalid.set(ids[i], failed)
        reports.push({ collection: this.name, id: ids[i], value: record, message: failed.message, issues: failed.issues })
      }
    }
    return reports
  }

  /** The ids of invalid records that still exist (`exists(id)`), for queries to leave out. */
  invalidIds(exists) {
    for (const id of this.invalid.keys()) if (!exists(id)) this.invalid.delete(id)
    return [...this.invalid.keys()]
  }
}
