//! One round for one algorithm: a registration and an authentication with
//! Keybench's WebAuthn client, each verified by the relying-party core, and
//! what each cost — the key's exchange as the transport metered it, the
//! verification time, and the sizes of what came back.

use crate::compare::Hooks;
use ctap_client::ExchangeMetrics;
use ctap_client::webauthn::{self, ClientContext};
use fido_wire::cose::CoseAlgorithm;
use fido_wire::ctap2::command;
use fido_wire::webauthn::AttestationObject;
use key_ops::KeyOpError;
use relying_party::{CeremonyError, CeremonyPolicy, RelyingParty, RpConfig, UserVerification};
use std::time::{Duration, Instant};

/// The RP ID the lab's credentials are made for, so they never mix with
/// a real relying party's.
pub const RP_ID: &str = "lab.keybench.test";
/// The origin the lab's client reports.
pub const ORIGIN: &str = "https://lab.keybench.test";
/// The user name of the lab's credentials.
const USER: &str = "keybench-lab";

/// What one ceremony cost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// The key's exchange (makeCredential or getAssertion).
    pub exchange: ExchangeMetrics,
    /// The relying-party core's verification of the response.
    pub rp_verify: Duration,
    /// Sizes of what came back.
    pub sizes: Sizes,
}

/// Sizes in bytes of one ceremony's outputs (`None`: the ceremony has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sizes {
    /// The credential public key as a COSE_Key (registration).
    pub public_key: Option<usize>,
    /// The signature: the attestation statement's (registration; none for
    /// fmt "none") or the assertion's.
    pub signature: Option<usize>,
    /// authenticatorData.
    pub authenticator_data: usize,
    /// The attestation object (registration).
    pub attestation_object: Option<usize>,
}

/// Why a round failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RoundError {
    /// The key or the client refused.
    #[error(transparent)]
    Key(#[from] KeyOpError),
    /// The relying-party core rejected the response.
    #[error("the relying party rejected the {ceremony}: {source}")]
    Rejected {
        /// "registration" or "authentication".
        ceremony: &'static str,
        /// The rule that failed.
        source: CeremonyError,
    },
    /// The response is not what the ceremony produces.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// The transport saw no complete exchange for the ceremony's command.
    #[error("no metered {0} exchange")]
    NotMetered(&'static str),
}

impl RoundError {
    /// A stable code: the key's own codes, `rp_<rule>` for a rejection.
    pub fn code(&self) -> String {
        match self {
            RoundError::Key(e) => e.code(),
            RoundError::Rejected { source, .. } => format!("rp_{}", source.code()),
            RoundError::Malformed(_) => "malformed_response".into(),
            RoundError::NotMetered(_) => "not_metered".into(),
        }
    }
}

/// The relying party judging `algorithm`'s credentials: strict but for
/// user verification (the lab measures presence-only ceremonies unless a
/// PIN is given) and attestation trust (reported, not required).
pub fn relying_party(algorithm: CoseAlgorithm) -> RelyingParty {
    RelyingParty::new(RpConfig::new(RP_ID, [ORIGIN]))
        .with_policy(CeremonyPolicy {
            user_verification: UserVerification::NotRequired,
            ..CeremonyPolicy::default()
        })
        .with_algorithms(&[algorithm])
}

fn metered(
    exchanges: Vec<ExchangeMetrics>,
    cmd: u8,
    what: &'static str,
) -> Result<ExchangeMetrics, RoundError> {
    exchanges
        .into_iter()
        .rev()
        .find(|e| e.command == cmd)
        .ok_or(RoundError::NotMetered(what))
}

fn signature_len(att_stmt: &fido_wire::cbor::Value) -> Option<usize> {
    att_stmt
        .get_text("sig")
        .and_then(fido_wire::cbor::Value::as_bytes)
        .map(<[u8]>::len)
}

/// Registers a credential for `algorithm` and authenticates with it once.
pub fn round(
    device: &mut ctap_client::Device,
    rp: &RelyingParty,
    algorithm: CoseAlgorithm,
    hooks: &mut Hooks<'_>,
) -> Result<(Sample, Sample), RoundError> {
    let mut ctx = ClientContext::new(ORIGIN);
    ctx.pin = hooks.pin;
    ctx.cancel = hooks.cancel;
    ctx.on_status = match hooks.on_status.as_mut() {
        Some(f) => Some(&mut **f),
        None => None,
    };

    let creation = key_ops::options::creation(RP_ID, USER, &[algorithm], false, "discouraged")?;
    device.take_exchanges();
    let registration = webauthn::register(device, &creation, &mut ctx).map_err(KeyOpError::from)?;
    let exchange = metered(
        device.take_exchanges(),
        command::MAKE_CREDENTIAL,
        "makeCredential",
    )?;
    let started = Instant::now();
    let registered = rp
        .finish_registration(
            &creation.challenge.0,
            &creation.user.id.0,
            &registration,
            &|_| false,
        )
        .map_err(|source| RoundError::Rejected {
            ceremony: "registration",
            source,
        })?;
    let rp_verify = started.elapsed();
    let attestation = registration.response.attestation_object.as_slice();
    let object = AttestationObject::from_cbor(attestation)
        .map_err(|_| RoundError::Malformed("attestation object"))?;
    let public_key = object
        .auth_data
        .attested_credential
        .as_ref()
        .map(|c| c.public_key_cbor.len())
        .ok_or(RoundError::Malformed("attested credential data"))?;
    let created = Sample {
        exchange,
        rp_verify,
        sizes: Sizes {
            public_key: Some(public_key),
            signature: signature_len(&object.att_stmt),
            authenticator_data: object.auth_data_bytes.len(),
            attestation_object: Some(attestation.len()),
        },
    };

    let request = key_ops::options::request(RP_ID, Some(&registration.id), "discouraged")?;
    let assertion = webauthn::authenticate(device, &request, &mut ctx).map_err(KeyOpError::from)?;
    let exchange = metered(
        device.take_exchanges(),
        command::GET_ASSERTION,
        "getAssertion",
    )?;
    let started = Instant::now();
    rp.finish_authentication(
        &request.challenge.0,
        // The user was identified before the ceremony (allowCredentials).
        Some(creation.user.id.0.as_slice()),
        &[registration.raw_id.as_slice()],
        &assertion,
        &registered.credential,
    )
    .map_err(|source| RoundError::Rejected {
        ceremony: "authentication",
        source,
    })?;
    let rp_verify = started.elapsed();
    let asserted = Sample {
        exchange,
        rp_verify,
        sizes: Sizes {
            public_key: None,
            signature: Some(assertion.response.signature.as_slice().len()),
            authenticator_data: assertion.response.authenticator_data.as_slice().len(),
            attestation_object: None,
        },
    };
    Ok((created, asserted))
}
