// The operator CLI, run as the installed package's `yreplica` binary (proving the `bin` entry)
// against real @y/websocket-server processes and a real Hocuspocus + Redis cluster.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createServer as createTcpServer } from 'node:net'
import { createServer as createHttpServer } from 'node:http'
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { WebSocket } from 'ws'
import { Replica } from 'yreplica'
import { startServers, stopServers } from '../dev/servers.mjs'
import { startCluster } from '../dev/cluster.mjs'
import { freePort } from '../dev/ports.mjs'
import { waitFor } from '../dev/wait.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const BIN = join(here, 'node_modules', '.bin', 'yreplica')
const ROOM = 'ops'
const work = mkdtempSync(join(tmpdir(), 'yreplica-cli-'))
let servers = []

/** Runs the installed binary; resolves with its exit code, output and duration. */
function cli(args, { input, env = {}, timeoutMs = 30_000 } = {}) {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const child = spawn(BIN, args, {
      env: { ...process.env, YREPLICA_TOKEN: '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`yreplica ${args.join(' ')} did not exit within ${timeoutMs} ms\n${stdout}\n${stderr}`))
    }, timeoutMs)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, ms: Date.now() - started })
    })
    child.stdin.end(input ?? '')
  })
}

const json = (result) => {
  try {
    return JSON.parse(result.stdout)
  } catch {
    throw new Error(`not JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`)
  }
}

/**
 * A plain Yjs client (y-websocket) on `server`: runs `fn(doc)` once synced, then leaves once
 * the server holds what it wrote: a second client reads the same structs and deletions.
 */
async function withYjsClient(server, room, fn, clientID) {
  const doc = new Y.Doc()
  if (clientID !== undefined) doc.clientID = clientID // before the provider: awareness uses it
  const provider = new WebsocketProvider(server.url, room, doc, { WebSocketPolyfill: WebSocket, disableBc: true })
  const check = new Y.Doc()
  let checker
  try {
    await waitFor(() => provider.synced, { timeoutMs: 10_000, what: `y-websocket synced with ${server.url}` })
    const value = fn(doc)
    checker = new WebsocketProvider(server.url, room, check, { WebSocketPolyfill: WebSocket, disableBc: true })
    await waitFor(() => checker.synced && Y.equalSnapshots(Y.snapshot(check), Y.snapshot(doc)), {
      timeoutMs: 10_000,
      what: `${server.url} to hold the client's writes`,
    })
    return value
  } finally {
    checker?.destroy()
    provider.destroy()
    doc.destroy()
    check.destroy()
  }
}

// Yjs picks 32-bit client ids, but any up to 2^53 - 1 is valid: one such writer is on s2.
const BIG_CLIENT = Number.MAX_SAFE_INTEGER - 2

const noStack = (text) => assert.doesNotMatch(text, /\n\s+at .+:\d+:\d+/, `a stack trace was printed:\n${text}`)

before(async () => {
  servers = await startServers(3)
  const [s1, s2, s3] = servers
  // s1 and s3 get the same three todos from a plain Yjs client; s3 then deletes t2, which adds
  // no struct: equal state vectors, different delete sets. s2 holds notes written by yreplica.
  const base = new Y.Doc()
  for (const [id, title] of [['t1', 'one'], ['t2', 'two'], ['t3', 'three']]) {
    base.getMap('todos').set(id, new Y.Map([['title', title], ['done', false]]))
  }
  const update = Y.encodeStateAsUpdate(base)
  base.destroy()
  await withYjsClient(s1, ROOM, (doc) => Y.applyUpdate(doc, update))
  await withYjsClient(s3, ROOM, (doc) => {
    Y.applyUpdate(doc, update)
    doc.getMap('todos').delete('t2')
  })
  await withYjsClient(s2, ROOM, (doc) => doc.getMap('notes').set('n3', new Y.Map([['text', 'from a big client id']])), BIG_CLIENT)
  const writer = await Replica.open({ name: 'cli-writer', room: ROOM, storage: 'memory', endpoints: [s2.url] })
  try {
    await writer.collection('notes').insertMany([{ id: 'n1', text: 'hello' }, { id: 'n2', text: 'world', tags: ['x'] }])
    await writer.flush({ timeoutMs: 10_000 })
  } finally {
    await writer.close()
  }
})

