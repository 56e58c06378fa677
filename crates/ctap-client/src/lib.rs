//! A CTAP 2.1 client for FIDO2 security keys, classical and post-quantum.
//!
//! [`Device`] is one key behind a [`Link`]: a CTAPHID channel (the `ctaphid`
//! crate, the same framing the virtual key answers with) over any report
//! transport — hidapi for USB keys (`hid`), UDP or in-process pipes for
//! virtual keys — or the FIDO applet of a smart card ([`nfc`], over PC/SC
//! readers with `pcsc`), so every command below works on every transport.
//! Modules: `device` (getInfo, makeCredential, getAssertion,
//! getNextAssertion, reset, selection, wink; maxMsgSize enforced before
//! sending), `pin` (clientPIN protocols 1 and 2, [`PinToken`]), `manage`
//! (credentialManagement, authenticatorConfig), `bio` (authenticatorBioEnrollment:
//! enrol, list, rename and remove fingers), `large_blobs`
//! (authenticatorLargeBlobs: fragmented reads and writes of the large-blob
//! array, and one credential's encrypted blob in it), [`webauthn`] (the WebAuthn
//! client role with extension mapping: credProtect, hmac-secret and prf,
//! credBlob, largeBlobKey, minPinLength, credProps, previewSign with its
//! typed inputs and outputs in [`preview_sign`]) and [`recorder`] (the
//! traffic recorder) with [`redact`] (which members of each message are
//! secret) and [`meter`] (what each exchange cost in reports, bytes and
//! time).
//!
//! Algorithm identifiers pass through unchanged; ML-DSA credential keys
//! (COSE AKP) parse like any other.

#![forbid(unsafe_code)]

mod bio;
mod device;
mod error;
#[cfg(feature = "hidapi")]
pub mod hid;
mod large_blobs;
pub mod link;
mod manage;
pub mod meter;
pub mod nfc;
#[cfg(feature = "pcsc")]
pub mod pcsc;
mod pin;
pub mod preview_sign;
pub mod recorder;
pub mod redact;
pub mod webauthn;

pub use bio::{Fingerprint, SampleReport, SensorInfo};
pub use device::{Device, command_name};
pub use error::CtapError;
pub use large_blobs::{LargeBlobArray, LargeBlobError, LargeBlobKey, MAX_BLOB_SIZE};
pub use link::{HidLink, Link, LinkInfo};
pub use manage::{CredentialsMetadata, StoredCredential};
pub use meter::ExchangeMetrics;
pub use pin::{PinRetries, PinToken};
pub use recorder::{Recorder, TrafficEvent};
