//! Enterprise attestation (CTAP 2.1 §7.1): whether it is enabled (getInfo
//! `ep`), the RP IDs vendor-facilitated enterprise attestation serves, the
//! per-device attestation identity it signs with, and makeCredential's
//! decision on an `enterpriseAttestation` parameter (§6.1.2 step 9).
//!
//! The key is enterprise attestation capable: `ep` is present, false until
//! authenticatorConfig's enableEnterpriseAttestation (§6.11.1) turns it on,
//! and false again after a reset. The RP ID list is the vendor's ("burned
//! in"): a virtual-key setting, kept in the state file, unchanged by reset.

use crate::attestation::{AttestationError, AttestationIdentity};
use crate::authenticator::CtapResult;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use fido_wire::ctap2::StatusCode;

/// enterpriseAttestation = 1: vendor-facilitated.
pub const VENDOR_FACILITATED: u64 = 1;
/// enterpriseAttestation = 2: platform-managed.
pub const PLATFORM_MANAGED: u64 = 2;

/// Enterprise attestation's part of the persistent state.
#[derive(Debug, Default)]
pub struct EnterpriseState {
    /// getInfo's `ep`: enabled by enableEnterpriseAttestation, cleared by reset.
    pub enabled: bool,
    /// RP IDs that receive vendor-facilitated enterprise attestation.
    pub rp_ids: Vec<String>,
    /// The uniquely identifying attestation identity (a certificate naming
    /// this device's serial number), made when first enabled.
    pub identity: Option<AttestationIdentity>,
}

impl EnterpriseState {
    /// CTAP 2.1 §6.1.2 step 9: whether this registration returns an
    /// enterprise attestation. `requested` is the request's
    /// enterpriseAttestation parameter.
    pub(crate) fn decide(&self, requested: Option<u64>, rp_id: &str) -> CtapResult<bool> {
        let Some(value) = requested else {
            return Ok(false);
        };
        // Step 9.1: capable but disabled.
        if !self.enabled {
            return Err(StatusCode::INVALID_PARAMETER);
        }
        match value {
            // Step 9.3: vendor-facilitated only for the configured RP IDs;
            // other RPs get the ordinary attestation.
            VENDOR_FACILITATED => Ok(self.rp_ids.iter().any(|id| id == rp_id)),
            // Step 9.4: platform-managed: the platform vouches for the RP.
            PLATFORM_MANAGED => Ok(true),
            // Step 9.2: no other value is defined.
            _ => Err(StatusCode::INVALID_OPTION),
        }
    }

    /// §6.11.1 enableEnterpriseAttestation: `ep` becomes true; the first
    /// time, the device identity is made.
    pub(crate) fn enable(&mut self, aaguid: [u8; 16]) -> Result<(), AttestationError> {
        if self.identity.is_none() {
            self.identity = Some(AttestationIdentity::generate_for_device(
                aaguid,
                &new_serial()?,
            )?);
        }
        self.enabled = true;
        Ok(())
    }
}

/// A random 64-bit serial number in hex: what makes the certificate this
/// device's own.
fn new_serial() -> Result<String, AttestationError> {
    let mut bytes = [0u8; 8];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| AttestationError::Generate("no randomness for a serial number".into()))?;
    Ok(bytes.iter().map(|b| format!("{b:02X}")).collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn enabled(rp_ids: &[&str]) -> EnterpriseState {
        EnterpriseState {
            enabled: true,
            rp_ids: rp_ids.iter().map(|s| (*s).to_owned()).collect(),
            identity: None,
        }
    }

    #[test]
    fn step_9_decisions() {
        let off = EnterpriseState::default();
        // Absent: nothing asked, nothing refused, even while disabled.
        assert_eq!(off.decide(None, "corp.example"), Ok(false));
        // 9.1: disabled → INVALID_PARAMETER, whatever the value.
        assert_eq!(
            off.decide(Some(2), "corp.example"),
            Err(StatusCode::INVALID_PARAMETER)
        );
        let on = enabled(&["corp.example"]);
        // 9.2: values other than 1 and 2.
        assert_eq!(
            on.decide(Some(0), "corp.example"),
            Err(StatusCode::INVALID_OPTION)
        );
        assert_eq!(
            on.decide(Some(3), "corp.example"),
            Err(StatusCode::INVALID_OPTION)
        );
        // 9.3: vendor-facilitated for listed RP IDs only.
        assert_eq!(on.decide(Some(1), "corp.example"), Ok(true));
        assert_eq!(on.decide(Some(1), "other.example"), Ok(false));
        // 9.4: platform-managed for any RP.
        assert_eq!(on.decide(Some(2), "other.example"), Ok(true));
    }

    #[test]
    fn enabling_makes_one_identity_per_device() {
        let mut a = EnterpriseState::default();
        a.enable([1; 16]).unwrap();
        let first = a.identity.as_ref().unwrap().certificate.clone();
        a.enable([1; 16]).unwrap();
        assert_eq!(a.identity.as_ref().unwrap().certificate, first);
        let mut b = EnterpriseState::default();
        b.enable([1; 16]).unwrap();
        assert_ne!(b.identity.as_ref().unwrap().certificate, first);
    }
}
