// A flood writer process: a plain Yjs client (y-websocket) sending N one-record transactions
// back to back, exiting once the server has applied them all.
// Usage: node dev/flood-writer.mjs <server url> <room> <N>
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { WebSocket } from 'ws'
import * as encoding from 'lib0/encoding'
import * as syncProtocol from 'y-protocols/sync'

const [url, room, count] = process.argv.slice(2)
const giveUp = setTimeout(() => {
  console.error(`flood-writer: no answer from ${url} within 120 s`)
  process.exit(1)
}, 120_000)
const doc = new Y.Doc()
const provider = new WebsocketProvider(url, room, doc, { WebSocketPolyfill: WebSocket, disableBc: true })
await new Promise((resolve) => provider.once('sync', resolve))
const todos = doc.getMap('todos')
for (let i = 0; i < Number(count); i++) {
  doc.transact(() => todos.set(`t${i}`, new Y.Map([['title', `todo ${i}`], ['done', false]])))
}
// Then a SyncStep1 on the same socket: the server handles one connection's messages in order,
// so its answer (a SyncStep2, which sets `synced` again) means it has applied every update.
provider.synced = false
const answered = new Promise((resolve) => provider.on('sync', (synced) => synced && resolve()))
const encoder = encoding.createEncoder()
encoding.writeVarUint(encoder, 0) // y-websocket's messageSync
syncProtocol.writeSyncStep1(encoder, doc)
provider.ws.send(encoding.toUint8Array(encoder))
await answered
clearTimeout(giveUp)
provider.destroy()
doc.destroy()
