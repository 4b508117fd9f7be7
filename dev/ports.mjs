// Loopback ports: one that is free right now, and whether a given one is.
import { createServer } from 'node:net'

/** An error for a port some other process holds; `port` says which. */
export class PortInUseError extends Error {
  constructor(port) {
    super(`port ${port} is already in use`)
    this.code = 'EADDRINUSE'
    this.port = port
  }
}

/** Resolves with a port that is free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
  })
}

/** Resolves once `port` could be bound on 127.0.0.1; rejects with PortInUseError if it is taken. */
export function checkPortFree(port) {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', (error) => reject(error.code === 'EADDRINUSE' ? new PortInUseError(port) : error))
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()))
  })
}

/** True if nothing listens on 127.0.0.1:`port`. */
export function portIsFree(port) {
  return checkPortFree(port).then(() => true, () => false)
}
