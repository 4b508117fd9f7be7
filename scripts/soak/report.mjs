// The human-readable soak report.

const sum = (xs) => xs.reduce((a, b) => a + b, 0)

export function formatReport(results, { seed, minutes }) {
  const lines = ['', `soak report — seed ${seed}, ${minutes} min of faults in total`]
  for (const r of results) {
    lines.push('', `== ${r.dialect} (${(r.durationMs / 60_000).toFixed(2)} min, ${r.replicas} replicas, ${r.servers ?? 1} server(s) each, schedule digest ${r.plan.digest}) ==`)
    const injected = r.injected ?? {}
    lines.push(`faults injected: ${sum(Object.values(injected))} (${Object.entries(injected).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'})`)
    if (r.writes) {
      lines.push(`writes: ${r.writes.made} made, ${r.writes.confirmedDuringFaults} confirmed during the faults, ${r.writes.confirmed} confirmed in the end, ${r.writes.failed} rejected, ${r.writes.lost} lost`)
    }
    if (r.records) lines.push(`final state: ${Object.entries(r.records).map(([n, c]) => `${n} ${c}`).join(', ')} records, ${r.stateBytes} bytes`)
    if (r.repair) lines.push(`server repair: ${r.repair.method}, ${r.repair.ms} ms`)
    if (r.serverCopies) lines.push(`server copies (no repair): ${r.serverCopies.checked} confirmed writes checked, ${r.serverCopies.onFewer} on fewer than ${r.servers} servers`)
    lines.push(`converged after heal: ${r.convergeMs === null || r.convergeMs === undefined ? 'NO' : `${(r.convergeMs / 1000).toFixed(1)} s`}`)
    if (r.failovers) lines.push(`failovers seen: ${sum(Object.values(r.failovers))} (${Object.entries(r.failovers).map(([k, n]) => `${k} ${n}`).join(', ')})`)
    for (const rep of r.replicaStats ?? []) {
      const errors = Object.entries(rep.errors).map(([k, n]) => `${k} ${n}`).join(', ')
      lines.push(`  replica ${rep.index} (${rep.storage}): peak RSS ${rep.peakRssMb} MB, growth ${rep.rssGrowthMb >= 0 ? '+' : ''}${rep.rssGrowthMb} MB, failovers ${sum(Object.values(rep.failovers))}, longest not online ${(rep.longestNotOnlineMs / 1000).toFixed(1)} s, online ${rep.onlineAfterHealMs === null ? 'never' : `${(rep.onlineAfterHealMs / 1000).toFixed(1)} s`} after heal${errors ? `, error events: ${errors}` : ''}`)
    }
    for (const c of r.checks) lines.push(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}${!c.ok && c.detail ? `\n       ${c.detail.length > 800 ? `${c.detail.slice(0, 800)}…` : c.detail}` : ''}`)
  }
  const ok = results.every((r) => r.ok)
  lines.push('', ok ? 'soak: all checks passed' : 'soak: FAILED')
  return lines.join('\n')
}
