//! Converting between app JSON, `yrs::Any` and the JSON text the JS facade reads.

use std::collections::HashMap;
use std::sync::Arc;

use serde::de::{DeserializeSeed, MapAccess, SeqAccess};
use serde::ser::{Serialize, SerializeMap, Serializer};
use yrs::{Any, Array, GetString, Map, MapRef, Out, ReadTxn};

use super::error::{ReplicaError, Result};

/// The fields of one record in the order they were written, without its id (the id is the
/// record's key in its collection).
pub type Fields = Vec<(Arc<str>, Any)>;

/// Field names shared by the records of one write: yrs keeps a field's name with each of its
/// items, so a name shared by 100,000 records is one allocation instead of 100,000. Records
/// of one write mostly name the same fields in the same order, so the name after the last
/// one found is tried first, then the others (a handful: no hashing needed).
#[derive(Debug)]
struct Names {
    known: Vec<Arc<str>>,
    next: usize,
    /// How many names are kept for sharing; records with more get the rest unshared.
    max_shared: usize,
}

impl Names {
    /// Names for `records` records: one record has nothing to share with.
    fn for_records(records: usize) -> Names {
        Names {
            known: Vec::new(),
            next: 0,
            max_shared: if records > 1 { 64 } else { 0 },
        }
    }

    fn get(&mut self, name: &str) -> Arc<str> {
        let guess = self.known.get(self.next).filter(|known| &***known == name);
        let found = guess
            .map(|_| self.next)
            .or_else(|| self.known.iter().position(|known| &**known == name));
        if let Some(at) = found {
            self.next = at + 1;
            return self.known[at].clone();
        }
        let name: Arc<str> = name.into();
        if self.known.len() < self.max_shared {
            self.known.push(name.clone());
            self.next = self.known.len();
        }
        name
    }
}

/// Name of the pseudo-field that carries a record's key.
pub(crate) const ID_FIELD: &str = "id";

/// Parses a JSON object of fields. `what` names the operation, for the error (built only then).
pub fn fields_from_json(json: &str, what: impl FnOnce() -> String) -> Result<Fields> {
    let mut names = Names::for_records(1);
    let mut parser = serde_json::Deserializer::from_str(json);
    FieldsSeed(&mut names)
        .deserialize(&mut parser)
        .and_then(|fields| parser.end().map(|()| fields))
        .map_err(|e| not_json(what, e))
}

/// Parses a JSON array of records (objects of fields, UTF-8), sharing field names among them.
pub fn records_from_json(json: &[u8], what: impl FnOnce() -> String) -> Result<Vec<Fields>> {
    let mut names = Names::for_records(usize::MAX);
    let mut parser = serde_json::Deserializer::from_slice(json);
    RecordsSeed(&mut names)
        .deserialize(&mut parser)
        .and_then(|records| parser.end().map(|()| records))
        .map_err(|e| not_json(what, e))
}

struct RecordsSeed<'n>(&'n mut Names);

impl<'de> DeserializeSeed<'de> for RecordsSeed<'_> {
    type Value = Vec<Fields>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for RecordsSeed<'_> {
    type Value = Vec<Fields>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of records (JSON objects)")
    }

    fn visit_seq<A: SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut records = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(fields) = seq.next_element_seed(FieldsSeed(&mut *self.0))? {
            records.push(fields);
        }
        Ok(records)
    }
}

struct FieldsSeed<'n>(&'n mut Names);

impl<'de> DeserializeSeed<'de> for FieldsSeed<'_> {
    type Value = Fields;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for FieldsSeed<'_> {
    type Value = Fields;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a record (a plain JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(8).min(64));
        while let Some(name) = map.next_key_seed(NameSeed(&mut *self.0))? {
            let AppAny(value) = map.next_value()?;
            fields.push((name, value));
        }
        Ok(fields)
    }
}

struct NameSeed<'n>(&'n mut Names);

impl<'de> DeserializeSeed<'de> for NameSeed<'_> {
    type Value = Arc<str>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for NameSeed<'_> {
    type Value = Arc<str>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E>(self, name: &str) -> std::result::Result<Arc<str>, E> {
        Ok(self.0.get(name))
    }
}

/// A JSON value from the app (`JSON.stringify`) as an `Any`, as yrs' `Any::from_json` reads it
/// except that an integer beyond i64 becomes a float, as in JavaScript: JSON.stringify writes
/// numbers up to 1e21 in full (1e19 is "10000000000000000000"), which yrs refuses.
struct AppAny(Any);

impl<'de> serde::Deserialize<'de> for AppAny {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(AppAnyVisitor).map(AppAny)
    }
}

struct AppAnyVisitor;

impl<'de> serde::de::Visitor<'de> for AppAnyVisitor {
    type Value = Any;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> std::result::Result<Any, E> {
        Ok(Any::Null)
    }

