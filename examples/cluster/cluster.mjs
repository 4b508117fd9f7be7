// npm run cluster: a durable Hocuspocus cluster on loopback. PostgreSQL (Debian's postgresql,
// in a temp data directory) keeps every document, Redis (Debian's redis-server) carries
// changes between the servers, and N Hocuspocus servers serve the clients; a server
// acknowledges a write only once it is in PostgreSQL (durable-store.mjs). Prints the
// endpoints; 'restart' on stdin kills and restarts the servers and Redis; Ctrl-C stops all
// and removes the data.
//
//   node examples/cluster/cluster.mjs [N] [--without-postgres]
//     N                   Hocuspocus servers (default 3)
//     --without-postgres  Redis and the servers only: documents live in the servers' memory
import { startCluster } from '../../dev/cluster.mjs'

import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'

const USAGE = `usage: node examples/cluster/cluster.mjs [N] [--without-postgres]
  N Hocuspocus servers (default 3) behind one Redis, documents kept in PostgreSQL;
  --without-postgres keeps them in the servers' memory only`
let args
try {
  args = parseArgs({
    options: { help: { type: 'boolean', short: 'h' }, 'without-postgres': { type: 'boolean', default: false } },
    allowPositionals: true,
  })
} catch (error) {
  console.error(`cluster: ${error.message}\n${USAGE}`)
  process.exit(1)
}
if (args.values.help) {
  console.log(USAGE)
  process.exit(0)
}
const arg = args.positionals[0]
const count = Number(arg ?? 3)
if (args.positionals.length > 1 || !Number.isInteger(count) || count < 1) {
  console.error(`cluster: N must be a whole number of servers, at least 1, got '${args.positionals.join(' ')}'\n${USAGE}`)
  process.exit(1)
}
const durable = !args.values['without-postgres']

let cluster
try {
  cluster = await startCluster(count, {}, { durable })
} catch (error) {
  console.error(`cluster: ${error.message}`)
  process.exit(1)
}
if (durable) console.log(`postgres on 127.0.0.1:${cluster.postgres.port} (${cluster.postgres.url}; tables yreplica_documents, yreplica_updates)`)
console.log(`redis-server on 127.0.0.1:${cluster.redis.port}`)
console.log('Hocuspocus endpoints (protocol: "hocuspocus"):')
for (const server of cluster.servers) console.log(`  ${server.url}`)
console.log(`
Point a replica at them:
  Replica.open({ name: 'app', protocol: 'hocuspocus',
                 endpoints: ${JSON.stringify(cluster.servers.map((s) => s.url))} })
Freeze one with: kill -STOP <pid>   (pids: ${cluster.servers.map((s) => s.proc.pid).join(', ')})
Type 'restart' and Enter to SIGKILL every Hocuspocus server and Redis and start them again${durable ? ' (documents survive: they are in PostgreSQL)' : ' (the servers forget every document)'}.
Ctrl-C stops everything.`)

let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  await cluster.stop()
  process.exit(0)
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)

// 'restart': the whole-cluster crash, on the same endpoints (PostgreSQL stays)
createInterface({ input: process.stdin }).on('line', async (line) => {
  if (line.trim() !== 'restart' || stopping) return
  await cluster.restart()
  console.log(`restarted: redis-server on 127.0.0.1:${cluster.redis.port}, pids ${cluster.servers.map((s) => s.proc.pid).join(', ')}`)
})
