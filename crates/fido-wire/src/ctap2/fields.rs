//! Reading CTAP2's integer-keyed maps with precise errors: which structure,
//! which key, what was expected, what came.

use crate::cbor::Value;

/// Why a CTAP2 structure is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Ctap2Error {
    /// The response is empty (not even a status byte).
    #[error("empty response: no status byte")]
    Empty,
    /// The CBOR is not acceptable.
    #[error("{what}: invalid CBOR: {source}")]
    Cbor {
        /// The structure.
        what: &'static str,
        /// The decoder's error.
        source: crate::cbor::DecodeError,
    },
    /// The structure is not a map.
    #[error("{what} must be a map, found a {found}")]
    NotAMap {
        /// The structure.
        what: &'static str,
        /// The kind of item found.
        found: &'static str,
    },
    /// A required member is absent.
    #[error("{what} lacks required member 0x{key:02x} ({name})")]
    Missing {
        /// The structure.
        what: &'static str,
        /// Its key.
        key: i64,
        /// Its name.
        name: &'static str,
    },
    /// A member has the wrong type or an invalid value.
    #[error("{what} member 0x{key:02x} ({name}) must be {expected}, found {found}")]
    Invalid {
        /// The structure.
        what: &'static str,
        /// Its key.
        key: i64,
        /// Its name.
        name: &'static str,
        /// What it must be.
        expected: &'static str,
        /// What came (a CBOR kind, or a description).
        found: String,
    },
}

/// A CTAP2 map being read, remembering which keys were used.
pub(crate) struct MapReader<'a> {
    what: &'static str,
    entries: &'a [(Value, Value)],
}

impl<'a> MapReader<'a> {
    pub(crate) fn new(what: &'static str, value: &'a Value) -> Result<Self, Ctap2Error> {
        let entries = value.as_map().ok_or(Ctap2Error::NotAMap {
            what,
            found: value.kind(),
        })?;
        Ok(MapReader { what, entries })
    }

    pub(crate) fn get(&self, key: i64) -> Option<&'a Value> {
        self.entries
            .iter()
            .find_map(|(k, v)| (k.as_i64() == Some(key)).then_some(v))
    }

    pub(crate) fn invalid(
        &self,
        key: i64,
        name: &'static str,
        expected: &'static str,
        found: &Value,
    ) -> Ctap2Error {
        Ctap2Error::Invalid {
            what: self.what,
            key,
            name,
            expected,
            found: format!("a {}", found.kind()),
        }
    }

    pub(crate) fn require(&self, key: i64, name: &'static str) -> Result<&'a Value, Ctap2Error> {
        self.get(key).ok_or(Ctap2Error::Missing {
            what: self.what,
            key,
            name,
        })
    }

    pub(crate) fn opt<T>(
        &self,
        key: i64,
        name: &'static str,
        expected: &'static str,
        convert: impl Fn(&'a Value) -> Option<T>,
    ) -> Result<Option<T>, Ctap2Error> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => convert(v)
                .map(Some)
                .ok_or_else(|| self.invalid(key, name, expected, v)),
        }
    }

    pub(crate) fn req<T>(
        &self,
        key: i64,
        name: &'static str,
        expected: &'static str,
        convert: impl Fn(&'a Value) -> Option<T>,
    ) -> Result<T, Ctap2Error> {
        let v = self.require(key, name)?;
        convert(v).ok_or_else(|| self.invalid(key, name, expected, v))
    }

    /// Entries whose integer keys are not in `known`, in wire order.
    pub(crate) fn others(&self, known: &[i64]) -> Vec<(Value, Value)> {
        self.entries
            .iter()
            .filter(|(k, _)| !k.as_i64().is_some_and(|k| known.contains(&k)))
            .cloned()
            .collect()
    }
}

pub(crate) fn text_list(v: &Value) -> Option<Vec<String>> {
    v.as_array()?
        .iter()
        .map(|s| s.as_text().map(str::to_owned))
        .collect()
}

pub(crate) fn uint_list(v: &Value) -> Option<Vec<u64>> {
    v.as_array()?.iter().map(Value::as_u64).collect()
}

pub(crate) fn bytes(v: &Value) -> Option<Vec<u8>> {
    v.as_bytes().map(<[u8]>::to_vec)
}

/// Builds an integer-keyed map from optional members, skipping absent ones.
pub(crate) fn int_map(entries: Vec<(i64, Option<Value>)>, others: &[(Value, Value)]) -> Value {
    let mut m: Vec<(Value, Value)> = entries
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (Value::int(k), v)))
        .collect();
    m.extend(others.iter().cloned());
    Value::Map(m)
}

pub(crate) fn texts(list: &[String]) -> Value {
    Value::Array(list.iter().map(|s| Value::text(s.clone())).collect())
}

pub(crate) fn uints(list: &[u64]) -> Value {
    Value::Array(list.iter().map(|n| Value::int(*n)).collect())
}
