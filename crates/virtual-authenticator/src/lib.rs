//! A virtual FIDO2 security key: a software CTAP 2.1 authenticator with
//! ES256, EdDSA and ML-DSA-44/65/87 credentials.
//!
//! [`Authenticator`] processes CTAP2 requests; it implements
//! [`ctaphid::serve::RequestHandler`], so `ctaphid::serve::serve` runs it on
//! any report transport (in-process pipe, UDP, and on Linux /dev/uhid, where
//! it becomes a real HID security key) with the same CTAPHID framing
//! the Keybench client uses. [`keys`] owns key generation and signing.
//!
//! This slice keeps credentials in memory and offers no PIN yet; see the
//! virtual-key issue for what remains.

#![forbid(unsafe_code)]

mod authenticator;
pub mod keys;
#[cfg(target_os = "linux")]
pub mod uhid;

pub use authenticator::{AttestationMode, Authenticator, Config, PresencePolicy};
