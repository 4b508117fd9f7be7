// A message trace of one yreplica client syncing an N-record document from a filled server,
// for finding where a large first sync spends its time (not part of the report):
//   node benches/scale/trace-sync.mjs [--records 300000] [--server y-websocket|hocuspocus]
//                                     [--heartbeat 1000] [--connect-timeout 3000] [--seconds 240]
// Prints, in ms since open: every frame sent and received (size and first bytes), every
// status and error, and when the client is online with all records.
import { parseArgs } from 'node:util'
import { Replica } from '../../js/node.js'
import { startSyncServer } from './sync-servers.mjs'
import { startChild } from './processes.mjs'
import { largeFrameWebSocketClass, BIG } from './limits.mjs'
import { COLLECTION } from './records.mjs'

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '300000' },
    server: { type: 'string', default: 'y-websocket' },
    heartbeat: { type: 'string', default: '1000' },
    'connect-timeout': { type: 'string', default: '3000' },
    seconds: { type: 'string', default: '240' },
  },
})
const n = Number(values.records)
const kind = values.server
const server = await startSyncServer(kind, 8192)
const filler = startChild('fill.mjs', { dialect: kind, url: server.url, room: 'trace', n })
const fill = (await filler.result).value
console.log(`${kind} server filled with ${n} records: ${fill.bytes} bytes in ${fill.pieces} pieces`)

const Base = await largeFrameWebSocketClass()
const start = performance.now()
const at = () => String(Math.round(performance.now() - start)).padStart(7) + ' ms'
const head = (data) => {
  const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  return `${bytes.byteLength} B [${[...bytes.subarray(0, 4)].join(' ')}]`
}
class TracingWebSocket extends Base {
  constructor(...args) {
    super(...args)
    console.log(`${at()}  open ${args[0]}`)
    this.on('message', (data) => console.log(`${at()}  rx ${head(data)}`))
    this.on('close', () => console.log(`${at()}  closed`))
  }

  send(data, ...rest) {
    console.log(`${at()}  tx ${head(data)}`)
    return super.send(data, ...rest)
  }
}

const replica = await Replica.open({
  name: 'trace', room: 'trace', storage: 'memory', endpoints: [server.url], protocol: kind, maxFrameBytes: BIG,
  WebSocket: TracingWebSocket, heartbeatIntervalMs: Number(values.heartbeat), connectTimeoutMs: Number(values['connect-timeout']),
})
replica.on('status', (s) => console.log(`${at()}  status ${s.connection}`))
replica.on('error', (e) => console.log(`${at()}  error ${e.code}: ${e.message}`))
const todos = replica.collection(COLLECTION)
const finish = async (what) => {
  console.log(`${at()}  ${what} (${todos.count()} records)`)
  clearInterval(poll)
  clearTimeout(giveUp)
  await replica.close()
  await filler.stop()
  await server.kill()
}
const poll = setInterval(() => replica.status.connection === 'online' && todos.count() === n && finish('online with every record'), 5)
const giveUp = setTimeout(() => finish('gave up'), Number(values.seconds) * 1000)
