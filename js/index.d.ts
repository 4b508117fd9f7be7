// Public types of yreplica (hand-written; the wasm-bindgen types are internal).

/** A JSON value as stored in a record field. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }

/** A record as read: its id plus its fields. */
export type StoredRecord<T extends object = Record<string, JsonValue>> = T & { id: string }

/** A record as written: fields, and optionally its id. */
export type NewRecord<T extends object = Record<string, JsonValue>> = T & { id?: string }

/** Fields to merge; `undefined` removes a field, `null` is a value. */
export type Patch<T extends object> = { [K in keyof T]?: T[K] | undefined }

export type StorageAdapter = {
  load(): Promise<Uint8Array[]>
  append(update: Uint8Array): Promise<void>
  compact(state: Uint8Array): Promise<void>
  close(): Promise<void>
}

export interface OpenOptions {
  /** Local database name (IndexedDB database / file name). Required. */
  name: string
  /** Document name on the servers; default: `name`. */
  room?: string
  /** Server URLs (ws:// or wss://) in priority order; absent or [] means local only. */
  endpoints?: string[]
  /** Default: 'indexeddb' in browsers, 'memory' in Node. `{ dir }` is the Node file store.
   * A kind the platform lacks is rejected with code 'UNSUPPORTED'. */
  storage?: 'indexeddb' | 'memory' | { dir: string } | StorageAdapter
  heartbeatIntervalMs?: number
  missedHeartbeats?: number
  connectTimeoutMs?: number
  backoff?: { initialMs?: number; maxMs?: number }
  failback?: boolean
  failbackAfterMs?: number
  params?: Record<string, string | number | boolean>
  WebSocket?: unknown
  /** The servers' dialect: 'y-websocket' (default) or 'hocuspocus'. */
  protocol?: 'y-websocket' | 'hocuspocus'
  /** Hocuspocus: the token sent in the Auth message (never shown in errors or events). */
  token?: string
  /**
   * The largest message taken from a server that carries document updates (a sync answer,
   * which holds the whole document for a new client, or an update): default 512 MiB, at most
   * 2 GiB. A larger one drops that connection with an 'error' event (code FRAME_TOO_LARGE)
   * before it is copied into Wasm. In Node it is also the `ws` socket's `maxPayload`.
   */
  maxFrameBytes?: number
  /**
   * The largest message of any other kind (presence, state vectors, auth, stateless), and
   * the most presence the other clients may hold in total: default 4 MiB (at most
   * maxFrameBytes, and no more than it when it is set lower). Over it: FRAME_TOO_LARGE, or
   * PRESENCE_TOO_LARGE for presence, and that connection is dropped.
   */
  maxMessageBytes?: number
  /**
   * How many bytes of one server's messages may wait, received but not yet taken in
   * (default 64 MiB): a server that sends faster than the replica applies is dropped past it
   * (code BACKLOG_TOO_LARGE), as is one that asks for the document again and again without
   * reading the answers.
   */
  maxBacklogBytes?: number
  /**
   * How long a connection may take to deliver its first sync answer (default 120000): a new
   * client's answer holds the whole document, which a server encodes and sends in silence.
   * A server that says nothing at all is left after the heartbeat window.
   */
  syncTimeoutMs?: number
  /** How many endpoints are kept connected and in sync at once: one primary and `servers - 1`
   * standbys, chosen in priority order among the healthy ones (default 1). */
  servers?: number
  /** How many of those servers must have applied a change before it counts as acknowledged,
   * for `status.pending` and `flush()` (default 1; at most `servers`, or 'all'). */
  writeConcern?: number | 'all'
  /** Where Web Locks exist: one tab of the origin (per name) holds the connections for all
   * (default true); false: every tab connects itself. */
  leaderTab?: boolean
  /**
   * The largest write, as JSON text (default 4 MiB, at most maxFrameBytes); summed over a
   * transact(). A larger write rejects with code TOO_LARGE and writes nothing (insertMany
   * splits into several updates under it).
   */
  maxUpdateBytes?: number
}

export type WhereOperators = {
  $eq?: JsonValue
  $ne?: JsonValue
  $gt?: JsonValue
  $gte?: JsonValue
  $lt?: JsonValue
  $lte?: JsonValue
  $in?: JsonValue[]
  $nin?: JsonValue[]
  $exists?: boolean
}

/** Field → value (equality) or operators. `id` matches the record's id. */
export type Where = { [field: string]: JsonValue | WhereOperators }