after(async () => {
  await stopServers(servers)
  rmSync(work, { recursive: true, force: true })
})

test('the bin entry is the installed package; --help for the CLI and each command', async () => {
  assert.match(realpathSync(BIN), /node_modules[/\\]yreplica[/\\]bin[/\\]yreplica\.mjs$/)
  const top = await cli(['--help'])
  assert.equal(top.code, 0)
  for (const command of ['status', 'sync', 'export', 'import', 'promote', 'drain', 'restore']) assert.match(top.stdout, new RegExp(`^  ${command} `, 'm'))
  for (const command of ['status', 'sync', 'export', 'import', 'promote', 'drain', 'restore']) {
    const result = await cli([command, '--help'])
    assert.equal(result.code, 0, result.stderr)
    const target = command === 'promote' || command === 'drain' ? 'ENDPOINT ' : ''
    assert.match(result.stdout, new RegExp(`^Usage: yreplica ${command} ${target}--room R`))
    assert.match(result.stdout, /--timeout ms/)
    assert.match(result.stdout, /Exit codes:/)
  }
  const none = await cli([])
  assert.equal(none.code, 2)
  assert.match(none.stderr, /Usage: yreplica <command>/)
})

test('bad arguments exit 2 with a message that says what is wrong', async () => {
  const url = servers[0].url
  const cases = [
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['status', url], /--room is required/],
    [['status', '--room', ROOM], /at least one server URL/],
    [['status', '--room', ROOM, 'http://127.0.0.1:1'], /'http:\/\/127\.0\.0\.1:1' is not a ws:\/\/ or wss:\/\/ URL/],
    [['status', '--room', ROOM, 'not a url'], /'not a url' is not a URL/],
    [['status', '--room', ROOM, '--timeout', 'soon', url], /--timeout must be a positive whole number/],
    [['status', '--room', ROOM, '--protocol', 'carrier-pigeon', url], /--protocol must be 'y-websocket' or 'hocuspocus'/],
    [['status', '--room', ROOM, '--colour', url], /unknown option '--colour'/],
    [['status', '--room', ROOM, url, url], /is listed twice/],
    [['status', '--room', ROOM, 'ws://admin:hunter2@127.0.0.1:1'], /must not carry credentials \(user:password@127\.0\.0\.1:1\)/],
    [['status', '--room'], /--room needs a value/],
    [['sync', '--room', ROOM, url], /at least 2 server URLs/],
    [['export', '--room', ROOM, url, servers[1].url], /export reads one server/],
    [['import', '--room', ROOM, url, '--in', join(work, 'missing.json')], /cannot read --in .*missing\.json: no such file/],
    [['drain', '--room', ROOM], /give the endpoint to drain, then the servers/],
    [['drain', url, '--room', ROOM], /give the servers to write the directive to after/],
    [['promote', 'http://x', '--room', ROOM, url], /'http:\/\/x' is not a ws:\/\/ or wss:\/\/ URL/],
    [['drain', url, '--room', ROOM, '--expires-in', '30', url], /--expires-in must be a positive duration with a unit/],
    [['drain', url, '--room', ROOM, '--by', '', url], /--by must not be empty/],
    [['restore', '--room', ROOM], /at least one server URL/],
    [['restore', '--room', ROOM, '--note', 'x', url], /unknown option '--note'/],
  ]
  for (const [args, message] of cases) {
    const result = await cli(args)
    assert.equal(result.code, 2, `${args.join(' ')} → ${result.code}\n${result.stderr}`)
    assert.match(result.stderr, message, args.join(' '))
    noStack(result.stderr)
    assert.ok(!result.stderr.includes('hunter2'), 'a password in a URL is not echoed')
    assert.equal(result.stdout, '', `nothing on stdout for ${args.join(' ')}`)
  }
})

