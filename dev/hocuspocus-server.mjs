// A Hocuspocus 4 server process (run it, do not import it) for tests, benches, the soak and
// the cluster example; dev/servers.mjs' HocuspocusServer starts it. Environment: PORT,
// REDIS_PORT (share documents through Redis), TOKEN (required token; 'readonly' gets a
// read-only connection). Prints "running at …" once it listens.
import { Server } from '@hocuspocus/server'
import { Redis } from '@hocuspocus/extension-redis'

const port = Number(process.env.PORT)
const redisPort = process.env.REDIS_PORT ? Number(process.env.REDIS_PORT) : null
const server = new Server({
  port,
  address: '127.0.0.1',
  quiet: true,
  extensions: redisPort ? [new Redis({ host: '127.0.0.1', port: redisPort })] : [],
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
