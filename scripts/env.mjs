// Shared by the setup, build and test scripts: the repo root and a PATH that includes cargo's bin.
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { homedir } from 'node:os'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const cargoBin = join(process.env.CARGO_HOME ?? join(homedir(), '.cargo'), 'bin')
if (!(process.env.PATH ?? '').split(':').includes(cargoBin)) process.env.PATH = `${cargoBin}:${process.env.PATH ?? ''}`
export const CHROMEDRIVER = process.env.CHROMEDRIVER ?? '/usr/bin/chromedriver'
export const GECKODRIVER = process.env.GECKODRIVER ?? join(cargoBin, 'geckodriver')
export const GECKODRIVER_VERSION = '0.37.1'
