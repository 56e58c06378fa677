//! CBOR for CTAP2 and COSE: the data model, strict bounded decoding, and
//! encoding as given or in CTAP2 canonical form.
//!
//! ```
//! use fido_wire::cbor::{self, DecodeOptions, Value};
//! let v = Value::map([(Value::int(3), Value::int(-7)), (Value::int(1), Value::int(2))]);
//! let bytes = cbor::to_canonical_vec(&v);
//! assert_eq!(bytes, [0xa2, 0x01, 0x02, 0x03, 0x26]);
//! assert!(cbor::from_slice(&bytes, &DecodeOptions::CTAP2).is_ok());
//! ```

mod decode;
mod diag;
mod encode;
mod value;

pub use decode::{DecodeError, DecodeOptions, Limits, from_slice, from_slice_prefix};
pub use encode::{canonical_key_order, to_canonical_vec, to_vec, write};
pub use value::{Float, Int, IntOutOfRange, Value};
