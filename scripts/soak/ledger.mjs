// Every write the replicas made, which of them were confirmed (the write's promise resolved
// and a flush() started after it resolved too), and the check that each confirmed write is
// still there. See workload.mjs for why every cell (record field) has exactly one writer:
// then a confirmed write is present iff the cell holds its value or the value of a later
// write to that cell by the same replica (later ones may or may not have made it).
import { ABSENT, GONE, canonical } from './workload.mjs'

export class Ledger {
  constructor() {
    /** @type {Map<number, Map<number, { seq, cells, at, durable: boolean, failed: string|null }>>} */
    this.writes = new Map()
    /** @type {Map<number, number>} replica → highest seq covered by a resolved flush() */
    this.flushedUpTo = new Map()
  }

  byReplica(r) {
    let writes = this.writes.get(r)
    if (!writes) this.writes.set(r, (writes = new Map()))
    return writes
  }

  onWrite(r, seq, cells, at) {
    this.byReplica(r).set(seq, { seq, cells, at, durable: false, failed: null })
  }

  onDurable(r, seq) {
    const w = this.byReplica(r).get(seq)
    if (w) w.durable = true
  }

  onWriteFailed(r, seq, why) {
    const w = this.byReplica(r).get(seq)
    if (w) w.failed = why
  }

  onFlushed(r, upTo) {
    this.flushedUpTo.set(r, Math.max(upTo, this.flushedUpTo.get(r) ?? 0))
  }

  isConfirmed(r, w) {
    return w.durable && w.failed === null && w.seq <= (this.flushedUpTo.get(r) ?? 0)
  }

  counts() {
    let made = 0
    let confirmed = 0
    let failed = 0
    for (const [r, writes] of this.writes) {
      for (const w of writes.values()) {
        made++
        if (w.failed !== null) failed++
        else if (this.isConfirmed(r, w)) confirmed++
      }
    }
    return { made, confirmed, failed }
  }

  /**
   * @param {{ name: string, collections: Record<string, object[]> }[]} observers final states
   *   (replicas and servers)
   * @returns {{ checked: number, lost: number, examples: string[] }} `lost` counts confirmed
   *   writes missing from at least one observer
   */
  check(observers) {
    const lacking = this.missing(observers)
    const lost = new Set(lacking.flatMap((o) => [...o.lacks]))
    const examples = lacking.flatMap((o) => o.examples).slice(0, 10)
    return { checked: this.counts().confirmed, lost: lost.size, examples }
  }

  /**
   * How many confirmed writes fewer than `minimum` of the `observers` (servers) hold.
   * @returns {{ checked: number, onFewer: number, examples: string[] }}
   */
  coverage(observers, minimum) {
    const lacking = this.missing(observers)
    let checked = 0
    let onFewer = 0
    const examples = []
    for (const [r, writes] of this.writes) {
      for (const w of writes.values()) {
        if (!this.isConfirmed(r, w)) continue
        checked++
        const without = lacking.filter((o) => o.lacks.has(`${r}:${w.seq}`)).map((o) => o.name)
        if (observers.length - without.length >= minimum) continue
        onFewer++
        if (examples.length < 10) examples.push(`replica ${r} write #${w.seq} is on ${observers.length - without.length} of ${observers.length} (not on ${without.join(', ')})`)
      }
    }
    return { checked, onFewer, examples }
  }

  /**
   * For each observer, the confirmed writes (`replica:seq`) it lacks, and a few examples.
   * @returns {{ name: string, lacks: Set<string>, examples: string[] }[]}
   */
  missing(observers) {
    // every cell's writes in order: [{ r, seq, value }]
    const cells = new Map()
    for (const [r, writes] of this.writes) {
      for (const w of [...writes.values()].sort((a, b) => a.seq - b.seq)) {
        if (w.failed !== null) continue
        for (const [cell, value] of w.cells) {
          let history = cells.get(cell)
          if (!history) cells.set(cell, (history = []))
          if (history.length > 0 && history[0].r !== r) throw new Error(`soak bug: cell ${cell.replaceAll('\u0000', '/')} has two writers`)
          history.push({ r, seq: w.seq, value })
        }
      }
    }
    return observers.map((observer) => {
      const lacks = new Set()
      const examples = []
      const byId = {}
      for (const [name, records] of Object.entries(observer.collections)) byId[name] = new Map(records.map((rec) => [rec.id, rec]))
      for (const [cell, history] of cells) {
        const [collection, id, field] = cell.split('\u0000')
        const record = byId[collection]?.get(id)
        const observed = field === '' ? (record ? 'yes' : 'no') : !record ? GONE : field in record ? canonical(record[field]) : ABSENT
        let lastMatch = -1
        for (let i = history.length - 1; i >= 0; i--) {
          if (history[i].value === observed) {
            lastMatch = i
            break
          }
        }
        let lastLost = null
        for (let i = lastMatch + 1; i < history.length; i++) {
          const owner = history[i].r
          const w = this.writes.get(owner).get(history[i].seq)
          if (!this.isConfirmed(owner, w)) continue
          lacks.add(`${owner}:${w.seq}`)
          lastLost = history[i]
        }
        if (lastLost && examples.length < 10) {
          examples.push(`${observer.name}: ${collection}/${id}/${field || '(exists)'} is ${show(observed)}, but replica ${lastLost.r} wrote ${show(lastLost.value)} (write #${lastLost.seq}, confirmed)`)
        }
      }
      return { name: observer.name, lacks, examples }
    })
  }
}


const show = (value) => (value === ABSENT ? '(no such field)' : value === GONE ? '(record deleted)' : value)
