// npm run setup (also the first step of npm start / npm test): installs what this machine lacks
// to build and test yreplica. Each check is cheap when the tool is already there.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { root, CHROMEDRIVER, GECKODRIVER, GECKODRIVER_VERSION } from './env.mjs'

const quiet = (cmd, args) => spawnSync(cmd, args, { cwd: root, encoding: 'utf8' })
const run = (cmd, args) => {
  console.log(`setup: ${cmd} ${args.join(' ')}`)
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit' })
}
const has = (cmd, args = ['--version']) => quiet(cmd, args).status === 0

if (!has('cargo')) {
  console.error('setup: cargo is missing. Install Rust with rustup (https://rustup.rs), then run this again.')
  process.exit(1)
}

if (!quiet('rustup', ['target', 'list', '--installed']).stdout?.includes('wasm32-unknown-unknown')) {
  run('rustup', ['target', 'add', 'wasm32-unknown-unknown'])
}

if (!has('wasm-pack')) run('cargo', ['install', 'wasm-pack', '--locked'])

// wasm-bindgen-cli must match the wasm-bindgen crate exactly (Cargo.toml pins it with `=`).
function lockedVersion(crate) {
  const lock = existsSync(join(root, 'Cargo.lock')) ? readFileSync(join(root, 'Cargo.lock'), 'utf8') : ''
  const match = lock.match(new RegExp(`name = "${crate}"\\nversion = "([^"]+)"`))
  if (match) return match[1]
  const manifest = readFileSync(join(root, 'Cargo.toml'), 'utf8').match(new RegExp(`${crate} = "=([^"]+)"`))
  return manifest?.[1]
}
const wanted = lockedVersion('wasm-bindgen')
const installed = quiet('wasm-bindgen', ['--version']).stdout?.trim().split(' ')[1]
if (wanted && installed !== wanted) {
  // Not --locked: the registry lacks some of the CLI's locked dependencies.
  run('cargo', ['install', 'wasm-bindgen-cli', '--version', wanted, '--force'])
}

// wasm-pack's Firefox run uses geckodriver (GECKODRIVER points it here, so it downloads nothing).
if (quiet(GECKODRIVER, ['--version']).stdout?.split('\n')[0].split(' ')[1] !== GECKODRIVER_VERSION) {
  run('cargo', ['install', 'geckodriver', '--version', GECKODRIVER_VERSION, '--locked', '--force'])
}

const aptMissing = [
  ['chromium', existsSync('/usr/bin/chromium')],
  ['chromium-driver', existsSync(CHROMEDRIVER)],
  ['firefox-esr', existsSync('/usr/bin/firefox-esr')],
  ['redis-server', has('redis-server', ['--version'])],
  // Debian keeps PostgreSQL's binaries out of PATH, under a directory per version
  ['postgresql', existsSync('/usr/lib/postgresql') && readdirSync('/usr/lib/postgresql').some((v) => existsSync(join('/usr/lib/postgresql', v, 'bin', 'postgres')))],
].filter(([, present]) => !present).map(([name]) => name)
if (aptMissing.length > 0) {
  if (process.getuid?.() === 0 && has('apt-get', ['--version'])) {
    run('apt-get', ['update'])
    run('apt-get', ['install', '-y', '--no-install-recommends', ...aptMissing])
  } else {
    console.warn(`setup: missing ${aptMissing.join(', ')}; browser and cluster tests need them (Debian: apt-get install ${aptMissing.join(' ')}).`)
  }
}

const modules = ['binaryen', 'yjs', 'playwright-core', 'puppeteer-core', '@y/websocket-server', '@hocuspocus/server', 'y-indexeddb', 'react', 'react-dom', 'esbuild', 'valibot'].map((m) => join(root, 'node_modules', m, 'package.json'))
if (!modules.every(existsSync)) {
  run('npm', existsSync(join(root, 'package-lock.json')) ? ['ci', '--no-audit', '--no-fund'] : ['install', '--no-audit', '--no-fund'])
}
// React 18 beside the root's React 19, for pkg-tests/react.test.mjs
const react18 = join(root, 'pkg-tests', 'react18')
if (!existsSync(join(react18, 'node_modules', 'react-dom', 'package.json'))) run('npm', ['ci', '--no-audit', '--no-fund', '--prefix', react18])
console.log('setup: everything needed is installed')
