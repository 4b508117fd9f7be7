// A todo list on yreplica/react: useFind for the list and the counters, useRecord for the
// selected todo, useStatus for the connection. The replica opens once; until then the hooks
// return their empty values.
import { useEffect, useState } from 'react'
import { createRoot } from 'react-dom/client'
import { Replica } from 'yreplica'
import { useFind, useRecord, useStatus } from 'yreplica/react'

const query = new URLSearchParams(location.search)
const endpoints = (query.get('endpoints') ?? 'ws://127.0.0.1:1234').split(',').filter(Boolean)

function useReplica() {
  const [replica, setReplica] = useState(null)
  useEffect(() => {
    let opened = null
    let cancelled = false
    Replica.open({ name: 'react-todo', room: query.get('room') ?? 'react-todo', endpoints }).then((r) => {
      if (cancelled) r.close()
      else setReplica((opened = r))
    })
    return () => {
      cancelled = true
      opened?.close()
    }
  }, [])
  return replica
}

const FILTERS = { all: undefined, open: { done: { $ne: true } }, done: { done: true } }

function Todos({ todos, onSelect }) {
  const [filter, setFilter] = useState('all')
  const visible = useFind(todos, { where: FILTERS[filter], orderBy: ['createdAt', 'id'] })
  const open = useFind(todos, { where: FILTERS.open }).length
  const done = useFind(todos, { where: FILTERS.done }).length
  const [title, setTitle] = useState('')
  const add = (event) => {
    event.preventDefault()
    if (title.trim() === '') return
    todos.insert({ title: title.trim(), done: false, createdAt: Date.now() })
    setTitle('')
  }
  return (
    <section>
      <form onSubmit={add}>
        <input value={title} onChange={(e) => setTitle(e.target.value)} placeholder="What needs doing?" data-testid="new-todo" />
        <button type="submit">Add</button>
      </form>
      <nav>
        {Object.keys(FILTERS).map((name) => (
          <button key={name} aria-pressed={filter === name} onClick={() => setFilter(name)}>
            {name}
          </button>
        ))}
      </nav>
      <ul data-testid="todo-list">
        {visible.map((todo) => (
          <li key={todo.id}>
            <input type="checkbox" checked={todo.done === true} onChange={(e) => todos.update(todo.id, { done: e.target.checked })} />
            <span onClick={() => onSelect(todo.id)}>{todo.title}</span>
            <button onClick={() => todos.delete(todo.id)}>×</button>
          </li>
        ))}
      </ul>
      <p data-testid="todo-count">
        {open} open · {done} done
      </p>
    </section>
  )
}

function Selected({ todos, id }) {
  const todo = useRecord(todos, id)
  if (id === null) return <p className="muted">Click a title to select it.</p>
  if (todo === undefined) return <p>Deleted.</p>
  return (
    <p>
      Selected: <b>{todo.title}</b> ({todo.done ? 'done' : 'open'})
    </p>
  )
}

function Connection({ replica }) {
  const { connection, endpoint, pending } = useStatus(replica)
  return (
    <p data-testid="connection">
      {connection} {endpoint ?? ''} {pending > 0 ? `· ${pending} unacknowledged` : ''}
    </p>
  )
}

function App() {
  const replica = useReplica()
  const todos = replica?.collection('todos') ?? null
  const [selected, setSelected] = useState(null)
  return (
    <main>
      <h1>yreplica · React</h1>
      <Connection replica={replica} />
      <Todos todos={todos} onSelect={setSelected} />
      <Selected todos={todos} id={selected} />
    </main>
  )
}

createRoot(document.getElementById('root')).render(<App />)
