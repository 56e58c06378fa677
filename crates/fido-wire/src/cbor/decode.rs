//! Strict, bounded CBOR decoding.
//!
//! Every input is fully recognised before anything uses it. Hard limits on
//! total length, nesting depth and item count bound time and memory; declared
//! lengths are checked against the bytes actually present before anything is
//! allocated, so no input can make the decoder panic, hang or allocate more
//! than a small multiple of its own size.
//!
//! Always rejected: indefinite lengths, reserved additional-information
//! values, non-shortest heads, invalid UTF-8, duplicate map keys, trailing
//! bytes. With [`DecodeOptions::canonical`] (the CTAP2 profile) also: map keys
//! out of CTAP2 canonical order, floats wider than needed, and tags.
//!
//! Why not a general CBOR crate: the ones in use (ciborium, minicbor) accept
//! non-shortest heads and keys in any order and have no item budget, which is
//! exactly what a CTAP2 peer must be checked for. The tests cross-check this
//! decoder against ciborium on every input both accept.

use super::encode::canonical_key_order;
use super::value::{Float, Int, Value};
use std::cmp::Ordering;
use std::collections::HashSet;

/// Hard limits applied while decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted input, in bytes.
    pub max_input_len: usize,
    /// Deepest accepted nesting of arrays, maps and tags (a scalar at top level is depth 1).
    pub max_depth: usize,
    /// Most data items accepted in one input (every key, value and element counts).
    pub max_items: usize,
}

impl Limits {
    /// For CTAP2 messages: a CTAPHID message is at most 7,609 bytes, other
    /// transports allow more; no CTAP2 structure nests deeper than about 6.
    pub const CTAP: Limits = Limits {
        max_input_len: 64 * 1024,
        max_depth: 12,
        max_items: 8 * 1024,
    };

    /// For user-supplied CBOR of any origin (the decoder tool).
    pub const GENERAL: Limits = Limits {
        max_input_len: 1024 * 1024,
        max_depth: 32,
        max_items: 64 * 1024,
    };
}

/// How strictly to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Hard limits.
    pub limits: Limits,
    /// Require CTAP2 canonical CBOR: sorted map keys, shortest floats, no tags.
    pub canonical: bool,
}

impl DecodeOptions {
    /// CTAP2 canonical CBOR under [`Limits::CTAP`].
    pub const CTAP2: DecodeOptions = DecodeOptions {
        limits: Limits::CTAP,
        canonical: true,
    };

    /// Well-formed CBOR in any key order, tags allowed, under [`Limits::CTAP`].
    /// For peers known to send keys out of order, and COSE structures.
    pub const CTAP_ANY_ORDER: DecodeOptions = DecodeOptions {
        limits: Limits::CTAP,
        canonical: false,
    };

    /// Well-formed CBOR in any key order under [`Limits::GENERAL`].
    pub const GENERAL: DecodeOptions = DecodeOptions {
        limits: Limits::GENERAL,
        canonical: false,
    };
}

