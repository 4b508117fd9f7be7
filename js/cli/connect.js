// Connecting to one server the way an app would: a memory Replica with that single endpoint.
// 'online' means the handshake has delivered the server's whole document. A failed attempt is
// explained (refused, timeout, closed, …) from what the WebSocket itself saw, which the replica
// does not report: the CLI passes it a WebSocket subclass that takes notes.
import { redact } from './redact.js'

/**
 * The largest update the CLI sends: above the library's default (4 MiB writes), because `sync`
 * sends a server everything it lacks in one update, e.g. when warming an empty standby. What it
 * receives is bounded by the library's default maxFrameBytes (512 MiB), which whole documents
 * fit in.
 */
export const MAX_UPDATE_BYTES = 64 * 1024 * 1024

/** Connection options shared by every server of one command: Replica options plus `timeoutMs`. */
export function replicaOptions({ room, protocol, token, timeoutMs }) {
  const options = {
    timeoutMs,
    room,
    storage: 'memory',
    protocol,
    failback: false,
    // The CLI's own deadline (timeoutMs) comes first, so it can tell a timeout from a close.
    connectTimeoutMs: timeoutMs + 1000,
    // Heartbeats must not give up on a slow server before the CLI's own deadline does.
    heartbeatIntervalMs: Math.max(1000, Math.ceil(timeoutMs / 2)),
    missedHeartbeats: 2,
    maxUpdateBytes: MAX_UPDATE_BYTES,
    // The CLI gives up on a server after its first failed attempt; a link lost later, in the
    // middle of a command, comes back soon and its handshake resends what was not acknowledged.
    backoff: { initialMs: 250, maxMs: 2000 },
  }
  if (token) {
    options.token = token // Hocuspocus: sent in its Auth message
    // y-websocket servers that check a token read it from the query string, by convention.
    if (protocol === 'y-websocket') options.params = { token }
  }
  return options
}

function notingWebSocket(Base, notes) {
  return class NotingWebSocket extends Base {
    constructor(...args) {
      super(...args)
      this.on('open', () => {
        notes.opened = true
      })
      this.on('error', (error) => {
        notes.error = error
      })
      this.on('close', (code, reason) => {
        notes.closeCode = code
        notes.closeReason = String(reason ?? '')
      })
    }
  }
}

function explain(notes, timedOut, timeoutMs) {
  if (notes.denied) return { reason: 'denied', detail: `the server denied access (${notes.denied})` }
  if (notes.tooLarge) return { reason: 'too-large', detail: notes.tooLarge }
  if (notes.protocolError) return { reason: 'protocol', detail: `the server sent something that is not the protocol (${notes.protocolError})` }
  const error = notes.error
  if (error) {
    if (error.code === 'ECONNREFUSED') return { reason: 'refused', detail: 'connection refused (nothing listens on that port)' }
    if (error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') return { reason: 'unresolved', detail: 'host not found' }
    if (error.code === 'ECONNRESET' || error.code === 'EPIPE' || /socket hang up/.test(error.message ?? '')) {
      return { reason: 'closed', detail: `the server closed the connection before the WebSocket opened (${error.code ?? error.message})` }
    }
    const http = /Unexpected server response: (\d+)/.exec(error.message ?? '')
    if (http) return { reason: 'rejected', detail: `the server answered HTTP ${http[1]} instead of opening a WebSocket` }
    return { reason: 'error', detail: error.code ? `${error.code}: ${error.message}` : String(error.message ?? error) }
  }
  if (timedOut) {
    return {
      reason: 'timeout',
      detail: notes.opened
        ? `connected, but the handshake did not finish within ${timeoutMs} ms`
        : `no answer within ${timeoutMs} ms`,
    }
  }
  const code = notes.closeCode ? ` (code ${notes.closeCode}${notes.closeReason ? `: ${notes.closeReason}` : ''})` : ''
  return {
    reason: 'closed',
    detail: notes.opened ? `the server closed the connection during the handshake${code}` : `the connection closed before it opened${code}`,
  }
}

/**
 * Opens a replica of `room` on `url` and waits until it is online, or fails.
 * @returns {Promise<{ url, ok: true, replica, rttMs, connectMs } | { url, ok: false, reason, detail }>}
 */
export async function connect({ Replica, WebSocket, url, name, options }) {
  const notes = { opened: false, error: null, closeCode: 0, closeReason: '', denied: null, protocolError: null, tooLarge: null }
  const started = Date.now()
  const { timeoutMs, ...open } = options
  const replica = await Replica.open({
    ...open,
    name,
    endpoints: [url],
    WebSocket: notingWebSocket(WebSocket, notes),
  })
  const result = await new Promise((resolve) => {
    let settled = false
    const finish = (value) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      offStatus()
      offError()
      resolve(value)
    }
    const fail = (timedOut) => finish({ url, ok: false, ...explain(notes, timedOut, timeoutMs) })
    const onStatus = (status) => {
      if (status.connection === 'online') {
        finish({ url, ok: true, replica, rttMs: replica.endpoints[0]?.rttMs ?? null, connectMs: Date.now() - started })
      } else if (status.connection === 'offline') {
        fail(false) // the attempt failed; the replica would only retry after its backoff
      }
    }
    const offStatus = replica.on('status', onStatus)
    const offError = replica.on('error', (error) => {
      if (error.code === 'PERMISSION_DENIED') notes.denied = redact(error.message)
      else if (error.code === 'PROTOCOL_ERROR') notes.protocolError = error.message
      else if (error.code === 'FRAME_TOO_LARGE') notes.tooLarge = error.message
    })
    const timer = setTimeout(() => fail(true), timeoutMs)
    onStatus(replica.status)
  })
  if (!result.ok) await replica.close()
  return result
}

/**
 * Connects to every URL at once; `onProgress(done, total)` after each settles.
 * Results come back in the order of `urls`.
 */
export async function connectAll({ Replica, WebSocket, urls, options, onProgress = () => {} }) {
  let done = 0
  onProgress(done, urls.length)
  return Promise.all(
    urls.map(async (url, i) => {
      try {
        return await connect({ Replica, WebSocket, url, name: `yreplica-cli-${process.pid}-${i}`, options })
      } finally {
        onProgress(++done, urls.length)
      }
    }),
  )
}

export async function closeAll(results) {
  await Promise.all(results.filter((r) => r.ok).map((r) => r.replica.close()))
}
