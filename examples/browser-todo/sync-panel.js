// The sync side of the page: connection status and unacknowledged changes in the header,
// the room's operator directive (with Restore), one card per endpoint (yreplica's view of it
// and its role, the controller's view of its process, with buttons for both, and "for
// everyone" buttons that set a directive), and a log of failover events.
import { listServers, serverAction } from './controller-client.js'

const REFRESH_MS = 500 // replica.endpoints (RTT, health) has no event; read it this often
const CONTROLLER_REFRESH_MS = 1000
const LOG_LIMIT = 30

const hostOf = (url) => (url ?? '—').replace(/^wss?:\/\//, '')
const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour12: false })

/** The directive in force as one line: what it promotes and drains, who set it and when. */
function directiveText(directive) {
  if (directive === null) return 'none'
  const parts = []
  if (directive.primary !== null) parts.push(`promote ${hostOf(directive.primary)}`)
  if (directive.drain.length > 0) parts.push(`drain ${directive.drain.map(hostOf).join(', ')}`)
  if (directive.note) parts.push(`“${directive.note}”`)
  parts.push(`by ${directive.by} at ${clock(directive.at)}`)
  if (directive.expiresAt !== null) parts.push(`until ${clock(directive.expiresAt)}`)
  return parts.join(' · ')
}

/** The round trip of the last probe while the endpoint is up; else when it last answered. */
function rttText({ state, rttMs, lastSeenAt }) {
  if (state === 'up' && rttMs != null) return `RTT ${Math.round(rttMs)} ms`
  if (lastSeenAt != null) return `last answer ${Math.max(0, Math.round((Date.now() - lastSeenAt) / 1000))} s ago`
  return 'RTT —'
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag)
  for (const [key, value] of Object.entries(props)) {
    if (key === 'dataset') Object.assign(node.dataset, value)
    else node[key] = value
  }
  node.append(...children)
  return node
}

/**
 * @param replica an open yreplica Replica with endpoints
 * @param onError shows a failed action
 */
