//! The platform's side of authenticatorLargeBlobs (CTAP 2.1 §6.10): reading
//! the whole serialized large-blob array in fragments and checking its
//! hash, writing it in fragments each authenticated with a token holding
//! the largeBlobWrite permission, and one credential's blob in the array
//! (§6.10.3: AES-256-GCM under the credential's largeBlobKey, a 12-byte
//! nonce, associated data "blob" || uint64LE(origSize), the plaintext
//! compressed with raw DEFLATE).
//!
//! [`LargeBlobArray`] keeps every element it does not understand, as
//! §6.10.3 asks of platforms, so rewriting the array never drops another
//! credential's (or another platform's) data.

use crate::device::Device;
use crate::error::CtapError;
use crate::pin::PinToken;
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use ctaphid::Transaction;
use fido_wire::cbor::{self, DecodeOptions, Limits, Value};
use fido_wire::ctap2::{
    LARGE_BLOB_HASH_LEN, LargeBlobEntry, LargeBlobsRequest, LargeBlobsResponse, command,
    large_blob_write_message, max_fragment_length, split_serialized_large_blob_array,
};
use std::io::{Read as _, Write as _};

/// The largest blob (before compression) this client decompresses: a bound
/// on what a hostile entry's origSize can make it allocate.
pub const MAX_BLOB_SIZE: u64 = 1024 * 1024;

/// The largest serialized array this client reads from any key, whatever
/// its getInfo claims.
const MAX_ARRAY_READ: usize = 16 * 1024 * 1024;

/// Why a large-blob operation failed (beyond the key's own status codes).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LargeBlobError {
    /// The key does not offer authenticatorLargeBlobs.
    #[error("this key has no large-blob store (getInfo option largeBlobs)")]
    Unsupported,
    /// The serialized array is shorter than a hash and an empty array.
    #[error("the serialized large-blob array is {len} bytes, shorter than the 17 it must have")]
    TooShort {
        /// Its length.
        len: usize,
    },
    /// The truncated SHA-256 at the end does not match the array (§6.10.3).
    #[error("the large-blob array's hash does not match its contents")]
    HashMismatch,
    /// The array part is not a CBOR array.
    #[error("the large-blob array is not a CBOR array: {0}")]
    NotAnArray(String),
    /// The key sent more than it said it stores, or than this client reads.
    #[error("the key sent a large-blob array over {limit} bytes")]
    ReadTooLong {
        /// The limit.
        limit: usize,
    },
    /// The key answered a read with no config member.
    #[error("the key answered a large-blob read without its config member")]
    MissingConfig,
    /// The array to write is larger than the key stores.
    #[error("the large-blob array is {len} bytes; this key stores at most {max}")]
    TooLarge {
        /// The serialized length.
        len: usize,
        /// maxSerializedLargeBlobArray.
        max: usize,
    },
    /// An entry's plaintext is larger than this client accepts.
    #[error("a blob of {orig_size} bytes is over the {MAX_BLOB_SIZE}-byte limit")]
    BlobTooLarge {
        /// Its declared original size.
        orig_size: u64,
    },
    /// An entry decrypted but does not decompress to its declared size.
    #[error("a blob decrypted but does not inflate to its declared {orig_size} bytes")]
    BadCompression {
        /// Its declared original size.
        orig_size: u64,
    },
    /// The largeBlobKey is not 32 bytes.
    #[error("a largeBlobKey is 32 bytes, not {0}")]
    KeyLength(usize),
    /// Encryption or randomness failed.
    #[error("the blob could not be encrypted")]
    Crypto,
}

impl From<LargeBlobError> for CtapError {
    fn from(e: LargeBlobError) -> Self {
        CtapError::LargeBlob(e)
    }
}

fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, data).as_ref());
    out
}

/// Bounds for decoding a large-blob array: its size is already bounded by
/// the read, the depth and item count bound the work.
const ARRAY_LIMITS: DecodeOptions = DecodeOptions {
    limits: Limits {
        max_input_len: MAX_ARRAY_READ,
        max_depth: 16,
        max_items: 64 * 1024,
    },
    canonical: false,
};

/// The large-blob array: its elements in order, known entries or not.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LargeBlobArray {
    /// Every element, as decoded.
    pub elements: Vec<Value>,
}

/// A credential's largeBlobKey (CTAP 2.1 §12.3): a secret, so its bytes
/// never show in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct LargeBlobKey(zeroize::Zeroizing<Vec<u8>>);

impl LargeBlobKey {
    /// The key as the authenticator returned it.
    pub fn new(bytes: Vec<u8>) -> Self {
        LargeBlobKey(zeroize::Zeroizing::new(bytes))
    }

    /// Its bytes (for [`LargeBlobArray::read`] and friends).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for LargeBlobKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LargeBlobKey(<redacted>)")
    }
}

fn gcm_key(large_blob_key: &[u8]) -> Result<LessSafeKey, LargeBlobError> {
    if large_blob_key.len() != 32 {
        return Err(LargeBlobError::KeyLength(large_blob_key.len()));
    }
    UnboundKey::new(&AES_256_GCM, large_blob_key)
        .map(LessSafeKey::new)
        .map_err(|_| LargeBlobError::Crypto)
}

