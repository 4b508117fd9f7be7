// Packs the package and installs the tarball into pkg-tests/ (what `npm test` tests), so a
// single pkg-test can be run by hand: `node scripts/build.mjs && node scripts/pkg-install.mjs
// && node --test pkg-tests/cli.test.mjs`. A lock directory keeps two installs from overlapping.
import { execFileSync } from 'node:child_process'
import { mkdirSync, rmSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { root } from './env.mjs'

const LOCK = join(root, 'pkg-tests', '.install-lock')

async function withLock(fn) {
  const started = Date.now()
  for (;;) {
    try {
      mkdirSync(LOCK)
      break
    } catch (error) {
      if (error.code !== 'EEXIST') throw error
      // a lock older than five minutes was left by a killed install
      if (Date.now() - started > 300_000) rmSync(LOCK, { recursive: true, force: true })
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  }
  try {
    return fn()
  } finally {
    rmSync(LOCK, { recursive: true, force: true })
  }
}

/** Packs and installs; returns the tarball's path. */
export function installPackage() {
  return withLock(() => {
    const work = join(root, 'pkg-tests', '.work')
    rmSync(work, { recursive: true, force: true })
    mkdirSync(work, { recursive: true })
    execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] })
    const tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz')))
    execFileSync('npm', ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error', tarball], {
      cwd: join(root, 'pkg-tests'),
      stdio: 'inherit',
    })
    return tarball
  })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(await installPackage())
