//! The key lab: questions a tester asks of one plugged-in key, answered
//! by running it, with evidence, and handed on as a report.
//!
//! [`probe`] runs conformance checks against any FIDO2 key (CTAPHID
//! framing, CTAP2 commands, error codes, extensions, every advertised
//! algorithm verified by Keybench's relying-party core) and returns a
//! serialisable verdict per check, with the spec section it tests and, on
//! failure, the traffic that shows it. [`compare`] measures what each
//! algorithm costs on the key — time on the key, on the wire and in the
//! relying party's verification, bytes each way and the sizes of keys,
//! signatures and attestations — over the real transport. [`report`] puts
//! results together with the key's identity and the machine into one
//! self-contained HTML file (inline SVG charts, no scripts, no external
//! resources) and the same data as JSON; each question's result is one
//! section of it.

#![forbid(unsafe_code)]

pub mod compare;
pub mod probe;
pub mod report;
