// A Hocuspocus cluster on loopback: one Redis and `n` Hocuspocus servers sharing documents
// through it, started and stopped together.
import { RedisServer } from './redis.mjs'
import { HocuspocusServer } from './servers.mjs'

/** Redis plus `n` Hocuspocus servers with the Redis extension; `env` goes to every server. */
export async function startCluster(n, env = {}) {
  const redis = await RedisServer.start()
  const servers = []
  const cluster = {
    redis,
    servers,
    async stop() {
      await Promise.all(servers.map((s) => s.kill()))
      await redis.stop()
    },
  }
  try {
    for (let i = 0; i < n; i++) servers.push(await HocuspocusServer.start({ ...env, REDIS_PORT: String(redis.port) }))
  } catch (error) {
    await cluster.stop()
    throw error
  }
  return cluster
}
