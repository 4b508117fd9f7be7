// The `yreplica` command line: dispatches to a command, turns expected failures into one
// clear message and an exit code, and keeps tokens out of everything it prints.
import * as status from './commands/status.js'
import * as sync from './commands/sync.js'
import * as exportCommand from './commands/export.js'
import * as importCommand from './commands/import.js'
import * as promote from './commands/promote.js'
import * as drain from './commands/drain.js'
import * as restore from './commands/restore.js'
import { helpText } from './args.js'
import { EXIT, UsageError } from './errors.js'
import { Progress } from './progress.js'
import { redact } from './redact.js'

const COMMANDS = {
  status: { module: status, summary: 'per server: reachable, RTT, state, records, directive, clients; whether all hold the same state' },
  sync: { module: sync, summary: 'bring every listed server up to the union of their states' },
  export: { module: exportCommand, summary: "a room's collections as JSON (stdout or --out file)" },
  import: { module: importCommand, summary: 'upsert the records of an export file (--in file or stdin)' },
  promote: { module: promote, summary: 'operator directive: every replica of the room to ENDPOINT (written to every listed server)' },
  drain: { module: drain, summary: 'operator directive: every replica of the room off ENDPOINT (written to every listed server)' },
  restore: { module: restore, summary: 'clear the operator directive on every listed server (replicas return after their hold-down)' },
}

function mainHelp() {
  const names = Object.keys(COMMANDS)
  const width = Math.max(...names.map((n) => n.length)) + 2
  return (
    'Usage: yreplica <command> --room R [options] URL...\n' +
    '       yreplica promote|drain ENDPOINT --room R [options] URL...\n\n' +
    'Look after a set of Yjs servers (y-websocket or Hocuspocus) holding yreplica rooms.\n\n' +
    `Commands:\n${names.map((n) => `  ${n.padEnd(width)}${COMMANDS[n].summary}`).join('\n')}\n\n` +
    "Run 'yreplica <command> --help' for a command's options.\n\n" +
    'Exit codes: 0 ok; 1 failed (or status --check found differences); 2 bad arguments;\n' +
    '            3 a server was unreachable; 4 a server denied access (token).\n'
  )
}

/**
 * Runs the CLI.
 * @param {string[]} argv arguments after the program name
 * @param {{ stdout, stderr, stdin, env, library: () => Promise<{ Replica, WebSocket }>, version?: string }} env
 * @returns {Promise<number>} the exit code
 */
export async function main(argv, { stdout, stderr, stdin, env, library, version = '' }) {
  const [command, ...rest] = argv
  const io = {
    env,
    library,
    print: (text, { raw = false } = {}) => stdout.write(raw ? text : redact(text)),
    error: (text) => stderr.write(redact(text)),
    stdinIsTTY: Boolean(stdin?.isTTY),
    readStdin: async () => {
      const chunks = []
      for await (const chunk of stdin) chunks.push(chunk)
      return Buffer.concat(chunks).toString('utf8')
    },
    progress: new Progress(stderr, rest.includes('--progress')),
    help: (name) => {
      stdout.write(helpText(COMMANDS[name].module.help))
      return EXIT.OK
    },
  }
  if (command === undefined) {
    stderr.write(mainHelp())
    return EXIT.USAGE
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    if (command === 'help' && rest[0] in COMMANDS) return io.help(rest[0])
    stdout.write(mainHelp())
    return EXIT.OK
  }
  if (command === '--version' || command === '-v') {
    stdout.write(`${version}\n`)
    return EXIT.OK
  }
  const entry = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined
  if (entry === undefined) {
    io.error(`yreplica: unknown command '${command}' (expected ${Object.keys(COMMANDS).join(', ')})\nRun 'yreplica --help' for usage.\n`)
    return EXIT.USAGE
  }
  try {
    return await entry.module.run(rest, io)
  } catch (error) {
    io.progress.clear()
    // The library refusing an option the CLI built from the arguments is a bad argument too.
    if (error instanceof UsageError || error?.code === 'INVALID_OPTION') {
      io.error(`yreplica ${command}: ${error.message}\nRun 'yreplica ${command} --help' for usage.\n`)
      return EXIT.USAGE
    }
    // Expected failures carry an exit code (the CLI's) or a code (the library's): one line each.
    if (error && (error.exitCode !== undefined || typeof error.code === 'string')) {
      io.error(`yreplica ${command}: ${error.message}\n`)
      return error.exitCode ?? EXIT.FAILED
    }
    io.error(`yreplica ${command}: unexpected error (a bug; please report it):\n${error?.stack ?? error}\n`)
    return EXIT.FAILED
  }
}
