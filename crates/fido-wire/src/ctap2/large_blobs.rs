//! authenticatorLargeBlobs (CTAP 2.1 §6.10): the request and response maps,
//! the message a write's pinUvAuthParam covers, and the entries of the
//! serialized large-blob array (§6.10.3), from one definition for both ends.
//!
//! Hashing and encryption live with the callers (this crate has no crypto):
//! the functions here take the SHA-256 values they need.

use super::fields::{Ctap2Error, MapReader, bytes, int_map};
use super::requests::PinUvAuthParam;
use crate::cbor::Value;

/// The serialized large-blob array of a fresh key (§6.10.2): the empty
/// CBOR array 0x80 followed by LEFT(SHA-256(0x80), 16).
pub const INITIAL_LARGE_BLOB_ARRAY: [u8; 17] = [
    0x80, 0x76, 0xbe, 0x8b, 0x52, 0x8d, 0x00, 0x75, 0xf7, 0xaa, 0xe9, 0x8d, 0x6f, 0xa5, 0x7a, 0x6d,
    0x3c,
];

/// Length of the truncated SHA-256 that ends a serialized large-blob array.
pub const LARGE_BLOB_HASH_LEN: usize = 16;

/// The smallest maxSerializedLargeBlobArray an authenticator may report (§6.10).
pub const MIN_SERIALIZED_LARGE_BLOB_ARRAY: usize = 1024;

/// What fragments may be at most: maxMsgSize − 64 (§6.10, maxFragmentLength).
pub fn max_fragment_length(max_msg_size: usize) -> usize {
    max_msg_size.saturating_sub(64)
}

/// authenticatorLargeBlobs parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LargeBlobsRequest {
    /// 0x01 get: how many bytes to read.
    pub get: Option<u64>,
    /// 0x02 set: a fragment to write.
    pub set: Option<Vec<u8>>,
    /// 0x03 offset (required by the spec; absent is refused by the
    /// authenticator with INVALID_PARAMETER, §6.10.2 step 1, so it is kept
    /// optional here).
    pub offset: Option<u64>,
    /// 0x04 length: the whole serialized array's length, with the first fragment.
    pub length: Option<u64>,
    /// 0x05 pinUvAuthParam.
    pub pin_uv_auth_param: Option<PinUvAuthParam>,
    /// 0x06 pinUvAuthProtocol.
    pub protocol: Option<u64>,
}

impl LargeBlobsRequest {
    /// A read of `get` bytes at `offset`.
    pub fn get(offset: u64, get: u64) -> Self {
        LargeBlobsRequest {
            get: Some(get),
            offset: Some(offset),
            ..LargeBlobsRequest::default()
        }
    }

    /// A write of `fragment` at `offset`; `length` is the whole array's
    /// length and goes with the first fragment (offset 0) only.
    pub fn set(offset: u64, fragment: Vec<u8>, length: Option<u64>) -> Self {
        LargeBlobsRequest {
            set: Some(fragment),
            offset: Some(offset),
            length,
            ..LargeBlobsRequest::default()
        }
    }

    /// Decodes the request map (an authenticator's side).
    pub fn from_value(value: &Value) -> Result<Self, Ctap2Error> {
        let m = MapReader::new("authenticatorLargeBlobs request", value)?;
        let uint = "an unsigned integer";
        Ok(LargeBlobsRequest {
            get: m.opt(0x01, "get", uint, Value::as_u64)?,
            set: m.opt(0x02, "set", "a byte string", bytes)?,
            offset: m.opt(0x03, "offset", uint, Value::as_u64)?,
            length: m.opt(0x04, "length", uint, Value::as_u64)?,
            pin_uv_auth_param: m
                .opt(0x05, "pinUvAuthParam", "a byte string", bytes)?
                .map(PinUvAuthParam),
            protocol: m.opt(0x06, "pinUvAuthProtocol", uint, Value::as_u64)?,
        })
    }

    /// Encodes the request map (a client's side).
    pub fn to_value(&self) -> Value {
        int_map(
            vec![
                (0x01, self.get.map(Value::int)),
                (0x02, self.set.clone().map(Value::bytes)),
                (0x03, self.offset.map(Value::int)),
                (0x04, self.length.map(Value::int)),
                (
                    0x05,
                    self.pin_uv_auth_param
                        .as_ref()
                        .map(|p| Value::bytes(p.0.clone())),
                ),
                (0x06, self.protocol.map(Value::int)),
            ],
            &[],
        )
    }
}

/// What a write's pinUvAuthParam authenticates (§6.10.2 step "verify"):
/// 32×0xff || 0x0c 0x00 || uint32LittleEndian(offset) || SHA-256(fragment).
pub fn large_blob_write_message(offset: u32, fragment_sha256: &[u8; 32]) -> Vec<u8> {
    let mut m = Vec::with_capacity(32 + 2 + 4 + 32);
    m.extend_from_slice(&[0xff; 32]);
    m.extend_from_slice(&[super::command::LARGE_BLOBS, 0x00]);
    m.extend_from_slice(&offset.to_le_bytes());
    m.extend_from_slice(fragment_sha256);
    m
}

/// authenticatorLargeBlobs response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LargeBlobsResponse {
    /// 0x01 config: the bytes read (get only).
    pub config: Option<Vec<u8>>,
}

