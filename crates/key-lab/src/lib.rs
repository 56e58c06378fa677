//! The key lab: questions about a whole key, answered by running it.
//!
//! [`probe`] runs conformance checks against any FIDO2 key (CTAPHID
//! framing, CTAP2 commands, error codes, extensions, every advertised
//! algorithm verified by Keybench's relying-party core) and returns a
//! serialisable verdict per check, with the spec section it tests and, on
//! failure, the traffic that shows it.

#![forbid(unsafe_code)]

pub mod probe;
