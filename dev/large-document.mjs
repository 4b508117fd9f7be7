// Fills a room on a real server with many records, as a plain Yjs client over a raw WebSocket
// (y-websocket or Hocuspocus framing): the records go out as Yjs updates of `piece` records
// each, well under the servers' own 100 MiB message limit, and the fill ends when the server
// answers a SyncStep1 sent after the last update (a server handles one connection's messages
// in order, so by then it has applied them all). Also the records' shape (6 fields, as in
// benches/crud.mjs) and a digest to compare a replica's copy against.
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { WebSocket } from 'ws'
import { fieldsAt as recordAt } from './records.mjs'


export const idAt = (i) => `rec-${String(i).padStart(7, '0')}`

/** y-protocols sync message (type 0): `subType` (0 step1, 1 step2, 2 update) and its payload. */
function syncMessage(subType, payload) {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, 0)
  encoding.writeVarUint(encoder, subType)
  encoding.writeVarUint8Array(encoder, payload)
  return encoding.toUint8Array(encoder)
}

function framed(protocol, room, message) {
  if (protocol !== 'hocuspocus') return message
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, room)
  encoding.writeUint8Array(encoder, message)
  return encoding.toUint8Array(encoder)
}

function hocuspocusAuth(room, token) {
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, room)
  encoding.writeVarUint(encoder, 2) // Auth
  encoding.writeVarUint(encoder, 0) // Token
  encoding.writeVarString(encoder, token)
  return encoding.toUint8Array(encoder)
}

/** Whether `data` (a server frame) is a SyncStep2, in either framing. */
function isSyncStep2(protocol, data) {
  const decoder = decoding.createDecoder(new Uint8Array(data))
  if (protocol === 'hocuspocus') decoding.readVarString(decoder)
  const type = decoding.readVarUint(decoder)
  if (protocol === 'hocuspocus' && type === 2) return 'auth'
  return (type === 0 || type === 4) && decoding.readVarUint(decoder) === 1
}

/**
 * Writes records [0, count) into `room` on the server at `url`. Resolves once the server has
 * applied everything with `{ bytes, close }`: the byte size of the document as one update
 * (what a new client's sync answer carries), and a function that closes the filling client.
 * Keep it open while the room is read: a Hocuspocus server without persistence unloads a
 * document (and loses it) when its last connection closes.
 */
export async function fillRoom({ url, room, protocol = 'y-websocket', token = '', count, piece = 20_000, collection = 'todos' }) {
  const ws = new WebSocket(protocol === 'hocuspocus' ? url : `${url}/${room}`, { maxPayload: 0, perMessageDeflate: false })
  ws.binaryType = 'arraybuffer'
  const frames = []
  let wake = () => {}
  ws.on('message', (data) => {
    frames.push(data)
    wake()
  })
  const next = (what, test) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`fillRoom: no ${what} within 120 s`)), 120_000)
    const look = () => {
      while (frames.length > 0) {
        if (test(frames.shift())) {
          clearTimeout(timer)
          wake = () => {}
          resolve()
          return
        }
      }
      wake = look
    }
    look()
  })
  await new Promise((resolve, reject) => {
    ws.once('open', resolve)
    ws.once('error', reject)
  })
  try {
    if (protocol === 'hocuspocus') {
      ws.send(hocuspocusAuth(room, token))
      await next('Authenticated', (data) => isSyncStep2(protocol, data) === 'auth')
    }
    const doc = new Y.Doc()
    const map = doc.getMap(collection)
    for (let from = 0; from < count; from += piece) {
      const updates = []
      const capture = (update) => updates.push(update)
      doc.on('update', capture)
      doc.transact(() => {
        for (let i = from; i < Math.min(count, from + piece); i++) {
          map.set(idAt(i), new Y.Map(Object.entries(recordAt(i))))
        }
      })
      doc.off('update', capture)
      for (const update of updates) ws.send(framed(protocol, room, syncMessage(2, update)))
      // keep the send buffer small: wait until the piece is on the wire
      while (ws.bufferedAmount > 0) await new Promise((resolve) => setTimeout(resolve, 5))
    }
    ws.send(framed(protocol, room, syncMessage(0, Y.encodeStateVector(doc))))
    await next('answer to the last SyncStep1', (data) => isSyncStep2(protocol, data) === true)
    const bytes = Y.encodeStateAsUpdate(doc).length
    doc.destroy()
    frames.length = 0
    ws.removeAllListeners('message')
    ws.on('message', () => {}) // later broadcasts are read and dropped
    return { bytes, close: () => ws.terminate() }
  } catch (error) {
    ws.terminate()
    throw error
  }
}

/** Checks that `replica` holds exactly records [0, count) as written; throws naming the first difference. */
export function checkRecords(replica, count, collection = 'todos') {
  const records = replica.collection(collection)
  if (records.count() !== count) throw new Error(`${records.count()} records, expected ${count}`)
  for (let i = 0; i < count; i++) {
    const got = records.get(idAt(i))
    const want = { id: idAt(i), ...recordAt(i) }
    const same = got !== undefined && Object.keys(got).length === Object.keys(want).length &&
      Object.entries(want).every(([key, value]) => JSON.stringify(got[key]) === JSON.stringify(value))
    if (!same) {
      throw new Error(`record ${idAt(i)}: ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`)
    }
  }
}
