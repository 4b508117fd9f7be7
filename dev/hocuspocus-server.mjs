// A Hocuspocus 4 server process (run it, do not import it) for tests, benches, the soak and
// the cluster example; dev/servers.mjs' HocuspocusServer starts it. Environment: PORT,
// REDIS_PORT (share documents through Redis), DATABASE_URL (keep documents in PostgreSQL),
// TOKEN (required token; 'readonly' gets a read-only connection). Prints "running at …" once
// it listens.
import { Server } from '@hocuspocus/server'
import { Redis } from '@hocuspocus/extension-redis'
import { Database } from '@hocuspocus/extension-database'
import pg from 'pg'

const port = Number(process.env.PORT)
const redisPort = process.env.REDIS_PORT ? Number(process.env.REDIS_PORT) : null
const extensions = []
if (redisPort) extensions.push(new Redis({ host: '127.0.0.1', port: redisPort }))
if (process.env.DATABASE_URL) extensions.push(await database(process.env.DATABASE_URL))

/**
 * Documents kept in PostgreSQL: a document's whole Yjs state, one row per document, written
 * when Hocuspocus stores the document and read when it loads one no server holds in memory.
 */
async function database(url) {
  const pool = new pg.Pool({ connectionString: url, max: 4 })
  await pool.query('CREATE TABLE IF NOT EXISTS yreplica_documents (name text PRIMARY KEY, state bytea NOT NULL)')
  return new Database({
    async fetch({ documentName }) {
      const { rows } = await pool.query('SELECT state FROM yreplica_documents WHERE name = $1', [documentName])
      return rows.length === 0 ? null : new Uint8Array(rows[0].state)
    },
    async store({ documentName, state }) {
      await pool.query(
        'INSERT INTO yreplica_documents (name, state) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET state = EXCLUDED.state',
        [documentName, Buffer.from(state)],
      )
    },
  })
}

const server = new Server({
  port,
  address: '127.0.0.1',
  quiet: true,
  // With a database, Hocuspocus is asked to store without waiting (it waits 2 s by default).
  // Stores still lag acknowledgements: a client's flush() resolves when a server has applied
  // its writes, not when they are in the database, so a cluster killed whole right after a
  // flush() can lose them.
  ...(process.env.DATABASE_URL ? { debounce: 0 } : {}),
  extensions,
  async onAuthenticate({ token, connectionConfig }) {
    if (token === 'readonly') {
      connectionConfig.readOnly = true
      return
    }
    if (process.env.TOKEN && token !== process.env.TOKEN) throw new Error('invalid token')
  },
})
await server.listen()
console.log(`running at 127.0.0.1 on port ${port}`)
