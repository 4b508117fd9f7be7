// Plays a fault schedule (schedule.mjs) against a cluster (cluster.mjs) in real time, one
// queue per server so a slow restart delays only that server's next step.

/** Turns faults into timed actions: [{ at, server, do: 'begin'|'end'|'reset', fault }], by time. */
export function timeline(faults) {
  const actions = []
  for (const fault of faults) {
    if (fault.kind === 'reset') {
      for (const offset of fault.resets) actions.push({ at: fault.at + offset, server: fault.server, do: 'reset', fault })
    } else {
      actions.push({ at: fault.at, server: fault.server, do: 'begin', fault })
      actions.push({ at: fault.at + fault.durationMs, server: fault.server, do: 'end', fault })
    }
  }
  return actions.sort((a, b) => a.at - b.at)
}

async function apply(node, action) {
  const { kind, ms } = action.fault
  if (action.do === 'reset') return void node.proxy.reset()
  const begin = action.do === 'begin'
  switch (kind) {
    case 'freeze': return begin ? node.freeze() : node.resume()
    case 'kill': return begin ? node.kill() : node.restart()
    case 'blackhole': return begin ? node.proxy.blackhole() : node.proxy.pass()
    case 'latency': return begin ? node.proxy.latency(ms) : node.proxy.pass()
    case 'drop-up': return begin ? node.proxy.dropUp() : node.proxy.pass()
    case 'drop-down': return begin ? node.proxy.dropDown() : node.proxy.pass()
    default: throw new Error(`unknown fault kind '${kind}'`)
  }
}

/**
 * Starts playing `faults` now. Returns { done, stop(), injected, errors }: `done` resolves when
 * every action ran (or stop() was called and running steps finished); `injected` counts the
 * faults begun, by kind.
 */
export function playFaults(cluster, faults, { log = () => {} } = {}) {
  const started = Date.now()
  const queues = cluster.nodes.map(() => Promise.resolve())
  const timers = new Set()
  const injected = {}
  const begun = new Set()
  const errors = []
  let stopped = false
  const all = []
  for (const action of timeline(faults)) {
    all.push(
      new Promise((resolve) => {
        const timer = setTimeout(() => {
          timers.delete(timer)
          if (stopped) return resolve()
          const node = cluster.nodes[action.server]
          queues[action.server] = queues[action.server].then(async () => {
            if (stopped) return
            if (action.do !== 'end' && !begun.has(action.fault)) {
              begun.add(action.fault)
              injected[action.fault.kind] = (injected[action.fault.kind] ?? 0) + 1
            }
            log(`${((Date.now() - started) / 1000).toFixed(1)}s server ${action.server}: ${action.do} ${action.fault.kind}${action.fault.ms ? ` ${action.fault.ms}ms` : ''}`)
            try {
              await apply(node, action)
            } catch (error) {
              errors.push(`server ${action.server} ${action.do} ${action.fault.kind}: ${error.message}`)
            }
          })
          queues[action.server].then(resolve)
        }, Math.max(0, started + action.at - Date.now()))
        timers.add(timer)
        // a timer cancelled by stop() never fires: resolve for it there
        timer.resolve = resolve
      }),
    )
  }
  return {
    injected,
    errors,
    done: Promise.all(all),
    /** Cancels what has not started yet and waits for what has. */
    async stop() {
      stopped = true
      for (const timer of timers) {
        clearTimeout(timer)
        timer.resolve()
      }
      timers.clear()
      await Promise.all(queues)
    },
  }
}