test('status reports what differs, sync makes the servers equal, a second sync moves nothing', async () => {
  const [s1, s2, s3] = servers
  const urls = servers.map((s) => s.url)

  const report = json(await cli(['status', '--room', ROOM, '--json', ...urls]))
  assert.equal(report.same, false)
  assert.equal(report.reachable, 3)
  const [e1, e2, e3] = report.endpoints
  assert.deepEqual([e1.collections, e2.collections, e3.collections], [{ todos: 3 }, { notes: 3 }, { todos: 2 }])
  for (const e of report.endpoints) {
    assert.equal(e.reachable, true)
    assert.equal(typeof e.rttMs, 'number')
    assert.ok(e.documentBytes > 2)
  }
  // client ids are decoded exactly, up to 2^53 - 1
  assert.deepEqual(e1.stateVector, e3.stateVector)
  assert.equal(e2.stateVector[String(BIG_CLIENT)], 2, JSON.stringify(e2.stateVector))
  assert.equal(Object.keys(e2.stateVector).length, 2)
  const pair = (a, b) => report.pairs.find((p) => p.a === a.url && p.b === b.url)
  const p13 = pair(s1, s3)
  assert.equal(p13.sameStateVectors, true, 'equal state vectors…')
  assert.equal(p13.same, false, '…but not the same state')
  assert.equal(p13.aLacks.clocks, 0)
  assert.ok(p13.aLacks.deletions > 0 && p13.aLacks.bytes > 0, 's1 lacks the deletion of t2')
  assert.deepEqual(p13.bLacks, { clocks: 0, deletions: 0, bytes: 0 })
  const p12 = pair(s1, s2)
  assert.ok(p12.aLacks.clocks > 0 && p12.bLacks.clocks > 0)
  assert.match(report.verdict, /endpoints differ: 3 of 3 pairs/)

  const human = await cli(['status', '--room', ROOM, ...urls])
  assert.equal(human.code, 0, 'differences alone do not fail without --check')
  assert.match(human.stdout, /equal state vectors, different deletions/)
  assert.equal((await cli(['status', '--room', ROOM, '--check', ...urls])).code, 1)

  const first = await cli(['sync', '--room', ROOM, '--json', ...urls])
  assert.equal(first.code, 0, first.stdout + first.stderr)
  const synced = json(first)
  assert.equal(synced.verified, true)
  assert.equal(synced.same, true)
  assert.ok(synced.sent.every((s) => s.bytes > 0 && s.acknowledged === true), JSON.stringify(synced.sent))
  assert.equal(synced.totalBytes, synced.sent.reduce((n, s) => n + s.bytes, 0))
  // s3 already had everything of s1, so it only needed s2's notes
  assert.equal(synced.sent[2].deletions, 0)

  const after = await cli(['status', '--room', ROOM, '--check', ...urls])
  assert.equal(after.code, 0, after.stdout)
  assert.match(after.stdout, /all 3 endpoints hold the same state/)

  // a plain Yjs client on each server sees the union: t2 deleted, everything else present
  for (const server of [s1, s2, s3]) {
    const seen = await withYjsClient(server, ROOM, (doc) => ({ todos: doc.getMap('todos').toJSON(), notes: doc.getMap('notes').toJSON() }))
    assert.deepEqual(Object.keys(seen.todos).sort(), ['t1', 't3'], server.url)
    assert.equal(seen.todos.t3.title, 'three')
    assert.deepEqual(seen.notes.n2, { text: 'world', tags: ['x'] })
    assert.equal(seen.notes.n3.text, 'from a big client id')
  }

  const second = json(await cli(['sync', '--room', ROOM, '--json', ...urls]))
  assert.equal(second.totalBytes, 0, 'a second sync moves nothing')
  assert.equal(second.verified, true)
  const text = await cli(['sync', '--room', ROOM, ...urls])
  assert.equal(text.code, 0)
  assert.match(text.stdout, /total sent: 0 B/)
})

