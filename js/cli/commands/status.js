// `yreplica status`: an operator's view of replication health.
import { CONNECTION_FLAGS, connectionSettings, parseArgs, serverUrls } from '../args.js'
import { connectAll, closeAll, replicaOptions } from '../connect.js'
import { inspect, verdict, reportJson } from '../health.js'
import { describeLack, describeStateVector, describeCounts, bytes } from '../format.js'
import { EXIT, exitForUnreachable } from '../errors.js'
import { describeDirective, describeDirectiveDetails } from '../directive.js'

export const flags = {
  ...CONNECTION_FLAGS,
  json: { type: 'boolean', help: 'print the report as JSON on stdout' },
  check: { type: 'boolean', help: 'exit 1 when the reachable endpoints do not all hold the same state' },
}

export const help = {
  usage: 'yreplica status --room R [options] URL...',
  summary:
    'For each server: reachable or not (and why), round-trip time, state vector, document size,\n' +
    'record counts per collection, the operator directive in force there, and how many clients\n' +
    'are connected to it as far as presence shows. Then, for each pair, how much each lacks of\n' +
    'the other, and whether all of them hold the same state. Reads only; writes nothing.\n\n' +
    'Clients are counted from presence (the awareness protocol): a yreplica replica is seen only\n' +
    'once its app has called setPresence(), a Yjs provider once its awareness state holds a\n' +
    'field. Clients that share no presence are not counted.',
  flags,
  details:
    'Exit codes: 0 report printed; 1 --check found differences; 2 bad arguments;\n' +
    '            3 a server was unreachable (the others are still reported); 4 a server denied\n' +
    '            access (token), which wins over 3.\n\n' +
    'Example:\n  yreplica status --room todo-app ws://127.0.0.1:1234 ws://127.0.0.1:1235',
}

const label = (index) => `[${index + 1}]`

function printHuman(out, report, room) {
  const lines = [`room '${room}' on ${report.endpoints.length} endpoint${report.endpoints.length === 1 ? '' : 's'}`, '']
  for (const e of report.endpoints) {
    if (!e.reachable) {
      lines.push(`${label(e.index)} ${e.url}  UNREACHABLE  ${e.reason}: ${e.detail}`)
      continue
    }
    lines.push(`${label(e.index)} ${e.url}  reachable  rtt ${e.rttMs ?? '?'} ms  document ${bytes(e.documentBytes)}`)
    lines.push(`    state vector  ${describeStateVector(e.stateVector)}`)
    lines.push(`    records       ${describeCounts(e.collections)}`)
    lines.push(`    directive     ${e.directive === null ? 'none' : `${describeDirective(e.directive)} (${describeDirectiveDetails(e.directive)})`}`)
    lines.push(`    clients       ${e.clients} sharing presence`)
  }
  if (report.pairs.length > 0) {
    lines.push('', 'replication (what each lacks of the other)')
    for (const p of report.pairs) {
      const pair = `${label(p.a)} ↔ ${label(p.b)}`
      if (p.same) {
        lines.push(`  ${pair}  same state`)
        continue
      }
      lines.push(`  ${pair}  ${label(p.a)} lacks ${describeLack(p.aLacks)}; ${label(p.b)} lacks ${describeLack(p.bLacks)}`)
      if (p.sameStateVectors) lines.push(`           (equal state vectors, different deletions)`)
    }
  }
  lines.push('', verdict(report))
  if (report.reachable > 1) {
    const first = report.endpoints.find((e) => e.reachable).directive
    lines.push(
      !report.directivesAgree
        ? 'directive: the endpoints differ (independent servers carry it only where it was written; give promote, drain or restore every server)'
        : first === null
          ? 'directive: none on any reachable endpoint'
          : `directive: ${describeDirective(first)} on every reachable endpoint`,
    )
  }
  if (!report.same && report.reachable > 1) lines.push(`'yreplica sync' brings every endpoint up to the union of their states`)
  out.write(`${lines.join('\n')}\n`)
}

export async function run(argv, io) {
  const { flags: given, positionals } = parseArgs(argv, flags, 'status')
  if (given.help) return io.help('status')
  const settings = connectionSettings(given, io.env, 'status')
  const urls = serverUrls(positionals, 'status')
  const { Replica, WebSocket } = await io.library()
  const results = await connectAll({
    Replica,
    WebSocket,
    urls,
    options: replicaOptions(settings),
    onProgress: (done, total) => io.progress.count('connecting', done, total),
  })
  try {
    io.progress.clear()
    const report = inspect(results)
    if (given.json) io.print(`${JSON.stringify(reportJson(report, settings.room), null, 2)}\n`)
    else printHuman({ write: io.print }, report, settings.room)
    if (report.unreachable > 0) return exitForUnreachable(report.endpoints.filter((e) => !e.reachable).map((e) => e.reason))
    if (given.check && !report.same) return EXIT.FAILED
    return EXIT.OK
  } finally {
    await closeAll(results)
  }
}
