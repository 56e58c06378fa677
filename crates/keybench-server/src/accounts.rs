//! User accounts and their credentials, kept in the one storage abstraction
//! (`session_store::Storage`) that also holds sessions: an account scope per
//! user (profile and credential records), and two indexes made with the
//! store's atomic create — credential id → account (so an id can be
//! registered once, across users and processes) and user handle → account
//! (for discoverable logins).
//!
//! Names in storage are hashes (base64url SHA-256), so user names and
//! credential ids of any content never reach a file name. A public key sent
//! by a client is never stored: records come only from verified
//! registrations.

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use relying_party::credential::{Credential, CredentialRecord, RecordError};
use serde::{Deserialize, Serialize};
use session_store::{
    BatchRefusal, BatchWrite, Created, ItemName, Kind, OwnerId, Scope, Storage, StoreError, Swapped,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    /// Storage failed.
    #[error("account storage: {0}")]
    Storage(#[from] StoreError),
    /// A stored record does not parse.
    #[error("a stored account record is corrupt: {0}")]
    Corrupt(String),
    /// The credential id is registered already (to this or another user).
    #[error("this credential is already registered")]
    CredentialTaken,
    /// The user name is not acceptable.
    #[error("user names are 1 to 64 characters without control characters")]
    InvalidUsername,
    /// A stored key does not decode.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// The credential changed since it was read (a concurrent login, or a
    /// cloned key used twice at once); nothing was written.
    #[error("the credential changed while this request used it")]
    Conflict,
    /// The credential was deleted since it was read; it is not re-created.
    #[error("the credential was deleted while this request used it")]
    CredentialDeleted,
}

/// An account's profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// The user name as typed.
    pub username: String,
    /// The display name.
    pub display_name: String,
    /// The WebAuthn user handle (64 random bits or more; never the name).
    pub user_handle: String,
    /// Created, ms since epoch.
    pub created_ms: u64,
}

/// A stored credential: the verified record plus what the UI shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredCredential {
    /// The verified record.
    pub record: CredentialRecord,
    /// Registered, ms since epoch.
    pub created_ms: u64,
    /// The attestation object as received (base64url), for the decoder.
    pub attestation_object: String,
    /// Whether the registration was user-verified.
    pub user_verified: bool,
}

fn hash_b64(domain: &str, data: &[u8]) -> String {
    let d = digest(&SHA256, &[domain.as_bytes(), &[0], data].concat());
    URL_SAFE_NO_PAD.encode(d.as_ref())
}

fn kind(name: &str) -> Result<Kind, StoreError> {
    Ok(Kind::new(name)?)
}

fn item(name: &str) -> Result<ItemName, StoreError> {
    Ok(ItemName::new(name)?)
}

const PROFILE: &str = "profile";
const INDEX_ITEM: &str = "account";

/// Characters that render as nothing (Unicode's Default_Ignorable_Code_Point:
/// zero-width spaces and joiners, direction marks, variation selectors,
/// the BOM, tags …): a name holding one looks like another account's name.
fn is_default_ignorable(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x034F
            | 0x061C
            | 0x115F..=0x1160
            | 0x17B4..=0x17B5
            | 0x180B..=0x180F
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x206F
            | 0x3164
            | 0xFE00..=0xFE0F
            | 0xFEFF
            | 0xFFA0
            | 0xFFF0..=0xFFF8
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0000..=0xE0FFF
    )
}

/// Credentials with their public keys decoded, per credential id; a stored
/// record whose key differs is decoded afresh ([`Credential::with_record`]
/// refuses it), so a changed key is never served stale.
type KeyCache = HashMap<Vec<u8>, Credential>;

/// Keys kept at most; the cache starts over when full (a server with more
/// active credentials than this decodes some keys again, nothing worse).
const KEY_CACHE_CAPACITY: usize = 10_000;

/// A stored credential's update, checked and ready to be written: swapped
/// from the exact bytes read.
#[derive(Debug)]
pub struct CredentialUpdate {
    scope: Scope,
    name: ItemName,
    current: Vec<u8>,
    value: Vec<u8>,
}

