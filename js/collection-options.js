// Checking the options of replica.collection(name, options).

const KNOWN = new Set(['indexes', 'validate'])

function collectionError(name, message) {
  const error = new Error(`collection('${name}'): ${message}`)
  error.code = 'INVALID_OPTION'
  return error
}

/** The fields to index from `{ indexes }` (none if options are absent); throws INVALID_OPTION. */
export function indexedFields(name, options) {
  if (options === undefined) return []
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw collectionError(name, 'options must be an object such as { indexes: [...] }')
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw collectionError(name, `unknown option '${key}' (expected indexes or validate)`)
  }
  const { indexes } = options
  if (indexes === undefined) return []
  if (!Array.isArray(indexes)) throw collectionError(name, 'indexes must be an array of field names')
  for (const field of indexes) {
    if (typeof field !== 'string' || field === '') {
      throw collectionError(name, `indexes must hold non-empty field names, got ${field === '' ? 'an empty string' : typeof field}`)
    }
    if (field === 'id') throw collectionError(name, "'id' needs no index: records are looked up by id directly")
  }
  return indexes
}

/** The `validate` option: a function, or undefined when absent; throws INVALID_OPTION. */
export function validatorOf(name, options) {
  const validate = options?.validate
  if (validate === undefined) return undefined
  if (typeof validate !== 'function') throw collectionError(name, 'validate must be a function (record) => result')
  return validate
}
