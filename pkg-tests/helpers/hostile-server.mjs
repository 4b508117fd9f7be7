// A WebSocket server on loopback that misbehaves on purpose, one chosen way per connection:
// garbage, truncated var ints, impossible length prefixes, unknown message types, text frames,
// a valid SyncStep1 followed by garbage, hostile Yjs updates, oversized messages of every
// kind, floods, or silence. It records what the client did (connections, frames received, who
// closed), so a test can see the replica drop it.
import { WebSocketServer } from 'ws'
import * as Y from 'yjs'
import { freePort } from '../../dev/ports.mjs'

/** lib0 var uint. */
function varUint(n) {
  const out = []
  while (n > 127) {
    out.push((n % 128) | 128)
    n = Math.floor(n / 128)
  }
  out.push(n)
  return out
}

const varString = (s) => [...varUint(Buffer.byteLength(s)), ...Buffer.from(s)]

/** y-websocket framing: message type 0 (sync), a sync sub-type, a length-prefixed payload. */
const syncMessage = (subType, payload) => Uint8Array.from([0, subType, ...varUint(payload.length), ...payload])

/** Bytes from a fixed seed (xorshift32), so a run is reproducible. */
function seededBytes(length, seed) {
  const out = new Uint8Array(length)
  let x = seed
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

/** A Yjs update whose one value nests `depth` arrays deep (a few bytes a level). */
function deeplyNestedUpdate(depth) {
  const head = [1, 1, 5, 0, 0x28, 1, ...varString('todos'), ...varString('deep'), 1]
  const body = new Uint8Array(depth * 2 + 2)
  for (let i = 0; i < depth; i++) body.set([117, 1], i * 2)
  body.set([126, 0], depth * 2) // null, then an empty delete set
  return Uint8Array.from([...head, ...body])
}

const MiB = 1024 * 1024

/** Bytes of parts: arrays of small numbers, or Uint8Arrays (any size). */
const bytes = (...parts) => new Uint8Array(Buffer.concat(parts.map((p) => (p instanceof Uint8Array ? p : Uint8Array.from(p)))))

/** A lib0 var string of any size. */
const bigVarString = (s) => bytes(varUint(Buffer.byteLength(s)), Buffer.from(s))

/** A y-protocols message wrapped for `framing`: Hocuspocus puts a document name first. */
const framed = (framing, message) => (framing === 'hocuspocus' ? bytes(varString('hostile'), message) : message)

/** `head`, a var uint `length`, then `length` pseudo-random bytes. */
const lengthPrefixed = (head, length, seed) => bytes(head, varUint(length), seededBytes(length, seed))

/** An awareness message (type 1) announcing `clients` clients from `first` on, each with a state of about `size` bytes. */
function awarenessMessage(first, clients, size) {
  const entries = []
  for (let i = 0; i < clients; i++) {
    const json = JSON.stringify({ name: 'x'.repeat(Math.max(0, size - 11)) })
    entries.push(bytes(varUint(first + i), varUint(1)), bigVarString(json))
  }
  const update = bytes(varUint(clients), ...entries)
  return bytes([1], varUint(update.length), update)
}

/**
 * A valid Yjs update writing `count` small records to collection 'flood', whose client's first
 * change is left out: a replica holds it (waiting for that change) instead of applying it, and
 * holds the same bytes once. Costly to check, cheap to send, and it never grows the document.
 */
function floodUpdate(count) {
  const doc = new Y.Doc()
  doc.clientID = 424242
  doc.getMap('flood').set('first', 0) // clock 0: never sent
  let update
  doc.once('update', (u) => (update = u))
  doc.transact(() => {
    const flood = doc.getMap('flood')
    for (let i = 0; i < count; i++) flood.set(`f${i}`, new Y.Map([['n', i]]))
  })
  doc.destroy()
  return update
}

let floodFrame
/** The same valid-looking SyncStep2, sent `times` times back to back. */
function flood(framing, times) {
  floodFrame ??= floodUpdate(20_000)
  const frame = framed(framing, syncMessage(1, floodFrame))
  return Array.from({ length: times }, () => frame)
}

/**
 * What each misbehaviour sends: `onConnect` when a client connects, `onMessage` for each frame
 * it sends; both get the framing the client speaks ('y-websocket' or 'hocuspocus'). Frames are
 * binary unless given as strings.
 */
export const MISBEHAVIOURS = {
  // 64 pseudo-random bytes, once
  garbage: { onConnect: () => [seededBytes(64, 0x2545f491)] },
  // a sync message whose sub-type var int never ends
  'truncated-varint': { onConnect: () => [Uint8Array.of(0, 0x80, 0x80, 0x80)] },
  // a SyncStep2 claiming 2^32 - 1 bytes, with none behind the length
  'huge-length': { onConnect: () => [Uint8Array.of(0, 1, ...varUint(2 ** 32 - 1))] },
  // a SyncStep2 claiming 2^32 bytes: yrs reads var ints with wrapping shifts, so this is 0
  'length-2^32': { onConnect: () => [Uint8Array.of(0, 1, ...varUint(2 ** 32))] },
  // a SyncStep2 whose update claims 80 million blocks in 7 bytes
  'allocation-bomb': { onConnect: () => [syncMessage(1, [1, ...varUint(80_000_000), 5, 0])] },
  // a SyncStep2 whose update nests a value 30000 deep
  'deep-nesting': { onConnect: () => [syncMessage(1, [...deeplyNestedUpdate(30_000)])] },
  // an update whose string claims 2^32 - 1 bytes: on wasm32 that wraps yrs' bounds check
  'length-wrap': { onConnect: () => [syncMessage(1, [1, 1, 5, 0, 0x08, 1, ...varUint(2 ** 32 - 1)])] },
  // a message type no protocol defines (300), once
  'unknown-type': { onConnect: () => [Uint8Array.of(...varUint(300), 0)] },
  // every frame the client sends is answered with a message of unknown type 100
  'unknown-type-replies': { onMessage: () => [Uint8Array.of(100, 0)] },
  // a text frame
  text: { onConnect: () => ['hello'] },
  // a valid (empty) SyncStep1, then garbage
  'step1-then-garbage': { onConnect: () => [syncMessage(0, [0]), Uint8Array.of(0, 7, 1, 2, 3)] },
  // reads everything, answers nothing: only heartbeats can tell
  silent: {},
  // Hocuspocus framing (the document name first): a name claiming 2^32 - 1 bytes
  'hocuspocus-huge-name': { onConnect: () => [Uint8Array.of(...varUint(2 ** 32 - 1))] },
  // Hocuspocus framing: message type 99 for the right document
  'hocuspocus-unknown-type': { onConnect: () => [Uint8Array.of(...varString('hostile-hp'), 99)] },

  // ---- sizes: what the document needs may be large, nothing else may ----
  // 12 MiB of pseudo-random bytes in one frame: no document update, over maxMessageBytes
  'huge-garbage': { onConnect: () => [seededBytes(12 * MiB, 0x1d872b41)] },
  // a SyncStep2 header, then 24 MiB of garbage: taken in as a document update (under
  // maxFrameBytes), refused by the update check, and its memory is the document's again
  'huge-garbage-update': { onConnect: (framing) => [framed(framing, lengthPrefixed([0, 1], 24 * MiB, 0x2545f491))] },
  // a 9 MiB update, for a client whose maxFrameBytes is 8 MiB: refused before it is read
  'over-max-frame': { onConnect: (framing) => [framed(framing, lengthPrefixed([0, 2], 9 * MiB, 0x3c6ef372))] },
  // one client whose presence state is 6 MiB
  'huge-awareness': { onConnect: (framing) => [framed(framing, awarenessMessage(7, 1, 6 * MiB))] },
  // an access denial whose reason is 6 MiB (y-websocket Auth: [2, 0, reason]; Hocuspocus: [2, 1, reason])
  'huge-auth': { onConnect: (framing) => [framed(framing, bytes([2, framing === 'hocuspocus' ? 1 : 0], bigVarString('no '.repeat(2 * MiB))))] },
  // an access denial whose 1 MiB reason is under the limit: shown shortened
  'long-denial': { onConnect: (framing) => [framed(framing, bytes([2, framing === 'hocuspocus' ? 1 : 0], bigVarString('no '.repeat(MiB / 4))))] },
  // 80 awareness messages of 100 KB, each for 10 new clients: 8 MB of presence in all
  'presence-flood': { onConnect: (framing) => Array.from({ length: 80 }, (_, i) => framed(framing, awarenessMessage(1000 + i * 10, 10, 10_000))) },
  // the same 20,000-record update (held, see floodUpdate) 400 times, as fast as the socket takes it
  flood: { onConnect: (framing) => flood(framing, 400) },
}

export class HostileServer {
  /**
   * @param mode a key of MISBEHAVIOURS
   * @param framing 'y-websocket' (default) or 'hocuspocus': how messages are wrapped
   */
  static async start(mode, framing = 'y-websocket') {
    const server = new HostileServer(await freePort(), mode, framing)
    await server.listen()
    return server
  }

  constructor(port, mode, framing) {
    if (!(mode in MISBEHAVIOURS)) throw new Error(`unknown misbehaviour '${mode}'`)
    this.port = port
    this.mode = mode
    this.framing = framing
    this.url = `ws://127.0.0.1:${port}`
    this.connections = 0
    this.framesReceived = 0
    /** Connections the client closed (the server never closes one itself). */
    this.closedByClient = 0
    /** Request URLs seen (to check what the client sent, such as query parameters). */
    this.requestUrls = []
    this.wss = null
  }

  listen() {
    return new Promise((resolve, reject) => {
      this.wss = new WebSocketServer({ host: '127.0.0.1', port: this.port })
      this.wss.once('listening', resolve)
      this.wss.once('error', reject)
      this.wss.on('connection', (ws, request) => this.serve(ws, request))
    })
  }

  serve(ws, request) {
    this.connections++
    this.requestUrls.push(request.url)
    const behaviour = MISBEHAVIOURS[this.mode]
    const send = (frames) => {
      for (const frame of frames ?? []) if (ws.readyState === ws.OPEN) ws.send(frame)
    }
    ws.on('message', () => {
      this.framesReceived++
      send(behaviour.onMessage?.(this.framing))
    })
    ws.on('close', () => this.closedByClient++)
    ws.on('error', () => {}) // a client dropping mid-frame is expected here
    send(behaviour.onConnect?.(this.framing))
  }

  /** Stops listening and drops every connection still open. */
  close() {
    if (!this.wss) return Promise.resolve()
    for (const client of this.wss.clients) client.terminate()
    return new Promise((resolve) => this.wss.close(() => resolve()))
  }
}
