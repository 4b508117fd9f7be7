//! What a document holds, in the terms replication health is measured in: its state vector
//! (how many structs each client has written) and its delete set (which of them are
//! deleted). Equal state vectors do not mean equal documents: deleting a map entry adds no
//! struct, only a delete-set range. Operator tools compare these between servers.

use std::fmt::Write;

use yrs::{Doc, ReadTxn, Transact};

/// The document's state vector and delete set as JSON:
/// `{"stateVector":{"<client>":clock,…},"deleteSet":{"<client>":[[clock,len],…],…}}`,
/// clients in ascending order, ranges sorted and merged (as yrs keeps them).
pub fn state_summary_json(doc: &Doc) -> String {
    let snapshot = doc.transact().snapshot();
    let mut clients: Vec<(u64, u32)> = snapshot
        .state_map
        .iter()
        .map(|(client, clock)| (client.get(), *clock))
        .collect();
    clients.sort_unstable();
    let mut out = String::from("{\"stateVector\":{");
    for (i, (client, clock)) in clients.iter().enumerate() {
        let comma = if i == 0 { "" } else { "," };
        let _ = write!(out, "{comma}\"{client}\":{clock}");
    }
    out.push_str("},\"deleteSet\":{");
    let mut deleted: Vec<(u64, Vec<(u32, u32)>)> = snapshot
        .delete_set
        .iter()
        .map(|(client, ranges)| {
            let list = ranges.iter().map(|r| (r.start, r.end - r.start)).collect();
            (client.get(), list)
        })
        .filter(|(_, list): &(u64, Vec<(u32, u32)>)| !list.is_empty())
        .collect();
    deleted.sort_unstable_by_key(|(client, _)| *client);
    for (i, (client, ranges)) in deleted.iter().enumerate() {
        let comma = if i == 0 { "" } else { "," };
        let _ = write!(out, "{comma}\"{client}\":[");
        for (j, (clock, len)) in ranges.iter().enumerate() {
            let comma = if j == 0 { "" } else { "," };
            let _ = write!(out, "{comma}[{clock},{len}]");
        }
        out.push(']');
    }
    out.push_str("}}");
    out
}
