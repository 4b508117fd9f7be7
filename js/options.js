// Checking the options of Replica.open. Sync options are checked by the Rust core
// (checkSyncOptions), which owns their meaning and their names (syncOptionNames, the fields of
// src/config.rs SyncConfig); this file checks what only JS can see.

/** The options only the facade reads. */
const FACADE_OPTIONS = ['name', 'room', 'storage', 'WebSocket', 'maxUpdateBytes', 'leaderTab']
/**
 * 4 MiB: one write goes out as one update message, which every peer must take in; this is
 * far under any peer's maxFrameBytes (512 MiB by default, 16 MiB before that) and under the
 * 100 MiB that @y/websocket-server and Hocuspocus accept from a client by default.
 */
export const DEFAULT_MAX_UPDATE_BYTES = 4 * 1024 * 1024

export function optionError(message, code = 'INVALID_OPTION') {
  const error = new Error(`Replica.open: ${message}`)
  error.code = code
  return error
}

function defaultStorage(env) {
  return env.openIndexedDb && typeof globalThis.indexedDB !== 'undefined' ? 'indexeddb' : 'memory'
}

function describeStorage(storage) {
  if (typeof storage === 'string') return storage
  if (storage !== null && typeof storage === 'object' && 'dir' in storage) return 'file store ({ dir })'
  return 'custom adapter'
}

function checkStorage(storage, env) {
  if (typeof storage === 'string') {
    if (!['memory', 'indexeddb'].includes(storage)) {
      throw optionError(`unknown storage '${storage}' (expected 'indexeddb', 'memory', { dir } or an adapter)`)
    }
  } else if (storage === null || typeof storage !== 'object') {
    throw optionError(`storage must be 'indexeddb', 'memory', { dir } or an adapter object, got ${storage === null ? 'null' : typeof storage}`)
  } else if ('dir' in storage) {
    if (typeof storage.dir !== 'string' || storage.dir === '') throw optionError('storage.dir must be a non-empty path')
  } else {
    for (const method of ['load', 'append', 'compact', 'close']) {
      if (typeof storage[method] !== 'function') throw optionError(`a storage adapter needs a ${method}() method`)
    }
  }
  if (storage === 'indexeddb' && !(env.openIndexedDb && typeof globalThis.indexedDB !== 'undefined')) {
    throw optionError("storage 'indexeddb' needs a browser (IndexedDB); in Node pass { dir } or 'memory'", 'UNSUPPORTED')
  }
  if (typeof storage === 'object' && 'dir' in storage && !env.openFileStore) {
    throw optionError(`storage ${describeStorage(storage)} needs Node.js (node:fs); in browsers pass 'memory' or an adapter`, 'UNSUPPORTED')
  }
}

/**
 * Returns { name, room, storage, sync } or throws an Error with code 'INVALID_OPTION'
 * (or 'UNSUPPORTED' for storage kinds not built yet).
 * @param core the Wasm module's `checkSyncOptions` and `syncOptionNames`
 */
export function checkOptions(options, core, env = {}) {
  if (options === null || typeof options !== 'object') throw optionError('options must be an object')
  const syncKeys = core.syncOptionNames()
  const known = new Set([...FACADE_OPTIONS, ...syncKeys])
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw optionError(`unknown option '${key}' (known: ${[...known].sort().join(', ')})`)
  }
  const { name, room = name, WebSocket } = options
  if (typeof name !== 'string' || name === '') throw optionError('name must be a non-empty string')
  if (typeof room !== 'string' || room === '') throw optionError('room must be a non-empty string')
  if (WebSocket !== undefined && typeof WebSocket !== 'function') {
    throw optionError('WebSocket must be a WebSocket constructor')
  }
  if (options.params !== undefined) {
    const params = options.params
    if (params === null || typeof params !== 'object' || Array.isArray(params)) throw optionError('params must be an object')
    for (const [key, value] of Object.entries(params)) {
      if (!['string', 'number', 'boolean'].includes(typeof value)) throw optionError(`params.${key} must be a string, number or boolean`)
    }
  }
  if (options.token !== undefined && typeof options.token !== 'string') {
    throw optionError('token must be a string') // never echo a secret back
  }
  if (options.maxUpdateBytes !== undefined && !(Number.isInteger(options.maxUpdateBytes) && options.maxUpdateBytes > 0)) {
    throw optionError(`maxUpdateBytes must be a positive whole number of bytes, got ${String(options.maxUpdateBytes)}`)
  }
  const { leaderTab = true } = options
  if (typeof leaderTab !== 'boolean') throw optionError(`leaderTab must be a boolean, got ${typeof leaderTab}`)
  const storage = options.storage === undefined ? defaultStorage(env) : options.storage
  checkStorage(storage, env)

  const syncInput = {}
  for (const key of syncKeys) if (options[key] !== undefined) syncInput[key] = options[key]
  if (syncInput.endpoints !== undefined && !Array.isArray(syncInput.endpoints)) {
    throw optionError('endpoints must be an array of ws:// or wss:// URLs')
  }
  if (syncInput.params) {
    syncInput.params = Object.fromEntries(Object.entries(syncInput.params).map(([k, v]) => [k, String(v)]))
  }
  const sync = core.checkSyncOptions(JSON.stringify(syncInput))
  const maxUpdateBytes = options.maxUpdateBytes ?? Math.min(DEFAULT_MAX_UPDATE_BYTES, sync.maxFrameBytes)
  if (sync.maxFrameBytes < maxUpdateBytes) {
    throw optionError(`maxUpdateBytes (${maxUpdateBytes}) must not exceed maxFrameBytes (${sync.maxFrameBytes}): such a write could never be received`)
  }
  return { name, room, storage, WebSocket, sync, maxUpdateBytes, leaderTab }
}

let warnedInsecure = false

/**
 * Warns once per page when a page served over https syncs over plain ws:// to another host:
 * data and `params` (tokens) would travel unencrypted, and browsers block it as mixed content.
 */
export function warnInsecureEndpoints(endpoints) {
  if (warnedInsecure || globalThis.location?.protocol !== 'https:') return
  const insecure = endpoints.filter((url) => url.startsWith('ws://') && !isLoopback(url))
  if (insecure.length === 0) return
  warnedInsecure = true
  console.warn(`yreplica: this page is served over https but ${insecure.join(', ')} ${insecure.length === 1 ? 'is' : 'are'} plain ws://; data and tokens would travel unencrypted (and browsers block mixed content). Use wss:// endpoints.`)
}

function isLoopback(url) {
  const host = url.slice('ws://'.length).split('/')[0].replace(/:\d+$/, '')
  return host === 'localhost' || host === '[::1]' || host.startsWith('127.')
}
