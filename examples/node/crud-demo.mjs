// npm start: a short tour of yreplica in Node. Opens a replica, does CRUD, queries, shows
// change notifications, and hands the document to a plain Yjs client.
import * as Y from 'yjs'
import { Replica } from '../../js/node.js'

const say = (label, value) => console.log(`${label.padEnd(30)} ${typeof value === 'string' ? value : JSON.stringify(value)}`)

const replica = await Replica.open({ name: 'demo', storage: 'memory' })
const todos = replica.collection('todos')
todos.subscribe((changes) => {
  for (const c of changes) console.log(`  ↳ change: ${c.origin} ${c.type} ${c.id}${c.value ? ' ' + JSON.stringify(c.value) : ''}`)
})

console.log('yreplica demo: a CRUD database kept in a Yjs document\n')
const milk = await todos.insert({ title: 'Buy milk', done: false, prio: 2 })
say('insert → id', milk)
await todos.insertMany([
  { id: 'bread', title: 'Bake bread', done: false, prio: 3 },
  { id: 'tax', title: 'File taxes', done: false, prio: 1 },
])
say('insertMany → count', String(todos.count()))
await todos.update(milk, { done: true })
say('get after update', todos.get(milk))
say('find open, by -prio', todos.find({ where: { done: false }, orderBy: '-prio' }).map((t) => t.title))
await todos.replace('tax', { title: 'File taxes (extension)', done: false, prio: 0 })
say('count where prio >= 1', String(todos.count({ prio: { $gte: 1 } })))

console.log('one transaction (two writes, one notification):')
replica.transact(() => {
  todos.update('bread', { done: true })
  todos.delete('tax')
})
say('all', todos.all().map((t) => `${t.title}${t.done ? ' ✓' : ''}`))

try {
  await todos.update('nope', { done: true })
} catch (error) {
  say('update of an unknown id', `${error.code}: ${error.message}`)
}
try {
  await todos.insert({ title: 'when?', due: new Date() })
} catch (error) {
  say('a Date is not JSON', `${error.name}: ${error.message}`)
}

// Any Yjs app can read the same data: a collection is doc.getMap(name), a record a Y.Map.
const doc = new Y.Doc()
Y.applyUpdate(doc, replica.encodeState())
say('a plain Yjs doc reads', doc.getMap('todos').get(milk).get('title'))
doc.getMap('todos').set('yjs-1', new Y.Map([['title', 'Written by Yjs'], ['done', false]]))
console.log('applying an update written by a plain Yjs client:')
replica.applyUpdate(Y.encodeStateAsUpdate(doc))
say('collections', replica.collections())
await replica.close()
console.log('\nNext: `npm test` runs every suite; README.md has the API and the Yjs schema.')