/// Why an input is not acceptable CBOR. Offsets count bytes from the start of the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input is longer than [`Limits::max_input_len`].
    #[error("input is {len} bytes, over the limit of {max}")]
    InputTooLong {
        /// Input length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The input ends inside an item.
    #[error("input ends at byte {offset} inside an item that needs {needed} more byte(s)")]
    UnexpectedEnd {
        /// Where the input ended.
        offset: usize,
        /// How many more bytes the item needed (at least).
        needed: u64,
    },
    /// Bytes follow the top-level item.
    #[error("{count} byte(s) follow the end of the item at byte {offset}")]
    TrailingBytes {
        /// Where the extra bytes start.
        offset: usize,
        /// How many there are.
        count: usize,
    },
    /// Nesting deeper than [`Limits::max_depth`].
    #[error("nesting at byte {offset} is deeper than the limit of {max}")]
    DepthLimit {
        /// Where the too-deep item starts.
        offset: usize,
        /// The limit.
        max: usize,
    },
    /// More items than [`Limits::max_items`].
    #[error("more than {max} data items (at byte {offset})")]
    ItemLimit {
        /// Where the item over the limit starts.
        offset: usize,
        /// The limit.
        max: usize,
    },
    /// Additional information 28, 29 or 30 (reserved).
    #[error("reserved additional information {info} at byte {offset}")]
    ReservedAdditionalInfo {
        /// Where the head starts.
        offset: usize,
        /// The value found.
        info: u8,
    },
    /// An indefinite-length item, or a stray break byte.
    #[error("indefinite length or break at byte {offset} (only definite lengths are accepted)")]
    IndefiniteLength {
        /// Where the head starts.
        offset: usize,
    },
    /// A head whose argument could have been encoded shorter.
    #[error("non-shortest head at byte {offset}: {value} needs fewer bytes")]
    NonMinimalHead {
        /// Where the head starts.
        offset: usize,
        /// The argument.
        value: u64,
    },
    /// A declared length larger than the bytes (or, for arrays and maps, items) that can follow.
    #[error("length {declared} declared at byte {offset} exceeds the {available} byte(s) left")]
    LengthTooLarge {
        /// Where the head starts.
        offset: usize,
        /// The declared length.
        declared: u64,
        /// Bytes remaining after the head.
        available: usize,
    },
    /// A text string that is not UTF-8.
    #[error("text string at byte {offset} is not valid UTF-8")]
    InvalidUtf8 {
        /// Where the string starts.
        offset: usize,
    },
    /// Two equal keys in one map.
    #[error("duplicate map key at byte {offset}")]
    DuplicateMapKey {
        /// Where the second copy starts.
        offset: usize,
    },
    /// Map keys out of CTAP2 canonical order.
    #[error("map key at byte {offset} is out of CTAP2 canonical order")]
    MapKeysNotCanonical {
        /// Where the out-of-order key starts.
        offset: usize,
    },
    /// A float that a shorter width could hold exactly (canonical mode).
    #[error("float at byte {offset} is not in its shortest form")]
    NonCanonicalFloat {
        /// Where the float starts.
        offset: usize,
    },
    /// A tag where tags are not allowed (CTAP2 canonical mode).
    #[error("tag {tag} at byte {offset} is not allowed in CTAP2 canonical CBOR")]
    TagNotAllowed {
        /// Where the tag starts.
        offset: usize,
        /// The tag number.
        tag: u64,
    },
    /// A two-byte simple value below 32 (not well-formed per RFC 8949 §3.3).
    #[error(
        "simple value {value} at byte {offset} uses the two-byte form, which is invalid below 32"
    )]
    InvalidSimpleValue {
        /// Where the item starts.
        offset: usize,
        /// The value.
        value: u8,
    },
}

/// Decodes exactly one item that spans all of `input`.
pub fn from_slice(input: &[u8], options: &DecodeOptions) -> Result<Value, DecodeError> {
    let (value, used) = from_slice_prefix(input, options)?;
    if used != input.len() {
        return Err(DecodeError::TrailingBytes {
            offset: used,
            count: input.len() - used,
        });
    }
    Ok(value)
}

/// Decodes one item from the start of `input` and returns it with the number
/// of bytes it took. Used where CBOR is followed by other data (the credential
/// public key inside authenticator data).
pub fn from_slice_prefix(
    input: &[u8],
    options: &DecodeOptions,
) -> Result<(Value, usize), DecodeError> {
    if input.len() > options.limits.max_input_len {
        return Err(DecodeError::InputTooLong {
            len: input.len(),
            max: options.limits.max_input_len,
        });
    }
    let mut d = Decoder {
        input,
        pos: 0,
        items: 0,
        options,
    };
    let value = d.item(1)?;
    Ok((value, d.pos))
}

struct Decoder<'a> {
    input: &'a [u8],
    pos: usize,
    items: usize,
    options: &'a DecodeOptions,
}

struct Head {
    offset: usize,
    major: u8,
    info: u8,
    arg: u64,
}

impl<'a> Decoder<'a> {
    fn remaining(&self) -> usize {
        self.input.len() - self.pos
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], DecodeError> {
        let available = self.remaining();
        let n_usize = usize::try_from(n)
            .ok()
            .filter(|n| *n <= available)
            .ok_or_else(|| DecodeError::UnexpectedEnd {
                offset: self.input.len(),
                needed: n.saturating_sub(available as u64),
            })?;
        let slice =
            self.input
                .get(self.pos..self.pos + n_usize)
                .ok_or(DecodeError::UnexpectedEnd {
                    offset: self.input.len(),
                    needed: n,
                })?;
        self.pos += n_usize;
        Ok(slice)
    }

    fn head(&mut self) -> Result<Head, DecodeError> {
        let offset = self.pos;
        let first = *self
            .take(1)?
            .first()
            .ok_or(DecodeError::UnexpectedEnd { offset, needed: 1 })?;
        let major = first >> 5;
        let info = first & 0x1f;
        let arg = match info {
            0..=23 => u64::from(info),
            24..=27 => {
                let width = 1u64 << (info - 24);
                let bytes = self.take(width)?;
                let arg = bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
                // Floats (major 7, info 25-27) carry bits, not an argument, and
                // the one-byte simple form has its own rule below.
                let shortest_ok = match (major, info) {
                    (7, _) => true,
                    (_, 24) => arg >= 24,
                    (_, 25) => arg > 0xff,
                    (_, 26) => arg > 0xffff,
                    _ => arg > 0xffff_ffff,
                };
                if !shortest_ok {
                    return Err(DecodeError::NonMinimalHead { offset, value: arg });
                }
                arg
            }
            28..=30 => return Err(DecodeError::ReservedAdditionalInfo { offset, info }),
            _ => return Err(DecodeError::IndefiniteLength { offset }),
        };
        Ok(Head {
            offset,
            major,
            info,
            arg,
        })
    }

