//! The annotated tree every decoder produces: one [`Node`] per field, with
//! its name, the raw value as found, what it means, and its own fields.
//! Turned into `serde_json::Value` at the end so callers get plain JSON.

use serde_json::{Map, Value as Json, json};

/// One decoded field.
#[derive(Debug, Clone, Default)]
pub(crate) struct Node {
    name: String,
    kind: Option<&'static str>,
    length: Option<usize>,
    raw: Option<Json>,
    meaning: Option<Json>,
    error: Option<String>,
    fields: Vec<Node>,
}

impl Node {
    pub fn new(name: impl Into<String>) -> Node {
        Node {
            name: name.into(),
            ..Node::default()
        }
    }

    /// A byte field: raw is lowercase hex, length in bytes.
    pub fn bytes(name: impl Into<String>, bytes: &[u8]) -> Node {
        Node::new(name).raw(hex(bytes)).length(bytes.len())
    }

    /// The CBOR/ASN.1/JSON type of the field.
    pub fn kind(mut self, kind: &'static str) -> Node {
        self.kind = Some(kind);
        self
    }

    pub fn length(mut self, length: usize) -> Node {
        self.length = Some(length);
        self
    }

    pub fn raw(mut self, raw: impl Into<Json>) -> Node {
        self.raw = Some(raw.into());
        self
    }

    pub fn meaning(mut self, meaning: impl Into<Json>) -> Node {
        self.meaning = Some(meaning.into());
        self
    }

    pub fn error(mut self, error: impl Into<String>) -> Node {
        self.error = Some(error.into());
        self
    }

    pub fn field(mut self, field: Node) -> Node {
        self.fields.push(field);
        self
    }

    pub fn push(&mut self, field: Node) {
        self.fields.push(field);
    }

    pub fn set_meaning(&mut self, meaning: impl Into<Json>) {
        self.meaning = Some(meaning.into());
    }

    pub fn to_json(&self) -> Json {
        let mut m = Map::new();
        m.insert("name".into(), Json::String(self.name.clone()));
        if let Some(kind) = self.kind {
            m.insert("type".into(), json!(kind));
        }
        if let Some(length) = self.length {
            m.insert("length".into(), json!(length));
        }
        if let Some(raw) = &self.raw {
            m.insert("raw".into(), raw.clone());
        }
        if let Some(meaning) = &self.meaning {
            m.insert("meaning".into(), meaning.clone());
        }
        if let Some(error) = &self.error {
            m.insert("error".into(), json!(error));
        }
        if !self.fields.is_empty() {
            m.insert(
                "fields".into(),
                Json::Array(self.fields.iter().map(Node::to_json).collect()),
            );
        }
        Json::Object(m)
    }
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        for nibble in [b >> 4, b & 0x0f] {
            if let Some(d) = DIGITS.get(usize::from(nibble)) {
                s.push(char::from(*d));
            }
        }
    }
    s
}

/// A 16-byte identifier in UUID form (8-4-4-4-12).
pub(crate) fn uuid(bytes: &[u8; 16]) -> String {
    let h = hex(bytes);
    let part = |a: usize, b: usize| h.get(a..b).unwrap_or_default();
    format!(
        "{}-{}-{}-{}-{}",
        part(0, 8),
        part(8, 12),
        part(12, 16),
        part(16, 20),
        part(20, 32)
    )
}

/// SHA-256, hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes).as_ref())
}
