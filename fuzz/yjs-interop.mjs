// The other side of the fuzzing fixes: the checks added in front of yrs must never refuse what
// Yjs really writes. Random editing sessions of several Yjs clients (maps, nested records,
// arrays, texts with formatting and embeds, XML, subdocuments, deletions, big numbers), sent to
// the real Wasm build (pkg/node, via the public API) as single updates, out of order, and merged
// with Y.mergeUpdates (which writes Skip blocks): every update must apply, and the replica
// must end with exactly the state Yjs has.
// Run from the repository root after `node scripts/build.mjs`: node fuzz/yjs-interop.mjs [sessions]
import * as Y from 'yjs'
import { Replica } from 'yreplica'

const sessions = Number(process.argv[2] ?? 200)

/** mulberry32: a seeded random source, so a failing session can be rerun. */
function random(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function session(seed) {
  const rnd = random(seed)
  const pick = (items) => items[Math.floor(rnd() * items.length)]
  const value = (depth = 0) =>
    pick([
      () => rnd(),
      () => Math.floor(rnd() * 2 ** 40),
      () => 1e19,
      () => 'text ' + rnd().toString(36),
      () => rnd() < 0.5,
      () => null,
      () => (depth < 3 ? [value(depth + 1), value(depth + 1)] : 1),
      () => (depth < 3 ? { a: value(depth + 1), 'b c': value(depth + 1) } : 2),
      () => new Uint8Array([1, 2, 3]),
    ])()
  const docs = [1, 2, 3].map((clientID) => {
    const doc = new Y.Doc()
    doc.clientID = clientID * 1000 + seed
    return doc
  })
  const updates = []
  for (const doc of docs) doc.on('update', (u) => updates.push(u))
  for (let step = 0; step < 40; step++) {
    const doc = pick(docs)
    const todos = doc.getMap('todos')
    const id = 'r' + Math.floor(rnd() * 6)
    pick([
      () => {
        const record = new Y.Map()
        record.set('title', value())
        record.set('n', value())
        todos.set(id, record)
      },
      () => todos.get(id) instanceof Y.Map && todos.get(id).set('f' + Math.floor(rnd() * 3), value()),
      () => todos.delete(id),
      () => doc.getMap('plain').set(id, { x: value(), y: value() }),
      () => {
        const text = doc.getText('notes')
        text.insert(Math.floor(rnd() * (text.length + 1)), 'hello ', rnd() < 0.5 ? { bold: true } : undefined)
        if (text.length > 4) text.format(1, 3, { italic: rnd() < 0.5 ? true : null })
        if (rnd() < 0.2) text.insertEmbed(0, { image: 'x.png' })
        if (text.length > 8 && rnd() < 0.3) text.delete(2, 3)
      },
      () => {
        const list = doc.getArray('list')
        list.insert(0, [value(), value()])
        if (list.length > 3 && rnd() < 0.4) list.delete(1, 2)
      },
      () => doc.getXmlFragment('xml').insert(0, [new Y.XmlElement('p'), new Y.XmlText('t')]),
      () => doc.getMap('docs').set(id, new Y.Doc()),
    ])()
    // now and then two clients exchange what they have
    if (rnd() < 0.3) {
      const [a, b] = [pick(docs), pick(docs)]
      Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)))
    }
  }
  const truth = new Y.Doc()
  for (const u of updates) Y.applyUpdate(truth, u)
  return { rnd, updates, truth }
}

/** How the replica receives the updates: one by one, shuffled, or merged in chunks. */
function deliveries(rnd, updates) {
  const shuffled = [...updates].sort(() => rnd() - 0.5)
  const chunks = []
  for (let i = 0; i < shuffled.length; i += 5) chunks.push(Y.mergeUpdates(shuffled.slice(i, i + 5)))
  return { 'in order': updates, shuffled, 'merged chunks': chunks }
}

/** JSON with object keys sorted: yrs keeps a plain object's keys in another order. */
const canonical = (value) =>
  JSON.stringify(value, (_, v) =>
    v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  )

let applied = 0
for (let seed = 1; seed <= sessions; seed++) {
  const { rnd, updates, truth } = session(seed)
  for (const [how, list] of Object.entries(deliveries(rnd, updates))) {
    const replica = await Replica.open({ name: `interop-${seed}`, storage: 'memory' })
    try {
      for (const update of list) {
        replica.applyUpdate(update) // throws if refused
        applied++
      }
      // the replica's state, read back by Yjs, is the truth
      const back = new Y.Doc()
      Y.applyUpdate(back, replica.encodeState())
      for (const name of ['todos', 'plain', 'docs']) {
        const want = canonical(truth.getMap(name).toJSON())
        const got = canonical(back.getMap(name).toJSON())
        if (got !== want) throw new Error(`map '${name}' differs:\n  yjs     ${want}\n  replica ${got}`)
      }
      for (const [name, get] of [['notes', (d) => d.getText('notes').toDelta()], ['list', (d) => d.getArray('list').toJSON()]]) {
        if (canonical(get(back)) !== canonical(get(truth))) throw new Error(`'${name}' differs`)
      }
    } catch (error) {
      console.error(`session ${seed}, updates ${how}: ${error.message}`)
      process.exit(1)
    } finally {
      await replica.close()
    }
  }
}
console.log(`${sessions} sessions, ${applied} Yjs updates applied (in order, shuffled, merged): none refused, every state equal`)
