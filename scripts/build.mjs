// npm run build: the `web` and `nodejs` wasm-pack builds, shrunk by binaryen's wasm-opt
// (the npm package: Debian's old wasm-opt breaks wasm-bindgen's output), then their sizes.
import { execFileSync } from 'node:child_process'
import { readFileSync, rmSync, writeFileSync, existsSync, statSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { join } from 'node:path'
import { root } from './env.mjs'

const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' })

const WASM_OPT_FEATURES = [
  '--enable-bulk-memory', '--enable-reference-types', '--enable-sign-ext',
  '--enable-nontrapping-float-to-int', '--enable-mutable-globals', '--enable-multivalue',
]

function build(target, outDir) {
  run('wasm-pack', ['--quiet', 'build', '--release', '--target', target, '--out-dir', outDir, '--out-name', 'yreplica'])
  // wasm-pack leaves a `*` .gitignore (npm pack would skip the files) and a package.json we do not ship.
  rmSync(join(root, outDir, '.gitignore'), { force: true })
  rmSync(join(root, outDir, 'README.md'), { force: true })
  const wasm = join(root, outDir, 'yreplica_bg.wasm')
  const wasmOpt = join(root, 'node_modules', 'binaryen', 'bin', 'wasm-opt')
  if (!existsSync(wasmOpt)) throw new Error('node_modules/binaryen is missing: run `npm install` (or `npm run setup`)')
  run(process.execPath, [wasmOpt, '-Oz', '--strip-debug', '--strip-producers', ...WASM_OPT_FEATURES, wasm, '-o', wasm])
}

build('web', 'pkg/web')
build('nodejs', 'pkg/node')
// The nodejs glue is CommonJS; this marker keeps Node from reading it as ESM under our "type": "module".
writeFileSync(join(root, 'pkg/node/package.json'), JSON.stringify({ type: 'commonjs' }, null, 2) + '\n')
rmSync(join(root, 'pkg/web/package.json'), { force: true })

const kb = (n) => `${(n / 1024).toFixed(1)} KB`
const sizeOf = (file) => {
  const bytes = readFileSync(join(root, file))
  return { raw: statSync(join(root, file)).size, gz: gzipSync(bytes, { level: 9 }).length }
}
const wasm = sizeOf('pkg/web/yreplica_bg.wasm')
const glue = ['pkg/web/yreplica.js', 'js/web.js', 'js/replica.js', 'js/values.js', 'js/ids.js', 'js/options.js', 'js/persistence.js', 'js/record-cache.js', 'js/errors.js'].map(sizeOf)
const glueGz = glue.reduce((s, f) => s + f.gz, 0)
console.log(`build: wasm ${kb(wasm.raw)} (${kb(wasm.gz)} gzipped); JS glue + facade ${kb(glueGz)} gzipped; total ${kb(wasm.gz + glueGz)} gzipped`)