export interface FindOptions {
  where?: Where
  /** A field or a list of fields; prefix with '-' for descending. */
  orderBy?: string | string[]
  limit?: number
  offset?: number
  /** Also return records that failed the collection's `validate` (left out by default). */
  includeInvalid?: boolean
}

/** What changed in a watched result since the last call (ids of its records). */
export interface WatchDiff {
  /** Records that entered the result (on the first call: all of them). */
  added: string[]
  /** Records that left it. */
  removed: string[]
  /** Records in both whose value changed. */
  changed: string[]
  /** Whether the records in both are in a different order. */
  moved: boolean
}

/** A record kept although it failed the collection's `validate` (an 'invalid' event). */
export interface InvalidRecord<T extends object = Record<string, JsonValue>> {
  collection: string
  id: string
  value: StoredRecord<T>
  /** What `validate` said (its message, or the first issue's path and message). */
  message: string
  /** The Standard Schema issues, when the validator gave them. */
  issues?: ReadonlyArray<{ message: string; path?: ReadonlyArray<PropertyKey | { key: PropertyKey }> }>
}

/** What `validate(record)` may return: valid are `true`, `undefined` and a result without
 * issues; invalid are `false`, a message, Standard Schema `{ issues }` and `{ success: false }`. */
export type ValidationResult =
  | boolean
  | string
  | undefined
  | void
  | { issues?: ReadonlyArray<{ message: string; path?: ReadonlyArray<PropertyKey | { key: PropertyKey }> }> }
  | { success: boolean; error?: unknown }

/** `replica.watchStatus`'s value: the status with the endpoints' health and the directive. */
export interface StatusValue extends SyncStatus {
  endpoints: EndpointHealth[]
  directive: Directive | null
}

export interface Change<T extends object = Record<string, JsonValue>> {
  type: 'insert' | 'update' | 'delete'
  id: string
  /** The record after the change; undefined for deletes. */
  value: StoredRecord<T> | undefined
  origin: 'local' | 'remote'
  collection: string
}

/**
 * Every `code` yreplica itself gives an error (docs/api.md in the repository, "Errors and
 * codes", says when each occurs; a test checks that this list holds every code the sources give).
 * Thrown by calls or rejecting their promises: INVALID_OPTION, UNSUPPORTED, NOT_FOUND,
 * ALREADY_EXISTS, INVALID_VALUE (TypeError: a value or an argument of the wrong kind),
 * INVALID_QUERY, INVALID_UPDATE, TOO_LARGE (RangeError: a write over maxUpdateBytes), CLOSED;
 * from sync: TIMEOUT, NO_ENDPOINTS, UNKNOWN_ENDPOINT, REJECTED (a Hocuspocus server refused a
 * change a flush waits for).
 * On 'error' events: CONNECT_FAILED, PROTOCOL_ERROR, PERMISSION_DENIED, CLOSED_BY_SERVER (a
 * Hocuspocus server closed the document), INVALID_UPDATE, FRAME_TOO_LARGE, BACKLOG_TOO_LARGE,
 * PRESENCE_TOO_LARGE, REJECTED.
 * From storage: STORAGE_FAILED, STORAGE_CORRUPT, QUOTA_EXCEEDED, LOCKED, BLOCKED, TIMEOUT
 * (an IndexedDB open that hangs), UNSUPPORTED.
 * INTERNAL: a bug inside yreplica (a Rust panic) broke the replica; it is emitted as an 'error'
 * event and every later call throws or rejects with it, until close().
 * INVALID_STATE (starting sync twice on one Wasm core) is internal: `Replica` never causes it.
 */
export type ErrorCode =
  | 'INVALID_OPTION'
  | 'UNSUPPORTED'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'INVALID_VALUE'
  | 'INVALID_QUERY'
  | 'INVALID_UPDATE'
  | 'TOO_LARGE'
  | 'CLOSED'
  | 'TIMEOUT'
  | 'NO_ENDPOINTS'
  | 'UNKNOWN_ENDPOINT'
  | 'DIRECTIVE_IGNORED'
  | 'REJECTED'
  | 'CONNECT_FAILED'
  | 'PROTOCOL_ERROR'
  | 'PERMISSION_DENIED'
  | 'CLOSED_BY_SERVER'
  | 'FRAME_TOO_LARGE'
  | 'BACKLOG_TOO_LARGE'
  | 'PRESENCE_TOO_LARGE'
  | 'STORAGE_FAILED'
  | 'STORAGE_CORRUPT'
  | 'QUOTA_EXCEEDED'
  | 'LOCKED'
  | 'BLOCKED'
  | 'INVALID_STATE'
  | 'INTERNAL'

