// `yreplica sync`: brings every listed server up to the union of their states, through the
// protocol (each server receives what it lacks as an ordinary update from a client).
import { CONNECTION_FLAGS, connectionSettings, parseArgs, serverUrls } from '../args.js'
import { connectAll, closeAll, replicaOptions, MAX_UPDATE_BYTES } from '../connect.js'
import { snapshot, lackOf } from '../document-state.js'
import { inspect, verdict } from '../health.js'
import { bytes, describeLack, plural } from '../format.js'
import { EXIT, exitForUnreachable } from '../errors.js'

export const flags = {
  ...CONNECTION_FLAGS,
  json: { type: 'boolean', help: 'print the result as JSON on stdout' },
}

export const help = {
  usage: 'yreplica sync --room R [options] URL URL...',
  summary:
    'Brings every listed server up to the union of their states: each server is sent only what\n' +
    'it lacks (as an update from a client), and must acknowledge it. Then every server is read\n' +
    'again to check that all hold the same state. Running it twice moves nothing the second time.\n' +
    'Use it to repair diverged servers, or to warm a standby before maintenance.',
  flags,
  details:
    'Exit codes: 0 all servers hold the same state; 1 a server did not acknowledge, or the check\n' +
    '            afterwards found a difference; 2 bad arguments; 3 a server was unreachable (the\n' +
    '            reachable ones are still synced with each other); 4 a server denied access (token),\n' +
    '            which wins over 3.\n\n' +
    'Example:\n  yreplica sync --room todo-app ws://127.0.0.1:1234 ws://127.0.0.1:1235 ws://127.0.0.1:1236',
}

const label = (index) => `[${index + 1}]`

/** The union of every reachable document, in a scratch replica with no endpoints. */
async function unionOf(Replica, results) {
  const union = await Replica.open({ name: `yreplica-cli-union-${process.pid}`, storage: 'memory', maxUpdateBytes: MAX_UPDATE_BYTES })
  for (const r of results) if (r.ok) union.applyUpdate(r.replica.encodeState())
  return union
}

async function send(results, unionSnap, timeoutMs, progress) {
  const sent = []
  let done = 0
  const reachable = results.filter((r) => r.ok)
  for (const [index, r] of results.entries()) {
    if (!r.ok) continue
    const lack = lackOf(snapshot(r.replica), unionSnap)
    const entry = { index, url: r.url, clocks: lack.clocks, deletions: lack.deletions, bytes: lack.update?.length ?? 0, acknowledged: lack.update ? null : true }
    if (lack.update) {
      try {
        r.replica.applyUpdate(lack.update) // goes on to the server like any client's update
      } catch (error) {
        if (error.code !== 'TOO_LARGE') throw error
        entry.bytes = 0
        entry.acknowledged = false
        entry.error = `not sent: ${error.message}`
      }
    }
    sent.push(entry)
    progress.count('sending', ++done, reachable.length)
  }
  // Every server acknowledges what it was sent; waiting for them together.
  await Promise.all(
    sent.map(async (entry) => {
      if (entry.acknowledged !== null) return // nothing was sent, or it could not be
      try {
        await results[entry.index].replica.flush({ timeoutMs })
        entry.acknowledged = true
      } catch (error) {
        entry.acknowledged = false
        entry.error = error.message
      }
    }),
  )
  return sent
}

export async function run(argv, io) {
  const { flags: given, positionals } = parseArgs(argv, flags, 'sync')
  if (given.help) return io.help('sync')
  const settings = connectionSettings(given, io.env, 'sync')
  const urls = serverUrls(positionals, 'sync', 2)
  const { Replica, WebSocket } = await io.library()
  const options = replicaOptions(settings)
  const onProgress = (done, total) => io.progress.count('connecting', done, total)
  const results = await connectAll({ Replica, WebSocket, urls, options, onProgress })
  let union = null
  let sent
  let check
  try {
    union = await unionOf(Replica, results)
    const unionSnap = snapshot(union)
    sent = await send(results, unionSnap, settings.timeoutMs, io.progress)
    await closeAll(results)
    // The check reads each server again through a fresh connection: what it holds now.
    io.progress.update('checking')
    const again = await connectAll({ Replica, WebSocket, urls: results.filter((r) => r.ok).map((r) => r.url), options })
    try {
      const report = inspect(again)
      const complete = report.snapshots.every((s) => {
        const lack = lackOf(s, unionSnap)
        return lack.clocks === 0 && lack.deletions === 0
      })
      check = { report, complete, unreachableNow: again.filter((r) => !r.ok) }
    } finally {
      await closeAll(again)
    }
  } finally {
    await closeAll(results)
    await union?.close()
    io.progress.clear()
  }

  const unreachable = results.filter((r) => !r.ok).map((r) => ({ url: r.url, reason: r.reason, detail: r.detail }))
  const total = sent.reduce((sum, e) => sum + e.bytes, 0)
  const unacknowledged = sent.filter((e) => e.acknowledged === false)
  // Clients may write while this runs; the check is that every server holds the union.
  const verified = check.complete && check.unreachableNow.length === 0
  const conclusion = !verified
    ? `check FAILED: not every endpoint holds what it was sent (${verdict(check.report)})`
    : check.report.same
      ? `checked: ${check.report.reachable === urls.length ? verdict(check.report) : `the ${check.report.reachable} reachable endpoints hold the same state`}`
      : 'checked: every endpoint holds the union it was sent; changes made since differ (run sync again)'
  if (given.json) {
    io.print(`${JSON.stringify({
      room: settings.room,
      sent: sent.map(({ index: _index, ...rest }) => rest),
      totalBytes: total,
      unreachable,
      verified,
      same: check.report.same,
      verdict: conclusion,
    }, null, 2)}\n`)
  } else {
    const lines = [`sync room '${settings.room}' across ${urls.length} endpoints`, '']
    for (const [index, r] of results.entries()) {
      if (!r.ok) {
        lines.push(`${label(index)} ${r.url}  UNREACHABLE  ${r.reason}: ${r.detail}`)
        continue
      }
      const e = sent.find((s) => s.index === index)
      let what
      if (e.error && e.bytes === 0) what = `lacks ${plural(e.clocks, 'clock')} + ${plural(e.deletions, 'deletion')}, ${e.error}`
      else if (e.bytes === 0) what = 'up to date, sent nothing'
      else what = `sent ${describeLack(e)}${e.acknowledged ? ', acknowledged' : `, NOT acknowledged: ${e.error}`}`
      lines.push(`${label(index)} ${r.url}  ${what}`)
    }
    lines.push('', `total sent: ${bytes(total)}`)
    for (const r of check.unreachableNow) lines.push(`check: ${r.url} could not be read again (${r.reason}: ${r.detail})`)
    lines.push(conclusion)
    io.print(`${lines.join('\n')}\n`)
  }
  if (unreachable.length > 0) return exitForUnreachable(unreachable.map((r) => r.reason))
  if (unacknowledged.length > 0 || !verified) return EXIT.FAILED
  return EXIT.OK
}
