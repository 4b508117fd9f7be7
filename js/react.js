// yreplica/react: React hooks over collection.watch, collection.watchOne and
// replica.watchStatus, built on useSyncExternalStore (safe under concurrent rendering; on the
// server each hook returns a stable empty value). React is an optional peer dependency of the
// package: only this entry imports it.
import { useMemo, useSyncExternalStore } from 'react'

const EMPTY = Object.freeze([])
const OFFLINE = Object.freeze({ connection: 'offline', endpoint: null, pending: 0, servers: 0, endpoints: EMPTY, directive: null })

function same(a, b) {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false
  const keys = Object.keys(a)
  if (keys.length !== Object.keys(b).length) return false
  for (const key of keys) if (!Object.hasOwn(b, key) || !same(a[key], b[key])) return false
  return true
}

/**
 * A store for useSyncExternalStore over a watch-style function: `start(set)` calls `set` at
 * once with the current value and returns the function that stops it; `read()` gives the
 * current value without watching (for a render before the first subscriber). One watch serves
 * every subscriber; it stops with the last one.
 */
function createStore(start, read, serverValue) {
  let current
  let known = false
  let stop = null
  const listeners = new Set()
  const notify = () => {
    for (const listener of [...listeners]) listener()
  }
  return {
    subscribe(onChange) {
      listeners.add(onChange)
      if (stop === null) {
        let first = true
        stop = start((value) => {
          // The value at subscription replaces the one rendered only if it differs (no extra render).
          if (first && known && same(current, value)) {
            first = false
            return
          }
          first = false
          current = value
          known = true
          notify()
        })
      }
      return () => {
        listeners.delete(onChange)
        if (listeners.size === 0 && stop !== null) {
          stop()
          stop = null
          // the value kept may go stale unwatched: the next subscriber's first value replaces it
        }
      }
    },
    getSnapshot() {
      if (!known) {
        current = read()
        known = true
      }
      return current
    },
    getServerSnapshot: () => serverValue,
  }
}

const NONE = { subscribe: () => () => {}, getSnapshot: () => EMPTY, getServerSnapshot: () => EMPTY }
const NO_RECORD = { subscribe: () => () => {}, getSnapshot: () => undefined, getServerSnapshot: () => undefined }

/**
 * The records of `collection.find(query)`, kept current by `collection.watch`. A component
 * re-renders only when the result changes; an unchanged record keeps its object. `collection`
 * may be null or undefined (a replica still opening): the result is then empty.
 */
export function useFind(collection, query) {
  const key = JSON.stringify(query ?? {})
  const store = useMemo(() => {
    if (collection === null || collection === undefined) return NONE
    const q = JSON.parse(key)
    return createStore((set) => collection.watch(q, set), () => collection.find(q), EMPTY)
  }, [collection, key])
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getServerSnapshot)
}

/** The record `id` (undefined while it does not exist), kept current by `collection.watchOne`. */
export function useRecord(collection, id) {
  const store = useMemo(() => {
    if (collection === null || collection === undefined || id === null || id === undefined) return NO_RECORD
    return createStore((set) => collection.watchOne(id, set), () => collection.find({ where: { id } })[0], undefined)
  }, [collection, id])
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getServerSnapshot)
}

/**
 * `{ connection, endpoint, pending, servers, endpoints, directive }`, kept current by
 * `replica.watchStatus`; offline while `replica` is null or undefined, and on the server.
 */
export function useStatus(replica) {
  const store = useMemo(() => {
    if (replica === null || replica === undefined) return { subscribe: () => () => {}, getSnapshot: () => OFFLINE, getServerSnapshot: () => OFFLINE }
    const read = () => {
      let value
      replica.watchStatus((v) => (value = v))()
      return value
    }
    return createStore((set) => replica.watchStatus(set), read, OFFLINE)
  }, [replica])
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getServerSnapshot)
}
