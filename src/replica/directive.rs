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

use std::collections::HashMap;
use std::sync::Arc;

use yrs::{Any, Map, Number, ReadTxn, Transact};

use super::value::out_to_any;

/// The reserved root map that holds the directive.
pub const DIRECTIVE_ROOT: &str = "yreplica.directive";
/// Its one key.
const CURRENT: &str = "current";

/// A directive as the room holds it (times are `Date.now()` milliseconds). Converted to and
/// from JSON and Yjs values by hand: the fields are few, and serde's generated code for them
/// would cost the Wasm module more than the rest of this feature.
#[derive(Debug, Clone, PartialEq)]
pub struct Directive {
    pub primary: Option<String>,
    pub drain: Vec<String>,
    pub note: Option<String>,
    pub by: Option<String>,
    pub at: Option<f64>,
    pub expires_at: Option<f64>,
}

impl Directive {
    /// Parses the JSON text of a directive: `{ primary, drain, note, by, at, expiresAt }`,
    /// each optional; anything of another shape is an error saying which field.
    pub fn from_json(json: &str) -> Result<Directive, String> {
        let any = Any::from_json(json).map_err(|e| format!("not valid JSON: {e}"))?;
        Directive::from_any(&any)
    }

    fn from_any(any: &Any) -> Result<Directive, String> {
        let Any::Map(fields) = any else {
            return Err("a directive is an object".into());
        };
        let text = |name: &str| match fields.get(name) {
            None | Some(Any::Null | Any::Undefined) => Ok(None),
            Some(Any::String(s)) => Ok(Some(s.to_string())),
            Some(_) => Err(format!("{name} must be a string or null")),
        };
        let time = |name: &str| match fields.get(name) {
            None | Some(Any::Null | Any::Undefined) => Ok(None),
            Some(Any::Number(Number::Int(n))) => Ok(Some(*n as f64)),
            Some(Any::Number(Number::Float(n))) if n.is_finite() => Ok(Some(*n)),
            Some(_) => Err(format!("{name} must be a finite number or null")),
        };
        let drain = match fields.get("drain") {
            None | Some(Any::Null | Any::Undefined) => Vec::new(),
            Some(Any::Array(urls)) => urls
                .iter()
                .map(|url| match url {
                    Any::String(s) => Ok(s.to_string()),
                    _ => Err("drain must be an array of strings".to_string()),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err("drain must be an array of strings".into()),
        };
        Ok(Directive {
            primary: text("primary")?,
            drain,
            note: text("note")?,
            by: text("by")?,
            at: time("at")?,
            expires_at: time("expiresAt")?,
        })
    }

    /// The directive as JSON text, every field present (null where unset).
    pub fn to_json(&self) -> String {
        let text = |s: &Option<String>| match s {
            Some(s) => serde_json::to_string(s).unwrap_or_else(|_| "null".into()),
            None => "null".into(),
        };
        let time = |t: Option<f64>| t.map_or("null".into(), |t| t.to_string());
        let drain: Vec<String> = self.drain.iter().map(|u| text(&Some(u.clone()))).collect();
        format!(
            r#"{{"primary":{},"drain":[{}],"note":{},"by":{},"at":{},"expiresAt":{}}}"#,
            text(&self.primary),
            drain.join(","),
            text(&self.note),
            text(&self.by),
            time(self.at),
            time(self.expires_at)
        )
    }

    /// The directive as one Yjs value: a plain object, readable by any Yjs client.
    pub(crate) fn to_any(&self) -> Any {
        let text = |s: &Option<String>| s.as_deref().map_or(Any::Null, Any::from);
        let time = |t: Option<f64>| t.map_or(Any::Null, Any::from);
        let drain: Vec<Any> = self.drain.iter().map(|u| Any::from(u.as_str())).collect();
        let fields: HashMap<String, Any> = [
            ("primary", text(&self.primary)),
            ("drain", Any::from(drain)),
            ("note", text(&self.note)),
            ("by", text(&self.by)),
            ("at", time(self.at)),
            ("expiresAt", time(self.expires_at)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Any::Map(Arc::new(fields))
    }
}

/// The directive the room holds now, if there is a well-formed one (anything else, written by
/// another app, counts as none).
pub(crate) fn read(doc: &yrs::Doc) -> Option<Directive> {
    let txn = doc.transact();
    let map = txn.get_map(DIRECTIVE_ROOT)?;
    let value = map.get(&txn, CURRENT)?;
    Directive::from_any(&out_to_any(value, &txn)).ok()
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