test('export, then import into an empty room, round-trips; importing again changes nothing', async () => {
  const [s1, s2] = servers
  const file = join(work, 'export.json')
  const exported = await cli(['export', '--room', 'exportme', s1.url, '--out', file])
  assert.equal(exported.code, 0, exported.stderr)
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), {}, 'an empty room exports as {}')

  // fill a room with records of every JSON kind through the CLI itself
  const data = {
    todos: Array.from({ length: 300 }, (_, i) => ({ id: `t${String(i).padStart(3, '0')}`, title: `todo ${i}`, done: i % 3 === 0, prio: i % 5, meta: { tags: ['a', i], due: null } })),
    people: [{ id: 'p1', name: 'Ada', nested: { deep: [1, { two: 2 }] } }],
  }
  writeFileSync(join(work, 'seed.json'), JSON.stringify(data))
  const seeded = await cli(['import', '--room', 'source', s1.url, '--in', join(work, 'seed.json'), '--progress'])
  assert.equal(seeded.code, 0, seeded.stderr)
  assert.match(seeded.stdout, /total 301 records: 301 new, 0 replaced, 0 unchanged; acknowledged/)
  assert.match(seeded.stderr, /importing 301\/301/, 'progress with --progress on a pipe')

  const out = await cli(['export', '--room', 'source', s1.url])
  assert.equal(out.code, 0, out.stderr)
  assert.equal(out.stderr, '', 'no progress on a pipe without --progress')
  const dump = JSON.parse(out.stdout)
  assert.deepEqual(Object.keys(dump), ['people', 'todos'])
  assert.deepEqual(dump.todos, data.todos)
  assert.deepEqual(dump.people, data.people)

  // into an empty room on another server, through stdin
  const imported = await cli(['import', '--room', 'copy', s2.url, '--json'], { input: out.stdout })
  assert.equal(imported.code, 0, imported.stderr)
  assert.deepEqual(
    (({ records, inserted, replaced, unchanged }) => ({ records, inserted, replaced, unchanged }))(json(imported)),
    { records: 301, inserted: 301, replaced: 0, unchanged: 0 },
  )
  const copy = await cli(['export', '--room', 'copy', s2.url])
  assert.deepEqual(json(copy), json(out), 'the copy exports the same records')

  const again = json(await cli(['import', '--room', 'copy', s2.url, '--json'], { input: out.stdout }))
  assert.equal(again.unchanged, 301)
  // one changed record is replaced, the rest left alone
  dump.todos[7].title = 'changed'
  const edit = json(await cli(['import', '--room', 'copy', s2.url, '--json', '--in', '-'], { input: JSON.stringify(dump) }))
  assert.deepEqual([edit.inserted, edit.replaced, edit.unchanged], [0, 1, 300])
})

test('a bad import file names the first bad record and writes nothing', async () => {
  const url = servers[0].url
  const cases = [
    ['{ "todos": [', /stdin is not valid JSON/],
    ['[1, 2]', /expected an object mapping collection names to arrays of records/],
    ['{ "todos": { "id": "a" } }', /collection 'todos': expected an array of records, got object/],
    ['{ "todos": [{ "id": "a" }, { "title": "no id" }] }', /collection 'todos', record 1: 'id' must be a non-empty string, got undefined/],
    ['{ "ok": [{ "id": "a" }], "todos": [{ "id": "a" }, 7] }', /collection 'todos', record 1: expected an object .* got number/],
    ['{ "todos": [{ "id": "a" }, { "id": "b" }, { "id": "a" }] }', /collection 'todos', record 2: id 'a' appears twice \(first as record 0\)/],
  ]
  for (const [input, message] of cases) {
    const result = await cli(['import', '--room', 'rejects', url], { input })
    assert.equal(result.code, 1, `${input} → ${result.code}\n${result.stderr}`)
    assert.match(result.stderr, message, input)
    noStack(result.stderr)
  }
  const left = json(await cli(['export', '--room', 'rejects', url]))
  assert.deepEqual(left, {}, 'nothing was written')
})

/** The directive as a plain Yjs client on `server` reads it where the room keeps it. */
const directiveOn = (server, room) => withYjsClient(server, room, (doc) => doc.getMap('yreplica.directive').get('current') ?? null)

