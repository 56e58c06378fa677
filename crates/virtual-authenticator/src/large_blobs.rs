//! authenticatorLargeBlobs (CTAP 2.1 §6.10) on the virtual key: reads of the
//! serialized large-blob array by offset and length, and fragmented writes
//! into a pending buffer that replaces the stored array, atomically through
//! the state file, once it is complete and its truncated hash checks.
//!
//! The authenticator never looks inside the array: its entries are
//! encrypted by platforms with each credential's largeBlobKey.

use crate::authenticator::{Authenticator, CtapResult, sha256};
use fido_wire::ctap2::{
    LARGE_BLOB_HASH_LEN, LargeBlobsRequest, LargeBlobsResponse, Permissions, StatusCode,
    large_blob_write_message, max_fragment_length, split_serialized_large_blob_array,
};

/// maxSerializedLargeBlobArray: 32 KiB, room for several blobs of the size
/// an ML-DSA credential's companion data (certificates, keys) takes; at
/// least the 1,024 bytes §6.10 requires.
pub const MAX_SERIALIZED_LARGE_BLOB_ARRAY: usize = 32 * 1024;

/// A write in progress (§6.10.2: the pending buffer with expectedLength and
/// expectedNextOffset). Volatile: a power cycle drops it.
#[derive(Debug, Default)]
pub(crate) struct PendingWrite {
    buffer: Vec<u8>,
    expected_length: usize,
}

impl PendingWrite {
    fn expected_next_offset(&self) -> usize {
        self.buffer.len()
    }
}

/// A CBOR unsigned integer as a length or offset; one beyond every limit
/// here when it does not fit `usize`.
fn size(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

impl Authenticator {
    /// Processes one authenticatorLargeBlobs request (§6.10.2, steps in order).
    pub(crate) fn large_blobs(
        &mut self,
        req: &LargeBlobsRequest,
    ) -> CtapResult<Option<LargeBlobsResponse>> {
        // Step 1: offset is required.
        let offset = size(req.offset.ok_or(StatusCode::INVALID_PARAMETER)?);
        match (req.get, &req.set) {
            (Some(get), None) => self.large_blob_get(req, offset, size(get)).map(Some),
            (None, Some(fragment)) => self.large_blob_set(req, offset, fragment).map(|()| None),
            // Step 2: exactly one of get and set.
            _ => Err(StatusCode::INVALID_PARAMETER),
        }
    }

    fn large_blob_get(
        &self,
        req: &LargeBlobsRequest,
        offset: usize,
        get: usize,
    ) -> CtapResult<LargeBlobsResponse> {
        // Step 3.1: length belongs to writes.
        if req.length.is_some() {
            return Err(StatusCode::INVALID_PARAMETER);
        }
        // Step 3.2: reads are not authenticated.
        if req.pin_uv_auth_param.is_some() || req.protocol.is_some() {
            return Err(StatusCode::INVALID_PARAMETER);
        }
        // Step 3.3.
        if get > max_fragment_length(self.max_msg_size()) {
            return Err(StatusCode::INVALID_LENGTH);
        }
        // Step 3.4.
        let stored = &self.state.large_blob_array;
        let rest = stored.get(offset..).ok_or(StatusCode::INVALID_PARAMETER)?;
        // Step 3.5: up to `get` bytes from offset.
        let config = rest.get(..get.min(rest.len())).unwrap_or(rest).to_vec();
        Ok(LargeBlobsResponse {
            config: Some(config),
        })
    }

    fn large_blob_set(
        &mut self,
        req: &LargeBlobsRequest,
        offset: usize,
        fragment: &[u8],
    ) -> CtapResult<()> {
        // Step 4.1.
        if fragment.len() > max_fragment_length(self.max_msg_size()) {
            return Err(StatusCode::INVALID_LENGTH);
        }
        // Steps 4.2 and 4.3: the first fragment announces the length. The new
        // expectation takes effect only once the request is authenticated, so
        // an unauthenticated request cannot disturb a write in progress.
        let expected_length = if offset == 0 {
            let length = size(req.length.ok_or(StatusCode::INVALID_PARAMETER)?);
            if length > MAX_SERIALIZED_LARGE_BLOB_ARRAY {
                return Err(StatusCode::LARGE_BLOB_STORAGE_FULL);
            }
            if length < LARGE_BLOB_HASH_LEN + 1 {
                return Err(StatusCode::INVALID_PARAMETER);
            }
            length
        } else {
            if req.length.is_some() {
                return Err(StatusCode::INVALID_PARAMETER);
            }
            // Step 4.4: fragments come in order, after a first one.
            let pending = self
                .large_blob_write
                .as_ref()
                .ok_or(StatusCode::INVALID_SEQ)?;
            if offset != pending.expected_next_offset() {
                return Err(StatusCode::INVALID_SEQ);
            }
            pending.expected_length
        };
        // Step 4.5: with a PIN (or alwaysUv), a token with lbw.
        if self.state.pin.hash.is_some() || self.state.always_uv {
            let param = req
                .pin_uv_auth_param
                .as_ref()
                .ok_or(StatusCode::PUAT_REQUIRED)?;
            if req.protocol.is_none() {
                return Err(StatusCode::MISSING_PARAMETER);
            }
            // offset ≤ expectedLength ≤ 32 KiB here, so it fits 32 bits.
            let offset32 = u32::try_from(offset).map_err(|_| StatusCode::INVALID_PARAMETER)?;
            let message = large_blob_write_message(offset32, &sha256(fragment));
            self.pin.verify_token(
                req.protocol,
                &param.0,
                &message,
                Permissions::LARGE_BLOB_WRITE,
                None,
            )?;
        }
        // Step 4.6.
        if offset.saturating_add(fragment.len()) > expected_length {
            return Err(StatusCode::INVALID_PARAMETER);
        }
        // Steps 4.7 and 4.8: a first fragment starts a new buffer.
        let pending = if offset == 0 {
            self.large_blob_write.insert(PendingWrite {
                buffer: Vec::with_capacity(expected_length),
                expected_length,
            })
        } else {
            self.large_blob_write
                .as_mut()
                .ok_or(StatusCode::INVALID_SEQ)?
        };
        pending.buffer.extend_from_slice(fragment);
        if pending.buffer.len() < pending.expected_length {
            return Ok(());
        }
        // Step 4.9: complete; the hash must match before anything is kept.
        let complete = self
            .large_blob_write
            .take()
            .map(|p| p.buffer)
            .unwrap_or_default();
        let (array, hash) =
            split_serialized_large_blob_array(&complete).ok_or(StatusCode::INTEGRITY_FAILURE)?;
        if sha256(array).get(..LARGE_BLOB_HASH_LEN) != Some(hash) {
            return Err(StatusCode::INTEGRITY_FAILURE);
        }
        let before = std::mem::replace(&mut self.state.large_blob_array, complete);
        if let Err(e) = self.persist() {
            // Not written to the file: not written at all.
            self.state.large_blob_array = before;
            return Err(e);
        }
        Ok(())
    }
}
