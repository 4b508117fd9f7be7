// `yreplica restore`: see js/cli/directive.js.
import { flagsFor, helpFor, runDirective } from '../directive.js'

export const flags = flagsFor('restore')
export const help = { ...helpFor.restore, flags }
export const run = (argv, io) => runDirective('restore', argv, io)