test('drain, promote and restore write the directive to every listed server; status shows it; --json', async () => {
  const room = 'ops-directive'
  const urls = servers.map((s) => s.url)
  const [s1, , s3] = servers
  const secret = 'dr4in-t0ken-value'
  const started = Date.now()
  const drained = await cli(['drain', s1.url, '--room', room, '--json', '--note', 'kernel update', '--expires-in', '30m', '--token', secret, ...urls])
  assert.equal(drained.code, 0, drained.stdout + drained.stderr)
  const d = json(drained)
  assert.equal(d.command, 'drain')
  assert.deepEqual(d.directive.drain, [s1.url])
  assert.equal(d.directive.primary, null)
  assert.equal(d.directive.note, 'kernel update')
  assert.match(d.directive.by, /^yreplica-cli@/)
  assert.ok(Math.abs(d.directive.expiresAt - (started + 30 * 60_000)) < 10_000, `expiresAt ${d.directive.expiresAt}`)
  assert.equal(d.servers.length, 3)
  for (const [i, e] of d.servers.entries()) {
    assert.deepEqual([e.url, e.reachable, e.acknowledged, e.previous], [urls[i], true, true, null])
    assert.deepEqual(e.directive.drain, [s1.url])
  }
  assert.match(d.verdict, /directive set on all 3 servers, acknowledged/)
  assert.ok(!(drained.stdout + drained.stderr).includes(secret), 'the token is not printed')

  // every server holds it: a plain Yjs client on each reads it, and a replica too
  for (const server of servers) {
    const seen = await directiveOn(server, room)
    assert.deepEqual(seen?.drain, [s1.url], server.url)
    assert.equal(seen.note, 'kernel update')
  }
  // as one and the same Yjs item on every server (written separately, an older one could win
  // again where a replica carries it)
  const itemIds = []
  for (const server of servers) {
    itemIds.push(await withYjsClient(server, room, (doc) => {
      const { client, clock } = doc.getMap('yreplica.directive')._map.get('current').id
      return `${client}:${clock}`
    }))
  }
  assert.equal(new Set(itemIds).size, 1, itemIds.join(' '))
  const reader = await Replica.open({ name: 'cli-directive-reader', room, storage: 'memory', endpoints: [s3.url] })
  try {
    await waitFor(() => reader.status.connection === 'online', 10_000, 'reader online')
    assert.deepEqual(reader.directive?.drain, [s1.url])
  } finally {
    await reader.close()
  }

  const report = json(await cli(['status', '--room', room, '--json', ...urls]))
  assert.equal(report.directivesAgree, true)
  for (const e of report.endpoints) assert.deepEqual([e.directive.drain, e.directive.note], [[s1.url], 'kernel update'])
  const human = await cli(['status', '--room', room, ...urls])
  assert.equal(human.code, 0)
  assert.match(human.stdout, new RegExp(`directive {5}drain ${s1.url} \\(note "kernel update", by yreplica-cli@`))
  assert.match(human.stdout, new RegExp(`directive: drain ${s1.url} on every reachable endpoint`))

  // promote replaces it, and says what it replaced (human output)
  const promoted = await cli(['promote', s3.url, '--room', room, '--by', 'ops-oncall', ...urls])
  assert.equal(promoted.code, 0, promoted.stdout + promoted.stderr)
  assert.match(promoted.stdout, new RegExp(`^promote in room '${room}' on 3 servers: primary ${s3.url}$`, 'm'))
  assert.match(promoted.stdout, /by ops-oncall, no expiry/)
  assert.match(promoted.stdout, new RegExp(`\\[1\\] ${s1.url}  set, acknowledged; replaced: drain ${s1.url} \\(by yreplica-cli@`))
  assert.match(promoted.stdout, /directive set on all 3 servers, acknowledged/)
  for (const server of servers) {
    const seen = await directiveOn(server, room)
    assert.deepEqual([seen?.primary, seen?.drain, seen?.by, seen?.note], [s3.url, [], 'ops-oncall', null], server.url)
  }

  const restored = await cli(['restore', '--room', room, '--json', ...urls])
  assert.equal(restored.code, 0, restored.stdout + restored.stderr)
  const r = json(restored)
  assert.equal(r.directive, null)
  for (const e of r.servers) {
    assert.equal(e.acknowledged, true)
    assert.equal(e.previous.primary, s3.url)
    assert.equal(e.directive, null)
  }
  for (const server of servers) assert.equal(await directiveOn(server, room), null, `cleared on ${server.url}`)
  const after = await cli(['status', '--room', room, ...urls])
  assert.match(after.stdout, /directive {5}none/)
  assert.match(after.stdout, /directive: none on any reachable endpoint/)
})