impl CredentialUpdate {
    /// The write, for a [`session_store::Storage::commit_batch`].
    pub fn write(&self) -> BatchWrite<'_> {
        BatchWrite::Swap {
            scope: &self.scope,
            item: &self.name,
            expected: &self.current,
            value: &self.value,
        }
    }

    /// What a refusal of the write means for the account.
    pub fn refused(&self, why: BatchRefusal) -> AccountError {
        match why {
            BatchRefusal::Missing | BatchRefusal::ScopeGone => AccountError::CredentialDeleted,
            BatchRefusal::Changed | BatchRefusal::Exists => AccountError::Conflict,
        }
    }
}

/// Accounts over a storage backend.
#[derive(Debug, Clone)]
pub struct Accounts {
    store: Arc<dyn Storage>,
    keys: Arc<Mutex<KeyCache>>,
}

impl Accounts {
    /// Accounts kept in `store`.
    pub fn new(store: Arc<dyn Storage>) -> Self {
        Accounts {
            store,
            keys: Arc::default(),
        }
    }

    /// User names are case-insensitive: this is the form indexes hold.
    pub fn canonical(username: &str) -> String {
        username.trim().to_lowercase()
    }

    fn account_scope(username: &str) -> Result<Scope, StoreError> {
        let normalized = Self::canonical(username);
        Ok(Scope::new(
            Kind::accounts(),
            OwnerId::new(&hash_b64("account", normalized.as_bytes()))?,
        ))
    }

    fn credential_index(id: &[u8]) -> Result<Scope, StoreError> {
        Ok(Scope::new(
            kind("credential-index")?,
            OwnerId::new(&hash_b64("credential", id))?,
        ))
    }

    fn handle_index(handle: &[u8]) -> Result<Scope, StoreError> {
        Ok(Scope::new(
            kind("handle-index")?,
            OwnerId::new(&hash_b64("handle", handle))?,
        ))
    }

    fn credential_item(id: &[u8]) -> Result<ItemName, StoreError> {
        item(&format!("cred-{}", hash_b64("credential", id)))
    }

    /// Checks a user name.
    pub fn validate_username(username: &str) -> Result<(), AccountError> {
        let trimmed = username.trim();
        let chars = trimmed.chars().count();
        if chars == 0
            || chars > 64
            || trimmed
                .chars()
                .any(|c| c.is_control() || is_default_ignorable(c))
        {
            return Err(AccountError::InvalidUsername);
        }
        Ok(())
    }

