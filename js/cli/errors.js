// The CLI's expected failures, each with its exit code. They are reported as one clear
// message; anything else is a bug and shows its stack.

export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, UNREACHABLE: 3 }

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
