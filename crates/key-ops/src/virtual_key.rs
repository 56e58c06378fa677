//! The virtual key's settings as front ends offer them: presence policies
//! by name, the algorithms it may use, and the one CTAPHID identity it
//! answers INIT with. The CLI serves it on UDP or uhid, the desktop on a
//! loopback UDP port; both build it here.

use crate::error::KeyOpError;
use fido_wire::cose::CoseAlgorithm;
use std::sync::Arc;
use std::time::Duration;
use virtual_authenticator::{
    AttestationMode, Authenticator, Config, PresencePolicy, PresencePrompt, StateStore,
};

/// How the virtual user answers requests for a touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// Touch at once.
    Approve,
    /// Refuse every touch.
    Deny,
    /// Touch after two seconds (the client sees UP_NEEDED meanwhile).
    Delay,
    /// Ask the person in front of the app or terminal.
    Ask,
}

impl std::str::FromStr for Presence {
    type Err = KeyOpError;

    fn from_str(s: &str) -> Result<Presence, KeyOpError> {
        match s {
            "approve" => Ok(Presence::Approve),
            "deny" => Ok(Presence::Deny),
            "delay" => Ok(Presence::Delay),
            "ask" => Ok(Presence::Ask),
            other => Err(KeyOpError::BadPresence(other.to_owned())),
        }
    }
}

impl Presence {
    /// Its name, as the UI and `--presence` give it.
    pub fn name(self) -> &'static str {
        match self {
            Presence::Approve => "approve",
            Presence::Deny => "deny",
            Presence::Delay => "delay",
            Presence::Ask => "ask",
        }
    }

    /// The authenticator's policy; `ask` makes the prompt only when needed.
    pub fn policy(self, ask: impl FnOnce() -> Arc<dyn PresencePrompt>) -> PresencePolicy {
        match self {
            Presence::Approve => PresencePolicy::Approve,
            Presence::Deny => PresencePolicy::Deny,
            Presence::Delay => PresencePolicy::Delay(Duration::from_secs(2)),
            Presence::Ask => PresencePolicy::Ask(ask()),
        }
    }
}

/// What CTAPHID INIT reports for the virtual key: WINK, CBOR, no MSG.
pub const IDENTITY: ctaphid::DeviceIdentity = ctaphid::DeviceIdentity {
    version: (0, 1, 0),
    capabilities: ctaphid::client::capability::WINK
        | ctaphid::client::capability::CBOR
        | ctaphid::client::capability::NMSG,
};

/// A virtual key with these settings (every algorithm must be one it
/// supports, and there must be at least one).
pub fn build(
    algorithms: Vec<CoseAlgorithm>,
    presence: PresencePolicy,
    attestation: AttestationMode,
    state: StateStore,
) -> Result<Authenticator, KeyOpError> {
    build_with_enterprise_rp_ids(algorithms, presence, attestation, state, Vec::new())
}

/// [`build`], with the RP IDs vendor-facilitated enterprise attestation
/// serves (CTAP 2.1 §7.1.1); an empty list keeps the one the state holds.
pub fn build_with_enterprise_rp_ids(
    algorithms: Vec<CoseAlgorithm>,
    presence: PresencePolicy,
    attestation: AttestationMode,
    state: StateStore,
    enterprise_rp_ids: Vec<String>,
) -> Result<Authenticator, KeyOpError> {
    if algorithms.is_empty() {
        return Err(KeyOpError::NoAlgorithm);
    }
    if let Some(bad) = algorithms
        .iter()
        .find(|a| !virtual_authenticator::keys::SUPPORTED.contains(a))
    {
        return Err(KeyOpError::AlgorithmNotSupported(*bad));
    }
    Authenticator::new(Config {
        algorithms,
        presence,
        attestation,
        state,
        enterprise_rp_ids: (!enterprise_rp_ids.is_empty()).then_some(enterprise_rp_ids),
        ..Config::default()
    })
    .map_err(|e| KeyOpError::VirtualKey(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_names_round_trip() {
        for p in [
            Presence::Approve,
            Presence::Deny,
            Presence::Delay,
            Presence::Ask,
        ] {
            assert_eq!(p.name().parse::<Presence>().unwrap(), p);
        }
        assert_eq!(
            "maybe".parse::<Presence>().unwrap_err().code(),
            "bad_presence"
        );
    }

    #[test]
    fn a_virtual_key_needs_supported_algorithms() {
        let build_with = |algs| {
            build(
                algs,
                PresencePolicy::Approve,
                AttestationMode::None,
                StateStore::Memory,
            )
        };
        let code = |r: Result<Authenticator, KeyOpError>| r.err().map(|e| e.code());
        assert_eq!(code(build_with(vec![])).as_deref(), Some("bad_algorithm"));
        assert_eq!(
            code(build_with(vec![CoseAlgorithm(-999)])).as_deref(),
            Some("bad_algorithm")
        );
        assert!(build_with(vec![CoseAlgorithm(-49)]).is_ok());
    }
}
