// Replication health: what each reachable endpoint holds, and for each pair how much each
// lacks of the other. Shared by `status` and by `sync`'s check afterwards.
import { snapshot, lackOf, stateVectorObject } from './document-state.js'
import { sameDirective } from './directive.js'

function counts(replica) {
  const out = {}
  for (const name of replica.collections()) out[name] = replica.collection(name).count()
  return out
}

const lackSummary = (lack) => ({ clocks: lack.clocks, deletions: lack.deletions, bytes: lack.update?.length ?? 0 })
const lacksNothing = (lack) => lack.clocks === 0 && lack.deletions === 0

/**
 * @param results what connectAll returned
 * @returns {{ endpoints: object[], pairs: object[], same: boolean, reachable: number, unreachable: number, snapshots: object[] }}
 */
export function inspect(results) {
  const snapshots = []
  const endpoints = results.map((result, index) => {
    if (!result.ok) return { index, url: result.url, reachable: false, reason: result.reason, detail: result.detail }
    const snap = snapshot(result.replica)
    snap.index = index
    snap.url = result.url
    snapshots.push(snap)
    return {
      index,
      url: result.url,
      reachable: true,
      rttMs: result.rttMs,
      stateVector: snap.sv,
      documentBytes: snap.size,
      collections: counts(result.replica),
      directive: result.replica.directive,
      // Awareness states of the other clients on that server: only clients that share presence.
      clients: result.replica.presence.length,
    }
  })
  const pairs = []
  for (let i = 0; i < snapshots.length; i++) {
    for (let j = i + 1; j < snapshots.length; j++) {
      const a = snapshots[i]
      const b = snapshots[j]
      const aLacks = lackSummary(lackOf(a, b))
      const bLacks = lackSummary(lackOf(b, a))
      pairs.push({
        a: a.index,
        b: b.index,
        aLacks,
        bLacks,
        same: lacksNothing(aLacks) && lacksNothing(bLacks),
        // the case state vectors alone would miss
        sameStateVectors: aLacks.clocks === 0 && bLacks.clocks === 0,
      })
    }
  }
  const unreachable = endpoints.length - snapshots.length
  const reachable = endpoints.filter((e) => e.reachable)
  const directivesAgree = reachable.every((e) => sameDirective(e.directive, reachable[0].directive))
  return { endpoints, pairs, same: pairs.every((p) => p.same), reachable: snapshots.length, unreachable, snapshots, directivesAgree }
}

/** One sentence on the whole set. */
export function verdict(report) {
  const { reachable, unreachable, same, pairs } = report
  const down = unreachable > 0 ? `; ${unreachable} unreachable` : ''
  if (reachable === 0) return 'no endpoint reachable'
  if (reachable === 1) return `1 endpoint reachable, nothing to compare${down}`
  if (same) {
    return unreachable > 0
      ? `the ${reachable} reachable endpoints hold the same state${down}`
      : `${reachable === 2 ? 'both' : `all ${reachable}`} endpoints hold the same state`
  }
  const differing = pairs.filter((p) => !p.same).length
  return `endpoints differ: ${differing} of ${pairs.length} pairs do not hold the same state${down}`
}

/** The report as plain JSON (state vectors as { client: clock }, endpoints by URL). */
export function reportJson(report, room) {
  const urlOf = (index) => report.endpoints[index].url
  return {
    room,
    endpoints: report.endpoints.map((e) =>
      e.reachable
        ? {
            url: e.url,
            reachable: true,
            rttMs: e.rttMs,
            stateVector: stateVectorObject(e.stateVector),
            documentBytes: e.documentBytes,
            collections: e.collections,
            directive: e.directive,
            clients: e.clients,
          }
        : { url: e.url, reachable: false, reason: e.reason, detail: e.detail },
    ),
    pairs: report.pairs.map((p) => ({ a: urlOf(p.a), b: urlOf(p.b), aLacks: p.aLacks, bLacks: p.bLacks, same: p.same, sameStateVectors: p.sameStateVectors })),
    same: report.same,
    directivesAgree: report.directivesAgree,
    reachable: report.reachable,
    unreachable: report.unreachable,
    verdict: verdict(report),
  }
}
