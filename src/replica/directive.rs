//! The operator directive, kept in the room as ordinary Yjs data so every replica of the room
//! receives it from whichever server it is on, and a plain Yjs client can read and write it:
//!
//! ```text
//! doc.getMap('yreplica.directive').get('current')
//!   → { primary: string | null, drain: string[], note: string | null, by: string | null,
//!       at: number | null, expiresAt: number | null }      (absent: no directive)
//! ```
//!
//! The whole directive is one map entry, so concurrent directives converge to one of them
//! (Yjs keeps, of concurrent writes to one key, the one of the higher client id), never to a
//! mix. The root map is reserved: it is never a collection.

use serde::{Deserialize, Serialize};
use yrs::types::ToJson;
use yrs::{Any, Map, ReadTxn, Transact};

/// The reserved root map that holds the directive.
pub const DIRECTIVE_ROOT: &str = "yreplica.directive";
/// Its one key.
const CURRENT: &str = "current";

/// A directive as the room holds it (times are `Date.now()` milliseconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Directive {
    pub primary: Option<String>,
    #[serde(default)]
    pub drain: Vec<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub by: Option<String>,
    #[serde(default)]
    pub at: Option<f64>,
    #[serde(default)]
    pub expires_at: Option<f64>,
}

impl Directive {
    /// Parses the JSON text of a directive (from the app, or from the room).
    pub fn from_json(json: &str) -> Result<Directive, String> {
        let directive: Directive = serde_json::from_str(json).map_err(|e| e.to_string())?;
        for time in [directive.at, directive.expires_at].into_iter().flatten() {
            if !time.is_finite() {
                return Err("times must be finite numbers".into());
            }
        }
        Ok(directive)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The directive as one Yjs value (a plain object: readable by any Yjs client).
    pub(crate) fn to_any(&self) -> Any {
        let json = self.to_json();
        Any::from_json(&json).unwrap_or(Any::Null)
    }
}

/// The directive the room holds now, if there is a well-formed one (anything else, written by
/// another app, counts as none).
pub(crate) fn read(doc: &yrs::Doc) -> Option<Directive> {
    let txn = doc.transact();
    let map = txn.get_map(DIRECTIVE_ROOT)?;
    let value = map.get(&txn, CURRENT)?;
    let any = value.to_json(&txn);
    let mut json = String::new();
    any.to_json(&mut json);
    Directive::from_json(&json).ok()
}

/// Writes `directive` (None: removes it) in `txn` into the reserved map `map`.
pub(crate) fn write(
    map: &yrs::MapRef,
    txn: &mut yrs::TransactionMut,
    directive: Option<&Directive>,
) {
    match directive {
        Some(d) => {
            map.insert(txn, CURRENT, d.to_any());
        }
        None => {
            map.remove(txn, CURRENT);
        }
    }
}
