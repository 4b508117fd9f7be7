// Types of yreplica/react: React hooks over watch, watchOne and watchStatus.
import type { Collection, FindOptions, JsonValue, Replica, StatusValue, StoredRecord } from './index.js'

/** The records of `collection.find(query)`, kept current by `collection.watch`; empty while
 * `collection` is null or undefined, and on the server. */
export declare function useFind<T extends object = Record<string, JsonValue>>(
  collection: Collection<T> | null | undefined,
  query?: FindOptions,
): StoredRecord<T>[]

/** The record `id`, or undefined while it does not exist (or is invalid), kept current by
 * `collection.watchOne`; undefined on the server. */
export declare function useRecord<T extends object = Record<string, JsonValue>>(
  collection: Collection<T> | null | undefined,
  id: string | null | undefined,
): StoredRecord<T> | undefined

/** The replica's status, endpoints and directive, kept current by `replica.watchStatus`;
 * offline while `replica` is null or undefined, and on the server. */
export declare function useStatus(replica: Replica | null | undefined): StatusValue
