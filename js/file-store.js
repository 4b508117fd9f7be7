// The Node file store (`storage: { dir }`): an append-only log per replica whose records carry
// a length and a CRC-32; each append is fsynced before it resolves; compaction writes a temp
// file, fsyncs it and renames it over the log. On load a torn or corrupt tail is reported,
// cut off, and every intact record before it is loaded. One process per directory (a lock
// file holding the owner's pid).
import { open, readFile, rename, unlink, mkdir, writeFile, link, copyFile } from 'node:fs/promises'
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

// Replicas of one process may share a directory: the lock is per process. Acquisitions in
// flight are shared too, so two replicas opening at once do not race each other.
const heldLocks = new Map()
// One replica per log: a second open of the same name in this process is refused.
const openLogs = new Set()

async function acquireLock(dir) {
  const path = join(dir, '.yreplica.lock')
  let held = heldLocks.get(path)
  if (!held) {
    held = { count: 0, ready: takeLock(dir, path) }
    heldLocks.set(path, held)
    held.ready.catch(() => heldLocks.delete(path))
  }
  held.count++
  try {
    await held.ready
  } catch (error) {
    held.count--
    throw error
  }
  return path
}

async function takeLock(dir, path) {
  // Write the pid to a private file, then link it into place: the lock never exists empty.
  const mine = `${path}.${process.pid}.tmp`
  await writeFile(mine, String(process.pid))
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await link(mine, path)
        return
      } catch (error) {
        if (error.code !== 'EEXIST') throw error
        const owner = Number(await readFile(path, 'utf8').catch(() => 'gone'))
        if (Number.isNaN(owner) && attempt < 3) continue // vanished meanwhile: try again
        if (owner === process.pid || (owner > 0 && isAlive(owner)) || attempt >= 3) throw lockError(dir, owner || 'unknown')
        await unlink(path).catch(() => {}) // stale: its process is gone
      }
    }
  } finally {
    await unlink(mine).catch(() => {})
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
  const logPath = join(dir, `${encodeURIComponent(name)}.ylog`)
  if (openLogs.has(logPath)) {
    const error = new Error(`${logPath} is already open in this process; one replica per name and directory`)
    error.code = 'LOCKED'
    throw error
  }
  openLogs.add(logPath)
  let lock
  try {
    lock = await acquireLock(dir)
  } catch (error) {
    openLogs.delete(logPath)
    throw error
  }
  let log = null
  let closed = false
  // Bytes of the log that hold whole records: a failed append is cut back to this.
  let intact = 0

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
        // Keep the unreadable tail aside rather than destroying it.
        const aside = `${logPath}.corrupt-${Date.now()}`
        await copyFile(logPath, aside)
        const error = new Error(
          `${logPath}: the record at byte ${end} is torn or corrupt; ${records.length} intact records loaded, the ${bytes.length - end} bytes after them moved aside to ${aside}`,
        )
        error.code = 'STORAGE_CORRUPT'
        onError(error)
        const handle = await open(logPath, 'r+')
        await handle.truncate(end)
        await handle.sync()
        await handle.close()
      }
      intact = end
      await reopen()
      return records
    },
    async append(update) {
      if (closed) throw Object.assign(new Error('the file store is closed'), { code: 'CLOSED' })
      if (log === null) await reopen()
      const record = encodeRecord(update)
      try {
        let written = 0
        while (written < record.length) {
          const { bytesWritten } = await log.write(record, written, record.length - written)
          if (bytesWritten === 0) throw new Error('no bytes written')
          written += bytesWritten
        }
        await log.sync()
        intact += record.length
      } catch (error) {
        // A partial record must not stay in front of later ones: cut the log back.
        await log.truncate(intact).catch(() => {})
        throw error
      }
    },
    async compact(state) {
      const tmp = `${logPath}.tmp`
      const record = encodeRecord(state)
      const handle = await open(tmp, 'w')
      await handle.writeFile(record)
      await handle.sync()
      await handle.close()
      await log?.close()
      log = null
      await rename(tmp, logPath)
      intact = record.length
      const directory = await open(dir, 'r')
      await directory.sync().catch(() => {})
      await directory.close()
      await reopen()
    },
    async close() {
      closed = true
      await log?.close()
      log = null
      openLogs.delete(logPath)
      await releaseLock(lock)
    },
  }
}
