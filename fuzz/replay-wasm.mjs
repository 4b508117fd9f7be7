// Replays the fuzzing corpora and the saved findings through the real Wasm build (pkg/node, via
// the public API), where usize is 32 bits and the stack is 1 MiB: some inputs that are harmless
// natively trap there (a length near 4 GiB wrapped yrs' bounds check). A trap leaves the module
// unusable, so the first one ends the run with its file named. (Before updates were put in
// causal order on our side, yrs' use-after-free ended runs that way: fuzz/wasm-trap-repro.mjs.)
// Run from the repository root after `node scripts/build.mjs`: node fuzz/replay-wasm.mjs [target...]
import { readdirSync, readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import * as decoding from 'lib0/decoding'
import { Replica } from 'yreplica'
import { records } from './stored-records.mjs'

const root = new URL('..', import.meta.url).pathname

function inputs(target) {
  const dirs = [join(root, 'fuzz/corpus', target), join(root, 'tests/fuzz-inputs', target)]
  return dirs.filter(existsSync).flatMap((dir) => readdirSync(dir).map((f) => join(dir, f)))
}

/** A Wasm trap, a stack overflow, or the aftermath of one (a borrow never released). */
const isTrap = (error) =>
  error instanceof WebAssembly.RuntimeError ||
  error instanceof RangeError ||
  /recursive use of an object|attempted to take ownership|null pointer passed to rust/.test(error?.message)

/** Runs `use` on a fresh replica; refusals (thrown Errors) are fine, traps are not. */
async function withReplica(use) {
  const replica = await Replica.open({ name: 'replay', storage: 'memory' })
  try {
    use(replica)
  } catch (error) {
    if (isTrap(error)) throw error
  } finally {
    await replica.close()
  }
}

/** Every read the app can make. */
function readAll(replica) {
  for (const name of replica.collections()) replica.collection(name).all()
  return replica.encodeState()
}

/** The sync payloads of a frame (updates, and state vectors to answer), as far as it decodes. */
function syncPayloads(frame, hocuspocus) {
  const updates = []
  const stateVectors = []
  const decoder = decoding.createDecoder(frame)
  try {
    while (decoding.hasContent(decoder)) {
      if (hocuspocus) decoding.readVarString(decoder)
      const type = decoding.readVarUint(decoder)
      if (type === 0 || (hocuspocus && type === 4)) {
        const sub = decoding.readVarUint(decoder)
        const payload = decoding.readVarUint8Array(decoder)
        ;(sub === 0 ? stateVectors : updates).push(payload)
      } else return { updates, stateVectors }
    }
  } catch {
    // as far as it decodes
  }
  return { updates, stateVectors }
}

const only = process.argv.slice(2) // target names; none: all
const counts = {}
async function replay(target, run) {
  if (only.length > 0 && !only.includes(target)) return
  counts[target] = 0
  for (const file of inputs(target)) {
    try {
      await run(readFileSync(file))
    } catch (error) {
      console.error(`${target}: ${file} ${isTrap(error) ? 'trapped the Wasm module' : 'failed'}: ${error.message}`)
      process.exit(1)
    }
    counts[target]++
  }
}

await replay('storage_records', (data) =>
  withReplica((replica) => {
    for (const record of records(data)) {
      try {
        replica.applyUpdate(record)
      } catch (error) {
        if (isTrap(error)) throw error
      }
    }
    readAll(replica)
  }),
)

for (const [target, hocuspocus] of [['frame_ywebsocket', false], ['frame_hocuspocus', true]]) {
  await replay(target, (data) =>
    withReplica((replica) => {
      const { updates, stateVectors } = syncPayloads(data, hocuspocus)
      for (const update of updates) {
        try {
          replica.applyUpdate(update)
        } catch (error) {
          if (isTrap(error)) throw error
        }
      }
      for (const sv of stateVectors) {
        try {
          replica.encodeState(sv)
        } catch (error) {
          if (isTrap(error)) throw error
        }
      }
      readAll(replica)
    }),
  )
}

// JSON values: what JSON.parse gives as an object goes in through the API and reads back equal.
await replay('json_values', async (data) => {
  let value
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data))
  } catch {
    return
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value) || 'id' in value) return
  const replica = await Replica.open({ name: 'replay-json', storage: 'memory' })
  try {
    const id = await replica.collection('c').insert(value).catch((error) => {
      if (isTrap(error)) throw error
      return undefined // refused: the facade's own checks (e.g. a key it does not allow)
    })
    if (id === undefined) return
    const { id: _, ...back } = replica.collection('c').get(id)
    const asJson = (v) => JSON.parse(JSON.stringify(v)) // JSON has no -0
    if (!isDeepStrictEqual(back, asJson(value))) throw new Error(`read back ${JSON.stringify(back)} for ${JSON.stringify(value)}`)
  } finally {
    await replica.close()
  }
})

console.log(Object.entries(counts).map(([t, n]) => `${t}: ${n} inputs`).join(', '), '- no trap')
