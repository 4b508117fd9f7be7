// Record ids: random UUIDv4 strings (122 random bits, URL-safe).

const HEX = Array.from({ length: 256 }, (_, i) => (i + 256).toString(16).slice(1))
const POOL_IDS = 256
let pool = new Uint8Array(0)
let offset = 0

function randomBytes16() {
  if (offset + 16 > pool.length) {
    pool = globalThis.crypto.getRandomValues(new Uint8Array(16 * POOL_IDS))
    offset = 0
  }
  const start = offset
  offset += 16
  return start
}

export function newId() {
  const i = randomBytes16()
  const b = pool
  const b6 = (b[i + 6] & 0x0f) | 0x40
  const b8 = (b[i + 8] & 0x3f) | 0x80
  return (
    HEX[b[i]] + HEX[b[i + 1]] + HEX[b[i + 2]] + HEX[b[i + 3]] + '-' +
    HEX[b[i + 4]] + HEX[b[i + 5]] + '-' + HEX[b6] + HEX[b[i + 7]] + '-' +
    HEX[b8] + HEX[b[i + 9]] + '-' +
    HEX[b[i + 10]] + HEX[b[i + 11]] + HEX[b[i + 12]] + HEX[b[i + 13]] + HEX[b[i + 14]] + HEX[b[i + 15]]
  )
}
