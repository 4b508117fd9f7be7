// Child: fills a server's room with the N-record document (Yjs 13, one nested Y.Map per
// record) in pieces of a few MB, over a plain WebSocket that never builds the whole document,
// waits until the server has applied every piece, asks once for the whole document (as a new
// client does: the clients measured after it then find the server's encoder warmed up alike,
// not only the second one), reports, and stays connected (a Hocuspocus server unloads a
// document nobody is connected to, and drops a connection silent for 60 s) until the
// benchmark stops it.
import * as Y from 'yjs'
import { WebSocket } from 'ws'
import { runChild, onExit } from './child.mjs'
import { BIG } from './limits.mjs'
import { COLLECTION, makeRecords, pieceSize } from './records.mjs'
import { authMessage, keepAliveMessage, updateMessage, step1Message, classify } from './wire.mjs'

function connect(url) {
  return new Promise((resolve, reject) => {
    // (the whole document is one message: over `ws`' default 100 MiB at 1M records)
    const ws = new WebSocket(url, { maxPayload: BIG })
    ws.binaryType = 'arraybuffer'
    ws.once('open', () => resolve(ws))
    ws.once('error', reject)
  })
}

/** Resolves when `count` messages of `kind` have arrived. */
function awaitMessages(ws, dialect, kind, count = 1) {
  return new Promise((resolve, reject) => {
    let seen = 0
    const onMessage = (data) => {
      const what = classify(dialect, data)
      if (what === 'denied' || what === 'refused') reject(new Error(`the server answered '${what}'`))
      if (what === kind && ++seen === count) {
        ws.off('message', onMessage)
        resolve()
      }
    }
    ws.on('message', onMessage)
    ws.once('close', () => reject(new Error('the server closed the connection while filling')))
  })
}

const send = (ws, data) => new Promise((resolve, reject) => ws.send(data, (error) => (error ? reject(error) : resolve())))

runChild(async ({ dialect, url, room, n }) => {
  const start = performance.now()
  const ws = await connect(dialect === 'hocuspocus' ? url : `${url}/${room}`)
  onExit(() => ws.terminate())
  if (dialect === 'hocuspocus') {
    const authenticated = awaitMessages(ws, dialect, 'authenticated')
    await send(ws, authMessage(room))
    await authenticated
  }
  const size = pieceSize(n)
  const pieces = Math.ceil(n / size)
  // Hocuspocus acknowledges each applied update; y-websocket answers a SyncStep1 sent after them.
  const acknowledged = dialect === 'hocuspocus' ? awaitMessages(ws, dialect, 'synced', pieces) : null
  const stateVector = new Map()
  let bytes = 0
  for (let piece = 0; piece < pieces; piece++) {
    const doc = new Y.Doc()
    doc.clientID = 1000 + piece
    const todos = doc.getMap(COLLECTION)
    const records = makeRecords(Math.min(size, n - piece * size), piece * size)
    doc.transact(() => {
      for (const { id, ...fields } of records) todos.set(id, new Y.Map(Object.entries(fields)))
    })
    const update = Y.encodeStateAsUpdate(doc)
    for (const [client, clock] of Y.decodeStateVector(Y.encodeStateVector(doc))) stateVector.set(client, clock)
    doc.destroy()
    bytes += update.length
    await send(ws, updateMessage(dialect, room, update))
  }
  if (acknowledged) {
    await acknowledged
    const timer = setInterval(() => ws.send(keepAliveMessage(room)), 20_000)
    onExit(() => clearInterval(timer))
  } else {
    const answered = awaitMessages(ws, dialect, 'step2')
    await send(ws, step1Message(dialect, room, stateVector))
    await answered
  }
  const warmedUp = awaitMessages(ws, dialect, 'step2')
  await send(ws, step1Message(dialect, room, new Map()))
  await warmedUp
  // Without this connection the server may drop the document: end, so the benchmark sees it.
  ws.on('close', () => {
    console.error(`fill.mjs: the ${dialect} server closed the connection that holds the document`)
    process.exit(3)
  })
  return { pieces, bytes, ms: performance.now() - start }
}, { stay: true })