/**
 * An error from yreplica: every one carries a code (TypeErrors for values and arguments of the
 * wrong kind carry INVALID_VALUE). A storage error that already carries a string code passes
 * through as it is: a custom adapter's own codes, and Node's system error codes from the file
 * store (EACCES, ENOSPC, …).
 */
export interface ReplicaError extends Error {
  code: ErrorCode | (string & {})
}

export interface CollectionOptions {
  /** Fields to keep an index on, added to those the collection already has (indexes are
   * never removed while the replica is open). Not 'id': records are looked up by id already. */
  indexes?: string[]
  /** Checks every record: a local write that fails is refused (INVALID_VALUE, nothing written);
   * a record from elsewhere that fails is kept, reported in an 'invalid' event and left out of
   * find, count, watch and watchOne unless they ask for it (`includeInvalid: true`). Must be
   * synchronous. A Standard Schema validator: `(r) => schema['~standard'].validate(r)`. */
  validate?: (record: StoredRecord) => ValidationResult
}

export interface QueryPlan {
  index: string | null
  scanned: number
}

export declare class Collection<T extends object = Record<string, JsonValue>> {
  readonly name: string
  /** Resolves with the id (generated unless the record has one). */
  insert(record: NewRecord<T>): Promise<string>
  insertMany(records: NewRecord<T>[]): Promise<string[]>
  /** Rejects with code 'NOT_FOUND' for an unknown id. */
  update(id: string, fields: Patch<T>): Promise<void>
  /** Rejects with code 'NOT_FOUND' for an unknown id. */
  replace(id: string, record: NewRecord<T>): Promise<void>
  upsert(record: T & { id: string }): Promise<void>
  /** Resolves true if a record was deleted. */
  delete(id: string): Promise<boolean>
  /**
   * Deletes the records with these ids in one transaction (one update, one notification);
   * ids without a record are skipped. Resolves with how many records were deleted. Many
   * records cost far less this way than a `delete` each.
   */
  deleteMany(ids: string[]): Promise<number>
  get(id: string): StoredRecord<T> | undefined
  /** Every record, in the order they entered this replica (written here, loaded or received;
   * a record deleted and written again comes last), which differs between replicas. `find()`
   * without `orderBy` returns them sorted by id. */
  all(): StoredRecord<T>[]
  find(options?: FindOptions): StoredRecord<T>[]
  count(where?: Where): number
  /** Runs `query` as `find` does and reports the index it used (a field name, 'id' for
   * lookups by id, null for a scan of every record) and how many records it examined. */
  explain(options?: FindOptions): QueryPlan
  /** Called with each change set of this collection. Returns an unsubscribe function. */
  subscribe(listener: (changes: Change<T>[]) => void): () => void
  /** Calls `listener` at once with `find(query)`'s result, then after every change set that
   * changes it, with what changed. The records of a result are shared with the next result
   * while unchanged: treat them as read-only. Returns the function that stops it. */
  watch(query: FindOptions, listener: (result: StoredRecord<T>[], diff: WatchDiff) => void): () => void
  /** Calls `listener` at once with the record (undefined when it does not exist), then whenever
   * it changes, appears or goes. Returns the function that stops it. */
  watchOne(id: string, listener: (record: StoredRecord<T> | undefined) => void, options?: { includeInvalid?: boolean }): () => void
}

export interface SyncStatus {
  connection: 'offline' | 'connecting' | 'syncing' | 'online'
  endpoint: string | null
  /** Local changes not yet acknowledged by `writeConcern` servers. */
  pending: number
  /** How many servers (the primary and its standbys) are in sync now. */
  servers: number
}

export interface EndpointHealth {
  url: string
  state: 'unknown' | 'up' | 'down'
  rttMs: number | null
  lastSeenAt: number | null
  failures: number
  /** Whether this is the primary (the endpoint `status.endpoint` names). */
  active: boolean
  /** Its part in the replication set: the primary, a standby kept in sync beside it, or none. */
  role: 'primary' | 'standby' | null
}

export interface FailoverEvent {
  from: string
  to: string
  reason: 'heartbeat' | 'connect-timeout' | 'closed' | 'error' | 'manual' | 'failback' | 'operator'
  at: number
  /** The new primary was an in-sync standby: no handshake was needed. */
  warm: boolean
}

