// npm run demo:failover: a Node replica with the file store and several y-websocket servers,
// writing a todo every half second and printing status changes and failover events as they
// happen. Ctrl-C stops it (and the servers it started) and closes the replica.
//
//   node examples/node/failover-demo.mjs                  starts three local servers itself
//   node examples/node/failover-demo.mjs ws://host:1234 ws://host:1235   uses yours (priority order)
//   --freeze          freeze (SIGSTOP) the active server after 4 s and resume it 8 s later,
//                     to show a failover and the failback (only with servers it started)
//   --dir PATH        keep the file store there (default: a temp dir, removed at exit)
//   --seconds N       stop by itself after N seconds (default: run until Ctrl-C)
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Replica } from '../../js/node.js'
import { ServerController } from '../../dev/server-controller.mjs'

const WRITE_EVERY_MS = 500
const FREEZE_AFTER_MS = 4000
const RESUME_AFTER_MS = 8000

const USAGE = 'usage: node examples/node/failover-demo.mjs [--freeze] [--dir PATH] [--seconds N] [ws://URL ...]'
function fail(message) {
  console.error(`failover demo: ${message}\n${USAGE}`)
  process.exit(1)
}

let args
try {
  args = parseArgs({
    allowPositionals: true,
    options: { freeze: { type: 'boolean' }, dir: { type: 'string' }, seconds: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  })
} catch (error) {
  fail(error.message)
}
if (args.values.help) {
  console.log(USAGE)
  process.exit(0)
}
const seconds = args.values.seconds === undefined ? null : Number(args.values.seconds)
if (seconds !== null && !(seconds > 0)) fail(`--seconds must be a positive number, got '${args.values.seconds}'`)
for (const url of args.positionals) if (!/^wss?:\/\//.test(url)) fail(`not a ws:// or wss:// URL: '${url}'`)
if (args.values.freeze && args.positionals.length > 0) fail('--freeze needs servers this script starts itself (give no URLs)')

const started = Date.now()
const stamp = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s`
const say = (text) => console.log(`${stamp()}  ${text}`)

// Servers: the ones given, or three of our own on free ports.
let controller = null
let endpoints = args.positionals
if (endpoints.length === 0) {
  controller = await new ServerController([0, 0, 0]).start()
  endpoints = controller.urls
  console.log('started three @y/websocket-server processes:')
  for (const s of controller.list()) console.log(`  ${s.index + 1}. ${s.url}  (pid ${s.pid}; freeze it yourself: kill -STOP ${s.pid})`)
}

const dir = args.values.dir ?? mkdtempSync(join(tmpdir(), 'yreplica-failover-demo-'))
const replica = await Replica.open({
  name: 'failover-demo',
  storage: { dir }, // an append-only log with checksums, fsynced per write
  endpoints,
  heartbeatIntervalMs: 500,
  missedHeartbeats: 2,
  failbackAfterMs: 3000,
})
const todos = replica.collection('todos')
console.log(`file store: ${join(dir, 'failover-demo.ylog')} (${todos.count()} todos loaded)`)
console.log(`endpoints in priority order: ${endpoints.join(', ')}\n`)

let last = ''
function showStatus({ connection, endpoint, pending }) {
  const line = `${connection}${endpoint ? ` via ${endpoint}` : ''}`
  if (line === last) return // pending alone changes with every write; the summary shows it
  last = line
  say(`status   ${line}  (pending ${pending})`)
}
showStatus(replica.status) // open() has already started connecting
replica.on('status', showStatus)
replica.on('failover', ({ from, to, reason }) => say(`FAILOVER ${from ?? '—'} → ${to}  reason: ${reason}`))
replica.on('error', (error) => say(`error    ${error.code ?? ''} ${error.message}`))

let written = 0
const writer = setInterval(() => {
  written += 1
  todos.insert({ title: `todo #${written}`, done: false, at: Date.now() }).catch((error) => say(`write failed: ${error.message}`))
}, WRITE_EVERY_MS)
const summary = setInterval(() => {
  const { pending } = replica.status
  say(`         ${written} written, ${todos.count()} stored, ${pending} not yet acknowledged`)
}, 2000)

const timers = [writer, summary]
if (args.values.freeze) {
  timers.push(setTimeout(() => {
    const active = controller.servers.find((s) => s.url === replica.status.endpoint) ?? controller.servers[0]
    active.freeze()
    say(`>>> froze server ${active.index + 1} (${active.url}) with SIGSTOP: watch the heartbeats miss`)
    timers.push(setTimeout(() => {
      active.resume()
      say(`>>> resumed server ${active.index + 1} (SIGCONT): failback once it has answered for 3 s`)
    }, RESUME_AFTER_MS))
  }, FREEZE_AFTER_MS))
}

let stopping = false
async function stop(why) {
  if (stopping) return
  stopping = true
  timers.forEach((timer) => clearTimeout(timer)) // clearTimeout also clears intervals
  say(`${why}: waiting up to 3 s for the server to acknowledge the last writes`)
  try {
    await replica.flush({ timeoutMs: 3000 })
    say('all writes acknowledged')
  } catch (error) {
    say(`not all acknowledged (${error.code}); they stay in the file store (keep it with --dir) and go out with the next handshake`)
  }
  await replica.close()
  await controller?.stop()
  if (args.values.dir === undefined) rmSync(dir, { recursive: true, force: true })
  process.exit(0)
}
process.on('SIGINT', () => stop('Ctrl-C'))
process.on('SIGTERM', () => stop('SIGTERM'))
if (seconds !== null) timers.push(setTimeout(() => stop(`${seconds} s passed`), seconds * 1000))
