//! A virtual FIDO2 security key: a software CTAP 2.1 authenticator with
//! ML-DSA-44/65/87, EdDSA, ECDSA (ES256, ES384, ES512, ES256K) and RSA
//! (RS256, PS256) credentials.
//!
//! [`Authenticator`] processes CTAP2 requests; it implements
//! [`ctaphid::serve::RequestHandler`], so `ctaphid::serve::serve` runs it on
//! any report transport (in-process pipe, UDP, and on Linux /dev/uhid, where
//! it becomes a real HID security key) with the same CTAPHID framing
//! the Keybench client uses; [`nfc`] serves it as a contactless FIDO card
//! on vsmartcard's virtual reader (`ctap_nfc`'s applet over PC/SC).
//!
//! Modules: [`keys`] (credential key pairs), `pin` (clientPIN and the
//! pinUvAuthToken), `extensions`, `sign_extension` (previewSign's signing
//! keys, with `arkg` for ARKG-P256), `cred_mgmt` (credentialManagement and
//! authenticatorConfig), `large_blobs` (authenticatorLargeBlobs), `bio` (the
//! virtual fingerprint sensor: bioEnrollment and built-in UV), [`attestation`] (the packed basic certificate
//! chain), [`enterprise`] (enterprise attestation), [`presence`] (the user-presence policy) and [`state`] (the
//! persistent state and its file). With the `fault-injection` feature (tests
//! only), a [`fault::Fault`] makes it break one chosen rule on purpose.

#![forbid(unsafe_code)]

pub mod arkg;
pub mod attestation;
mod authenticator;
pub mod bio;
mod cred_mgmt;
pub mod enterprise;
mod extensions;
pub mod fault;
pub mod keys;
mod large_blobs;
pub mod nfc;
mod pin;
pub mod presence;
mod sign_extension;
pub mod state;
#[cfg(target_os = "linux")]
pub mod uhid;

pub use authenticator::{AttestationMode, Authenticator, Config, OpenError, SharedAuthenticator};
pub use large_blobs::MAX_SERIALIZED_LARGE_BLOB_ARRAY;
pub use presence::{
    FingerprintRequest, PresencePolicy, PresencePrompt, PresenceRequest, PresenceResponder,
};
pub use state::{StateError, StateStore};
