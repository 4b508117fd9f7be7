// Opening the IndexedDB database happens here, in JS, because its outcome can arrive after the
// replica stopped waiting: a request queued behind another tab's upgrade may succeed minutes
// later, and that late connection must be closed at once or it blocks the next upgrade of that
// tab. JS handlers can simply outlive the call; the data operations are in src/web/idb.rs.

const UPDATES = 'updates'
const CUSTOM = 'custom'

function coded(message, code) {
  const error = new Error(message)
  error.code = code
  return error
}

/**
 * Opens (creating if needed) the database `name` with y-indexeddb's stores. Rejects with code
 * UNSUPPORTED (no IndexedDB), BLOCKED, TIMEOUT (nothing within `timeoutMs`: a queued upgrade,
 * Safari's stuck first open) or STORAGE_FAILED instead of hanging.
 */
export function openDatabase(name, timeoutMs, factory = globalThis.indexedDB) {
  if (!factory) return Promise.reject(coded('IndexedDB is not available here', 'UNSUPPORTED'))
  return new Promise((resolve, reject) => {
    let request
    try {
      request = factory.open(name)
    } catch (error) {
      reject(coded(`IndexedDB open of '${name}' failed: ${error.message}`, 'STORAGE_FAILED'))
      return
    }
    let settled = false
    const giveUp = (error) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      reject(error) // a connection that still opens later is closed by onsuccess below
    }
    const timer = setTimeout(
      () => giveUp(coded(`IndexedDB open of '${name}' did not finish within ${timeoutMs} ms`, 'TIMEOUT')),
      timeoutMs,
    )
    request.onupgradeneeded = () => {
      const db = request.result
      if (!db.objectStoreNames.contains(UPDATES)) db.createObjectStore(UPDATES, { autoIncrement: true })
      if (!db.objectStoreNames.contains(CUSTOM)) db.createObjectStore(CUSTOM)
    }
    request.onblocked = () =>
      giveUp(coded(`IndexedDB open of '${name}' is blocked: another tab holds an older version open`, 'BLOCKED'))
    request.onerror = () => {
      const cause = request.error
      giveUp(coded(`IndexedDB open of '${name}' failed: ${cause?.name}: ${cause?.message}`, 'STORAGE_FAILED'))
    }
    request.onsuccess = () => {
      if (settled) {
        request.result.close()
        return
      }
      settled = true
      clearTimeout(timer)
      resolve(request.result)
    }
  })
}
