//! The key lab: questions a tester asks of one plugged-in key, answered
//! with evidence and handed on as a report.
//!
//! [`compare`] measures what each algorithm costs on the key — time on the
//! key, on the wire and in the relying party's verification, bytes each way
//! and the sizes of keys, signatures and attestations — over the real
//! transport, with Keybench's own WebAuthn client and relying-party core.
//! [`report`] puts results together with the key's identity and the machine
//! into one self-contained HTML file (inline SVG charts, no scripts, no
//! external resources) and the same data as JSON; each question's result is
//! one section of it.

#![forbid(unsafe_code)]

pub mod compare;
pub mod report;
