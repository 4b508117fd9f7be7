// Hocuspocus documents kept in PostgreSQL such that a write is in the database before the
// server acknowledges it.
//
// @hocuspocus/extension-database alone is not enough for that: Hocuspocus sends a client its
// SyncStatus (the acknowledgement) as soon as it has applied the update in memory, and stores
// the document afterwards (onStoreDocument, debounced, and skipped by a server whose Redis
// lock another server holds), so a cluster killed right after an acknowledgement loses it.
//
// So every update a client sends is first appended to a write-ahead log (yreplica_updates),
// in the `beforeSync` hook. In @hocuspocus/server 4.x, MessageReceiver.readSyncMessage awaits
// beforeSync before it applies a SyncStep2 or an Update and before it writes the SyncStatus,
// and Connection.processMessages handles one connection's messages one at a time, each awaited
// to the end, so no acknowledgement overtakes the insert of its update. A failed insert throws
// out of the hook: Hocuspocus closes the connection without applying or acknowledging, and the
// client sends the update again on its next connection.
//
// The Database extension still keeps one snapshot per document (yreplica_documents). Loading
// a document applies its snapshot and its logged updates; storing one merges the server's
// state into the stored snapshot (never replaces it: another server may have stored more) and
// deletes the logged updates the merged snapshot contains.
import { Database } from '@hocuspocus/extension-database'
import * as Y from 'yjs'

const SYNC_STEP_1 = 0 // y-protocols' messageYjsSyncStep1: a state vector, not an update
const EMPTY_UPDATE = [0, 0] // no structs, no deletions: what a client with nothing new sends

/**
 * The Hocuspocus extensions for documents kept in PostgreSQL through `pool` (a `pg.Pool`);
 * creates the two tables if they are missing. Put them in `extensions` after the Redis one,
 * and give the pool an 'error' listener: without one, PostgreSQL going away kills the server.
 */
export async function durableStore(pool) {
  await pool.query('CREATE TABLE IF NOT EXISTS yreplica_documents (name text PRIMARY KEY, state bytea NOT NULL)')
  await pool.query('CREATE TABLE IF NOT EXISTS yreplica_updates (id bigserial PRIMARY KEY, name text NOT NULL, update bytea NOT NULL)')
  await pool.query('CREATE INDEX IF NOT EXISTS yreplica_updates_name ON yreplica_updates (name)')
  const writeAhead = {
    async beforeSync({ type, payload, connection, documentName }) {
      if (type === SYNC_STEP_1 || connection?.readOnly || isEmpty(payload)) return // nothing to apply
      await pool.query('INSERT INTO yreplica_updates (name, update) VALUES ($1, $2)', [documentName, Buffer.from(payload)])
    },
  }
  const snapshots = new Database({
    fetch: ({ documentName }) => load(pool, documentName),
    store: ({ documentName, state }) => store(pool, documentName, state),
  })
  return [writeAhead, snapshots]
}

const isEmpty = (update) => update.length === EMPTY_UPDATE.length && update.every((b, i) => b === EMPTY_UPDATE[i])

/** The snapshot and the log of a document as one update, or null for a new document. */
async function load(pool, name) {
  // one statement: a store that commits meanwhile cannot trim the log between two reads
  const { rows } = await pool.query(
    'SELECT state AS data FROM yreplica_documents WHERE name = $1 UNION ALL SELECT update FROM yreplica_updates WHERE name = $1',
    [name],
  )
  if (rows.length === 0) return null
  const doc = new Y.Doc()
  for (const { data } of rows) {
    try {
      Y.applyUpdate(doc, data) // any order: Yjs holds an update back until what it builds on arrives
    } catch (error) {
      // an update Hocuspocus could not apply either; it was never acknowledged
      console.error(`durable-store: skipping a logged update of '${name}' that does not apply: ${error.message}`)
    }
  }
  const state = Y.encodeStateAsUpdate(doc)
  doc.destroy()
  return state
}

/** Merges `state` into the stored snapshot and trims the log of what the snapshot now holds. */
async function store(pool, name, state) {
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    await client.query('INSERT INTO yreplica_documents (name, state) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, state])
    // the row lock orders the servers storing this document; each merges into the last one's
    const { rows: [stored] } = await client.query('SELECT state FROM yreplica_documents WHERE name = $1 FOR UPDATE', [name])
    const doc = new Y.Doc()
    Y.applyUpdate(doc, stored.state)
    Y.applyUpdate(doc, state)
    const snapshot = Y.snapshot(doc)
    const { rows: logged } = await client.query('SELECT id, update FROM yreplica_updates WHERE name = $1', [name])
    const covered = logged.filter((row) => Y.snapshotContainsUpdate(snapshot, row.update)).map((row) => row.id)
    await client.query('UPDATE yreplica_documents SET state = $2 WHERE name = $1', [name, Buffer.from(Y.encodeStateAsUpdate(doc))])
    if (covered.length > 0) await client.query('DELETE FROM yreplica_updates WHERE id = ANY($1::bigint[])', [covered])
    await client.query('COMMIT')
    doc.destroy()
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {})
    throw error
  } finally {
    client.release()
  }
}
