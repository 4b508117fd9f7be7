// A Hocuspocus cluster on loopback: one Redis and `n` Hocuspocus servers sharing documents
// through it, started and stopped together; `durable` adds a PostgreSQL that keeps every
// document (each write is in it before a server acknowledges it, see
// examples/cluster/durable-store.mjs, and servers load documents from it).
import { PostgresServer } from './postgres.mjs'
import { RedisServer } from './redis.mjs'
import { HocuspocusServer } from './servers.mjs'

/**
 * Redis plus `n` Hocuspocus servers with the Redis extension; `env` goes to every server.
 * `restart()` SIGKILLs every server and Redis and starts them again on the same ports (the
 * database, if any, stays).
 */
export async function startCluster(n, env = {}, { durable = false } = {}) {
  const postgres = durable ? await PostgresServer.start() : null
  let redis = null
  const servers = []
  const serverEnv = () => ({ ...env, REDIS_PORT: String(redis.port), ...(postgres ? { DATABASE_URL: postgres.url } : {}) })
  const cluster = {
    get redis() {
      return redis
    },
    postgres,
    servers,
    async stop() {
      await Promise.all(servers.map((s) => s.kill()))
      await redis?.stop()
      await postgres?.stop()
    },
    async restart() {
      await Promise.all(servers.map((s) => s.kill()))
      await redis.stop()
      redis = await RedisServer.start()
      for (const server of servers) await server.restart(serverEnv())
    },
  }
  try {
    redis = await RedisServer.start()
    for (let i = 0; i < n; i++) servers.push(await HocuspocusServer.start(serverEnv()))
  } catch (error) {
    await cluster.stop()
    throw error
  }
  return cluster
}
