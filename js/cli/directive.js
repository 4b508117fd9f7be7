// `yreplica promote`, `drain` and `restore`: the room's operator directive written to (or
// cleared on) every listed server through its own connection, so standalone servers, which do
// not replicate among themselves, each carry it. Each server must acknowledge the write.
import { hostname } from 'node:os'
import { CONNECTION_FLAGS, checkServerUrl, connectionSettings, parseArgs, serverUrls } from './args.js'
import { connectAll, closeAll, replicaOptions } from './connect.js'
import { EXIT, UsageError, exitForUnreachable } from './errors.js'
import { plural } from './format.js'

const UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** '90s', '30m', '2h', '1d', '500ms' as milliseconds; anything else is a UsageError. */
export function parseDuration(text, flag, command) {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text)
  const ms = match ? Number(match[1]) * UNITS[match[2]] : NaN
  if (!(ms > 0) || !Number.isSafeInteger(ms)) {
    throw new UsageError(`${flag} must be a positive duration with a unit (500ms, 90s, 30m, 2h, 1d), got '${text}'`, command)
  }
  return ms
}

/** "drain ws://a:1234" / "primary ws://c:1236" / both. */
export function describeDirective(d) {
  if (d === null || d === undefined) return 'none'
  const parts = []
  if (d.primary !== null) parts.push(`primary ${d.primary}`)
  if (d.drain.length > 0) parts.push(`drain ${d.drain.join(' ')}`)
  return parts.join(', ')
}

const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')

/** The rest of a directive: "note '…', by …, set …, expires …". */
export function describeDirectiveDetails(d, now = Date.now()) {
  const parts = []
  if (d.note !== null) parts.push(`note ${JSON.stringify(d.note)}`)
  parts.push(`by ${d.by}`)
  if (d.at !== undefined) parts.push(`set ${iso(d.at)}`)
  parts.push(d.expiresAt === null ? 'no expiry' : `expires ${iso(d.expiresAt)} (in ${Math.max(0, Math.round((d.expiresAt - now) / 1000))} s)`)
  return parts.join(', ')
}

/**
 * Two directives as read from two servers: the same one? `at` is left out: the CLI writes one
 * directive to each server through its own connection, a few milliseconds apart.
 */
export function sameDirective(a, b) {
  // (one item since the CLI writes the union first; older directives were written per server)
  if (a === null || b === null) return a === b
  return ['primary', 'note', 'by', 'expiresAt'].every((k) => a[k] === b[k]) && a.drain.join('\n') === b.drain.join('\n')
}

export const flagsFor = (action) => ({
  ...CONNECTION_FLAGS,
  json: { type: 'boolean', help: 'print the result as JSON on stdout' },
  ...(action === 'restore'
    ? {}
    : {
        note: { type: 'string', value: 'TEXT', help: 'why, for whoever reads the directive (status, replica.directive)' },
        by: { type: 'string', value: 'WHO', help: 'who sets it (default: yreplica-cli@<this host name>)' },
        'expires-in': { type: 'string', value: 'DURATION', help: 'the directive lapses by itself after this long: 500ms, 90s, 30m, 2h, 1d (default: never)' },
      }),
})

const EXIT_DETAILS =
  'Exit codes: 0 written and acknowledged by every server; 1 a server did not acknowledge;\n' +
  '            2 bad arguments; 3 a server was unreachable (the reachable ones are still\n' +
  '            written); 4 a server denied access (token), which wins over 3.'

const SERVERS_NOTE =
  'The directive is kept in the room, and every replica of the room follows it against its own\n' +
  'endpoints (a URL is matched exactly as the replicas list it). It is written to each listed\n' +
  'server through its own connection, as one Yjs item, after the servers were brought up to the\n' +
  'union of what they hold (as sync does): list every server of the room, since independent\n' +
  "y-websocket servers do not pass it on to each other. A drained server that is down can be\n" +
  'left out of the list.'

