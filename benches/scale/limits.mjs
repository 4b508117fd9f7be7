// ─── Size limits, in one place ──────────────────────────────────────────────────────────
// A 1M-record document is ~230 MB as one Yjs update, and one insertMany of a million
// records is ~150 MB of JSON. Everything bench:scale raises to let such sizes through is
// here, and every raise is reported in the results' notes.
//
// - Node's `ws` refuses received messages over 100 MiB (its `maxPayload`): y-websocket's and
//   Hocuspocus' providers get a `ws` subclass with a raised `maxPayload` (yreplica sets
//   `maxPayload` from its own `maxFrameBytes`).
// - yreplica refuses writes over `maxUpdateBytes` (default 4 MiB) with TOO_LARGE and frames
//   over `maxFrameBytes` (default 16 MiB) with FRAME_TOO_LARGE. The benchmark first tries the
//   defaults; only when a write is refused with TOO_LARGE does it reopen with RAISED and say
//   so. A yreplica sync client runs with the default limits (`maxFrameBytes` is 512 MiB).
// - yreplica gives a server heartbeatIntervalMs × (missedHeartbeats + 1) of silence (3 s by
//   default) and connectTimeoutMs (3 s) to open; a server busy preparing a large document for
//   a fresh client is silent for longer, and the replica drops the link and starts over. A
//   sync client first runs with the defaults; if it drops the link before it is online, it
//   is measured again with RELAXED_TIMEOUTS (probes after 30 s of silence, as y-websocket's
//   provider waits 30 s before it gives up on a silent server), and the notes say so.
//   Probes are SyncStep1 messages: before the first answer, each one costs the server
//   another encoding of the whole document, so shorter intervals make things worse.
// This module also runs in the Chromium page (no static Node imports).

/** 1 GiB: above any message or write of the sizes measured (1M records ≈ 230 MB). */
export const BIG = 1024 * 1024 * 1024

let largeFrameWebSocket

/** `ws` with a raised `maxPayload`, for every client in Node. */
export async function largeFrameWebSocketClass() {
  if (largeFrameWebSocket) return largeFrameWebSocket
  const { WebSocket } = await import('ws')
  largeFrameWebSocket = class LargeFrameWebSocket extends WebSocket {
    constructor(url, protocols, options) {
      // ws also takes (url, options)
      if (protocols !== null && typeof protocols === 'object' && !Array.isArray(protocols)) {
        options = protocols
        protocols = undefined
      }
      super(url, protocols, { ...options, maxPayload: BIG })
    }
  }
  return largeFrameWebSocket
}

/** Options that let a yreplica write or apply an update of any size measured. */
export const RAISED_WRITE_LIMITS = { maxUpdateBytes: BIG, maxFrameBytes: BIG }

/** Timeouts for a first sync of a large document (see above). */
export const RELAXED_TIMEOUTS = { heartbeatIntervalMs: 30_000, missedHeartbeats: 2, connectTimeoutMs: 30_000 }

/**
 * Runs `act(replica)` on a replica opened by `open(extraOptions)` with the library's default
 * limits; if the library refuses the write with TOO_LARGE, reopens with RAISED_WRITE_LIMITS,
 * runs `act` again and adds a note. Returns { replica, value }.
 */
export async function withWriteLimitsIfRefused(open, act, note, what) {
  const replica = await open({})
  try {
    return { replica, value: await act(replica) }
  } catch (error) {
    if (error?.code !== 'TOO_LARGE') throw error
    await replica.close()
    note(`${what}: refused with TOO_LARGE at the default limits; measured with maxUpdateBytes = maxFrameBytes = ${BIG} (${error.message})`)
    const raised = await open(RAISED_WRITE_LIMITS)
    return { replica: raised, value: await act(raised) }
  }
}
