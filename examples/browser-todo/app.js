// The todo demo: opens a yreplica replica (IndexedDB locally, the demo's servers remotely)
// and mounts the todo list and the sync panel on it.
//
// Query string (handy for tests and experiments):
//   ?db=name        local database name (default yreplica-todo); ?room=name the server document
//   ?hb=ms          heartbeatIntervalMs (default 1000); ?missed=n missedHeartbeats (default 2)
//   ?failback=ms    failbackAfterMs (default 5000); ?servers=n servers kept in sync (default 1)
//   ?endpoints=ws://…,ws://…   servers to use when the page is not served by start.mjs
import { Replica } from 'yreplica'
import { listServers } from './controller-client.js'
import { mountTodos } from './todo-view.js'
import { mountSyncPanel } from './sync-panel.js'

const query = new URLSearchParams(location.search)
const number = (key, fallback) => (query.has(key) ? Number(query.get(key)) : fallback)

/** Shows an error at the bottom of the page; `sticky` keeps it (the app could not start). */
function showError(error, sticky = false) {
  console.error(error)
  const banner = document.getElementById('fatal')
  banner.textContent = `${error.code ? `${error.code}: ` : ''}${error.message}`
  banner.hidden = false
  clearTimeout(showError.timer)
  if (!sticky) showError.timer = setTimeout(() => (banner.hidden = true), 6000)
}

/** The controller's servers, in priority order; else ?endpoints=, else the default ports. */
async function endpointUrls() {
  if (query.has('endpoints')) return query.get('endpoints').split(',').filter(Boolean)
  const servers = await listServers()
  if (servers && servers.length > 0) return servers.map((server) => server.url)
  return ['ws://127.0.0.1:1234', 'ws://127.0.0.1:1235', 'ws://127.0.0.1:1236']
}

try {
  const name = query.get('db') ?? 'yreplica-todo'
  const replica = await Replica.open({
    name,
    room: query.get('room') ?? 'yreplica-todo',
    storage: 'indexeddb', // works offline; other tabs of this origin share edits over BroadcastChannel
    endpoints: await endpointUrls(),
    heartbeatIntervalMs: number('hb', 1000),
    missedHeartbeats: number('missed', 2),
    failbackAfterMs: number('failback', 5000),
    servers: number('servers', 1), // 2 or 3: the panel shows the standbys
  })
  const report = (error) => showError(error)
  replica.on('error', report)
  mountTodos(replica, report)
  mountSyncPanel(replica, report)
  // Closing stops sync and releases the Wasm memory; a page kept for back/forward keeps it.
  addEventListener('pagehide', (event) => event.persisted || replica.close())
  // for the browser console: try demo.replica.endpoints, demo.replica.collection('todos').all()
  window.demo = { replica }
  document.body.dataset.ready = 'true'
} catch (error) {
  showError(error, true)
  throw error
}