export const helpFor = {
  promote: {
    usage: 'yreplica promote ENDPOINT --room R [options] URL...',
    summary:
      'Sets the operator directive "ENDPOINT is the primary": every replica of the room that lists\n' +
      'ENDPOINT moves to it at once (failover reason \'operator\') and stays while it stands.\n' +
      'Replaces the directive in force.',
    details: `${SERVERS_NOTE}\n\n${EXIT_DETAILS}\n\nExample:\n  yreplica promote ws://10.0.0.3:1234 --room todo-app --note 'a and b: kernel update' \\\n    ws://10.0.0.1:1234 ws://10.0.0.2:1234 ws://10.0.0.3:1234`,
  },
  drain: {
    usage: 'yreplica drain ENDPOINT --room R [options] URL...',
    summary:
      'Sets the operator directive "drain ENDPOINT": every replica of the room leaves it at once for\n' +
      "the next endpoint in its own order (failover reason 'operator') and does not use it while\n" +
      'the directive stands. Replaces the directive in force.',
    details: `${SERVERS_NOTE}\n\n${EXIT_DETAILS}\n\nExample:\n  yreplica drain ws://10.0.0.1:1234 --room todo-app --expires-in 2h --note maintenance \\\n    ws://10.0.0.1:1234 ws://10.0.0.2:1234 ws://10.0.0.3:1234`,
  },
  restore: {
    usage: 'yreplica restore --room R [options] URL...',
    summary:
      'Clears the operator directive on every listed server. Nothing moves at once: each replica\n' +
      'returns to its own order of endpoints after its failbackAfterMs of health.',
    details: `${SERVERS_NOTE}\n\n${EXIT_DETAILS}\n\nExample:\n  yreplica restore --room todo-app ws://10.0.0.1:1234 ws://10.0.0.2:1234 ws://10.0.0.3:1234`,
  },
}

/** What the arguments ask for: the directive to write (null: clear it) and where. */
function request(action, given, positionals, env) {
  const settings = connectionSettings(given, env, action)
  if (action === 'restore') return { settings, urls: serverUrls(positionals, action), directive: null }
  if (positionals.length === 0) throw new UsageError(`give the endpoint to ${action}, then the servers to write the directive to`, action)
  const [target, ...servers] = positionals
  checkServerUrl(target, action)
  if (servers.length === 0) throw new UsageError(`give the servers to write the directive to after ${target} (every server of the room)`, action)
  const urls = serverUrls(servers, action)
  if (given.by === '') throw new UsageError('--by must not be empty', action)
  let expiresAt = null
  if (given['expires-in'] !== undefined) expiresAt = Date.now() + parseDuration(given['expires-in'], '--expires-in', action)
  const directive = {
    primary: action === 'promote' ? target : null,
    drain: action === 'drain' ? [target] : [],
    note: given.note ?? null,
    by: given.by ?? `yreplica-cli@${hostname()}`,
    expiresAt,
  }
  return { settings, urls, directive }
}

/**
 * Writes (or clears) the directive on every connected server as one and the same Yjs item:
 * the first replica first takes in what the others hold, so the write is later than every
 * directive any listed server knows; then each of the others takes in what it lacks of the
 * result (the servers get the union of the room, as `sync` gives it), and each server must
 * acknowledge. Written separately per server, a server's old directive could win again on
 * another server that a replica later carried it to.
 */
async function writeAll(live, directive, timeoutMs) {
  const replicas = live.map((r) => r.replica)
  const entries = live.map((r) => ({ url: r.url, reachable: true, previous: r.replica.directive, directive: null, acknowledged: false }))
  try {
    const [first, ...others] = replicas
    for (const other of others) first.applyUpdate(other.encodeState(first.stateVector()))
    if (directive === null) await first.clearDirective()
    else await first.setDirective(directive)
    for (const other of others) other.applyUpdate(first.encodeState(other.stateVector()))
  } catch (error) {
    for (const entry of entries) entry.error = error.message
    return entries
  }
  await Promise.all(
    replicas.map(async (replica, i) => {
      try {
        await replica.flush({ timeoutMs })
        entries[i].acknowledged = true
      } catch (error) {
        entries[i].error = error.message
      }
      entries[i].directive = replica.directive
    }),
  )
  return entries
}