    fn item(&mut self, depth: usize) -> Result<Value, DecodeError> {
        let limits = &self.options.limits;
        if self.items >= limits.max_items {
            return Err(DecodeError::ItemLimit {
                offset: self.pos,
                max: limits.max_items,
            });
        }
        self.items += 1;
        if depth > limits.max_depth {
            return Err(DecodeError::DepthLimit {
                offset: self.pos,
                max: limits.max_depth,
            });
        }
        let head = self.head()?;
        match head.major {
            0 => Ok(Value::Integer(Int::from(head.arg))),
            1 => Ok(Value::Integer(Int::from_negative_argument(head.arg))),
            2 => Ok(Value::Bytes(self.take(head.arg)?.to_vec())),
            3 => {
                let bytes = self.take(head.arg)?;
                let text = std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8 {
                    offset: head.offset,
                })?;
                Ok(Value::Text(text.to_owned()))
            }
            4 => {
                let count = self.checked_count(&head, 1)?;
                let mut items = Vec::with_capacity(count);
                for _ in 0..count {
                    items.push(self.item(depth + 1)?);
                }
                Ok(Value::Array(items))
            }
            5 => self.map(&head, depth),
            6 => {
                if self.options.canonical {
                    return Err(DecodeError::TagNotAllowed {
                        offset: head.offset,
                        tag: head.arg,
                    });
                }
                let inner = self.item(depth + 1)?;
                Ok(Value::Tag(head.arg, Box::new(inner)))
            }
            _ => self.simple_or_float(&head),
        }
    }

    /// Checks an array or map count against the bytes left (each element
    /// takes at least one byte) before anything is allocated.
    fn checked_count(&self, head: &Head, bytes_per_entry: u64) -> Result<usize, DecodeError> {
        let available = self.remaining();
        match head.arg.checked_mul(bytes_per_entry) {
            Some(min_bytes) if min_bytes <= available as u64 => {
                usize::try_from(head.arg).map_err(|_| DecodeError::LengthTooLarge {
                    offset: head.offset,
                    declared: head.arg,
                    available,
                })
            }
            _ => Err(DecodeError::LengthTooLarge {
                offset: head.offset,
                declared: head.arg,
                available,
            }),
        }
    }

    fn map(&mut self, head: &Head, depth: usize) -> Result<Value, DecodeError> {
        let count = self.checked_count(head, 2)?;
        let mut entries = Vec::with_capacity(count);
        let mut previous_key: Option<&'a [u8]> = None;
        let mut seen: HashSet<&'a [u8]> = HashSet::new();
        for _ in 0..count {
            let key_start = self.pos;
            let key = self.item(depth + 1)?;
            let key_bytes = self.input.get(key_start..self.pos).unwrap_or_default();
            if self.options.canonical {
                if let Some(prev) = previous_key {
                    match canonical_key_order(prev, key_bytes) {
                        Ordering::Less => {}
                        Ordering::Equal => {
                            return Err(DecodeError::DuplicateMapKey { offset: key_start });
                        }
                        Ordering::Greater => {
                            return Err(DecodeError::MapKeysNotCanonical { offset: key_start });
                        }
                    }
                }
                previous_key = Some(key_bytes);
            } else if !seen.insert(key_bytes) {
                return Err(DecodeError::DuplicateMapKey { offset: key_start });
            }
            let value = self.item(depth + 1)?;
            entries.push((key, value));
        }
        Ok(Value::Map(entries))
    }

    fn simple_or_float(&mut self, head: &Head) -> Result<Value, DecodeError> {
        let float = match head.info {
            0..=19 => return Ok(Value::Simple(head.info)),
            20 => return Ok(Value::Bool(false)),
            21 => return Ok(Value::Bool(true)),
            22 => return Ok(Value::Null),
            23 => return Ok(Value::Undefined),
            24 => {
                // arg fits a u8: it came from one byte.
                let value = head.arg as u8;
                if value < 32 {
                    return Err(DecodeError::InvalidSimpleValue {
                        offset: head.offset,
                        value,
                    });
                }
                return Ok(Value::Simple(value));
            }
            25 => Float::Half(head.arg as u16),
            26 => Float::Single(head.arg as u32),
            _ => Float::Double(head.arg),
        };
        if self.options.canonical && !float.is_shortest() {
            return Err(DecodeError::NonCanonicalFloat {
                offset: head.offset,
            });
        }
        Ok(Value::Float(float))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(hex_str: &str) -> Result<Value, DecodeError> {
        from_slice(&hex::decode(hex_str).unwrap(), &DecodeOptions::CTAP2)
    }

    #[test]
    fn accepts_well_formed_ctap2() {
        assert_eq!(dec("00").unwrap(), Value::int(0));
        assert_eq!(dec("3903e7").unwrap(), Value::int(-1000));
        assert_eq!(dec("4401020304").unwrap(), Value::bytes(vec![1, 2, 3, 4]));
        assert_eq!(dec("6449455446").unwrap(), Value::text("IETF"));
        assert_eq!(
            dec("a201020304").unwrap(),
            Value::map([
                (Value::int(1), Value::int(2)),
                (Value::int(3), Value::int(4))
            ])
        );
        assert_eq!(dec("f90000").unwrap(), Value::Float(Float::Half(0)));
    }

    #[test]
    fn rejects_each_rule_with_its_own_error() {
        use DecodeError::*;
        assert!(matches!(dec(""), Err(UnexpectedEnd { offset: 0, .. })));
        assert!(matches!(
            dec("1817"),
            Err(NonMinimalHead {
                offset: 0,
                value: 23
            })
        ));
        assert!(matches!(dec("190017"), Err(NonMinimalHead { .. })));
        assert!(matches!(
            dec("1c"),
            Err(ReservedAdditionalInfo { info: 28, .. })
        ));
        assert!(matches!(
            dec("5f4101ff"),
            Err(IndefiniteLength { offset: 0 })
        ));
        assert!(matches!(dec("ff"), Err(IndefiniteLength { offset: 0 })));
        assert!(matches!(
            dec("0000"),
            Err(TrailingBytes {
                offset: 1,
                count: 1
            })
        ));
        assert!(matches!(dec("62c328"), Err(InvalidUtf8 { offset: 0 })));
        assert!(matches!(
            dec("a203040102"),
            Err(MapKeysNotCanonical { offset: 3 })
        ));
        assert!(matches!(
            dec("a201020102"),
            Err(DuplicateMapKey { offset: 3 })
        ));
        assert!(matches!(
            dec("c11a514b67b0"),
            Err(TagNotAllowed { tag: 1, .. })
        ));
        assert!(matches!(dec("fa3fc00000"), Err(NonCanonicalFloat { .. })));
        assert!(matches!(
            dec("f810"),
            Err(InvalidSimpleValue { value: 16, .. })
        ));
        assert!(matches!(
            dec("5bffffffffffffffff00"),
            Err(UnexpectedEnd { .. })
        ));
        assert!(matches!(
            dec("9bffffffffffffffff"),
            Err(LengthTooLarge { .. })
        ));
        assert!(matches!(dec("a3010203"), Err(LengthTooLarge { .. })));
    }

    #[test]
    fn non_canonical_mode_keeps_order_but_rejects_duplicates() {
        let opts = DecodeOptions::GENERAL;
        let v = from_slice(&hex::decode("a203040102").unwrap(), &opts).unwrap();
        assert_eq!(
            v,
            Value::map([
                (Value::int(3), Value::int(4)),
                (Value::int(1), Value::int(2))
            ])
        );
        assert!(matches!(
            from_slice(&hex::decode("a201020102").unwrap(), &opts),
            Err(DecodeError::DuplicateMapKey { offset: 3 })
        ));
        assert!(from_slice(&hex::decode("c11a514b67b0").unwrap(), &opts).is_ok());
    }

    #[test]
    fn limits_hold() {
        let deep = [vec![0x81u8; 40], vec![0x00]].concat();
        assert!(matches!(
            from_slice(&deep, &DecodeOptions::CTAP2),
            Err(DecodeError::DepthLimit { max: 12, .. })
        ));
        let opts = DecodeOptions {
            limits: Limits {
                max_items: 3,
                ..Limits::CTAP
            },
            canonical: true,
        };
        assert!(from_slice(&hex::decode("820102").unwrap(), &opts).is_ok());
        assert!(matches!(
            from_slice(&hex::decode("83010203").unwrap(), &opts),
            Err(DecodeError::ItemLimit { max: 3, .. })
        ));
        let long = vec![0u8; Limits::CTAP.max_input_len + 1];
        assert!(matches!(
            from_slice(&long, &DecodeOptions::CTAP2),
            Err(DecodeError::InputTooLong { .. })
        ));
    }

    #[test]
    fn prefix_reports_consumed_length() {
        let (v, used) =
            from_slice_prefix(&hex::decode("a10102ffff").unwrap(), &DecodeOptions::CTAP2).unwrap();
        assert_eq!(v, Value::map([(Value::int(1), Value::int(2))]));
        assert_eq!(used, 3);
    }
}
