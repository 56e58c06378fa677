//! Raw CBOR to annotated nodes: every data item with its major type and its
//! value, maps as their entries in wire order (keys may be any item).

use super::node::{Node, hex};
use fido_wire::cbor::{Float, Value};
use serde_json::{Value as Json, json};

/// The CBOR type of an item, as shown to users.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Integer(i) if i.get() >= 0 => "unsigned integer",
        Value::Integer(_) => "negative integer",
        other => other.kind(),
    }
}

/// A scalar as JSON (containers give their diagnostic notation).
pub(crate) fn scalar(v: &Value) -> Json {
    match v {
        Value::Integer(i) => match (i.to_i64(), i.to_u64()) {
            (Some(n), _) => json!(n),
            (None, Some(n)) => json!(n),
            // Below -2^63: JSON numbers would lose it, keep the digits.
            _ => json!(i.get().to_string()),
        },
        Value::Bytes(b) => json!(hex(b)),
        Value::Text(t) => json!(t),
        Value::Bool(b) => json!(b),
        Value::Null => Json::Null,
        Value::Undefined => json!("undefined"),
        Value::Simple(s) => json!(format!("simple({s})")),
        Value::Float(f) => float(*f),
        Value::Tag(..) | Value::Array(_) | Value::Map(_) => json!(v.to_string()),
    }
}

fn float(f: Float) -> Json {
    let v = f.to_f64();
    serde_json::Number::from_f64(v).map_or_else(|| json!(Value::Float(f).to_string()), Json::Number)
}

/// The name a map key is shown under.
pub(crate) fn key_name(k: &Value) -> String {
    match k {
        Value::Text(t) => t.clone(),
        other => other.to_string(),
    }
}

/// A generic annotated tree of `v`, named `name`.
pub(crate) fn node(name: impl Into<String>, v: &Value) -> Node {
    let n = Node::new(name).kind(type_name(v));
    match v {
        Value::Bytes(b) => n.raw(hex(b)).length(b.len()),
        Value::Text(t) => n.raw(t.clone()).length(t.len()),
        Value::Array(items) => {
            let mut n = n.length(items.len());
            for (i, item) in items.iter().enumerate() {
                n.push(node(format!("[{i}]"), item));
            }
            n
        }
        Value::Map(entries) => {
            let mut n = n.length(entries.len());
            for (k, item) in entries {
                n.push(node(key_name(k), item));
            }
            n
        }
        Value::Tag(tag, inner) => n
            .raw(json!(tag))
            .meaning(tag_meaning(*tag))
            .field(node("content", inner)),
        scalar_value => n.raw(scalar(scalar_value)),
    }
}

fn tag_meaning(tag: u64) -> &'static str {
    match tag {
        0 => "standard date/time string (RFC 8949 §3.4.1)",
        1 => "epoch-based date/time (RFC 8949 §3.4.2)",
        2 => "unsigned bignum",
        3 => "negative bignum",
        4 => "decimal fraction",
        5 => "bigfloat",
        21..=23 => "expected conversion to base64url/base64/base16",
        24 => "encoded CBOR data item",
        32 => "URI",
        55799 => "self-described CBOR",
        _ => "tag not interpreted here",
    }
}

/// A whole CBOR document: diagnostic notation plus the annotated tree.
pub(crate) fn document(v: &Value) -> Node {
    let diagnostic = v.to_string();
    node("cbor", v).meaning(json!({ "diagnostic": diagnostic }))
}
