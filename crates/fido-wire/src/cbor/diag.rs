//! CBOR diagnostic notation (RFC 8949 §8), for traffic views and the decoder.
//!
//! Byte strings print as `h'…'` in lowercase hex, as the COSE and WebAuthn
//! examples do, so output can be compared with published examples directly.

use super::value::{Float, Value};
use std::fmt::{self, Write};

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Integer(i) => write!(f, "{i}"),
            Value::Bytes(b) => {
                f.write_str("h'")?;
                for byte in b {
                    write!(f, "{byte:02x}")?;
                }
                f.write_char('\'')
            }
            Value::Text(t) => write!(f, "{}", serde_json::Value::String(t.clone())),
            Value::Array(items) => {
                f.write_char('[')?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_char(']')
            }
            Value::Map(entries) => {
                f.write_char('{')?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_char('}')
            }
            Value::Tag(tag, inner) => write!(f, "{tag}({inner})"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Null => f.write_str("null"),
            Value::Undefined => f.write_str("undefined"),
            Value::Simple(v) => write!(f, "simple({v})"),
            Value::Float(fl) => {
                let v = fl.to_f64();
                let suffix = match fl {
                    Float::Half(_) => "_1",
                    Float::Single(_) => "_2",
                    Float::Double(_) => "_3",
                };
                if v.is_nan() {
                    write!(f, "NaN{suffix}")
                } else if v.is_infinite() {
                    let sign = if v < 0.0 { "-" } else { "" };
                    write!(f, "{sign}Infinity{suffix}")
                } else {
                    write!(f, "{v:?}{suffix}")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8949_style() {
        let v = Value::map([
            (Value::int(1), Value::int(7)),
            (Value::int(-1), Value::bytes(vec![0xab, 0x01])),
            (
                Value::text("a\"b"),
                Value::Array(vec![Value::Null, Value::Bool(true)]),
            ),
        ]);
        assert_eq!(
            v.to_string(),
            r#"{1: 7, -1: h'ab01', "a\"b": [null, true]}"#
        );
        assert_eq!(
            Value::Tag(18, Box::new(Value::Array(vec![]))).to_string(),
            "18([])"
        );
        assert_eq!(Value::Float(Float::Half(0x3e00)).to_string(), "1.5_1");
    }
}
