// `yreplica import`: upserts the records of an export file into a room on one server.
import { readFile } from 'node:fs/promises'
import { CONNECTION_FLAGS, connectionSettings, parseArgs, serverUrls } from '../args.js'
import { connect, replicaOptions, MAX_UPDATE_BYTES } from '../connect.js'
import { parseImport, sameJson } from '../import-file.js'
import { plural } from '../format.js'
import { CliError, EXIT, UsageError, exitForUnreachable } from '../errors.js'

export const flags = {
  ...CONNECTION_FLAGS,
  in: { type: 'string', value: 'file.json', help: "read this file ('-' or absent: stdin)" },
  json: { type: 'boolean', help: 'print the counts as JSON on stdout' },
}

export const help = {
  usage: 'yreplica import --room R [options] URL [--in file.json]',
  summary:
    "Upserts the records of a file in 'yreplica export' format into the room on one server:\n" +
    'a record with a new id is inserted, an existing one replaced by the given fields, an identical\n' +
    'one left alone (so importing twice changes nothing). The whole file is checked first; a bad\n' +
    'file writes nothing. Ends when the server has acknowledged every change.',
  flags,
  details:
    'Exit codes: 0 imported and acknowledged; 1 the file is invalid (the first bad record is named)\n' +
    '            or the server did not acknowledge; 2 bad arguments or an unreadable file;\n' +
    '            3 server unreachable; 4 access denied (token).\n\n' +
    'Example:\n  yreplica import --room todo-app ws://127.0.0.1:1234 --in todo-app.json\n' +
    '  yreplica export --room a ws://127.0.0.1:1234 | yreplica import --room b ws://127.0.0.1:1235',
}

// A batch is one transaction, so one update: at most this many records or this much JSON.
const BATCH_RECORDS = 1000
const BATCH_BYTES = 4 * 1024 * 1024

async function readInput(file, io) {
  if (file === undefined || file === '-') {
    if (file === undefined && io.stdinIsTTY) {
      throw new UsageError('give --in file.json, or pipe the JSON on stdin', 'import')
    }
    return { text: await io.readStdin(), source: 'stdin' }
  }
  try {
    return { text: await readFile(file, 'utf8'), source: file }
  } catch (error) {
    throw new UsageError(`cannot read --in ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`, 'import')
  }
}

/** Upserts in batches (one transaction, one update each); returns per-collection counts. */
async function write(replica, collections, total, progress) {
  const counts = {}
  let done = 0
  progress.count('importing', done, total)
  for (const [name, records, sizes] of collections) {
    const collection = replica.collection(name)
    const c = (counts[name] = { records: records.length, inserted: 0, replaced: 0, unchanged: 0 })
    for (let start = 0, end = 0; start < records.length; start = end) {
      let batchBytes = 0
      while (end < records.length && end - start < BATCH_RECORDS && (end === start || batchBytes + sizes[end] <= BATCH_BYTES)) {
        batchBytes += sizes[end++]
      }
      const fresh = []
      const changed = []
      for (let i = start; i < end; i++) {
        const existing = collection.get(records[i].id)
        if (existing === undefined) fresh.push(i)
        else if (sameJson(existing, records[i])) c.unchanged++
        else changed.push(i)
      }
      c.inserted += fresh.length
      c.replaced += changed.length
      const writes = []
      const named = (i) => (error) => {
        throw new CliError(`collection '${name}'${i === undefined ? '' : `, record ${i}`}: ${error.message}`)
      }
      // One transaction (one update) per batch; insertMany is the fast path for new ids.
      replica.transact(() => {
        if (fresh.length > 0) writes.push(collection.insertMany(fresh.map((i) => records[i])).catch(named()))
        for (const i of changed) writes.push(collection.upsert(records[i]).catch(named(i)))
      })
      await Promise.all(writes)
      // Let the socket, heartbeats and the progress display run between batches.
      await new Promise((resolve) => setImmediate(resolve))
      done += end - start
      progress.count('importing', done, total)
    }
  }
  return counts
}

export async function run(argv, io) {
  const { flags: given, positionals } = parseArgs(argv, flags, 'import')
  if (given.help) return io.help('import')
  const settings = connectionSettings(given, io.env, 'import')
  const [url] = serverUrls(positionals, 'import')
  if (positionals.length > 1) throw new UsageError('import writes to one server; give one URL', 'import')
  const { text, source } = await readInput(given.in, io)
  const { collections, total } = parseImport(text, source, MAX_UPDATE_BYTES)

  const { Replica, WebSocket } = await io.library()
  io.progress.update(`connecting to ${url}`)
  const result = await connect({ Replica, WebSocket, url, name: `yreplica-cli-${process.pid}`, options: replicaOptions(settings) })
  io.progress.clear()
  if (!result.ok) {
    io.error(`yreplica import: ${url} is unreachable: ${result.reason}: ${result.detail}\n`)
    return exitForUnreachable([result.reason])
  }
  const replica = result.replica
  let counts
  try {
    counts = await write(replica, collections, total, io.progress)
    io.progress.update('waiting for the server to acknowledge')
    try {
      await replica.flush({ timeoutMs: settings.timeoutMs })
    } catch (error) {
      throw new CliError(`${url} did not acknowledge the import: ${error.message}`)
    }
  } finally {
    io.progress.clear()
    await replica.close()
  }
  const sum = (key) => Object.values(counts).reduce((n, c) => n + c[key], 0)
  const totals = { records: total, inserted: sum('inserted'), replaced: sum('replaced'), unchanged: sum('unchanged') }
  if (given.json) {
    io.print(`${JSON.stringify({ room: settings.room, url, collections: counts, ...totals, acknowledged: true }, null, 2)}\n`)
    return EXIT.OK
  }
  const n = (count) => count.toLocaleString('en-US')
  const describe = (c) => `${plural(c.records, 'record')}: ${n(c.inserted)} new, ${n(c.replaced)} replaced, ${n(c.unchanged)} unchanged`
  const lines = [`imported ${source} into room '${settings.room}' on ${url}`]
  for (const [name, c] of Object.entries(counts)) lines.push(`  ${name}: ${describe(c)}`)
  lines.push(`total ${describe(totals)}; acknowledged by the server`)
  io.print(`${lines.join('\n')}\n`)
  return EXIT.OK
}
