// Stored-record files (as the storage_records target reads them: a 2-byte little-endian length,
// then an update) loaded one after the other, each into a fresh replica in the same process.
// Before updates were put in causal order on our side (src/replica/arrival.rs), the last file
// read freed memory inside yrs 0.28.1 and, after the others had shaped the heap, the Wasm
// module trapped ("memory access out of bounds"), taking every replica in the process with it.
// It prints "no trap" now; pkg-tests/hostile-server.test.mjs runs the same files.
// Run from the repository root: node fuzz/wasm-trap-repro.mjs [files...]
//   (default: tests/fuzz-inputs/yrs-bugs-avoided/wasm-trap/step-*)
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { Replica } from 'yreplica'
import { records } from './stored-records.mjs'

const dir = new URL('../tests/fuzz-inputs/yrs-bugs-avoided/wasm-trap/', import.meta.url).pathname
const files = process.argv.length > 2 ? process.argv.slice(2) : readdirSync(dir).sort().map((f) => join(dir, f))

for (const file of files) {
  const replica = await Replica.open({ name: 'repro', storage: 'memory' })
  try {
    for (const update of records(readFileSync(file))) {
      try {
        replica.applyUpdate(update)
      } catch (error) {
        if (!error.code) throw error // refused updates carry a code; a trap does not
      }
    }
    for (const name of replica.collections()) replica.collection(name).all()
    replica.encodeState()
    await replica.close()
  } catch (error) {
    console.log(`${file}: ${error.constructor.name}: ${error.message}`)
    process.exit(1)
  }
}
console.log('no trap')