/// Decrypts `entry` with `key`: `Ok(None)` when it was not written with it.
fn open_entry(
    key: &LessSafeKey,
    entry: &LargeBlobEntry,
) -> Result<Option<Vec<u8>>, LargeBlobError> {
    let mut in_out = entry.ciphertext.clone();
    let ad = LargeBlobEntry::associated_data(entry.orig_size);
    let Ok(compressed) = key.open_in_place(
        Nonce::assume_unique_for_key(entry.nonce),
        Aad::from(ad),
        &mut in_out,
    ) else {
        return Ok(None);
    };
    if entry.orig_size > MAX_BLOB_SIZE {
        return Err(LargeBlobError::BlobTooLarge {
            orig_size: entry.orig_size,
        });
    }
    let bad = LargeBlobError::BadCompression {
        orig_size: entry.orig_size,
    };
    let mut plain = Vec::new();
    // One byte more than declared, to notice a blob that inflates further.
    flate2::read::DeflateDecoder::new(&compressed[..])
        .take(entry.orig_size.saturating_add(1))
        .read_to_end(&mut plain)
        .map_err(|_| bad)?;
    if plain.len() as u64 != entry.orig_size {
        return Err(LargeBlobError::BadCompression {
            orig_size: entry.orig_size,
        });
    }
    Ok(Some(plain))
}

impl LargeBlobArray {
    /// Parses a serialized array (§6.10.3): checks the truncated SHA-256
    /// over the CBOR array, then decodes the array under bounds.
    pub fn from_serialized(serialized: &[u8]) -> Result<Self, LargeBlobError> {
        let (array, hash) =
            split_serialized_large_blob_array(serialized).ok_or(LargeBlobError::TooShort {
                len: serialized.len(),
            })?;
        if sha256(array).get(..LARGE_BLOB_HASH_LEN) != Some(hash) {
            return Err(LargeBlobError::HashMismatch);
        }
        match cbor::from_slice(array, &ARRAY_LIMITS) {
            Ok(Value::Array(elements)) => Ok(LargeBlobArray { elements }),
            Ok(other) => Err(LargeBlobError::NotAnArray(format!("a {}", other.kind()))),
            Err(e) => Err(LargeBlobError::NotAnArray(e.to_string())),
        }
    }

    /// The CBOR array's bytes (what [`Device::large_blob_write`] takes).
    pub fn to_cbor(&self) -> Vec<u8> {
        cbor::to_vec(&Value::Array(self.elements.clone()))
    }

    /// The serialized form: the CBOR array and LEFT(SHA-256(array), 16).
    pub fn to_serialized(&self) -> Vec<u8> {
        serialize(&self.to_cbor())
    }

    /// Element `index` decrypted with `large_blob_key`: `Ok(None)` when it
    /// is not a large-blob entry or was not written with that key.
    pub fn read_at(
        &self,
        index: usize,
        large_blob_key: &[u8],
    ) -> Result<Option<Vec<u8>>, LargeBlobError> {
        let key = gcm_key(large_blob_key)?;
        match self
            .elements
            .get(index)
            .and_then(LargeBlobEntry::from_value)
        {
            Some(entry) => open_entry(&key, &entry),
            None => Ok(None),
        }
    }

    /// The blob written with `large_blob_key` (the first entry it
    /// decrypts), if any.
    pub fn read(&self, large_blob_key: &[u8]) -> Result<Option<Vec<u8>>, LargeBlobError> {
        let key = gcm_key(large_blob_key)?;
        for entry in self.elements.iter().filter_map(LargeBlobEntry::from_value) {
            if let Some(plain) = open_entry(&key, &entry)? {
                return Ok(Some(plain));
            }
        }
        Ok(None)
    }

    /// Removes every entry written with `large_blob_key`; returns how many.
    pub fn delete(&mut self, large_blob_key: &[u8]) -> Result<usize, LargeBlobError> {
        let key = gcm_key(large_blob_key)?;
        let before = self.elements.len();
        let mut kept = Vec::with_capacity(before);
        for element in std::mem::take(&mut self.elements) {
            let mine = match LargeBlobEntry::from_value(&element) {
                // An entry that decrypts but is malformed inside is still ours.
                Some(entry) => !matches!(open_entry(&key, &entry), Ok(None)),
                None => false,
            };
            if !mine {
                kept.push(element);
            }
        }
        self.elements = kept;
        Ok(before - self.elements.len())
    }