test('status counts the clients on each server that share presence', async () => {
  const room = 'ops-presence'
  const [s1, s2] = servers
  const shown = await Replica.open({ name: 'cli-presence-a', room, storage: 'memory', endpoints: [s2.url] })
  const quiet = await Replica.open({ name: 'cli-presence-b', room, storage: 'memory', endpoints: [s2.url] })
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(s2.url, room, doc, { WebSocketPolyfill: WebSocket, disableBc: true })
  try {
    shown.setPresence({ user: 'ada' }) // quiet never calls setPresence: invisible to awareness
    await waitFor(() => shown.status.connection === 'online' && quiet.status.connection === 'online' && provider.synced, 10_000, 'clients online')
    // a provider's initial, empty awareness state ({}) reached no other client in trials, not
    // even another provider: it is counted once it holds something
    provider.awareness.setLocalStateField('user', 'grace')
    await waitFor(() => quiet.presence.length === 2, 10_000, 'presence exchanged')
    const report = json(await cli(['status', '--room', room, '--json', s1.url, s2.url]))
    assert.deepEqual(report.endpoints.map((e) => e.clients), [0, 2], 'the replica with presence and the y-websocket provider')
    const human = await cli(['status', '--room', room, s2.url])
    assert.match(human.stdout, /clients {7}2 sharing presence/)
  } finally {
    provider.destroy()
    doc.destroy()
    await shown.close()
    await quiet.close()
  }
})

test('a directive with an unreachable server: the others are written, exit 3; a token is never printed', async () => {
  const room = 'ops-directive-down'
  const closed = `ws://127.0.0.1:${await freePort()}`
  const secret = 'another-s3cret-t0ken'
  const [s1, s2] = servers
  const result = await cli(['drain', s1.url, '--room', room, '--token', secret, s1.url, closed, s2.url])
  assert.equal(result.code, 3, result.stdout + result.stderr)
  assert.match(result.stdout, new RegExp(`\\[2\\] ${closed}  UNREACHABLE  refused`))
  assert.match(result.stdout, /directive set on 2 of 3 servers; 1 unreachable/)
  assert.ok(!(result.stdout + result.stderr).includes(secret), 'the token is not printed')
  for (const server of [s1, s2]) assert.deepEqual((await directiveOn(server, room))?.drain, [s1.url], server.url)
  const viaEnv = await cli(['restore', '--room', room, '--json', s1.url, closed], { env: { YREPLICA_TOKEN: secret } })
  assert.equal(viaEnv.code, 3)
  const [ok, down] = json(viaEnv).servers
  assert.deepEqual([ok.acknowledged, down.reachable, down.reason], [true, false, 'refused'])
  assert.ok(!(viaEnv.stdout + viaEnv.stderr).includes(secret))
  assert.equal(await directiveOn(s1, room), null)
  assert.deepEqual((await directiveOn(s2, room))?.drain, [s1.url], 'a server not listed keeps its directive')
})

test('an unreachable server exits 3 naming it, after reporting the reachable ones; tokens are never printed', async () => {
  const closed = `ws://127.0.0.1:${await freePort()}`
  const secret = 'sup3r-s3cret-t0ken'
  const result = await cli(['status', '--room', ROOM, '--token', secret, servers[0].url, closed])
  assert.equal(result.code, 3, result.stdout + result.stderr)
  assert.match(result.stdout, new RegExp(`\\[2\\] ${closed}  UNREACHABLE  refused`))
  assert.match(result.stdout, /\[1\] ws:\/\/127\.0\.0\.1:\d+ {2}reachable/)
  assert.match(result.stdout, /1 endpoint reachable, nothing to compare; 1 unreachable/)
  assert.ok(result.ms < 10_000, `a refused connection is reported at once (${result.ms} ms)`)
  const viaEnv = await cli(['status', '--room', ROOM, '--json', closed], { env: { YREPLICA_TOKEN: secret } })
  assert.equal(viaEnv.code, 3)
  assert.equal(json(viaEnv).endpoints[0].reason, 'refused')
  for (const r of [result, viaEnv]) assert.ok(!(r.stdout + r.stderr).includes(secret), 'the token is not printed')

  const exported = await cli(['export', '--room', ROOM, closed])
  assert.equal(exported.code, 3)
  assert.match(exported.stderr, new RegExp(`${closed} is unreachable: refused`))
  assert.equal(exported.stdout, '')
})

