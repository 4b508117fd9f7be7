#!/usr/bin/env node
// The `yreplica` operator CLI (see `yreplica --help`). The library loads only when a command
// needs a server, so --help and argument errors answer at once.
import { readFileSync } from 'node:fs'
import { main } from '../js/cli/main.js'

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))

// `yreplica export … | head` closes the pipe early: that is not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0)
  throw error
})

const code = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  version,
  library: async () => {
    const [{ Replica }, { WebSocket }] = await Promise.all([import('../js/node.js'), import('ws')])
    return { Replica, WebSocket }
  },
})
process.exitCode = code
// Nothing should outlive the command (a socket to a frozen server, say): exit once output is out.
setTimeout(() => process.exit(code), 500).unref()
