//! CBOR encoding: as given, or in CTAP2 canonical form.
//!
//! Heads always use the shortest argument encoding and lengths are always
//! definite, so every output is well-formed and deterministic. The canonical
//! form additionally sorts map keys the CTAP2 way (CTAP 2.1 §8 "Message
//! Encoding"): major type first, then encoded length, then bytewise.

use super::value::{Float, Value};
use std::cmp::Ordering;

/// Encodes `value` exactly as given: map entries in their stored order.
pub fn to_vec(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write(&mut out, value, false);
    out
}

/// Encodes `value` in CTAP2 canonical form: map keys sorted at every level.
pub fn to_canonical_vec(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write(&mut out, value, true);
    out
}

/// Appends `value` to `out`, canonical or as given.
pub fn write(out: &mut Vec<u8>, value: &Value, canonical: bool) {
    match value {
        Value::Integer(i) => {
            let (major, arg) = i.major_and_argument();
            write_head(out, major, arg);
        }
        Value::Bytes(b) => {
            write_head(out, 2, b.len() as u64);
            out.extend_from_slice(b);
        }
        Value::Text(t) => {
            write_head(out, 3, t.len() as u64);
            out.extend_from_slice(t.as_bytes());
        }
        Value::Array(items) => {
            write_head(out, 4, items.len() as u64);
            for item in items {
                write(out, item, canonical);
            }
        }
        Value::Map(entries) => {
            write_head(out, 5, entries.len() as u64);
            if canonical {
                let mut encoded: Vec<(Vec<u8>, &Value)> = entries
                    .iter()
                    .map(|(k, v)| {
                        let mut key = Vec::new();
                        write(&mut key, k, true);
                        (key, v)
                    })
                    .collect();
                encoded.sort_by(|a, b| canonical_key_order(&a.0, &b.0));
                for (key, v) in encoded {
                    out.extend_from_slice(&key);
                    write(out, v, true);
                }
            } else {
                for (k, v) in entries {
                    write(out, k, false);
                    write(out, v, false);
                }
            }
        }
        Value::Tag(tag, inner) => {
            write_head(out, 6, *tag);
            write(out, inner, canonical);
        }
        Value::Bool(false) => out.push(0xf4),
        Value::Bool(true) => out.push(0xf5),
        Value::Null => out.push(0xf6),
        Value::Undefined => out.push(0xf7),
        Value::Simple(v) => {
            if *v < 24 {
                out.push(0xe0 | v);
            } else {
                out.extend_from_slice(&[0xf8, *v]);
            }
        }
        Value::Float(Float::Half(bits)) => {
            out.push(0xf9);
            out.extend_from_slice(&bits.to_be_bytes());
        }
        Value::Float(Float::Single(bits)) => {
            out.push(0xfa);
            out.extend_from_slice(&bits.to_be_bytes());
        }
        Value::Float(Float::Double(bits)) => {
            out.push(0xfb);
            out.extend_from_slice(&bits.to_be_bytes());
        }
    }
}

/// Writes a head with the shortest encoding of `arg`.
pub(crate) fn write_head(out: &mut Vec<u8>, major: u8, arg: u64) {
    let mt = major << 5;
    if arg < 24 {
        out.push(mt | arg as u8);
    } else if arg <= u64::from(u8::MAX) {
        out.extend_from_slice(&[mt | 24, arg as u8]);
    } else if arg <= u64::from(u16::MAX) {
        out.push(mt | 25);
        out.extend_from_slice(&(arg as u16).to_be_bytes());
    } else if arg <= u64::from(u32::MAX) {
        out.push(mt | 26);
        out.extend_from_slice(&(arg as u32).to_be_bytes());
    } else {
        out.push(mt | 27);
        out.extend_from_slice(&arg.to_be_bytes());
    }
}

/// The CTAP2 canonical order of two encoded map keys: major type, then
/// encoded length, then bytewise.
pub fn canonical_key_order(a: &[u8], b: &[u8]) -> Ordering {
    let major = |k: &[u8]| k.first().map(|b| b >> 5);
    major(a)
        .cmp(&major(b))
        .then(a.len().cmp(&b.len()))
        .then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(v: &Value) -> String {
        hex::encode(to_vec(v))
    }

    #[test]
    fn rfc8949_appendix_a_integers() {
        assert_eq!(hex(&Value::int(0)), "00");
        assert_eq!(hex(&Value::int(23)), "17");
        assert_eq!(hex(&Value::int(24)), "1818");
        assert_eq!(hex(&Value::int(1000)), "1903e8");
        assert_eq!(hex(&Value::int(1_000_000)), "1a000f4240");
        assert_eq!(hex(&Value::int(1_000_000_000_000i64)), "1b000000e8d4a51000");
        assert_eq!(hex(&Value::int(u64::MAX)), "1bffffffffffffffff");
        assert_eq!(hex(&Value::int(-1)), "20");
        assert_eq!(hex(&Value::int(-1000)), "3903e7");
        let min = Value::Integer(super::super::Int::try_from(-(1i128 << 64)).unwrap());
        assert_eq!(hex(&min), "3bffffffffffffffff");
    }

    #[test]
    fn canonical_sorts_ctap_style() {
        // CTAP 2.1 §8 rule: major type, then encoded length, then bytewise:
        // 10, 100, -1, "z", "aa", [-1], [100], false.
        let m = Value::map([
            (Value::Bool(false), Value::Null),
            (Value::Array(vec![Value::int(-1)]), Value::Null),
            (Value::Array(vec![Value::int(100)]), Value::Null),
            (Value::text("aa"), Value::Null),
            (Value::text("z"), Value::Null),
            (Value::int(-1), Value::Null),
            (Value::int(100), Value::Null),
            (Value::int(10), Value::Null),
        ]);
        assert_eq!(
            hex::encode(to_canonical_vec(&m)),
            "a80af61864f620f6617af6626161f68120f6811864f6f4f6"
        );
    }
}
