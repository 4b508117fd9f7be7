// The operator directive as the app gives it to setDirective(): checked here, so the core
// only ever stores the documented shape (see src/replica/directive.rs for where it is kept).
import { invalidValue } from './errors.js'

const KEYS = ['primary', 'drain', 'note', 'by', 'expiresAt']

/**
 * `{ primary, drain, note, by, expiresAt }` with its defaults, plus `at` (now), or a
 * TypeError (INVALID_VALUE) naming what is wrong.
 */
export function directiveToStore(directive, defaultBy) {
  const where = 'setDirective'
  if (directive === null || typeof directive !== 'object' || Array.isArray(directive)) {
    throw invalidValue(`${where}: expected an object { primary, drain, note, by, expiresAt }`)
  }
  for (const key of Object.keys(directive)) {
    if (!KEYS.includes(key)) throw invalidValue(`${where}: unknown field '${key}' (known: ${KEYS.join(', ')})`)
  }
  const { primary = null, drain = [], note = null, by = defaultBy, expiresAt = null } = directive
  if (primary !== null && (typeof primary !== 'string' || primary === '')) throw invalidValue(`${where}: primary must be an endpoint URL or null`)
  if (!Array.isArray(drain) || drain.some((url) => typeof url !== 'string' || url === '')) {
    throw invalidValue(`${where}: drain must be an array of endpoint URLs`)
  }
  if (note !== null && typeof note !== 'string') throw invalidValue(`${where}: note must be a string or null`)
  if (typeof by !== 'string') throw invalidValue(`${where}: by must be a string`)
  if (expiresAt !== null && !Number.isFinite(expiresAt)) throw invalidValue(`${where}: expiresAt must be a Date.now()-style time in milliseconds, or null`)
  if (primary === null && drain.length === 0) throw invalidValue(`${where}: a directive promotes an endpoint (primary), drains some (drain), or both; use clearDirective() to remove one`)
  return { primary, drain: [...new Set(drain)], note, by, at: Date.now(), expiresAt }
}

/** The directive in force, from the core's JSON text: null when there is none or it expired. */
export function directiveInForce(json, now = Date.now()) {
  if (json === undefined) return null
  const directive = JSON.parse(json)
  return directive.expiresAt !== null && directive.expiresAt <= now ? null : directive
}
