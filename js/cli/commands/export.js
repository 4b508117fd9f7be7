// `yreplica export`: a room's collections as JSON, { "collection": [{ id, ...fields }] }.
import { writeFile, rename, rm } from 'node:fs/promises'
import { CONNECTION_FLAGS, connectionSettings, parseArgs, serverUrls } from '../args.js'
import { connect, replicaOptions } from '../connect.js'
import { bytes, plural } from '../format.js'
import { CliError, EXIT, UsageError, exitForUnreachable } from '../errors.js'

export const flags = {
  ...CONNECTION_FLAGS,
  out: { type: 'string', value: 'file.json', help: 'write to this file (default: stdout)' },
}

export const help = {
  usage: 'yreplica export --room R [options] URL [--out file.json]',
  summary:
    "Reads the room from one server and prints its collections as JSON:\n" +
    '{ "todos": [{ "id": "…", "title": "…" }, …], … }, collections and records sorted by name and id.\n' +
    "'yreplica import' reads the same format.",
  flags,
  details:
    'Exit codes: 0 exported; 1 the file could not be written; 2 bad arguments; 3 server unreachable;\n' +
    '            4 access denied (token).\n\n' +
    'Example:\n  yreplica export --room todo-app ws://127.0.0.1:1234 --out todo-app.json',
}

/** Every collection's records, sorted by id (find() without orderBy sorts by id). */
export function collectionsJson(replica) {
  const out = {}
  for (const name of replica.collections()) out[name] = replica.collection(name).find({})
  return out
}

export async function run(argv, io) {
  const { flags: given, positionals } = parseArgs(argv, flags, 'export')
  if (given.help) return io.help('export')
  const settings = connectionSettings(given, io.env, 'export')
  const [url] = serverUrls(positionals, 'export')
  if (positionals.length > 1) throw new UsageError('export reads one server; give one URL', 'export')
  if (given.out === '') throw new UsageError('--out needs a file name', 'export')
  const { Replica, WebSocket } = await io.library()
  io.progress.update(`connecting to ${url}`)
  const result = await connect({ Replica, WebSocket, url, name: `yreplica-cli-${process.pid}`, options: replicaOptions(settings) })
  io.progress.clear()
  if (!result.ok) {
    io.error(`yreplica export: ${url} is unreachable: ${result.reason}: ${result.detail}\n`)
    return exitForUnreachable([result.reason])
  }
  let data
  try {
    data = collectionsJson(result.replica)
  } finally {
    await result.replica.close()
  }
  const text = `${JSON.stringify(data, null, 2)}\n`
  if (given.out === undefined) {
    io.print(text, { raw: true })
    return EXIT.OK
  }
  // Written next to the target and renamed over it: a failed export never leaves half a file.
  const temp = `${given.out}.${process.pid}.tmp`
  try {
    await writeFile(temp, text)
    await rename(temp, given.out)
  } catch (error) {
    await rm(temp, { force: true })
    throw new CliError(`cannot write ${given.out}: ${error.message}`)
  }
  const records = Object.values(data).reduce((n, list) => n + list.length, 0)
  const collections = Object.keys(data).length
  io.print(`exported ${plural(records, 'record')} in ${plural(collections, 'collection')} from room '${settings.room}' to ${given.out} (${bytes(Buffer.byteLength(text))})\n`)
  return EXIT.OK
}
