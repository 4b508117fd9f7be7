// A small seeded PRNG (mulberry32) and the draws the soak needs. Everything random in the
// fault schedule and in each replica's workload comes from one of these, so a seed names a run.

/** A 32-bit hash of the parts (FNV-1a over their text), to derive independent seeds. */
export function seedOf(...parts) {
  let h = 0x811c9dc5
  for (const ch of parts.join('/')) {
    h ^= ch.codePointAt(0)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h >>> 0
}

export class Random {
  constructor(seed) {
    this.state = seed >>> 0
  }

  /** A float in [0, 1). */
  next() {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** An integer in [min, max]. */
  int(min, max) {
    return min + Math.floor(this.next() * (max - min + 1))
  }

  chance(p) {
    return this.next() < p
  }

  pick(list) {
    return list[Math.floor(this.next() * list.length)]
  }

  /** One key of `weights` ({ key: weight }), drawn in proportion to its weight. */
  weighted(weights) {
    const entries = Object.entries(weights)
    let r = this.next() * entries.reduce((sum, [, w]) => sum + w, 0)
    for (const [key, w] of entries) {
      r -= w
      if (r < 0) return key
    }
    return entries[entries.length - 1][0]
  }
}
