//! The CBOR data model: one [`Value`] per data item, keeping what the wire said.
//!
//! Map entries stay in the order they were decoded (or built) so that a value
//! re-encodes byte for byte; [`crate::cbor::to_canonical_vec`] sorts them when
//! CTAP2 canonical output is wanted. Floats keep their encoded width for the
//! same reason.

use std::fmt;

/// A CBOR integer (major types 0 and 1): every value in `-2^64 ..= 2^64 - 1`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Int(i128);

impl Int {
    /// The smallest CBOR integer, `-2^64`.
    pub const MIN: i128 = -(1i128 << 64);
    /// The largest CBOR integer, `2^64 - 1`.
    pub const MAX: i128 = u64::MAX as i128;

    /// The integer as an `i128` (always in range).
    pub const fn get(self) -> i128 {
        self.0
    }

    /// The integer as an `i64`, if it fits.
    pub fn to_i64(self) -> Option<i64> {
        i64::try_from(self.0).ok()
    }

    /// The integer as a `u64`, if it fits.
    pub fn to_u64(self) -> Option<u64> {
        u64::try_from(self.0).ok()
    }

    /// CBOR major type (0 unsigned, 1 negative) and head argument.
    pub(crate) fn major_and_argument(self) -> (u8, u64) {
        if self.0 >= 0 {
            // In range by construction: 0 ..= u64::MAX.
            (0, self.0 as u64)
        } else {
            // -1 - n, with n in 0 ..= u64::MAX by construction.
            (1, (-1 - self.0) as u64)
        }
    }

    pub(crate) fn from_negative_argument(n: u64) -> Self {
        Int(-1 - i128::from(n))
    }
}

impl From<i64> for Int {
    fn from(v: i64) -> Self {
        Int(i128::from(v))
    }
}

impl From<i32> for Int {
    fn from(v: i32) -> Self {
        Int(i128::from(v))
    }
}

impl From<u64> for Int {
    fn from(v: u64) -> Self {
        Int(i128::from(v))
    }
}

impl From<u32> for Int {
    fn from(v: u32) -> Self {
        Int(i128::from(v))
    }
}

impl From<u8> for Int {
    fn from(v: u8) -> Self {
        Int(i128::from(v))
    }
}

impl From<usize> for Int {
    fn from(v: usize) -> Self {
        Int(v as i128)
    }
}

/// An `i128` outside the CBOR integer range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0} is outside the CBOR integer range -2^64 ..= 2^64-1")]
pub struct IntOutOfRange(pub i128);

impl TryFrom<i128> for Int {
    type Error = IntOutOfRange;
    fn try_from(v: i128) -> Result<Self, Self::Error> {
        if (Int::MIN..=Int::MAX).contains(&v) {
            Ok(Int(v))
        } else {
            Err(IntOutOfRange(v))
        }
    }
}

impl fmt::Debug for Int {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for Int {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A CBOR float, stored as the bits of the width it was encoded with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Float {
    /// IEEE 754 binary16.
    Half(u16),
    /// IEEE 754 binary32.
    Single(u32),
    /// IEEE 754 binary64.
    Double(u64),
}

impl Float {
    /// The value as an `f64` (exact for every width).
    pub fn to_f64(self) -> f64 {
        match self {
            Float::Half(bits) => half_to_f64(bits),
            Float::Single(bits) => f64::from(f32::from_bits(bits)),
            Float::Double(bits) => f64::from_bits(bits),
        }
    }

    /// Whether this is the shortest width that holds the value exactly, as
    /// CTAP2 canonical CBOR requires.
    pub fn is_shortest(self) -> bool {
        match self {
            Float::Half(_) => true,
            Float::Single(bits) => !f32_fits_half(f32::from_bits(bits)),
            Float::Double(bits) => {
                let v = f64::from_bits(bits);
                if v.is_nan() {
                    return false; // NaN always fits a half
                }
                let narrowed = v as f32;
                f64::from(narrowed) != v
            }
        }
    }
}

fn half_to_f64(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((bits >> 10) & 0x1f);
    let mant = f64::from(bits & 0x3ff);
    match exp {
        0 => sign * mant * 2f64.powi(-24),
        31 if mant == 0.0 => sign * f64::INFINITY,
        31 => f64::NAN,
        _ => sign * (1.0 + mant / 1024.0) * 2f64.powi(exp - 15),
    }
}

/// Whether an `f32` is exactly representable as a binary16.
fn f32_fits_half(x: f32) -> bool {
    if !x.is_finite() || x == 0.0 {
        return true;
    }
    let bits = x.to_bits();
    let raw_exp = ((bits >> 23) & 0xff) as i32;
    if raw_exp == 0 {
        return false; // f32 subnormals are far below the half range
    }
    let exp = raw_exp - 127;
    let mant = bits & 0x7f_ffff;
    if !(-24..=15).contains(&exp) {
        return false;
    }
    if exp >= -14 {
        // Normal half: 10 mantissa bits survive, the low 13 must be zero.
        return mant & 0x1fff == 0;
    }
    // Subnormal half: value = m * 2^-24 with m = (1.mant) * 2^(exp + 24).
    let full = (1u32 << 23) | mant;
    let shift = (-(exp + 1)) as u32; // 14 ..= 23
    full & ((1u32 << shift) - 1) == 0
}

/// One CBOR data item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    /// Major types 0 and 1.
    Integer(Int),
    /// Major type 2.
    Bytes(Vec<u8>),
    /// Major type 3.
    Text(String),
    /// Major type 4.
    Array(Vec<Value>),
    /// Major type 5, entries in wire order.
    Map(Vec<(Value, Value)>),
    /// Major type 6 (never present in CTAP2 canonical CBOR).
    Tag(u64, Box<Value>),
    /// Simple values 20 and 21.
    Bool(bool),
    /// Simple value 22.
    Null,
    /// Simple value 23.
    Undefined,
    /// Any other simple value (0..=19, 32..=255).
    Simple(u8),
    /// Major type 7 floats.
    Float(Float),
}

impl Value {
    /// An integer value.
    pub fn int(v: impl Into<Int>) -> Value {
        Value::Integer(v.into())
    }

