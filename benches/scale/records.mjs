// The records every part of bench:scale writes, reads and syncs: 6 fields as in
// benches/crud.mjs, ids wide enough for a million, and the queries run over them.

import { fieldsAt } from '../../dev/records.mjs'

export const COLLECTION = 'todos'

export function recordAt(i) {
  return { id: `rec-${String(i).padStart(7, '0')}`, ...fieldsAt(i) }
}

export function makeRecords(n, from = 0) {
  const records = new Array(n)
  for (let i = 0; i < n; i++) records[i] = recordAt(from + i)
  return records
}

/** The value `update` gives record i's `prio`: always different from the inserted one. */
export const updatedPrio = (i) => 5 + (i % 5)

/** A query no index serves: filter on two fields, sort on two, first page (as benches/crud.mjs). */
export const SCAN_QUERY = { where: { done: false, prio: { $gte: 2 } }, orderBy: ['-prio', 'title'], limit: 20 }

/** A query an index on `owner` serves: one owner's newest 20 (N / 97 records match). */
export const OWNER_QUERY = { where: { owner: 'user-42' }, orderBy: '-createdAt', limit: 20 }

export const INDEXES = ['owner', 'createdAt']

/** How many records go into each update that fills a server: a few MB each, at least 5 pieces. */
export function pieceSize(n) {
  return Math.max(1, Math.min(20_000, Math.ceil(n / 10)))
}
