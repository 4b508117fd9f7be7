// The records every benchmark and large-document test writes: 6 fields of the kinds apps store
// (a sentence, a boolean, a small number, a short array, a timestamp, an owner), the same for
// yreplica, Yjs and native yrs (examples/yrs_floor.rs builds the same fields).

/** Record i's fields, without its id. */
export function fieldsAt(i) {
  return {
    title: `Task number ${i} with some words`,
    done: i % 3 === 0,
    prio: i % 5,
    tags: ['tag' + (i % 7), 'tag' + (i % 11)],
    createdAt: 1_700_000_000_000 + i * 1000,
    owner: `user-${i % 97}`,
  }
}
