// npm run bench:directive: how fast a fleet follows the operator directive. 1,000 memory
// replicas in this process, 10 in each of 100 rooms, on three standalone @y/websocket-server
// processes. For each room the CLI's own code drains server 1: main() of js/cli/main.js, run
// in a second process (the operator's; one run per room, all rooms at once, so no process
// start-up is counted and the fleet's event loop is not shared with the operator's), writes
// the directive to all three servers and returns once each has acknowledged it. Measured per
// replica: from the moment its room's `yreplica drain` returned to the replica online
// elsewhere, and from the moment that run started. Then `restore`, the fleet back on server 1,
// and the same for `promote` server 3.
//
//   node benches/directive.mjs [--rooms 100] [--per-room 10]
//
// A negative "from return" means the replica had moved before the CLI had every server's
// acknowledgement (it moves as soon as the server it is on relays the directive).
import { parseArgs } from 'node:util'
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { WebSocket } from 'ws'
import { Replica } from '../js/node.js'
import { main } from '../js/cli/main.js'
import { startServers, stopServers } from '../dev/servers.mjs'
import { waitFor } from '../dev/wait.mjs'

const { values } = parseArgs({
  options: { rooms: { type: 'string', default: '100' }, 'per-room': { type: 'string', default: '10' }, operator: { type: 'boolean' } },
})
const ROOMS = Number(values.rooms)
const PER_ROOM = Number(values['per-room'])
const HOLD_DOWN = 2000

const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]
const fmt = (xs) => `p50 ${pct(xs, 50)} ms, p99 ${pct(xs, 99)} ms, max ${Math.max(...xs)} ms (n=${xs.length})`
const room = (r) => `bench-directive-${r}`

/** The CLI's main(), in this process: resolves with its exit code and output. */
async function cli(args) {
  let out = ''
  let err = ''
  const stream = (append) => ({ isTTY: false, write: (text) => append(String(text)) })
  const code = await main(args, {
    stdout: stream((t) => (out += t)),
    stderr: stream((t) => (err += t)),
    stdin: null,
    env: {},
    library: async () => ({ Replica, WebSocket }),
  })
  return { code, output: `${out}${err}` }
}

if (values.operator) {
  // The operator's process: runs the CLI for every room it is given at once, and reports
  // when each run started and returned.
  await (await Replica.open({ name: 'warm-up', storage: 'memory' })).close()
  process.on('message', async ({ runs }) => {
    const times = await Promise.all(
      runs.map(async (args) => {
        const start = Date.now()
        const { code, output } = await cli(args)
        return { start, end: Date.now(), code, output: code === 0 ? '' : output }
      }),
    )
    process.send({ times })
  })
  process.on('disconnect', () => process.exit(0))
  process.send({ ready: true })
} else {
  await bench()
}