    fn visit_bool<E>(self, v: bool) -> std::result::Result<Any, E> {
        Ok(Any::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> std::result::Result<Any, E> {
        Ok(Any::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> std::result::Result<Any, E> {
        Ok(i64::try_from(v).map_or(Any::from(v as f64), Any::from))
    }

    fn visit_f64<E>(self, v: f64) -> std::result::Result<Any, E> {
        Ok(Any::from(v))
    }

    fn visit_str<E>(self, v: &str) -> std::result::Result<Any, E> {
        Ok(Any::from(v))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Any, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(AppAny(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Any::Array(items.into()))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Any, A::Error> {
        let mut entries = HashMap::with_capacity(map.size_hint().unwrap_or(0).min(4096));
        while let Some((key, AppAny(value))) = map.next_entry::<String, AppAny>()? {
            entries.insert(key, value);
        }
        Ok(Any::Map(Arc::new(entries)))
    }
}

fn not_json(what: impl FnOnce() -> String, e: impl std::fmt::Display) -> ReplicaError {
    ReplicaError::InvalidValue(format!("{}: not valid JSON: {e}", what()))
}

/// Checks that a record id is usable as a key. `what` names the operation, for the error
/// (built only then: a batch checks every id).
pub(crate) fn check_id(id: &str, what: impl FnOnce() -> String) -> Result<()> {
    if id.is_empty() {
        return Err(ReplicaError::InvalidValue(format!(
            "{}: the id must be a non-empty string",
            what()
        )));
    }
    Ok(())
}

/// How deeply shared maps and arrays nested in a field are read; deeper ones read as null.
/// Reading recurses, and a remote update can nest them thousands deep (a few bytes a level),
/// which would overflow the Wasm stack.
pub const MAX_SHARED_NESTING: usize = 500;

/// A field value as plain data: nested maps, arrays and texts written by other apps become
/// their JSON; other Yjs types (XML, sub-documents) are not record data and read as null.
/// (Naming the types we read keeps the XML code out of the Wasm module.)
pub(crate) fn out_to_any<T: ReadTxn>(out: Out, txn: &T) -> Any {
    out_to_any_within(out, txn, MAX_SHARED_NESTING)
}

fn out_to_any_within<T: ReadTxn>(out: Out, txn: &T, levels: usize) -> Any {
    match out {
        Out::Any(any) => any,
        _ if levels == 0 => Any::Null,
        Out::YMap(map) => Any::Map(Arc::new(
            map.iter(txn)
                .map(|(key, out)| (key.to_string(), out_to_any_within(out, txn, levels - 1)))
                .collect(),
        )),
        Out::YArray(array) => Any::Array(
            array
                .iter(txn)
                .map(|out| out_to_any_within(out, txn, levels - 1))
                .collect(),
        ),
        Out::YText(text) => Any::String(text.get_string(txn).into()),
        _ => Any::Null,
    }
}

/// A record as stored under its id: a `Y.Map` of fields (ours) or a plain object (other apps).
pub(crate) enum StoredRecord {
    Shared(MapRef),
    Plain(Arc<HashMap<String, Any>>),
}

impl StoredRecord {
    /// Interprets a collection entry; entries that are neither maps nor objects are not records.
    pub(crate) fn from_out(out: Out) -> Option<Self> {
        match out {
            Out::YMap(map) => Some(StoredRecord::Shared(map)),
            Out::Any(Any::Map(map)) => Some(StoredRecord::Plain(map)),
            _ => None,
        }
    }

    /// One field's value, if present. `id` is not a field: see [`ID_FIELD`].
    pub(crate) fn field<T: ReadTxn>(&self, txn: &T, name: &str) -> Option<Any> {
        match self {
            StoredRecord::Shared(map) => map.get(txn, name).map(|out| out_to_any(out, txn)),
            StoredRecord::Plain(map) => map.get(name).cloned(),
        }
    }
}

/// Serializes `{ id, ...fields }` straight from the stored record, with the key winning over
/// a stored `id` field. Streaming the entries avoids building a map per record.
struct RecordJson<'a, T: ReadTxn> {
    id: &'a str,
    record: &'a StoredRecord,
    txn: &'a T,
}

impl<T: ReadTxn> Serialize for RecordJson<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry(ID_FIELD, self.id)?;
        match self.record {
            StoredRecord::Shared(shared) => {
                for (key, out) in shared.iter(self.txn) {
                    if key != ID_FIELD {
                        match out {
                            Out::Any(any) => map.serialize_entry(key, &JsonAny(&any))?,
                            other => {
                                map.serialize_entry(key, &JsonAny(&out_to_any(other, self.txn)))?
                            }
                        }
                    }
                }
            }
            StoredRecord::Plain(fields) => {
                for (key, value) in fields.iter() {
                    if key != ID_FIELD {
                        map.serialize_entry(key, &JsonAny(value))?;
                    }
                }
            }
        }
        map.end()
    }
}

/// Serializes an `Any` as JSON: non-finite numbers and `undefined` become null, binary data
/// becomes an array of byte values (other Yjs apps may store such values).
struct JsonAny<'a>(&'a Any);

impl Serialize for JsonAny<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self.0 {
            Any::Null | Any::Undefined => serializer.serialize_unit(),
            Any::Bool(b) => serializer.serialize_bool(*b),
            Any::Number(n) => match n {
                yrs::any::Number::Int(i) => serializer.serialize_i64(*i),
                yrs::any::Number::Float(f) if f.is_finite() => serializer.serialize_f64(*f),
                yrs::any::Number::Float(_) => serializer.serialize_unit(),
            },
            Any::String(s) => serializer.serialize_str(s),
            Any::Buffer(bytes) => serializer.collect_seq(bytes.iter()),
            Any::Array(items) => serializer.collect_seq(items.iter().map(JsonAny)),
            Any::Map(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries.iter() {
                    map.serialize_entry(key, &JsonAny(value))?;
                }
                map.end()
            }
        }
    }
}

/// Writes a record's JSON text.
pub(crate) fn record_json<T: ReadTxn>(id: &str, record: &StoredRecord, txn: &T) -> String {
    // Serializing strings, numbers and nested JSON into a String cannot fail.
    serde_json::to_string(&RecordJson { id, record, txn }).unwrap_or_else(|_| String::from("null"))
}