export function mountSyncPanel(replica, onError) {
  const connection = document.getElementById('connection')
  const connectionState = document.getElementById('connection-state')
  const activeEndpoint = document.getElementById('active-endpoint')
  const pending = document.getElementById('pending')
  const list = document.getElementById('endpoints')
  const note = document.getElementById('controller-note')
  const unpin = document.getElementById('unpin')
  const directiveLine = document.getElementById('directive')
  const directiveState = document.getElementById('directive-text')
  const restore = document.getElementById('restore')
  const leader = document.getElementById('leader')
  const log = document.getElementById('failover-log')
  const logEmpty = document.getElementById('failover-empty')
  /** url → the controller's { index, pid, state }, or nothing without a controller */
  let processes = new Map()
  let controllerUp = false
  let pinned = null
  let directing = false // a directive is being written and flushed

  /**
   * Writes a directive (or clears it: `null`) into the room, then waits for the server to
   * have it: the demo's servers are standalone, so a directive reaches the pages on the server
   * it is written to (and, through them, the others'), and flush() makes sure it got there.
   */
  async function direct(directive) {
    directing = true
    refresh()
    try {
      if (directive === null) await replica.clearDirective()
      else await replica.setDirective(directive)
      await replica.flush()
    } catch (error) {
      onError(error)
    } finally {
      directing = false
      refresh()
    }
  }

  const cards = replica.endpoints.map((endpoint, priority) => buildCard(endpoint.url, priority))
  list.append(...cards.map((card) => card.root))

  function buildCard(url, priority) {
    const health = el('span', { className: 'health', dataset: { testid: 'endpoint-state' } })
    const rtt = el('span', { className: 'rtt', dataset: { testid: 'endpoint-rtt' } })
    const processState = el('span', { className: 'process', dataset: { testid: 'endpoint-process' } })
    const badges = el('span', { className: 'badges' })
    const button = (label, action, title) => el('button', { type: 'button', textContent: label, title, dataset: { action, testid: `endpoint-${action}` } })
    const use = button('Use this one', 'use', 'replica.switchTo(url): move there and stay (pinned)')
    const freeze = button('Freeze', 'freeze', 'SIGSTOP: the process stops answering, its connections stay open')
    const resume = button('Resume', 'resume', 'SIGCONT')
    const kill = button('Kill', 'kill', 'SIGKILL: connections close at once')
    const restart = button('Restart', 'restart', 'a fresh process on the same port (empty: clients refill it)')
    const promote = button('Promote for everyone', 'promote', 'replica.setDirective({ primary: url }), then flush(): every page of the room moves here')
    const drain = button('Drain for everyone', 'drain', 'replica.setDirective({ drain: [url] }), then flush(): every page of the room leaves it until Restore')
    const root = el('li', { className: 'endpoint-card', dataset: { testid: 'endpoint', url, priority: String(priority) } },
      el('div', { className: 'endpoint-head' }, el('span', { className: 'priority', textContent: String(priority + 1) }), el('code', { textContent: hostOf(url) }), badges),
      el('div', { className: 'endpoint-meta' }, health, rtt, processState),
      el('div', { className: 'endpoint-buttons' }, use, el('span', { className: 'sep' }), freeze, resume, kill, restart),
      el('div', { className: 'endpoint-buttons everyone' }, promote, drain),
    )
    // Each replaces the directive in force, as setDirective() does.
    promote.addEventListener('click', () => direct({ primary: url }))
    drain.addEventListener('click', () => direct({ drain: [url] }))
    use.addEventListener('click', () => {
      pinned = url
      replica.switchTo(url).catch(onError)
      refresh()
    })
    for (const control of [freeze, resume, kill, restart]) {
      control.addEventListener('click', async () => {
        const server = processes.get(url)
        if (!server) return
        control.disabled = true
        try {
          await serverAction(server.index, control.dataset.action)
        } catch (error) {
          onError(error)
        }
        await refreshProcesses()
      })
    }
    return { url, root, health, rtt, processState, badges, use, freeze, resume, kill, restart, promote, drain }
  }

  function refresh() {
    const status = replica.status
    connection.dataset.connection = status.connection
    connection.dataset.endpoint = status.endpoint ?? ''
    connectionState.textContent = status.connection
    activeEndpoint.textContent = status.endpoint ? `via ${hostOf(status.endpoint)}` : ''
    pending.dataset.pending = String(status.pending)
    pending.textContent = status.pending === 0 ? 'all changes acknowledged' : `${status.pending} change${status.pending === 1 ? '' : 's'} not yet acknowledged`
    leader.dataset.leader = String(replica.isLeader)
    leader.textContent = replica.isLeader
      ? 'This tab leads: it holds the connections for every tab of this page (leaderTab).'
      : 'This tab follows the leading tab, which holds the connections.'
    const directive = replica.directive
    const drained = new Set(directive?.drain ?? [])
    if (drained.has(pinned)) pinned = null // the replica drops a pin to a drained endpoint
    unpin.disabled = pinned === null
    directiveLine.dataset.active = String(directive !== null)
    directiveLine.dataset.primary = directive?.primary ?? ''
    directiveLine.dataset.drain = [...drained].join(' ')
    directiveState.textContent = directiveText(directive)
    restore.disabled = directive === null || directing

    const endpoints = replica.endpoints
    for (const card of cards) {
      const endpoint = endpoints.find((each) => each.url === card.url)
      if (!endpoint) continue
      card.root.dataset.state = endpoint.state
      card.root.dataset.active = String(endpoint.active)
      card.root.dataset.role = endpoint.role ?? ''
      card.root.dataset.directive = directive?.primary === card.url ? 'primary' : drained.has(card.url) ? 'drained' : ''
      card.root.classList.toggle('active', endpoint.active)
      card.health.textContent = endpoint.state
      card.health.className = `health ${endpoint.state}`
      card.rtt.textContent = rttText(endpoint)
      card.badges.replaceChildren(
        ...(endpoint.active ? [el('span', { className: 'badge active', textContent: 'active', dataset: { testid: 'endpoint-active' } })] : []),
        ...(endpoint.role === 'standby' ? [el('span', { className: 'badge standby', textContent: 'standby', dataset: { testid: 'endpoint-role' } })] : []),
        ...(pinned === card.url ? [el('span', { className: 'badge pinned', textContent: 'pinned' })] : []),
        ...(card.root.dataset.directive === 'primary' ? [el('span', { className: 'badge promoted', textContent: 'promoted' })] : []),
        ...(card.root.dataset.directive === 'drained' ? [el('span', { className: 'badge drained', textContent: 'drained' })] : []),
      )
      card.promote.disabled = directing || directive?.primary === card.url
      card.drain.disabled = directing || drained.has(card.url)
      card.use.disabled = pinned === card.url
      const server = processes.get(card.url)
      card.root.dataset.process = server?.state ?? 'unknown'
      const connections = typeof server?.connections === 'number' ? ` · ${server.connections} connection${server.connections === 1 ? '' : 's'}` : ''
      card.processState.dataset.connections = String(server?.connections ?? '')
      card.processState.textContent = server ? `process ${server.state}${server.pid ? ` · pid ${server.pid}` : ''}${connections}` : controllerUp ? 'not managed' : 'process ?'
      card.processState.className = `process ${server?.state ?? 'unknown'}`
      card.freeze.disabled = server?.state !== 'running'
      card.resume.disabled = server?.state !== 'frozen'
      card.kill.disabled = !server || server.state === 'killed'
      card.restart.disabled = !server
    }
  }

  async function refreshProcesses() {
    const servers = await listServers()
    controllerUp = servers !== null
    processes = new Map((servers ?? []).map((server) => [server.url, server]))
    note.hidden = controllerUp
    note.textContent = controllerUp ? '' : 'The demo controller is not reachable (is start.mjs running?): the process buttons are off.'
    refresh()
  }

  function addFailover(event) {
    const item = el('li', { dataset: { testid: 'failover-event', from: event.from ?? '', to: event.to ?? '', reason: event.reason } },
      el('time', { textContent: clock(event.at ?? Date.now()) }),
      el('span', { className: 'move', textContent: `${hostOf(event.from)} → ${hostOf(event.to)}` }),
      el('span', { className: `reason ${event.reason}`, textContent: event.reason }),
    )
    log.prepend(item)
    while (log.children.length > LOG_LIMIT) log.lastChild.remove()
    logEmpty.hidden = true
  }

  document.getElementById('failover-now').addEventListener('click', () => {
    pinned = null // failover() clears a pin
    replica.failover().catch(onError)
    refresh()
  })
  restore.addEventListener('click', () => direct(null))
  unpin.addEventListener('click', () => {
    pinned = null
    replica.unpin()
    refresh()
  })

  replica.on('status', refresh)
  replica.on('leader', refresh)
  replica.on('directive', refresh) // set, changed or cleared, by this page or any other
  replica.on('failover', (event) => {
    addFailover(event)
    refresh()
  })
  setInterval(refresh, REFRESH_MS)
  setInterval(refreshProcesses, CONTROLLER_REFRESH_MS)
  refreshProcesses()
}