test('why a server is unreachable: closed before the WebSocket opened, or an HTTP answer instead', async () => {
  const listen = (server) => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`ws://127.0.0.1:${server.address().port}`)))
  const hangsUp = createTcpServer((socket) => socket.destroy())
  const notFound = createHttpServer((request, response) => response.writeHead(404).end())
  try {
    const urls = [await listen(hangsUp), await listen(notFound)]
    const result = await cli(['status', '--room', ROOM, '--json', ...urls])
    assert.equal(result.code, 3)
    const [a, b] = json(result).endpoints
    assert.deepEqual([a.reason, b.reason], ['closed', 'rejected'])
    assert.match(b.detail, /HTTP 404/)
    assert.match(json(result).verdict, /no endpoint reachable/)
  } finally {
    hangsUp.close()
    notFound.close()
  }
})

test('a frozen server (SIGSTOP) times out cleanly with exit 3', async () => {
  const [s1, , s3] = servers
  s3.freeze()
  try {
    const result = await cli(['status', '--room', ROOM, '--timeout', '1500', '--json', s1.url, s3.url])
    assert.equal(result.code, 3, result.stderr)
    const frozen = json(result).endpoints[1]
    assert.deepEqual([frozen.reachable, frozen.reason], [false, 'timeout'])
    assert.match(frozen.detail, /within 1500 ms/)
    assert.equal(json(result).endpoints[0].reachable, true)
    assert.ok(result.ms >= 1400 && result.ms < 10_000, `exits after its timeout (${result.ms} ms)`)
    noStack(result.stderr)
    const sync = await cli(['sync', '--room', ROOM, '--timeout', '1500', s1.url, s3.url])
    assert.equal(sync.code, 3)
    assert.match(sync.stdout, /UNREACHABLE {2}timeout: no answer within 1500 ms/)
  } finally {
    s3.resume()
  }
})

test('Hocuspocus (--protocol hocuspocus, --token): import on one server, status sees it on both through Redis; a wrong token is denied', async () => {
  const cluster = await startCluster(2, { TOKEN: 'open-sesame' })
  try {
    const urls = cluster.servers.map((s) => s.url)
    const flags = ['--room', 'hp-doc', '--protocol', 'hocuspocus']
    const input = JSON.stringify({ todos: [{ id: 'h1', title: 'via hocuspocus' }, { id: 'h2', title: 'second' }] })
    const imported = await cli(['import', ...flags, '--token', 'open-sesame', urls[0]], { input })
    assert.equal(imported.code, 0, imported.stderr)
    // Redis carries it to the other server; status then finds them the same
    let report
    await waitFor(async () => {
      const result = await cli(['status', ...flags, '--json', '--check', ...urls], { env: { YREPLICA_TOKEN: 'open-sesame' } })
      report = json(result)
      return result.code === 0
    }, 20_000, 'both Hocuspocus servers hold the same state')
    assert.deepEqual(report.endpoints.map((e) => e.collections), [{ todos: 2 }, { todos: 2 }])
    const exported = json(await cli(['export', ...flags, '--token', 'open-sesame', urls[1]]))
    assert.deepEqual(exported.todos.map((t) => t.id), ['h1', 'h2'])

    const denied = await cli(['status', ...flags, '--token', 'wrong-token', '--json', urls[0]])
    assert.equal(denied.code, 4, denied.stdout + denied.stderr)
    assert.equal(json(denied).endpoints[0].reason, 'denied')
    assert.ok(!(denied.stdout + denied.stderr).includes('wrong-token'))

    // a directive through the cluster: written to both servers, acknowledged by each
    const drained = await cli(['drain', urls[0], ...flags, '--token', 'open-sesame', '--json', ...urls])
    assert.equal(drained.code, 0, drained.stdout + drained.stderr)
    assert.ok(json(drained).servers.every((e) => e.acknowledged))
    const seen = json(await cli(['status', ...flags, '--token', 'open-sesame', '--json', ...urls]))
    assert.ok(seen.endpoints.every((e) => e.directive?.drain[0] === urls[0]), JSON.stringify(seen.endpoints.map((e) => e.directive)))
    const refused = await cli(['restore', ...flags, '--token', 'wrong-token', ...urls])
    assert.equal(refused.code, 4, refused.stdout + refused.stderr)
    assert.ok(!(refused.stdout + refused.stderr).includes('wrong-token'))
  } finally {
    await cluster.stop()
  }
})