/** The room's operator directive (kept in the room: every replica of it follows it). */
export interface Directive {
  /** The endpoint every replica that lists it moves to. */
  primary: string | null
  /** Endpoints every replica leaves and does not use while the directive stands. */
  drain: string[]
  note: string | null
  /** Who set it (setDirective's `by`, by default the replica's name). */
  by: string
  /** When it was set, Date.now() milliseconds. */
  at: number
  /** When it stops applying, Date.now() milliseconds, or null. */
  expiresAt: number | null
}

export declare class Replica {
  static open(options: OpenOptions): Promise<Replica>
  readonly status: SyncStatus
  readonly endpoints: EndpointHealth[]
  /** Resolves when every change made before the call is acknowledged by the connected server;
   * rejects with code 'TIMEOUT' after timeoutMs (default 5000), 'NO_ENDPOINTS' without endpoints,
   * 'REJECTED' when a Hocuspocus server refused a change, 'CLOSED' when the replica is or gets
   * closed first. */
  /** Resolves when every change made so far is on `writeConcern` servers (the option, or this
   * call's); rejects with code 'TIMEOUT' when too few acknowledge within `timeoutMs` (5000). */
  flush(options?: { timeoutMs?: number; writeConcern?: number | 'all' }): Promise<void>
  /** Whether this tab runs the sync engine: it leads the other tabs (leaderTab), or syncs alone. */
  readonly isLeader: boolean
  /** The operator directive in force, or null (none, or expired). */
  readonly directive: Directive | null
  /** Writes the operator directive into the room (a local write: flush() sends it to the
   * servers). Throws a TypeError (INVALID_VALUE) for a malformed one. */
  setDirective(directive: { primary?: string | null; drain?: string[]; note?: string | null; by?: string; expiresAt?: number | null }): Promise<void>
  /** Removes the operator directive from the room. */
  clearDirective(): Promise<void>
  /** Leaves the current endpoint for the next one now (reason 'manual'). */
  failover(): Promise<void>
  /** Goes to `url` and stays there until unpin(); rejects with code 'UNKNOWN_ENDPOINT' for a URL
   * not in `endpoints` (without endpoints it does nothing). */
  switchTo(url: string): Promise<void>
  unpin(): void
  /** Shares this client's presence with the others in the room (any JSON value; null clears).
   * Sent with the awareness protocol, renewed every 15 s; needs endpoints. */
  setPresence(state: JsonValue | undefined): void
  /** The other clients' presence states (dropped 30 s after their last renewal). */
  readonly presence: { clientId: number; state: JsonValue }[]
  readonly name: string
  readonly room: string
  /** Throws an Error with code 'INVALID_OPTION' for bad options. */
  collection<T extends object = Record<string, JsonValue>>(name: string, options?: CollectionOptions): Collection<T>
  /** Names of the collections that hold at least one record, sorted. */
  collections(): string[]
  /** Runs `fn`; its writes become one Yjs update and one change notification. Returns fn's result. */
  transact<R>(fn: () => R): R
  /** The whole document as a Yjs v1 update; given a state vector, only what that state lacks. */
  encodeState(stateVector?: Uint8Array): Uint8Array
  /**
   * What the document holds, for comparing replicas and servers: clocks per client (client ids
   * as decimal strings) and deleted clock ranges per client.
   */
  stateSummary(): { stateVector: Record<string, number>; deleteSet: Record<string, [number, number][]> }
  /** The document's state vector (Yjs v1 encoding). */
  stateVector(): Uint8Array
  /**
   * Applies a Yjs v1 update from elsewhere (origin 'remote'); it is also sent to the server and
   * the other tabs, and flush() covers it. Throws code 'INVALID_UPDATE' on bad bytes.
   */
  applyUpdate(update: Uint8Array): void
  on(event: 'change', listener: (changes: Change[]) => void): () => void
  on(event: 'error', listener: (error: Error) => void): () => void
  on(event: 'status', listener: (status: SyncStatus) => void): () => void
  on(event: 'failover', listener: (event: FailoverEvent) => void): () => void
  on(event: 'presence', listener: (presence: { clientId: number; state: JsonValue }[]) => void): () => void
  on(event: 'directive', listener: (directive: Directive | null) => void): () => void
  on(event: 'leader', listener: (isLeader: boolean) => void): () => void
  on(event: 'invalid', listener: (records: InvalidRecord[]) => void): () => void
  /** Calls `listener` at once with the status, endpoints and directive, then after every
   * 'status', 'failover' and 'directive' event. Returns the function that stops it. */
  watchStatus(listener: (value: StatusValue) => void): () => void
  close(): Promise<void>
}
