// Builds the React example, starts two local @y/websocket-servers and serves the page.
// Ctrl-C stops everything this started.
//
//   node examples/react-todo/start.mjs
import { buildExample } from './build.mjs'
import { serveDir } from '../../dev/static-server.mjs'
import { startServers, stopServers } from '../../dev/servers.mjs'

const dist = await buildExample()
const servers = await startServers(2)
const http = await serveDir(dist)
const endpoints = servers.map((s) => s.url).join(',')
console.log(`React todo: ${http.url}/?endpoints=${endpoints}\n(open it in two windows; Ctrl-C stops the servers)`)
process.once('SIGINT', async () => {
  await http.close()
  await stopServers(servers)
  process.exit(0)
})
