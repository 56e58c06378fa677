//! Decoy credential lists: `authenticate/begin` for a user name that has no
//! account answers with credential ids derived from the name under a
//! server-wide key, so the answer looks like a real user's and is the same
//! on every request (a list that changed per request, or was empty, would
//! tell who has an account). The key is created once in storage, so the
//! decoys stay the same across restarts and across servers sharing a
//! bucket.

use crate::error::ApiError;
use aws_lc_rs::hmac;
use session_store::{Created, ItemName, Kind, OwnerId, Scope, Storage};
use std::sync::OnceLock;

/// Where the decoy key lives: outside every session and account scope, so
/// cleanup and account listings never see it.
fn key_location() -> Result<(Scope, ItemName), ApiError> {
    let scope = Scope::new(
        Kind::new("server").map_err(ApiError::internal)?,
        OwnerId::new("relying-party").map_err(ApiError::internal)?,
    );
    Ok((
        scope,
        ItemName::new("decoy-key").map_err(ApiError::internal)?,
    ))
}

/// The server-wide decoy key, read or created once.
#[derive(Default)]
pub struct DecoyKey(OnceLock<hmac::Key>);

impl std::fmt::Debug for DecoyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DecoyKey(<redacted>)")
    }
}

impl DecoyKey {
    fn key(&self, store: &dyn Storage) -> Result<&hmac::Key, ApiError> {
        if let Some(k) = self.0.get() {
            return Ok(k);
        }
        let (scope, item) = key_location()?;
        let mut fresh = [0u8; 32];
        aws_lc_rs::rand::fill(&mut fresh).map_err(|_| ApiError::internal("no randomness"))?;
        // Of concurrent creators (threads or servers) one wins; all use its key.
        let bytes = match store.create(&scope, &item, &fresh)? {
            Created::Created => fresh.to_vec(),
            _ => store
                .get(&scope, &item)?
                .filter(|b| b.len() == 32)
                .ok_or_else(|| {
                    ApiError::internal("the stored decoy key is missing or malformed")
                })?,
        };
        Ok(self
            .0
            .get_or_init(|| hmac::Key::new(hmac::HMAC_SHA256, &bytes)))
    }

    /// The decoy credential ids for `canonical_username`: one or two ids of
    /// 32, 48 or 64 bytes, the same every time for the same name.
    pub fn credential_ids(
        &self,
        store: &dyn Storage,
        canonical_username: &str,
    ) -> Result<Vec<Vec<u8>>, ApiError> {
        let key = self.key(store)?;
        let shape = hmac::sign(key, &[b"shape\0", canonical_username.as_bytes()].concat());
        let shape = shape.as_ref();
        let count = 1 + usize::from(shape.first().copied().unwrap_or(0) % 2);
        let len = 32 + 16 * usize::from(shape.get(1).copied().unwrap_or(0) % 3);
        Ok((0..count)
            .map(|i| {
                let mut id = Vec::with_capacity(len);
                let mut block = 0u8;
                while id.len() < len {
                    let tag = hmac::sign(
                        key,
                        &[
                            b"id\0".as_slice(),
                            &[i as u8, block],
                            canonical_username.as_bytes(),
                        ]
                        .concat(),
                    );
                    id.extend_from_slice(tag.as_ref());
                    block = block.wrapping_add(1);
                }
                id.truncate(len);
                id
            })
            .collect())
    }
}
