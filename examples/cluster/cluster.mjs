// npm run cluster: Redis (Debian's redis-server, on loopback, in a temp dir) and three
// Hocuspocus servers sharing documents through it. Prints the endpoints; Ctrl-C stops all.
//
//   node examples/cluster/cluster.mjs [N]     N Hocuspocus servers (default 3)
import { startCluster } from '../../dev/cluster.mjs'

import { parseArgs } from 'node:util'

const USAGE = 'usage: node examples/cluster/cluster.mjs [N]   (N Hocuspocus servers behind one Redis, default 3)'
let args
try {
  args = parseArgs({ options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true })
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

const cluster = await startCluster(count)
console.log(`redis-server on 127.0.0.1:${cluster.redis.port}`)
console.log('Hocuspocus endpoints (protocol: "hocuspocus"):')
for (const server of cluster.servers) console.log(`  ${server.url}`)
console.log(`
Point a replica at them:
  Replica.open({ name: 'app', protocol: 'hocuspocus',
                 endpoints: ${JSON.stringify(cluster.servers.map((s) => s.url))} })
Freeze one with: kill -STOP <pid>   (pids: ${cluster.servers.map((s) => s.proc.pid).join(', ')})
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