async function bench() {
const operator = fork(fileURLToPath(import.meta.url), ['--operator'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
await new Promise((resolve) => operator.once('message', resolve))
/**
 * Every room's CLI run at once, in the operator's process: [{ start, end, code }] by room. A
 * failed run (a server that did not answer in time) is reported, and run again up to twice.
 */
async function runAll(runs, label) {
  const once = (batch) =>
    new Promise((resolve, reject) => {
      const onExit = (code) => reject(new Error(`the operator process exited (${code})`))
      operator.once('message', ({ times }) => {
        operator.off('exit', onExit)
        resolve(times)
      })
      operator.once('exit', onExit)
      operator.send({ runs: batch })
    })
  const times = await once(runs)
  for (let attempt = 1; attempt <= 2; attempt++) {
    const failed = times.flatMap((t, r) => (t.code === 0 ? [] : [r]))
    if (failed.length === 0) break
    console.log(`  ${label}: ${failed.length} of ${runs.length} CLI runs failed (exit ${times[failed[0]].code}; first: ${times[failed[0]].output.split('\n').find((l) => /UNREACHABLE|NOT ack/.test(l))?.trim()}); running them again`)
    const again = await once(failed.map((r) => runs[r]))
    failed.forEach((r, k) => (times[r] = { ...again[k], retried: true }))
  }
  if (times.some((t) => t.code !== 0)) throw new Error(`${label}: CLI runs still failing after two retries`)
  return times
}
const started = Date.now()
const servers = await startServers(3)
const urls = servers.map((s) => s.url)
const replicas = []
try {
  console.log(`operator directive benchmark: ${ROOMS * PER_ROOM} replicas (${ROOMS} rooms × ${PER_ROOM}) in one process, 3 @y/websocket-server processes on 127.0.0.1, Node ${process.version}`)
  for (let r = 0; r < ROOMS; r++) {
    for (let i = 0; i < PER_ROOM; i++) {
      const replica = await Replica.open({
        name: `bench-${r}-${i}`,
        room: room(r),
        storage: 'memory',
        endpoints: urls,
        heartbeatIntervalMs: 1000,
        missedHeartbeats: 3,
        failbackAfterMs: HOLD_DOWN,
      })
      replica.room_ = r
      replicas.push(replica)
    }
  }
  const allAt = async (url) => {
    try {
      await waitFor(() => replicas.every((x) => x.status.connection === 'online' && x.status.endpoint === url), 120_000, `every replica online at ${url}`)
    } catch (error) {
      // where the fleet is instead, and what directive the stragglers see
      const tally = {}
      for (const x of replicas) {
        const k = `${x.status.connection} ${x.status.endpoint} directive ${x.directive === null ? 'none' : JSON.stringify(x.directive.drain.concat(x.directive.primary ?? []))}`
        tally[k] = (tally[k] ?? 0) + 1
      }
      console.log(`  ${error.message}; the replicas are:`, tally)
      throw error
    }
  }
  await allAt(urls[0])
  console.log(`${replicas.length} replicas online at server 1 after ${((Date.now() - started) / 1000).toFixed(1)} s`)

  /** Runs `args(room)` for every room at once; per replica, ms from its room's return / start to `arrived`. */
  async function measure(label, args, arrived) {
    const starts = new Array(ROOMS)
    const returns = new Array(ROOMS)
    const at = new Map()
    const heard = new Map() // when the replica decided to move ('failover')
    const offs = replicas.flatMap((x) => [
      x.on('status', (s) => {
        if (!at.has(x) && starts[x.room_] !== undefined && arrived(s)) at.set(x, Date.now())
      }),
      x.on('failover', () => heard.has(x) || heard.set(x, Date.now())),
    ])
    const began = Date.now()
    starts.fill(began) // until the operator reports when each run really started
    const times = await runAll(Array.from({ length: ROOMS }, (_, r) => [...args, '--room', room(r), '--json', ...urls]), label)
    times.forEach(({ start, end }, r) => {
      starts[r] = start
      returns[r] = end
    })
    // a replica already there when its room's run started (none should be) counts from then
    for (const x of replicas) if (!at.has(x) && arrived(x.status)) at.set(x, Date.now())
    await waitFor(() => at.size === replicas.length, 60_000, `${label}: every replica to arrive (${at.size})`)
    offs.forEach((off) => off())
    const fromReturn = replicas.map((x) => at.get(x) - returns[x.room_])
    const fromStart = replicas.map((x) => at.get(x) - starts[x.room_])
    const decided = replicas.map((x) => heard.get(x) - returns[x.room_])
    const cliMs = returns.map((t, r) => t - starts[r])
    console.log(`\n${label}: ${ROOMS} CLI runs at once took ${fmt(cliMs)} (the last returned ${Math.max(...returns) - began} ms after the first started)`)
    console.log(`  from its room's CLI return to online elsewhere: ${fmt(fromReturn)}`)
    console.log(`  from its room's CLI start to online elsewhere:  ${fmt(fromStart)}`)
    console.log(`  from its room's CLI return to its 'failover' event (the move begins): ${fmt(decided)}`)
  }

  async function restore() {
    const t = Date.now()
    await runAll(Array.from({ length: ROOMS }, (_, r) => ['restore', '--room', room(r), ...urls]), 'restore')
    await allAt(urls[0])
    console.log(`  restore: every replica back on server 1 ${Date.now() - t} ms after the restores began (hold-down ${HOLD_DOWN} ms)`)
  }

  const online = (s) => s.connection === 'online'
  await measure(`drain ${urls[0]}`, ['drain', urls[0]], (s) => online(s) && s.endpoint !== urls[0])
  await restore()
  await measure(`promote ${urls[2]}`, ['promote', urls[2]], (s) => online(s) && s.endpoint === urls[2])
  await restore()
  console.log(`\nwhole run: ${((Date.now() - started) / 1000).toFixed(1)} s`)
} finally {
  if (operator.connected) operator.disconnect()
  await Promise.all(replicas.map((x) => x.close()))
  await stopServers(servers)
}
}
