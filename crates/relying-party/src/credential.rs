//! The credential record (WebAuthn L3 §4 "credential record"): what a
//! registration produces and an authentication checks against.
//!
//! [`CredentialRecord`] is the serialisable form a storage backend keeps
//! (the public key as the COSE bytes the authenticator sent, never a key the
//! client restates). [`Credential`] is a record with its public key decoded
//! once into a [`PublicKeyVerifier`], which is what authentication uses.
//! Storage itself is not here: the server keeps records in its accounts.

use crate::attestation::TrustOutcome;
use crate::verifier::{KeyError, PublicKeyVerifier};
use fido_wire::cose::CoseAlgorithm;
use fido_wire::webauthn::Base64UrlBytes;
use fido_wire::webauthn::json::AuthenticatorTransport;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// A credential record, ready to store (JSON via serde; binary members base64url).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialRecord {
    /// Credential ID.
    pub id: Base64UrlBytes,
    /// The credential public key, COSE_Key in CBOR exactly as the authenticator sent it.
    pub public_key: Base64UrlBytes,
    /// Its algorithm (also inside `public_key`; kept for listing without decoding).
    pub algorithm: CoseAlgorithm,
    /// The last signature counter seen.
    pub sign_count: u32,
    /// Whether the credential has ever been used with user verification.
    pub uv_initialized: bool,
    /// Transports reported at registration.
    #[serde(default)]
    pub transports: Vec<AuthenticatorTransport>,
    /// BE at registration.
    pub backup_eligible: bool,
    /// BS, as of the last ceremony.
    pub backup_state: bool,
    /// The RP ID the credential is scoped to.
    pub rp_id: String,
    /// The user handle of the account it belongs to.
    pub user_handle: Base64UrlBytes,
    /// The authenticator model's AAGUID.
    pub aaguid: Base64UrlBytes,
    /// Attestation statement format at registration.
    pub attestation_format: String,
    /// What the attestation established at registration.
    pub attestation_trust: TrustOutcome,
}

/// A credential record with its public key decoded, ready to verify assertions.
#[derive(Clone)]
pub struct Credential {
    record: CredentialRecord,
    // Shared: the accounts' key cache hands the same decoded key to every
    // authentication of this credential.
    verifier: Arc<PublicKeyVerifier>,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("id", &self.record.id)
            .field("algorithm", &self.record.algorithm)
            .field("sign_count", &self.record.sign_count)
            .finish_non_exhaustive()
    }
}

/// Why a stored record cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// Its public key does not decode.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Its `algorithm` is not the public key's.
    #[error("record says {record} but its public key is {key}")]
    AlgorithmMismatch {
        /// The record's `algorithm`.
        record: CoseAlgorithm,
        /// The key's `alg`.
        key: CoseAlgorithm,
    },
}

impl Credential {
    /// Decodes a stored record's public key (once; the result verifies any
    /// number of assertions).
    pub fn from_record(record: CredentialRecord) -> Result<Credential, RecordError> {
        let verifier = PublicKeyVerifier::from_cose_bytes(record.public_key.as_slice())?;
        if verifier.algorithm() != record.algorithm {
            return Err(RecordError::AlgorithmMismatch {
                record: record.algorithm,
                key: verifier.algorithm(),
            });
        }
        Ok(Credential {
            record,
            verifier: Arc::new(verifier),
        })
    }

    pub(crate) fn from_parts(record: CredentialRecord, verifier: PublicKeyVerifier) -> Credential {
        Credential {
            record,
            verifier: Arc::new(verifier),
        }
    }

    /// This credential's decoded key with a newer record of the same key
    /// (a changed counter or flags), so the key is not decoded again;
    /// `None` when the record holds another key or algorithm.
    pub fn with_record(&self, record: CredentialRecord) -> Option<Credential> {
        (record.public_key == self.record.public_key && record.algorithm == self.record.algorithm)
            .then(|| Credential {
                record,
                verifier: Arc::clone(&self.verifier),
            })
    }

    /// The record.
    pub fn record(&self) -> &CredentialRecord {
        &self.record
    }

    /// The decoded public key.
    pub fn verifier(&self) -> &PublicKeyVerifier {
        &self.verifier
    }

    /// The record, giving up the decoded key.
    pub fn into_record(self) -> CredentialRecord {
        self.record
    }

    /// Applies a successful authentication's updates (§7.2 step 24): the
    /// counter (never lowered), backup state, and uvInitialized once UV is seen.
    pub fn apply(&mut self, outcome: &crate::AuthenticationOutcome) {
        if outcome.sign_count > self.record.sign_count {
            self.record.sign_count = outcome.sign_count;
        }
        self.record.backup_state = outcome.backup_state;
        if !self.record.uv_initialized && outcome.user_verified {
            self.record.uv_initialized = true;
        }
    }
}