function verdictOf(action, entries, urls) {
  const written = entries.filter((e) => e.reachable && e.acknowledged).length
  const unreachable = entries.filter((e) => !e.reachable).length
  const failed = entries.length - written - unreachable
  const what = action === 'restore' ? 'cleared' : 'set'
  if (written === urls.length) return `directive ${what} on ${urls.length === 1 ? 'the server' : `all ${urls.length} servers`}, acknowledged`
  const parts = [`directive ${what} on ${written} of ${plural(urls.length, 'server')}`]
  if (failed > 0) parts.push(`${failed} did not acknowledge`)
  if (unreachable > 0) parts.push(`${unreachable} unreachable (run it again for ${unreachable === 1 ? 'it' : 'them'} once back)`)
  return parts.join('; ')
}

function printHuman(io, action, settings, directive, entries, verdict) {
  const label = (i) => `[${i + 1}]`
  const lines = []
  if (action === 'restore') {
    lines.push(`restore room '${settings.room}' on ${plural(entries.length, 'server')}: clear the operator directive`)
  } else {
    lines.push(`${action} in room '${settings.room}' on ${plural(entries.length, 'server')}: ${describeDirective(directive)}`)
    lines.push(`  ${describeDirectiveDetails(directive)}`)
  }
  lines.push('')
  for (const [i, e] of entries.entries()) {
    if (!e.reachable) {
      lines.push(`${label(i)} ${e.url}  UNREACHABLE  ${e.reason}: ${e.detail}`)
      continue
    }
    const done = action === 'restore' ? 'cleared' : 'set'
    const ack = e.acknowledged ? 'acknowledged' : `NOT acknowledged: ${e.error}`
    const was = e.previous === null ? 'none was in force' : `${describeDirective(e.previous)} (by ${e.previous.by})`
    const before = action === 'restore' ? `was: ${was}` : `replaced: ${was}`
    lines.push(`${label(i)} ${e.url}  ${done}, ${ack}; ${before}`)
  }
  lines.push('', verdict)
  if (action === 'restore' && entries.some((e) => e.acknowledged)) {
    lines.push('replicas return to their own order of endpoints after their failbackAfterMs of health')
  }
  io.print(`${lines.join('\n')}\n`)
}

/** The whole of `promote`, `drain` and `restore`. */
export async function runDirective(action, argv, io) {
  const { flags: given, positionals } = parseArgs(argv, flagsFor(action), action)
  if (given.help) return io.help(action)
  const { settings, urls, directive } = request(action, given, positionals, io.env)
  const { Replica, WebSocket } = await io.library()
  const results = await connectAll({
    Replica,
    WebSocket,
    urls,
    options: replicaOptions(settings),
    onProgress: (done, total) => io.progress.count('connecting', done, total),
  })
  let entries
  try {
    io.progress.update('writing')
    const live = results.filter((r) => r.ok)
    const written = live.length > 0 ? await writeAll(live, directive, settings.timeoutMs) : []
    entries = results.map((r) => (r.ok ? written[live.indexOf(r)] : { url: r.url, reachable: false, reason: r.reason, detail: r.detail }))
  } finally {
    await closeAll(results)
    io.progress.clear()
  }
  const verdict = verdictOf(action, entries, urls)
  if (given.json) {
    io.print(`${JSON.stringify({ room: settings.room, command: action, directive, servers: entries, verdict }, null, 2)}\n`)
  } else {
    printHuman(io, action, settings, directive, entries, verdict)
  }
  const unreachable = entries.filter((e) => !e.reachable)
  if (unreachable.length > 0) return exitForUnreachable(unreachable.map((e) => e.reason))
  if (entries.some((e) => !e.acknowledged)) return EXIT.FAILED
  return EXIT.OK
}
