// A flood writer: a plain Yjs client sending N one-record transactions back to back, then
// exiting. Usage: node flood-writer.mjs <server url> <room> <N>
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { WebSocket } from 'ws'

const [url, room, count] = process.argv.slice(2)
const doc = new Y.Doc()
const provider = new WebsocketProvider(url, room, doc, { WebSocketPolyfill: WebSocket, disableBc: true })
await new Promise((resolve) => provider.once('sync', resolve))
const todos = doc.getMap('todos')
for (let i = 0; i < Number(count); i++) {
  doc.transact(() => todos.set(`t${i}`, new Y.Map([['title', `todo ${i}`], ['done', false]])))
}
// wait until the socket has handed everything to the kernel, then a little for the server
while (provider.ws && provider.ws.bufferedAmount > 0) await new Promise((resolve) => setTimeout(resolve, 10))
await new Promise((resolve) => setTimeout(resolve, 200))
provider.destroy()
doc.destroy()