impl LargeBlobsResponse {
    /// Decodes the response map (a client's side).
    pub fn from_value(value: &Value) -> Result<Self, Ctap2Error> {
        let m = MapReader::new("authenticatorLargeBlobs response", value)?;
        Ok(LargeBlobsResponse {
            config: m.opt(0x01, "config", "a byte string", bytes)?,
        })
    }

    /// Encodes the response map (an authenticator's side).
    pub fn to_value(&self) -> Value {
        int_map(vec![(0x01, self.config.clone().map(Value::bytes))], &[])
    }
}

/// One entry of the large-blob array (§6.10.3): a blob encrypted with one
/// credential's largeBlobKey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LargeBlobEntry {
    /// 0x01 ciphertext: AES-256-GCM output, the 16-byte tag included.
    pub ciphertext: Vec<u8>,
    /// 0x02 nonce: 12 bytes.
    pub nonce: [u8; 12],
    /// 0x03 origSize: the length of the blob before compression.
    pub orig_size: u64,
}

impl LargeBlobEntry {
    /// Reads an entry; `None` for an array element that is not one. Such
    /// elements are not errors: §6.10.3 has platforms skip (and keep) them.
    pub fn from_value(value: &Value) -> Option<Self> {
        let ciphertext = value.get_int(0x01)?.as_bytes()?;
        // A tag is 16 bytes: anything shorter cannot be an entry.
        if ciphertext.len() < 16 {
            return None;
        }
        Some(LargeBlobEntry {
            ciphertext: ciphertext.to_vec(),
            nonce: value.get_int(0x02)?.as_bytes()?.try_into().ok()?,
            orig_size: value.get_int(0x03)?.as_u64()?,
        })
    }

    /// Encodes the entry map.
    pub fn to_value(&self) -> Value {
        int_map(
            vec![
                (0x01, Some(Value::bytes(self.ciphertext.clone()))),
                (0x02, Some(Value::bytes(self.nonce.to_vec()))),
                (0x03, Some(Value::int(self.orig_size))),
            ],
            &[],
        )
    }

    /// The associated data its encryption binds (§6.10.3):
    /// "blob" || uint64LittleEndian(origSize).
    pub fn associated_data(orig_size: u64) -> [u8; 12] {
        let mut ad = [0u8; 12];
        let (tag, size) = ad.split_at_mut(4);
        tag.copy_from_slice(b"blob");
        size.copy_from_slice(&orig_size.to_le_bytes());
        ad
    }
}

/// Splits a serialized large-blob array into its CBOR array bytes and its
/// 16-byte truncated hash; `None` when it is shorter than the hash plus the
/// smallest CBOR array.
pub fn split_serialized_large_blob_array(serialized: &[u8]) -> Option<(&[u8], &[u8])> {
    if serialized.len() < LARGE_BLOB_HASH_LEN + 1 {
        return None;
    }
    Some(serialized.split_at(serialized.len() - LARGE_BLOB_HASH_LEN))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::cbor::{self, DecodeOptions};

    #[test]
    fn request_round_trips() {
        let mut req = LargeBlobsRequest::set(0, vec![1, 2, 3], Some(20));
        req.protocol = Some(2);
        req.pin_uv_auth_param = Some(PinUvAuthParam(vec![9; 32]));
        let bytes = cbor::to_canonical_vec(&req.to_value());
        let back = LargeBlobsRequest::from_value(
            &cbor::from_slice(&bytes, &DecodeOptions::CTAP2).unwrap(),
        )
        .unwrap();
        assert_eq!(back, req);
        let get = LargeBlobsRequest::get(5, 100);
        assert_eq!(LargeBlobsRequest::from_value(&get.to_value()).unwrap(), get);
    }

    /// CTAP 2.1 §6.10.2: the message a write's pinUvAuthParam covers.
    #[test]
    fn write_message_layout() {
        let m = large_blob_write_message(0x0102_0304, &[0xab; 32]);
        assert_eq!(&m[..32], &[0xff; 32]);
        assert_eq!(&m[32..38], &[0x0c, 0x00, 0x04, 0x03, 0x02, 0x01]);
        assert_eq!(&m[38..], &[0xab; 32]);
    }

    /// CTAP 2.1 §6.10.3: entries are maps {1: ciphertext, 2: nonce, 3: origSize};
    /// anything else is skipped.
    #[test]
    fn entries_and_what_is_not_one() {
        let e = LargeBlobEntry {
            ciphertext: vec![7; 20],
            nonce: [1; 12],
            orig_size: 3,
        };
        assert_eq!(LargeBlobEntry::from_value(&e.to_value()), Some(e));
        assert_eq!(LargeBlobEntry::from_value(&Value::int(1)), None);
        let short_nonce = Value::map([
            (Value::int(1), Value::bytes(vec![0; 20])),
            (Value::int(2), Value::bytes(vec![0; 11])),
            (Value::int(3), Value::int(1)),
        ]);
        assert_eq!(LargeBlobEntry::from_value(&short_nonce), None);
        assert_eq!(
            &LargeBlobEntry::associated_data(0x0102),
            b"blob\x02\x01\0\0\0\0\0\0"
        );
    }

    #[test]
    fn split_needs_the_hash_and_an_array_byte() {
        let (array, hash) = split_serialized_large_blob_array(&INITIAL_LARGE_BLOB_ARRAY).unwrap();
        assert_eq!(array, &[0x80]);
        assert_eq!(hash.len(), 16);
        assert!(split_serialized_large_blob_array(&[0; 16]).is_none());
    }
}
