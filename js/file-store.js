// The Node file store (`storage: { dir }`): an append-only log per replica whose records carry
// a length and a CRC-32; each append is fsynced before it resolves; compaction writes a temp
// file, fsyncs it and renames it over the log. On load a torn or corrupt tail is reported,
// cut off, and every intact record before it is loaded. One process per directory (a lock
// file holding the owner's pid).
import { open, readFile, rename, unlink, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

const HEADER = 8
const CRC_TABLE = new Uint32Array(256).map((_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})

function crc32(bytes) {
  let c = 0xffffffff
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

function encodeRecord(payload) {
  const record = new Uint8Array(HEADER + payload.length)
  const view = new DataView(record.buffer)
  view.setUint32(0, payload.length, true)
  view.setUint32(4, crc32(payload), true)
  record.set(payload, HEADER)
  return record
}

/** Splits a log into intact records; `end` is where the intact part stops. */
export function decodeLog(bytes) {
  const records = []
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let offset = 0
  while (offset < bytes.length) {
    if (bytes.length - offset < HEADER) break
    const length = view.getUint32(offset, true)
    const checksum = view.getUint32(offset + 4, true)
    if (length > bytes.length - offset - HEADER) break
    const payload = bytes.subarray(offset + HEADER, offset + HEADER + length)
    if (crc32(payload) !== checksum) break
    records.push(payload.slice())
    offset += HEADER + length
  }
  return { records, end: offset }
}

function lockError(dir, pid) {
  const error = new Error(`storage directory ${dir} is in use by process ${pid}; one process per directory`)
  error.code = 'LOCKED'
  return error
}

function isAlive(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return error.code === 'EPERM'
  }
}

// Replicas of one process may share a directory: the lock is per process.
const heldLocks = new Map()

async function acquireLock(dir) {
  const path = join(dir, '.yreplica.lock')
  const held = heldLocks.get(path)
  if (held) {
    held.count++
    return path
  }
  for (;;) {
    try {
      await writeFile(path, String(process.pid), { flag: 'wx' })
      heldLocks.set(path, { count: 1 })
      return path
    } catch (error) {
      if (error.code !== 'EEXIST') throw error
      const owner = Number(await readFile(path, 'utf8').catch(() => ''))
      if (owner && owner !== process.pid && isAlive(owner)) throw lockError(dir, owner)
      await unlink(path).catch(() => {}) // stale: its process is gone
    }
  }
}

async function releaseLock(path) {
  const held = heldLocks.get(path)
  if (!held || --held.count > 0) return
  heldLocks.delete(path)
  await unlink(path).catch(() => {})
}

/**
 * Opens the file store of replica `name` in `dir`.
 * @param onError reports a torn or corrupt tail (the replica emits it as an 'error' event)
 */
export async function openFileStore(dir, name, onError) {
  await mkdir(dir, { recursive: true })
  const lock = await acquireLock(dir)
  const logPath = join(dir, `${encodeURIComponent(name)}.ylog`)
  let log = null
  let closed = false

  const reopen = async () => {
    log = await open(logPath, 'a')
  }

  return {
    async load() {
      const bytes = await readFile(logPath).catch((error) => {
        if (error.code === 'ENOENT') return new Uint8Array(0)
        throw error
      })
      const { records, end } = decodeLog(bytes)
      if (end < bytes.length) {
        const error = new Error(
          `${logPath}: the record at byte ${end} is torn or corrupt; ${records.length} intact records loaded, ${bytes.length - end} bytes after them dropped`,
        )
        error.code = 'STORAGE_CORRUPT'
        onError(error)
        const handle = await open(logPath, 'r+')
        await handle.truncate(end)
        await handle.sync()
        await handle.close()
      }
      await reopen()
      return records
    },
    async append(update) {
      if (closed) throw Object.assign(new Error('the file store is closed'), { code: 'CLOSED' })
      if (log === null) await reopen()
      await log.write(encodeRecord(update))
      await log.sync()
    },
    async compact(state) {
      const tmp = `${logPath}.tmp`
      const handle = await open(tmp, 'w')
      await handle.write(encodeRecord(state))
      await handle.sync()
      await handle.close()
      await log?.close()
      log = null
      await rename(tmp, logPath)
      const directory = await open(dir, 'r')
      await directory.sync().catch(() => {})
      await directory.close()
      await reopen()
    },
    async close() {
      closed = true
      await log?.close()
      log = null
      await releaseLock(lock)
    },
  }
}
