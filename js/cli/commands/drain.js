// `yreplica drain`: see js/cli/directive.js.
import { flagsFor, helpFor, runDirective } from '../directive.js'

export const flags = flagsFor('drain')
export const help = { ...helpFor.drain, flags }
export const run = (argv, io) => runDirective('drain', argv, io)
