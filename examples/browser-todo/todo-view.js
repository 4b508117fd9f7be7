// The todo list: add, edit inline, complete, delete, filter. Every change goes through the
// yreplica collection; the list and the counters are live queries (collection.watch), redrawn
// when their result changes, whether the change came from this tab, another tab or a server.

const FILTERS = {
  all: undefined,
  open: { done: { $ne: true } },
  done: { done: true },
}

/**
 * @param replica an open yreplica Replica; the todos live in its 'todos' collection
 * @param onError shows a failed write
 */
export function mountTodos(replica, onError) {
  const todos = replica.collection('todos')
  const form = document.getElementById('add-form')
  const input = document.getElementById('new-todo')
  const list = document.getElementById('todo-list')
  const empty = document.getElementById('todo-empty')
  const count = document.getElementById('todo-count')
  const filterButtons = [...document.querySelectorAll('[data-filter]')]
  /** id → <li>, so a redraw moves rows instead of rebuilding them (an open editor survives). */
  const rows = new Map()
  let filter = 'all'
  let editing = null

  const report = (promise) => promise.catch(onError)

  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const title = input.value.trim()
    if (title === '') return
    input.value = ''
    report(todos.insert({ title, done: false, createdAt: Date.now() }))
  })

  for (const button of filterButtons) {
    button.addEventListener('click', () => {
      filter = button.dataset.filter
      for (const each of filterButtons) each.setAttribute('aria-pressed', String(each === button))
      watchList()
    })
  }

  document.getElementById('clear-done').addEventListener('click', () => {
    const done = todos.find({ where: FILTERS.done })
    // one transaction: one update on the wire, one change notification
    replica.transact(() => done.forEach((todo) => todos.delete(todo.id)))
  })

  function startEditing(li, todo) {
    editing = todo.id
    const editor = document.createElement('input')
    editor.className = 'edit'
    editor.value = todo.title
    editor.dataset.testid = 'todo-edit-input'
    editor.setAttribute('aria-label', 'Edit title')
    let finished = false
    const finish = (save) => {
      if (finished) return
      finished = true
      editing = null
      const title = editor.value.trim()
      const current = todos.get(todo.id) // undefined if deleted elsewhere meanwhile
      if (save && current && title !== '' && title !== current.title) report(todos.update(todo.id, { title }))
      render(true)
    }
    editor.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') finish(true)
      if (event.key === 'Escape') finish(false)
    })
    editor.addEventListener('blur', () => finish(true))
    li.querySelector('.title').replaceWith(editor)
    editor.focus()
    editor.select()
  }

  function buildRow(id) {
    const li = document.createElement('li')
    li.dataset.testid = 'todo'
    li.dataset.id = id
    const toggle = document.createElement('input')
    toggle.type = 'checkbox'
    toggle.dataset.testid = 'todo-toggle'
    toggle.setAttribute('aria-label', 'Done')
    toggle.addEventListener('change', () => report(todos.update(id, { done: toggle.checked })))
    const title = document.createElement('span')
    title.className = 'title'
    title.dataset.testid = 'todo-title'
    const edit = document.createElement('button')
    edit.type = 'button'
    edit.className = 'icon'
    edit.textContent = '✎'
    edit.title = 'Edit'
    edit.dataset.testid = 'todo-edit'
    const remove = document.createElement('button')
    remove.type = 'button'
    remove.className = 'icon danger'
    remove.textContent = '×'
    remove.title = 'Delete'
    remove.dataset.testid = 'todo-delete'
    remove.addEventListener('click', () => report(todos.delete(id)))
    const edits = () => {
      const todo = todos.get(id)
      if (todo && editing === null) startEditing(li, todo)
    }
    title.addEventListener('dblclick', edits)
    edit.addEventListener('click', edits)
    li.append(toggle, title, edit, remove)
    return li
  }

  function fill(li, todo) {
    li.dataset.done = String(todo.done === true)
    li.classList.toggle('done', todo.done === true)
    li.querySelector('[data-testid=todo-toggle]').checked = todo.done === true
    const title = li.querySelector('.title')
    if (title) title.textContent = todo.title ?? '(untitled)'
  }

  /** The filter's todos, as the list's watch last gave them. */
  let visible = []
  let stopList = () => {}
  /** Watches the todos the filter shows (again when the filter changes). */
  function watchList() {
    stopList()
    stopList = todos.watch({ where: FILTERS[filter], orderBy: ['createdAt', 'id'] }, (result) => {
      visible = result
      render()
    })
  }

  /** Redraws the list from the last result; `force` rebuilds the row that was being edited. */
  function render(force = false) {
    const keep = new Set(visible.map((todo) => todo.id))
    for (const [id, li] of rows) {
      if (!keep.has(id) || (force && li.querySelector('.edit'))) {
        li.remove()
        rows.delete(id)
      }
    }
    for (const todo of visible) {
      let li = rows.get(todo.id)
      if (li === undefined) rows.set(todo.id, (li = buildRow(todo.id)))
      fill(li, todo)
      list.append(li) // moves an existing row into order
    }
    if (editing !== null && !keep.has(editing)) editing = null // deleted elsewhere while editing
    empty.hidden = visible.length > 0
  }

  // The counters: two live queries, each redrawing the line when its number changes.
  const counts = { open: 0, done: 0 }
  const showCounts = () => (count.textContent = `${counts.open} open · ${counts.done} done`)
  todos.watch({ where: FILTERS.open }, (result) => {
    counts.open = result.length
    showCounts()
  })
  todos.watch({ where: FILTERS.done }, (result) => {
    counts.done = result.length
    showCounts()
  })
  watchList()
}
