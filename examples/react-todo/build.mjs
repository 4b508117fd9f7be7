// Builds the React example into examples/react-todo/dist/ with esbuild: app.jsx with React,
// react-dom and yreplica bundled into app.js, the Wasm module copied next to it (the browser
// entry fetches yreplica_bg.wasm next to its code), and index.html.
//
//   node examples/react-todo/build.mjs [--production]
import { build } from 'esbuild'
import { copyFileSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')
export const dist = join(here, 'dist')

export async function buildExample({ production = process.argv.includes('--production') } = {}) {
  mkdirSync(dist, { recursive: true })
  await build({
    entryPoints: [join(here, 'app.jsx')],
    bundle: true,
    format: 'esm',
    outfile: join(dist, 'app.js'),
    jsx: 'automatic',
    minify: production,
    define: { 'process.env.NODE_ENV': production ? '"production"' : '"development"' },
    // In an app these come from node_modules/yreplica; here, from this repository.
    alias: { 'yreplica/react': join(root, 'js', 'react.js'), yreplica: join(root, 'js', 'web.js') },
    logLevel: 'warning',
  })
  copyFileSync(join(root, 'pkg', 'web', 'yreplica_bg.wasm'), join(dist, 'yreplica_bg.wasm'))
  copyFileSync(join(here, 'index.html'), join(dist, 'index.html'))
  return dist
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(`built ${await buildExample()}`)
