//! The Keybench relying-party core: WebAuthn Level 3 registration (§7.1)
//! and authentication (§7.2), classical and ML-DSA signatures, attestation
//! formats and trust, FIDO MDS3 metadata, and a decoder for users.
//!
//! No HTTP and no storage here: the server wraps this crate, the session
//! engine hands in the bound challenge, and a storage backend keeps
//! [`CredentialRecord`]s.
//!
//! Start with [`RelyingParty`]: it offers only safe choices, and every
//! relaxation is an explicit [`policy`] value. [`ceremony`] is the
//! verification core underneath, following the specification step by step
//! with one [`CeremonyError`] variant per rule; use it directly only when a
//! decision has to be made per ceremony.

#![forbid(unsafe_code)]

pub mod attestation;
pub mod ceremony;
pub mod credential;
pub mod date;
pub mod decoder;
mod error;
pub mod mds;
pub mod policy;
pub mod report;
mod rp;
pub mod verifier;
pub mod x509;

pub use attestation::{TrustOutcome, TrustStore};
pub use ceremony::{AuthenticationOutcome, CounterCheck, RegistrationOutcome};
pub use credential::{Credential, CredentialRecord, RecordError};
pub use error::CeremonyError;
pub use policy::{
    AttestationPolicy, BackupEligibilityPolicy, CeremonyPolicy, CounterPolicy, CrossOriginPolicy,
    RpConfig, TpmSha1Policy, UserVerification,
};
pub use rp::RelyingParty;
pub use verifier::{KeyError, PublicKeyVerifier, SignatureError};
