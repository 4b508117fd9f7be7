// What a fresh plain Yjs client (y-websocket) reads from a server: the tests' independent
// witness that writes reached it.
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { WebSocket } from 'ws'
import { waitFor } from '../../dev/wait.mjs'

/** The collection `collection` of `room` as the y-websocket server at `url` holds it, as JSON. */
export async function readServer(url, room, collection = 'todos') {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(url, room, doc, { WebSocketPolyfill: WebSocket, disableBc: true })
  try {
    await waitFor(() => provider.synced, 10_000, `y-websocket synced with ${url}`)
    return doc.getMap(collection).toJSON()
  } finally {
    provider.destroy()
    doc.destroy()
  }
}
