// The CLI's expected failures, each with its exit code. They are reported as one clear
// message; anything else is a bug and shows its stack.

export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, UNREACHABLE: 3, DENIED: 4 }

/**
 * The exit code for servers that could not be used, by the reasons given: a server that denied
 * access (a wrong or missing token) calls for a different fix than one that is down, so it
 * wins. 0 when there are none.
 */
export function exitForUnreachable(reasons) {
  if (reasons.length === 0) return EXIT.OK
  return reasons.includes('denied') ? EXIT.DENIED : EXIT.UNREACHABLE
}

/** Bad arguments: exit 2, with a pointer to --help. */
export class UsageError extends Error {
  constructor(message, command) {
    super(message)
    this.exitCode = EXIT.USAGE
    this.command = command
  }
}

/** An operation that could not be done (bad input file, a server that did not acknowledge): exit 1. */
export class CliError extends Error {
  constructor(message, exitCode = EXIT.FAILED) {
    super(message)
    this.exitCode = exitCode
  }
}