    /// Stores `blob` for `large_blob_key`: compressed, encrypted with a
    /// fresh random nonce, replacing whatever that key had written.
    pub fn write(&mut self, large_blob_key: &[u8], blob: &[u8]) -> Result<(), LargeBlobError> {
        let orig_size = blob.len() as u64;
        if orig_size > MAX_BLOB_SIZE {
            return Err(LargeBlobError::BlobTooLarge { orig_size });
        }
        let key = gcm_key(large_blob_key)?;
        self.delete(large_blob_key)?;
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        encoder
            .write_all(blob)
            .map_err(|_| LargeBlobError::Crypto)?;
        let mut in_out = encoder.finish().map_err(|_| LargeBlobError::Crypto)?;
        let mut nonce = [0u8; 12];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| LargeBlobError::Crypto)?;
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(LargeBlobEntry::associated_data(orig_size)),
            &mut in_out,
        )
        .map_err(|_| LargeBlobError::Crypto)?;
        self.elements.push(
            LargeBlobEntry {
                ciphertext: in_out,
                nonce,
                orig_size,
            }
            .to_value(),
        );
        Ok(())
    }
}

/// A CBOR array's bytes followed by their truncated SHA-256.
fn serialize(array: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(array.len() + LARGE_BLOB_HASH_LEN);
    out.extend_from_slice(array);
    out.extend_from_slice(sha256(array).get(..LARGE_BLOB_HASH_LEN).unwrap_or_default());
    out
}

impl Device {
    fn large_blob_limits(&self) -> Result<(usize, usize), CtapError> {
        if self.info().option("largeBlobs") != Some(true) {
            return Err(LargeBlobError::Unsupported.into());
        }
        let fragment = max_fragment_length(
            usize::try_from(self.info().effective_max_msg_size()).unwrap_or(usize::MAX),
        );
        let max = self
            .info()
            .max_serialized_large_blob_array
            .map_or(usize::MAX, |m| usize::try_from(m).unwrap_or(usize::MAX))
            .min(MAX_ARRAY_READ);
        Ok((fragment, max))
    }

    /// Reads the serialized large-blob array, fragment by fragment
    /// (maxMsgSize − 64 bytes each, §6.10.2), and checks its hash.
    pub fn large_blob_read_serialized(&mut self) -> Result<Vec<u8>, CtapError> {
        let (fragment, max) = self.large_blob_limits()?;
        // A fragment that leaves room for the response's own CBOR framing.
        let fragment = fragment.max(1);
        let mut serialized = Vec::new();
        loop {
            let req = LargeBlobsRequest::get(serialized.len() as u64, fragment as u64);
            let tx = Transaction::with_timeout(self.timeout);
            let body = self.call(command::LARGE_BLOBS, Some(&req.to_value()), tx)?;
            let response =
                LargeBlobsResponse::from_value(&body.unwrap_or(Value::Null)).map_err(|source| {
                    CtapError::Response {
                        command: "authenticatorLargeBlobs",
                        source,
                    }
                })?;
            let part = response.config.ok_or(LargeBlobError::MissingConfig)?;
            if part.len() > fragment || serialized.len() + part.len() > max {
                return Err(LargeBlobError::ReadTooLong { limit: max }.into());
            }
            let last = part.len() < fragment;
            serialized.extend_from_slice(&part);
            if last {
                break;
            }
        }
        LargeBlobArray::from_serialized(&serialized)?;
        Ok(serialized)
    }

    /// Reads and decodes the large-blob array.
    pub fn large_blob_read(&mut self) -> Result<LargeBlobArray, CtapError> {
        let serialized = self.large_blob_read_serialized()?;
        Ok(LargeBlobArray::from_serialized(&serialized)?)
    }

    /// Replaces the key's large-blob array with `array_bytes` (a CBOR
    /// array, e.g. [`LargeBlobArray::to_cbor`]): appends its truncated
    /// hash and writes it in fragments, each with a pinUvAuthParam from
    /// `token` (which needs the largeBlobWrite permission) when given. A
    /// key with neither a PIN nor alwaysUv takes writes without a token.
    pub fn large_blob_write(
        &mut self,
        token: Option<&PinToken>,
        array_bytes: &[u8],
    ) -> Result<(), CtapError> {
        let (fragment, max) = self.large_blob_limits()?;
        let serialized = serialize(array_bytes);
        if serialized.len() > max {
            return Err(LargeBlobError::TooLarge {
                len: serialized.len(),
                max,
            }
            .into());
        }
        let mut offset = 0usize;
        for part in serialized.chunks(fragment.max(1)) {
            let length = (offset == 0).then_some(serialized.len() as u64);
            let mut req = LargeBlobsRequest::set(offset as u64, part.to_vec(), length);
            if let Some(token) = token {
                let offset32 = u32::try_from(offset).map_err(|_| LargeBlobError::TooLarge {
                    len: serialized.len(),
                    max,
                })?;
                let message = large_blob_write_message(offset32, &sha256(part));
                req.pin_uv_auth_param = Some(token.authenticate(&message));
                req.protocol = Some(token.protocol().id());
            }
            let tx = Transaction::with_timeout(self.timeout);
            self.call(command::LARGE_BLOBS, Some(&req.to_value()), tx)?;
            offset += part.len();
        }
        Ok(())
    }

    /// Writes `array` (see [`Device::large_blob_write`]).
    pub fn large_blob_write_array(
        &mut self,
        token: Option<&PinToken>,
        array: &LargeBlobArray,
    ) -> Result<(), CtapError> {
        self.large_blob_write(token, &array.to_cbor())
    }
}
