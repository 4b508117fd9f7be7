// Writes the seed corpora (fuzz/corpus/<target>/seed-*) from real Yjs documents and real
// y-protocols / Hocuspocus messages, so the fuzzers start from inputs servers really send.
// Run from the repository root: node fuzz/make-seeds.mjs
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import * as syncProtocol from 'y-protocols/sync'
import * as awarenessProtocol from 'y-protocols/awareness'

const root = new URL('./corpus/', import.meta.url).pathname

function seed(target, name, bytes) {
  const dir = join(root, target)
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, `seed-${name}`), bytes)
}

/** Every update a document emits while `build` runs, one per transaction. */
function updatesOf(build, clientID = 11) {
  const doc = new Y.Doc()
  doc.clientID = clientID
  const updates = []
  doc.on('update', (u) => updates.push(u))
  build(doc)
  return { doc, updates }
}

// A document as yreplica writes it (records as Y.Maps), with edits and deletions, plus what
// other Yjs apps may put next to it: plain-object records, texts, arrays, XML, a subdocument.
const { doc, updates } = updatesOf((doc) => {
  const todos = doc.getMap('todos')
  doc.transact(() => {
    for (const id of ['a', 'b', 'c']) {
      const record = new Y.Map()
      record.set('title', `task ${id}`)
      record.set('done', false)
      record.set('tags', ['x', { n: 1.5 }])
      todos.set(id, record)
    }
  })
  doc.transact(() => todos.get('a').set('done', true))
  doc.transact(() => todos.delete('b'))
  doc.getMap('notes').set('plain', { text: 'hi', n: 2 ** 40, big: 12345678901234567890n })
  const text = new Y.Text()
  doc.getMap('notes').set('rich', text)
  text.insert(0, 'hello', { bold: true })
  text.insertEmbed(5, { image: 'x.png' })
  doc.getArray('list').insert(0, [1, 'two', new Uint8Array([3]), null])
  doc.getXmlFragment('xml').insert(0, [new Y.XmlElement('p')])
  doc.getMap('docs').set('sub', new Y.Doc())
})
const full = Y.encodeStateAsUpdate(doc)

// ---- storage_records: 2-byte little-endian length, then the record ----
function records(list) {
  const parts = list.flatMap((r) => [Uint8Array.of(r.length & 0xff, r.length >> 8), r])
  return Buffer.concat(parts)
}
seed('storage_records', 'log', records(updates))
seed('storage_records', 'compacted', records([full]))
seed('storage_records', 'out-of-order', records([...updates].reverse()))
seed('storage_records', 'two-writers', records([full, updatesOf((d) => d.getMap('todos').set('z', 1), 99).updates[0]]))

// ---- frame_ywebsocket: y-protocols messages, one or several per frame ----
function message(write) {
  const encoder = encoding.createEncoder()
  write(encoder)
  return encoding.toUint8Array(encoder)
}
const step1 = message((e) => {
  encoding.writeVarUint(e, 0)
  syncProtocol.writeSyncStep1(e, doc)
})
const step2 = message((e) => {
  encoding.writeVarUint(e, 0)
  syncProtocol.writeSyncStep2(e, doc, new Uint8Array([0]))
})
const update = message((e) => {
  encoding.writeVarUint(e, 0)
  syncProtocol.writeUpdate(e, updates[1])
})
const awareness = new awarenessProtocol.Awareness(doc)
awareness.setLocalState({ user: { name: 'ann', color: '#f00' } })
const awarenessMessage = message((e) => {
  encoding.writeVarUint(e, 1)
  encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(awareness, [doc.clientID]))
})
awareness.destroy()
const query = Uint8Array.of(3)
const denied = message((e) => {
  encoding.writeVarUint(e, 2)
  encoding.writeVarUint(e, 0)
  encoding.writeVarString(e, 'no access')
})
const ywsFrames = { step1, step2, update, awareness: awarenessMessage, query, denied }
for (const [name, frame] of Object.entries(ywsFrames)) seed('frame_ywebsocket', name, frame)
seed('frame_ywebsocket', 'several', Buffer.concat([step1, step2, query, update]))

