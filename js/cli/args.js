// Command-line parsing for the CLI, on node:util's parseArgs: `--flag value`, `--flag=value`,
// boolean flags, `-h`, `--` to end flags, and positionals. Every mistake becomes a UsageError
// that says what is wrong in the CLI's own words.
import { parseArgs as parseNodeArgs } from 'node:util'
import { UsageError } from './errors.js'
import { addSecret } from './redact.js'

/**
 * Flags every server command takes. `type`: 'string' | 'boolean'.
 */
export const CONNECTION_FLAGS = {
  room: { type: 'string', value: 'R', help: 'the document (room) name on the servers (required)' },
  protocol: { type: 'string', value: 'P', help: "'y-websocket' (default) or 'hocuspocus'" },
  token: { type: 'string', value: 'T', help: 'access token (default: $YREPLICA_TOKEN); Hocuspocus: its Auth message, y-websocket: ?token=' },
  timeout: { type: 'string', value: 'ms', help: 'how long to wait for each server to connect or acknowledge (default 5000)' },
  progress: { type: 'boolean', help: 'show progress on stderr even when it is not a terminal' },
  help: { type: 'boolean', help: 'show this help' },
}

/** parseArgs' error as the CLI says it (its own messages name Node's options syntax). */
function usageMessage(error, flags) {
  const unknown = /^Unknown option '([^']+)'/.exec(error.message)
  if (unknown) return `unknown option '${unknown[1]}'`
  const option = /^Option '--([^' ]+)/.exec(error.message)
  const spec = option && flags[option[1]]
  if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && spec) {
    const name = option[1]
    return spec.type === 'boolean' ? `--${name} takes no value` : `--${name} needs a value (--${name} ${spec.value ?? 'VALUE'})`
  }
  return error.message
}

/**
 * @param {string[]} argv the arguments after the command name
 * @param {Record<string, { type: 'string'|'boolean' }>} flags
 * @param {string} command for messages
 * @returns {{ flags: Record<string, string|boolean>, positionals: string[] }}
 */
export function parseArgs(argv, flags, command) {
  const options = Object.fromEntries(Object.entries(flags).map(([name, spec]) => [name, { type: spec.type }]))
  if (options.help) options.help.short = 'h'
  let parsed
  try {
    parsed = parseNodeArgs({ args: argv, options, strict: true, allowPositionals: true, tokens: true })
  } catch (error) {
    throw new UsageError(usageMessage(error, flags), command)
  }
  // parseArgs keeps the last of a repeated option: a repeated value is more likely a mistake.
  const seen = new Set()
  for (const token of parsed.tokens) {
    if (token.kind !== 'option' || flags[token.name].type !== 'string') continue
    if (seen.has(token.name)) throw new UsageError(`--${token.name} is given twice`, command)
    seen.add(token.name)
  }
  return { flags: { ...parsed.values }, positionals: parsed.positionals }
}

/** A ws:// or wss:// server URL as Replica endpoints take it (no query, no fragment). */
export function checkServerUrl(text, command) {
  let url
  try {
    url = new URL(text)
  } catch {
    throw new UsageError(`'${text}' is not a URL (expected ws://host:port or wss://host)`, command)
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new UsageError(`'${text}' is not a ws:// or wss:// URL`, command)
  }
  if (url.username !== '' || url.password !== '') {
    throw new UsageError(`a server URL must not carry credentials (user:password@${url.host}); pass a token with --token`, command)
  }
  if (url.search !== '' || url.hash !== '') {
    throw new UsageError(`'${text}': a server URL takes no query or fragment (the room and --token are added to it)`, command)
  }
  return text
}

/**
 * The connection settings every server command shares, checked.
 * @returns {{ room: string, protocol: string, token: string|undefined, timeoutMs: number }}
 */
export function connectionSettings(flags, env, command) {
  if (flags.room === undefined) throw new UsageError('--room is required (the document name on the servers)', command)
  if (flags.room === '') throw new UsageError('--room must not be empty', command)
  const protocol = flags.protocol ?? 'y-websocket'
  if (protocol !== 'y-websocket' && protocol !== 'hocuspocus') {
    throw new UsageError(`--protocol must be 'y-websocket' or 'hocuspocus', got '${protocol}'`, command)
  }
  let timeoutMs = 5000
  if (flags.timeout !== undefined) {
    timeoutMs = Number(flags.timeout)
    if (!/^\d+$/.test(flags.timeout) || !(timeoutMs > 0) || timeoutMs > 2_147_483_647) {
      throw new UsageError(`--timeout must be a positive whole number of milliseconds, got '${flags.timeout}'`, command)
    }
  }
  const token = flags.token ?? (env.YREPLICA_TOKEN || undefined)
  if (flags.token === '') throw new UsageError('--token must not be empty', command)
  addSecret(token)
  return { room: flags.room, protocol, token, timeoutMs }
}

/** Server URLs from positionals: at least `min`, each valid, none twice. */
export function serverUrls(positionals, command, min = 1) {
  if (positionals.length < min) {
    throw new UsageError(
      min === 1 ? 'give at least one server URL (ws://host:port)' : `give at least ${min} server URLs (ws://host:port …)`,
      command,
    )
  }
  const seen = new Set()
  for (const text of positionals) {
    checkServerUrl(text, command)
    if (seen.has(text)) throw new UsageError(`${text} is listed twice`, command)
    seen.add(text)
  }
  return positionals
}

/** Renders a command's help from its flag table. */
export function helpText({ usage, summary, flags, details = '' }) {
  // --help last: the options that matter come first
  const entries = Object.entries(flags).sort(([a], [b]) => (a === 'help') - (b === 'help'))
  const rows = entries.map(([name, spec]) => [`--${name}${spec.type === 'string' ? ` ${spec.value ?? 'VALUE'}` : ''}`, spec.help])
  const width = Math.max(...rows.map(([left]) => left.length)) + 2
  const lines = rows.map(([left, help]) => `  ${left.padEnd(width)}${help}`)
  return `Usage: ${usage}\n\n${summary}\n\nOptions:\n${lines.join('\n')}\n${details ? `\n${details}\n` : ''}`
}
