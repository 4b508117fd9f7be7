// `yreplica promote`: see js/cli/directive.js.
import { flagsFor, helpFor, runDirective } from '../directive.js'

export const flags = flagsFor('promote')
export const help = { ...helpFor.promote, flags }
export const run = (argv, io) => runDirective('promote', argv, io)
