//! The verification core: WebAuthn L3 §7.1 (registration) and §7.2
//! (authentication), every step, each returning its own
//! [`CeremonyError`](crate::CeremonyError) variant.
//!
//! These functions take every decision as an explicit input
//! ([`CeremonyContext`], the expectations of the ceremony, the response).
//! Most callers want [`crate::RelyingParty`], which fills them in from a
//! strict configuration.

mod authentication;
mod client_data;
mod extensions;
mod registration;
pub mod steps;

pub use authentication::{
    AuthenticationExpectations, AuthenticationOutcome, AuthenticationResponse, CounterCheck,
    verify_authentication, verify_authentication_observed,
};
pub use extensions::{ExtensionStatus, ExtensionVerdict};
pub use registration::{
    RegistrationExpectations, RegistrationOutcome, RegistrationResponse, verify_registration,
    verify_registration_observed,
};

use crate::attestation::TrustStore;
use crate::policy::{CeremonyPolicy, RpConfig};
use crate::x509::UnixTime;

/// Everything about the relying party a ceremony is checked against.
#[derive(Debug, Clone, Copy)]
pub struct CeremonyContext<'a> {
    /// RP ID and origins.
    pub rp: &'a RpConfig,
    /// Policy values.
    pub policy: CeremonyPolicy,
    /// Attestation trust anchors.
    pub trust: &'a TrustStore,
    /// The time certificates are checked at.
    pub now: UnixTime,
}

/// SHA-256.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data).as_ref());
    out
}