// ---- frame_hocuspocus: the document name, then a Hocuspocus message ----
function hocuspocus(type, write = () => {}) {
  return message((e) => {
    encoding.writeVarString(e, 'room')
    encoding.writeVarUint(e, type)
    write(e)
  })
}
const body = (frame) => frame.subarray(1) // a y-websocket message without its type byte
const hpFrames = {
  step1: hocuspocus(0, (e) => encoding.writeUint8Array(e, body(step1))),
  step2: hocuspocus(0, (e) => encoding.writeUint8Array(e, body(step2))),
  reply: hocuspocus(4, (e) => encoding.writeUint8Array(e, body(update))),
  awareness: hocuspocus(1, (e) => encoding.writeUint8Array(e, body(awarenessMessage))),
  authenticated: hocuspocus(2, (e) => {
    encoding.writeVarUint(e, 2)
    encoding.writeVarString(e, 'read-write')
  }),
  denied: hocuspocus(2, (e) => {
    encoding.writeVarUint(e, 1)
    encoding.writeVarString(e, 'bad token')
  }),
  query: hocuspocus(3),
  stateless: hocuspocus(5, (e) => encoding.writeVarString(e, '{"hi":1}')),
  close: hocuspocus(7, (e) => encoding.writeVarString(e, 'going away')),
  status: hocuspocus(8, (e) => encoding.writeVarUint(e, 1)),
  ping: Uint8Array.of(9),
}
for (const [name, frame] of Object.entries(hpFrames)) seed('frame_hocuspocus', name, frame)
seed('frame_hocuspocus', 'several', Buffer.concat([hpFrames.step1, hpFrames.step2, hpFrames.status]))

// ---- json_values: record fields as apps write them ----
const json = {
  simple: { title: 'milk', done: false, n: 3 },
  nested: { a: { b: [1, 2, { c: null }] }, e: [] },
  // 2^53: the largest integer past which a JS number rounds (2^53 + 1 written here would too)
  numbers: { i: -7, f: 0.1, big: 2 ** 53, exp: 1e300, neg0: -0, tiny: 5e-324 },
  strings: { s: 'tab\t"quote" \\ \u0000 \u00e9 \u{1f600}', empty: '' },
  id: { id: 'r', x: 1 },
}
for (const [name, value] of Object.entries(json)) seed('json_values', name, JSON.stringify(value))
seed('json_values', 'not-object', '[1,2]')
seed('json_values', 'broken', '{"a":')

// ---- sync_engine: scripts of (op, args...) bytes; see sync_engine in src/lib.rs ----
// ops: 0 open, 2 frame (conn, kind, ...), 6 close, 7 advance (u16 ms), 9 write, 10 app call
const OPEN = [0, 0]
const FRAME = (kind, ...rest) => [2, 0, kind, ...rest]
const ADVANCE = (ms) => [7, ms & 0xff, ms >> 8]
const handshake = [...OPEN, ...FRAME(1), ...FRAME(4, 1)]
seed('sync_engine', 'yws-online', Uint8Array.from([0, ...handshake, 9, 5, ...ADVANCE(1500), ...FRAME(4, 2)]))
seed('sync_engine', 'hp-online', Uint8Array.from([1, ...handshake, ...FRAME(7, 1), 9, 3, 10, 0, 4]))
seed('sync_engine', 'heartbeat-loss', Uint8Array.from([0, ...handshake, ...ADVANCE(1200), ...ADVANCE(1200), ...ADVANCE(1200), 0, 1]))
seed('sync_engine', 'garbage', Uint8Array.from([0, ...OPEN, 2, 0, 0, 5, 0, 0xff, 0xff, 0xff, 0xff]))
console.log(`seeds written under ${root}`)
