//! Wire formats shared by the Keybench CTAP client, the virtual authenticator
//! and the relying party: CTAP2 canonical CBOR, COSE keys and algorithms
//! (classical and ML-DSA), and the WebAuthn structures and JSON forms.
//!
//! Nothing here does I/O or cryptography; everything parses untrusted bytes
//! under hard limits and reports precise errors.

#![forbid(unsafe_code)]

pub mod cbor;
pub mod cose;
pub mod ctap2;
pub mod webauthn;
