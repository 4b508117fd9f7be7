// Child: a fresh process loads the state crud-yjs.mjs encoded into a fresh Y.Doc.
import * as Y from 'yjs'
import { readFile } from 'node:fs/promises'
import { runChild } from './child.mjs'
import { COLLECTION } from './records.mjs'
import { time } from './measure.mjs'

runChild(async ({ n, statePath }) => {
  const state = new Uint8Array(await readFile(statePath))
  const doc = new Y.Doc()
  const load = time(() => Y.applyUpdate(doc, state)).ms
  const count = doc.getMap(COLLECTION).size
  if (count !== n) throw new Error(`the loaded document holds ${count} records, not ${n}`)
  return { t: { load }, found: {} }
})