    /// A text value.
    pub fn text(v: impl Into<String>) -> Value {
        Value::Text(v.into())
    }

    /// A byte-string value.
    pub fn bytes(v: impl Into<Vec<u8>>) -> Value {
        Value::Bytes(v.into())
    }

    /// A map from `(key, value)` pairs, in the order given.
    pub fn map(entries: impl IntoIterator<Item = (Value, Value)>) -> Value {
        Value::Map(entries.into_iter().collect())
    }

    /// The integer, if this is one and it fits an `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Integer(i) => i.to_i64(),
            _ => None,
        }
    }

    /// The integer, if this is one and it fits a `u64`.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Integer(i) => i.to_u64(),
            _ => None,
        }
    }

    /// The bytes, if this is a byte string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The text, if this is a text string.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The items, if this is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The entries, if this is a map.
    pub fn as_map(&self) -> Option<&[(Value, Value)]> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The value under `key`, if this is a map holding it.
    pub fn get(&self, key: &Value) -> Option<&Value> {
        self.as_map()?
            .iter()
            .find_map(|(k, v)| (k == key).then_some(v))
    }

    /// The value under the integer key `key`, if this is a map holding it.
    pub fn get_int(&self, key: i64) -> Option<&Value> {
        self.as_map()?
            .iter()
            .find_map(|(k, v)| (k.as_i64() == Some(key)).then_some(v))
    }

    /// The value under the text key `key`, if this is a map holding it.
    pub fn get_text(&self, key: &str) -> Option<&Value> {
        self.as_map()?
            .iter()
            .find_map(|(k, v)| (k.as_text() == Some(key)).then_some(v))
    }

    /// A short name of the item's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Integer(_) => "integer",
            Value::Bytes(_) => "byte string",
            Value::Text(_) => "text string",
            Value::Array(_) => "array",
            Value::Map(_) => "map",
            Value::Tag(..) => "tag",
            Value::Bool(_) => "boolean",
            Value::Null => "null",
            Value::Undefined => "undefined",
            Value::Simple(_) => "simple value",
            Value::Float(_) => "float",
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::int(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::text(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_range_is_enforced() {
        assert!(Int::try_from(Int::MIN).is_ok());
        assert!(Int::try_from(Int::MAX).is_ok());
        assert_eq!(
            Int::try_from(Int::MIN - 1),
            Err(IntOutOfRange(Int::MIN - 1))
        );
        assert_eq!(
            Int::try_from(Int::MAX + 1),
            Err(IntOutOfRange(Int::MAX + 1))
        );
    }

    #[test]
    fn half_floats_decode() {
        // RFC 8949 Appendix A examples.
        assert_eq!(Float::Half(0x3c00).to_f64(), 1.0);
        assert_eq!(Float::Half(0x3e00).to_f64(), 1.5);
        assert_eq!(Float::Half(0x7bff).to_f64(), 65504.0);
        assert_eq!(Float::Half(0x0001).to_f64(), 5.960464477539063e-8);
        assert_eq!(Float::Half(0x0400).to_f64(), 0.00006103515625);
        assert_eq!(Float::Half(0xc400).to_f64(), -4.0);
        assert_eq!(Float::Half(0x7c00).to_f64(), f64::INFINITY);
        assert!(Float::Half(0x7e00).to_f64().is_nan());
    }

    #[test]
    fn shortest_float_rule() {
        assert!(!Float::Single(1.5f32.to_bits()).is_shortest());
        assert!(!Float::Single(5.960_464_5e-8_f32.to_bits()).is_shortest());
        assert!(Float::Single(100000.0f32.to_bits()).is_shortest());
        assert!(Float::Single(1.1f32.to_bits()).is_shortest());
        assert!(!Float::Double(1.5f64.to_bits()).is_shortest());
        assert!(Float::Double(1.1f64.to_bits()).is_shortest());
        assert!(!Float::Double(f64::NAN.to_bits()).is_shortest());
    }
}
