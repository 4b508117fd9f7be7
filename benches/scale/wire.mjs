// The few sync messages the filler sends and reads, in the two dialects servers speak:
// y-websocket ([type, ...]) and Hocuspocus ([documentName, type, ...]).
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'

const SYNC = 0
const AUTH = 2
const QUERY_AWARENESS = 3
const SYNC_STATUS = 8
const STEP1 = 0
const STEP2 = 1
const UPDATE = 2

function message(dialect, room, write) {
  const encoder = encoding.createEncoder()
  if (dialect === 'hocuspocus') encoding.writeVarString(encoder, room)
  write(encoder)
  return encoding.toUint8Array(encoder)
}

/** Hocuspocus' first message: the token (its servers hold everything else until it is accepted). */
export function authMessage(room, token = '') {
  return message('hocuspocus', room, (e) => {
    encoding.writeVarUint(e, AUTH)
    encoding.writeVarUint(e, 0)
    encoding.writeVarString(e, token)
  })
}

/** Hocuspocus: asks for the room's presence; any message keeps a connection from timing out. */
export function keepAliveMessage(room) {
  return message('hocuspocus', room, (e) => encoding.writeVarUint(e, QUERY_AWARENESS))
}

export function updateMessage(dialect, room, update) {
  return message(dialect, room, (e) => {
    encoding.writeVarUint(e, SYNC)
    encoding.writeVarUint(e, UPDATE)
    encoding.writeVarUint8Array(e, update)
  })
}

/** SyncStep1 carrying a state vector given as Map(client → clock). */
export function step1Message(dialect, room, stateVector) {
  const sv = encoding.createEncoder()
  encoding.writeVarUint(sv, stateVector.size)
  for (const [client, clock] of stateVector) {
    encoding.writeVarUint(sv, client)
    encoding.writeVarUint(sv, clock)
  }
  return message(dialect, room, (e) => {
    encoding.writeVarUint(e, SYNC)
    encoding.writeVarUint(e, STEP1)
    encoding.writeVarUint8Array(e, encoding.toUint8Array(sv))
  })
}

/** What a received message is, as far as the filler cares: 'step2', 'authenticated', 'synced', 'denied' or 'other'. */
export function classify(dialect, data) {
  const decoder = decoding.createDecoder(new Uint8Array(data))
  if (dialect === 'hocuspocus') decoding.readVarString(decoder)
  const type = decoding.readVarUint(decoder)
  if (type === SYNC) return decoding.readVarUint(decoder) === STEP2 ? 'step2' : 'other'
  if (dialect === 'hocuspocus' && type === AUTH) {
    const kind = decoding.readVarUint(decoder)
    return kind === 2 ? 'authenticated' : kind === 1 ? 'denied' : 'other'
  }
  if (dialect === 'hocuspocus' && type === SYNC_STATUS) return decoding.readVarUint(decoder) === 1 ? 'synced' : 'refused'
  return 'other'
}