    /// The account's profile, if it exists.
    pub fn profile(&self, username: &str) -> Result<Option<Profile>, AccountError> {
        let scope = Self::account_scope(username)?;
        match self.store.get(&scope, &item(PROFILE)?)? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| AccountError::Corrupt(e.to_string())),
        }
    }

    /// The account's profile, created (with a fresh 32-byte user handle) when
    /// it does not exist yet.
    pub fn profile_or_create(
        &self,
        username: &str,
        display_name: &str,
        now_ms: u64,
    ) -> Result<Profile, AccountError> {
        let mut handle = [0u8; 32];
        aws_lc_rs::rand::fill(&mut handle)
            .map_err(|_| AccountError::Corrupt("no randomness".into()))?;
        self.profile_or_create_with_handle(
            username,
            display_name,
            &URL_SAFE_NO_PAD.encode(handle),
            now_ms,
        )
    }

    /// The account's profile, created with the given user handle (base64url)
    /// when it does not exist yet: registration picks the handle at begin and
    /// creates the account only once a credential verified.
    pub fn profile_or_create_with_handle(
        &self,
        username: &str,
        display_name: &str,
        user_handle: &str,
        now_ms: u64,
    ) -> Result<Profile, AccountError> {
        Self::validate_username(username)?;
        if let Some(p) = self.profile(username)? {
            return Ok(p);
        }
        let handle = URL_SAFE_NO_PAD
            .decode(user_handle)
            .map_err(|e| AccountError::Corrupt(e.to_string()))?;
        let profile = Profile {
            username: username.trim().to_owned(),
            display_name: display_name.to_owned(),
            user_handle: user_handle.to_owned(),
            created_ms: now_ms,
        };
        let bytes =
            serde_json::to_vec(&profile).map_err(|e| AccountError::Corrupt(e.to_string()))?;
        if self
            .store
            .create(&Self::account_scope(username)?, &item(PROFILE)?, &bytes)?
            == Created::AlreadyExists
        {
            return self
                .profile(username)?
                .ok_or_else(|| AccountError::Corrupt("profile vanished".into()));
        }
        let _ = self.store.create(
            &Self::handle_index(&handle)?,
            &item(INDEX_ITEM)?,
            Self::canonical(username).as_bytes(),
        )?;
        Ok(profile)
    }

    /// The user name owning a user handle (discoverable login).
    pub fn username_for_handle(&self, handle: &[u8]) -> Result<Option<String>, AccountError> {
        Ok(self
            .store
            .get(&Self::handle_index(handle)?, &item(INDEX_ITEM)?)?
            .and_then(|b| String::from_utf8(b).ok()))
    }

    /// Whether a credential id is registered to anyone.
    pub fn is_registered(&self, id: &[u8]) -> Result<bool, AccountError> {
        Ok(self
            .store
            .get(&Self::credential_index(id)?, &item(INDEX_ITEM)?)?
            .is_some())
    }

    /// Stores a verified credential under `username`. The id is claimed
    /// atomically first, so the same credential cannot be registered twice.
    pub fn add_credential(
        &self,
        username: &str,
        credential: &StoredCredential,
    ) -> Result<(), AccountError> {
        let id = &credential.record.id.0;
        let claimed = self.store.create(
            &Self::credential_index(id)?,
            &item(INDEX_ITEM)?,
            Self::canonical(username).as_bytes(),
        )?;
        if claimed == Created::AlreadyExists {
            return Err(AccountError::CredentialTaken);
        }
        let bytes =
            serde_json::to_vec(credential).map_err(|e| AccountError::Corrupt(e.to_string()))?;
        self.store.put(
            &Self::account_scope(username)?,
            &Self::credential_item(id)?,
            &bytes,
        )?;
        Ok(())
    }

    /// The user owning a credential id.
    pub fn owner_of(&self, id: &[u8]) -> Result<Option<String>, AccountError> {
        Ok(self
            .store
            .get(&Self::credential_index(id)?, &item(INDEX_ITEM)?)?
            .and_then(|b| String::from_utf8(b).ok()))
    }

    /// One of `username`'s credentials.
    pub fn credential(
        &self,
        username: &str,
        id: &[u8],
    ) -> Result<Option<StoredCredential>, AccountError> {
        match self
            .store
            .get(&Self::account_scope(username)?, &Self::credential_item(id)?)?
        {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| AccountError::Corrupt(e.to_string())),
        }
    }

    /// The credential, ready for verification: its public key is decoded on
    /// first use and kept, so later authentications do not decode it again.
    pub fn verifying_credential(
        &self,
        username: &str,
        id: &[u8],
    ) -> Result<Option<(Credential, StoredCredential)>, AccountError> {
        let Some(stored) = self.credential(username, id)? else {
            return Ok(None);
        };
        let cached = self
            .keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .and_then(|known| known.with_record(stored.record.clone()));
        let credential = match cached {
            Some(credential) => credential,
            None => {
                let credential = Credential::from_record(stored.record.clone())?;
                let mut keys = self
                    .keys
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if keys.len() >= KEY_CACHE_CAPACITY {
                    keys.clear();
                }
                keys.insert(id.to_vec(), credential.clone());
                credential
            }
        };
        Ok(Some((credential, stored)))
    }

    /// Replaces a stored credential after an authentication (counter,
    /// flags), only if it is still exactly `read`, the value this request
    /// loaded: of two logins from the same read (a cloned key used twice at
    /// once) only one wins, the other gets [`AccountError::Conflict`]; a
    /// credential deleted meanwhile gets [`AccountError::CredentialDeleted`]
    /// and stays deleted.
    pub fn update_credential(
        &self,
        username: &str,
        read: &StoredCredential,
        updated: &StoredCredential,
    ) -> Result<(), AccountError> {
        let update = self.prepare_update(username, read, updated)?;
        match self.store.compare_and_swap(
            &update.scope,
            &update.name,
            &update.current,
            &update.value,
        )? {
            Swapped::Swapped => Ok(()),
            Swapped::Changed => Err(update.refused(BatchRefusal::Changed)),
            Swapped::Missing => Err(update.refused(BatchRefusal::Missing)),
        }
    }

    /// [`Accounts::update_credential`]'s checks, and its write as a batch
    /// carries it (a sign-in commits it with the challenge's consumption
    /// and the session's rotation).
    pub fn prepare_update(
        &self,
        username: &str,
        read: &StoredCredential,
        updated: &StoredCredential,
    ) -> Result<CredentialUpdate, AccountError> {
        if read.record.id != updated.record.id {
            return Err(AccountError::Conflict);
        }
        let scope = Self::account_scope(username)?;
        let name = Self::credential_item(&updated.record.id.0)?;
        // Compared as records, swapped on the stored bytes, so a stored
        // encoding that differs from ours still matches what was read.
        let Some(current) = self.store.get(&scope, &name)? else {
            return Err(AccountError::CredentialDeleted);
        };
        let stored: StoredCredential =
            serde_json::from_slice(&current).map_err(|e| AccountError::Corrupt(e.to_string()))?;
        if stored != *read {
            return Err(AccountError::Conflict);
        }
        let value =
            serde_json::to_vec(updated).map_err(|e| AccountError::Corrupt(e.to_string()))?;
        Ok(CredentialUpdate {
            scope,
            name,
            current,
            value,
        })
    }

    /// Every credential of `username`, oldest first.
    pub fn credentials(&self, username: &str) -> Result<Vec<StoredCredential>, AccountError> {
        let scope = Self::account_scope(username)?;
        let mut out = Vec::new();
        for meta in self.store.list(&scope)? {
            if !meta.name.as_str().starts_with("cred-") {
                continue;
            }
            if let Some(bytes) = self.store.get(&scope, &meta.name)? {
                out.push(
                    serde_json::from_slice::<StoredCredential>(&bytes)
                        .map_err(|e| AccountError::Corrupt(e.to_string()))?,
                );
            }
        }
        out.sort_by_key(|c| c.created_ms);
        Ok(out)
    }

    /// Deletes one of `username`'s credentials; `false` when it is not theirs.
    pub fn delete_credential(&self, username: &str, id: &[u8]) -> Result<bool, AccountError> {
        if self.owner_of(id)? != Some(Self::canonical(username)) {
            return Ok(false);
        }
        self.store
            .delete(&Self::account_scope(username)?, &Self::credential_item(id)?)?;
        self.store
            .delete(&Self::credential_index(id)?, &item(INDEX_ITEM)?)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn invisible_characters_make_no_look_alike_names() {
        for name in [
            "alice\u{200B}",
            "al\u{200D}ice",
            "\u{FEFF}alice",
            "alice\u{FE0F}",
            "ali\u{00AD}ce",
            "alice\u{E0061}",
        ] {
            assert!(
                matches!(
                    Accounts::validate_username(name),
                    Err(AccountError::InvalidUsername)
                ),
                "{name:?}"
            );
        }
        for name in ["alice", "Ålice Øster", "名前", "alice.o'neil-2"] {
            assert!(Accounts::validate_username(name).is_ok(), "{name:?}");
        }
    }

    use super::*;
    use fido_wire::cose::CoseAlgorithm;
    use relying_party::TrustOutcome;

    fn stored(public_key_hex: &str, algorithm: CoseAlgorithm) -> StoredCredential {
        StoredCredential {
            record: CredentialRecord {
                id: vec![7u8; 32].into(),
                public_key: hex::decode(public_key_hex).unwrap().into(),
                algorithm,
                sign_count: 0,
                uv_initialized: false,
                transports: vec![],
                backup_eligible: false,
                backup_state: false,
                rp_id: "example.org".into(),
                user_handle: vec![1u8; 16].into(),
                aaguid: vec![0u8; 16].into(),
                attestation_format: "none".into(),
                attestation_trust: TrustOutcome::NoAttestation,
            },
            created_ms: 0,
            attestation_object: String::new(),
            user_verified: false,
        }
    }

    #[test]
    fn a_credential_key_is_decoded_once_and_again_only_when_it_changes() {
        // ES256 and Ed25519 keys from the WebAuthn L3 test vectors.
        const ES256: &str = "a5010203262001215820afefa16f97ca9b2d23eb86ccb64098d20db90856062eb249c33a9b672f26df61225820930a56b87a2fca66334b03458abf879717c12cc68ed73290af2e2664796b9220";
        const ED25519: &str =
            "a401010327200621582044e06ddd331c36a8dc667bab52bcae63486c916aa5e339e6acebaa84934bf832";
        let dir = tempfile::tempdir().unwrap();
        let accounts = Accounts::new(Arc::new(
            session_store::EmbeddedStore::open(dir.path()).unwrap(),
        ));
        let id = vec![7u8; 32];
        accounts
            .add_credential("alice", &stored(ES256, CoseAlgorithm::ES256))
            .unwrap();
        let (first, _) = accounts
            .verifying_credential("alice", &id)
            .unwrap()
            .unwrap();
        let (second, mut record) = accounts
            .verifying_credential("alice", &id)
            .unwrap()
            .unwrap();
        assert!(std::ptr::eq(first.verifier(), second.verifier()));
        // The counter changes every authentication; the key stays decoded.
        let read = record.clone();
        record.record.sign_count = 5;
        accounts.update_credential("alice", &read, &record).unwrap();
        let (third, _) = accounts
            .verifying_credential("alice", &id)
            .unwrap()
            .unwrap();
        assert!(std::ptr::eq(first.verifier(), third.verifier()));
        assert_eq!(third.record().sign_count, 5);
        // Another key under the same id is decoded afresh, never served stale.
        accounts
            .update_credential("alice", &record, &stored(ED25519, CoseAlgorithm::EDDSA))
            .unwrap();
        let (fourth, _) = accounts
            .verifying_credential("alice", &id)
            .unwrap()
            .unwrap();
        assert!(!std::ptr::eq(first.verifier(), fourth.verifier()));
        assert_eq!(fourth.verifier().algorithm(), CoseAlgorithm::EDDSA);
    }

    /// Two logins from one read (a cloned key): the second update is refused
    /// and the first one's counter stays.
    #[test]
    fn two_updates_from_the_same_read_the_second_conflicts() {
        const ES256: &str = "a5010203262001215820afefa16f97ca9b2d23eb86ccb64098d20db90856062eb249c33a9b672f26df61225820930a56b87a2fca66334b03458abf879717c12cc68ed73290af2e2664796b9220";
        let dir = tempfile::tempdir().unwrap();
        let accounts = Accounts::new(Arc::new(
            session_store::EmbeddedStore::open(dir.path()).unwrap(),
        ));
        let id = vec![7u8; 32];
        accounts
            .add_credential("alice", &stored(ES256, CoseAlgorithm::ES256))
            .unwrap();
        let read = accounts.credential("alice", &id).unwrap().unwrap();
        let (mut first, mut second) = (read.clone(), read.clone());
        first.record.sign_count = 10;
        second.record.sign_count = 11;
        accounts.update_credential("alice", &read, &first).unwrap();
        let err = accounts
            .update_credential("alice", &read, &second)
            .unwrap_err();
        assert!(matches!(err, AccountError::Conflict), "{err:?}");
        let now = accounts.credential("alice", &id).unwrap().unwrap();
        assert_eq!(now.record.sign_count, 10);
    }

    /// A login that read the credential before a delete does not bring it
    /// back.
    #[test]
    fn an_update_after_a_delete_fails_and_the_credential_stays_deleted() {
        const ES256: &str = "a5010203262001215820afefa16f97ca9b2d23eb86ccb64098d20db90856062eb249c33a9b672f26df61225820930a56b87a2fca66334b03458abf879717c12cc68ed73290af2e2664796b9220";
        let dir = tempfile::tempdir().unwrap();
        let accounts = Accounts::new(Arc::new(
            session_store::EmbeddedStore::open(dir.path()).unwrap(),
        ));
        let id = vec![7u8; 32];
        accounts
            .add_credential("alice", &stored(ES256, CoseAlgorithm::ES256))
            .unwrap();
        let read = accounts.credential("alice", &id).unwrap().unwrap();
        assert!(accounts.delete_credential("alice", &id).unwrap());
        let mut updated = read.clone();
        updated.record.sign_count = 1;
        let err = accounts
            .update_credential("alice", &read, &updated)
            .unwrap_err();
        assert!(matches!(err, AccountError::CredentialDeleted), "{err:?}");
        assert!(accounts.credential("alice", &id).unwrap().is_none());
        assert!(accounts.credentials("alice").unwrap().is_empty());
    }
}
