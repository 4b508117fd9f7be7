// A Hocuspocus 4 server process (run it, do not import it) for tests, benches, the soak and
// the cluster example; dev/servers.mjs' HocuspocusServer starts it. Environment: PORT,
// REDIS_PORT (share documents through Redis), DATABASE_URL (keep documents in PostgreSQL),
// TOKEN (required token; 'readonly' gets a read-only connection). Prints "running at …" once
// it listens.
import { Server } from '@hocuspocus/server'
import { Redis } from '@hocuspocus/extension-redis'
import pg from 'pg'
import { durableStore } from '../examples/cluster/durable-store.mjs'

const port = Number(process.env.PORT)
const redisPort = process.env.REDIS_PORT ? Number(process.env.REDIS_PORT) : null
const extensions = []
if (redisPort) extensions.push(new Redis({ host: '127.0.0.1', port: redisPort }))
if (process.env.DATABASE_URL) extensions.push(...(await database(process.env.DATABASE_URL)))

/** Documents kept in PostgreSQL, each write in it before it is acknowledged (examples/cluster/durable-store.mjs). */
async function database(url) {
  const pool = new pg.Pool({ connectionString: url, max: 4 })
  pool.on('error', (error) => console.error(`postgres: ${error.message}`)) // an idle client lost; the pool makes another
  return durableStore(pool)
}

const server = new Server({
  port,
  address: '127.0.0.1',
  quiet: true,
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
