// The page's side of the demo controller (start.mjs): list the server processes and ask for
// freeze / resume / kill / restart. Without start.mjs (another static server) it reports
// itself unavailable and the page still works.

/** @returns {Promise<Array<{ index: number, url: string, port: number, pid: number|null, state: 'running'|'frozen'|'killed' }> | null>} */
export async function listServers() {
  try {
    const response = await fetch('/api/servers', { cache: 'no-store' })
    if (!response.ok) return null
    return await response.json()
  } catch {
    return null // the page server is gone (Ctrl-C) or is not start.mjs
  }
}

/** POST /api/servers/:index/:action; rejects with the controller's message. */
export async function serverAction(index, action) {
  const response = await fetch(`/api/servers/${index}/${action}`, { method: 'POST' })
  const body = await response.json().catch(() => ({}))
  if (!response.ok) throw new Error(body.error ?? `${action} failed (HTTP ${response.status})`)
  return body
}
