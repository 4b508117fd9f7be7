// Syncs a large document from a real server into a new replica with default options, and
// reports the times and the Wasm memory it took (docs/limits.md quotes its output).
//
//   node scripts/large-sync.mjs --records 300000 --protocol both
//   node --expose-gc scripts/large-sync.mjs --records 1000000 --protocol hocuspocus --json out.json
//
// Options: --records N (default 300000), --protocol y-websocket|hocuspocus|both (default both),
// --piece N (records per update when filling the server, default 20000), --stay-s S (stay
// online S seconds after the sync and report what heartbeats cost: failovers, the probe round
// trip, the longest event-loop stall and the CPU used; default 0), --json FILE (also write the
// results there), and any replica option as --option name=JSON (for example
// --option maxFrameBytes=16777216 to see the old limit).
import { parseArgs } from 'node:util'
import { writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { Replica } from '../js/node.js'
import { YServer, HocuspocusServer } from '../dev/servers.mjs'
import { fillRoom, checkRecords } from '../dev/large-document.mjs'

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '300000' },
    protocol: { type: 'string', default: 'both' },
    piece: { type: 'string', default: '20000' },
    json: { type: 'string' },
    option: { type: 'string', multiple: true, default: [] },
    'timeout-s': { type: 'string', default: '600' },
    'stay-s': { type: 'string', default: '0' },
  },
})
const count = Number(values.records)
const protocols = values.protocol === 'both' ? ['y-websocket', 'hocuspocus'] : [values.protocol]
const extra = Object.fromEntries(values.option.map((o) => {
  const at = o.indexOf('=')
  return [o.slice(0, at), JSON.parse(o.slice(at + 1))]
}))
const core = createRequire(import.meta.url)('../pkg/node/yreplica.js')
const mb = (n) => Math.round(n / 1e5) / 10
const results = []

for (const protocol of protocols) {
  const server = protocol === 'hocuspocus' ? await HocuspocusServer.start() : await YServer.start()
  const room = `large-${count}`
  try {
    let started = performance.now()
    const { bytes, close } = await fillRoom({ url: server.url, room, protocol, count, piece: Number(values.piece) })
    const fillMs = performance.now() - started
    globalThis.gc?.()
    const before = { wasm: core.wasmMemoryBytes(), rss: process.memoryUsage().rss }
    const errors = []
    const failovers = []
    let peakRss = before.rss
    const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss) }, 50)
    started = performance.now()
    const replica = await Replica.open({ name: room, room, storage: 'memory', endpoints: [server.url], protocol, ...extra })
    replica.on('error', (e) => errors.push(`${e.code}: ${e.message}`))
    replica.on('failover', (f) => failovers.push(f.reason))
    const deadline = Date.now() + Number(values['timeout-s']) * 1000
    let onlineMs
    while (Date.now() < deadline) {
      if (onlineMs === undefined && replica.status.connection === 'online') onlineMs = performance.now() - started
      if (onlineMs !== undefined && replica.collection('todos').count() >= count) break
      if (errors.length > 3) break
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const syncMs = performance.now() - started
    clearInterval(sampler)
    let check = 'ok'
    try {
      checkRecords(replica, count)
    } catch (error) {
      check = error.message
    }
    const result = {
      protocol,
      records: count,
      updateMB: mb(bytes),
      fillS: Math.round(fillMs / 100) / 10,
      onlineS: onlineMs === undefined ? null : Math.round(onlineMs / 100) / 10,
      allRecordsS: Math.round(syncMs / 100) / 10,
      check,
      wasmMB: { before: mb(before.wasm), after: mb(core.wasmMemoryBytes()) },
      peakRssMB: mb(peakRss),
      errors: errors.slice(0, 4),
      failovers: failovers.slice(0, 4),
    }
    const staySeconds = Number(values['stay-s'])
    if (staySeconds > 0 && check === 'ok') result.stay = await stay(replica, staySeconds, failovers, errors)
    console.log(JSON.stringify(result))
    results.push(result)
    await replica.close()
    close()
  } finally {
    await server.kill()
  }
}
/** Stays online `seconds` and reports what keeping the link alive cost. */
async function stay(replica, seconds, failovers, errors) {
  const before = { failovers: failovers.length, errors: errors.length, cpu: process.cpuUsage() }
  let offline = 0
  const onStatus = (s) => { if (s.connection !== 'online') offline++ }
  replica.on('status', onStatus)
  let maxStallMs = 0
  let last = performance.now()
  const rtts = []
  const ticker = setInterval(() => {
    const now = performance.now()
    maxStallMs = Math.max(maxStallMs, now - last - 100)
    last = now
    const rtt = replica.endpoints[0]?.rttMs
    if (rtt !== undefined && rtt !== null) rtts.push(rtt)
  }, 100)
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
  clearInterval(ticker)
  replica.off?.('status', onStatus)
  const cpu = process.cpuUsage(before.cpu)
  return {
    seconds,
    failovers: failovers.length - before.failovers,
    errors: errors.slice(before.errors),
    leftOnline: offline,
    probeRttMs: { last: rtts.at(-1), max: Math.max(0, ...rtts) },
    maxEventLoopStallMs: Math.round(maxStallMs),
    cpuSharePercent: Math.round(((cpu.user + cpu.system) / 1e6 / seconds) * 100),
  }
}

if (values.json) writeFileSync(values.json, JSON.stringify(results, null, 2) + '\n')
