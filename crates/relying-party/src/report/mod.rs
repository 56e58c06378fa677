//! "Why did this ceremony fail?": a step-by-step report on any relying
//! party's registration or authentication, built on the verification core.
//!
//! The core ([`crate::ceremony`]) runs each §7.1/§7.2 check once and tells a
//! [`StepObserver`]; this module's [`Recorder`] keeps every verdict, and
//! [`verify_ceremony`] turns the forms people have (options JSON as a relying
//! party sent it or a challenge, RP ID and origin by hand; the response as a
//! browser or library serialised it; the stored public key as COSE, JWK,
//! PEM or a registration response) into a [`Report`]: every step passed,
//! failed or not checkable, with the specification's sentence, the values
//! compared and, for a failure, where the bytes at fault are.

pub mod input;
pub mod public_key;
pub mod spec;

use crate::attestation::TrustStore;
use crate::ceremony::steps::{Ceremony, Location, Rule, Step, StepDetail, StepObserver};
use crate::ceremony::{
    AuthenticationExpectations, AuthenticationResponse, CeremonyContext, ExtensionVerdict,
    RegistrationExpectations, RegistrationResponse, verify_authentication_observed,
    verify_registration_observed,
};
use crate::credential::{Credential, CredentialRecord};
use crate::error::CeremonyError;
use crate::policy::{
    AttestationPolicy, BackupEligibilityPolicy, CeremonyPolicy, CounterPolicy, CrossOriginPolicy,
    RpConfig, TpmSha1Policy, UserVerification,
};
use crate::verifier::SUPPORTED_ALGORITHMS;
use crate::x509::{AnchorSource, TrustAnchor, UnixTime};
use fido_wire::cose::CoseAlgorithm;
use fido_wire::webauthn::json::{
    AuthenticationResponseJson, CreationOptionsJson, RegistrationResponseJson, RequestOptionsJson,
    UserVerificationRequirement,
};
pub use input::InputError;
use input::{OptionsKind, ResponseKind};
use serde_json::{Map, Value as Json, json};

/// A step's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum StepStatus {
    /// The check ran and held.
    Passed,
    /// The check ran and failed.
    Failed,
    /// The check could not run with what was given.
    NotCheckable,
}

/// One step of the report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepReport {
    /// "7.1 step 14".
    pub step: String,
    /// The rule the core checked.
    pub rule: Rule,
    /// A short title.
    pub title: &'static str,
    /// The specification's sentence.
    pub spec: &'static str,
    /// The verdict.
    pub status: StepStatus,
    /// For a failure: the core's error code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    /// For a failure: the core's message; when not checkable: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The values compared and where the bytes are.
    #[serde(flatten)]
    pub detail: StepDetail,
}

/// What [`Recorder`] keeps per step.
#[derive(Debug, Clone)]
struct Recorded {
    step: Step,
    status: StepStatus,
    error: Option<CeremonyError>,
    why: Option<String>,
    detail: StepDetail,
}

/// The observer that keeps every verdict and lets the core go on after a
/// failure as far as it can.
#[derive(Debug, Default)]
pub struct Recorder {
    recorded: Vec<Recorded>,
}

impl StepObserver for Recorder {
    const KEEP_GOING: bool = true;

    fn passed(&mut self, step: Step, detail: impl FnOnce() -> StepDetail) {
        self.recorded.push(Recorded {
            step,
            status: StepStatus::Passed,
            error: None,
            why: None,
            detail: detail(),
        });
    }

    fn failed(&mut self, step: Step, error: &CeremonyError, detail: impl FnOnce() -> StepDetail) {
        self.recorded.push(Recorded {
            step,
            status: StepStatus::Failed,
            error: Some(error.clone()),
            why: None,
            detail: detail(),
        });
    }

    fn not_checkable(&mut self, step: Step, why: &str) {
        self.recorded.push(Recorded {
            step,
            status: StepStatus::NotCheckable,
            error: None,
            why: Some(why.to_owned()),
            detail: StepDetail::default(),
        });
    }

    fn first_failure(&mut self) -> Option<CeremonyError> {
        self.recorded.iter().find_map(|r| r.error.clone())
    }
}

impl Recorder {
    /// Marks a step not checkable whatever the core found (the input it
    /// compared against was a stand-in), keeping the values it saw.
    fn override_not_checkable(&mut self, rule: Rule, why: &str) {
        for r in self.recorded.iter_mut().filter(|r| r.step.rule == rule) {
            r.status = StepStatus::NotCheckable;
            r.error = None;
            r.why = Some(why.to_owned());
        }
    }

    /// Every step of the ceremony in the specification's order; a step the
    /// core never reached is not checkable.
    pub fn steps(&self, ceremony: Ceremony) -> Vec<StepReport> {
        spec::steps(ceremony)
            .iter()
            .map(|s| {
                let found = self
                    .recorded
                    .iter()
                    .find(|r| r.step.ceremony == ceremony && r.step.rule == s.rule);
                let (status, code, message, detail) = match found {
                    Some(r) => (
                        r.status,
                        r.error.as_ref().map(CeremonyError::code),
                        r.error
                            .as_ref()
                            .map(ToString::to_string)
                            .or_else(|| r.why.clone()),
                        r.detail.clone(),
                    ),
                    None => (
                        StepStatus::NotCheckable,
                        None,
                        Some("not reached: what this step needs did not decode".to_owned()),
                        StepDetail::default(),
                    ),
                };
                StepReport {
                    step: format!("{} step {}", spec::section(ceremony), s.number),
                    rule: s.rule,
                    title: s.title,
                    spec: s.text,
                    status,
                    code,
                    message,
                    detail,
                }
            })
            .collect()
    }
}

/// The report on one ceremony.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Registration or authentication.
    pub ceremony: Ceremony,
    /// No step failed.
    pub verified: bool,
    /// Every step in the specification's order.
    pub steps: Vec<StepReport>,
    /// The first failure: step, code and message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Json>,
    /// Extension verdicts (when the ceremony got that far).
    pub extensions: Vec<ExtensionVerdict>,
    /// What the relying party's side was taken to be: RP ID, origins,
    /// challenge, user verification, algorithms.
    pub expected: Json,
    /// How the inputs were read (rewrites, assumptions).
    pub notes: Vec<String>,
    /// The response's binary members as hex (the byte ranges point into them).
    pub inputs: Map<String, Json>,
    /// The decoded structures (the decoder's annotated JSON).
    pub decoded: Map<String, Json>,
}

/// What "verify this ceremony" takes.
#[derive(Debug, Clone, Default)]
pub struct VerifyRequest<'a> {
    /// Options JSON as the relying party sent it.
    pub options: Option<&'a [u8]>,
    /// The response JSON.
    pub response: &'a [u8],
    /// For an assertion: the stored public key (COSE, JWK, PEM, registration response).
    pub public_key: Option<&'a [u8]>,
    /// The origin the relying party expects (default `https://` + RP ID).
    pub origin: Option<&'a str>,
    /// The RP ID (default: the options', else the origin's host).
    pub rp_id: Option<&'a str>,
    /// The challenge (base64url) when no options are given.
    pub challenge: Option<&'a str>,
    /// Origins the relying party expects to be embedded in (crossOrigin/topOrigin).
    pub top_origins: &'a [String],
    /// Attestation roots (PEM or DER certificates).
    pub trust_anchors: &'a [Vec<u8>],
    /// The time certificates are checked at (default now).
    pub at: Option<UnixTime>,
}

/// Reads the inputs and reports on every step. Errors only when the inputs
/// cannot be read at all; a ceremony that fails is a [`Report`] with
/// `verified: false`.
pub fn verify_ceremony(req: &VerifyRequest<'_>) -> Result<Report, InputError> {
    let mut notes = Vec::new();
    let (kind, response) = input::response(req.response)?;
    notes.extend(response.notes.iter().map(|n| format!("response: {n}")));
    let options = req.options.map(input::options).transpose()?;
    if let Some(o) = &options {
        notes.extend(o.options.notes.iter().map(|n| format!("options: {n}")));
        let matches = matches!(
            (o.kind, kind),
            (OptionsKind::Creation, ResponseKind::Registration)
                | (OptionsKind::Request, ResponseKind::Authentication)
        );
        if !matches {
            return Err(InputError::Options(match kind {
                ResponseKind::Registration => "a registration response needs creation options (pubKeyCredParams, user), these are request options".into(),
                ResponseKind::Authentication => "an authentication response needs request options, these are creation options".into(),
            }));
        }
    }
    let json_err =
        |what: &str, e: fido_wire::webauthn::json::JsonFormError| format!("not {what}: {e}");
    let parse_options = |v: &Json, what: &str| -> Result<Vec<u8>, InputError> {
        serde_json::to_vec(v).map_err(|e| InputError::Options(format!("{what}: {e}")))
    };

    let mut trust = TrustStore::new();
    for der in req.trust_anchors {
        let der = certificate_der(der)?;
        trust.add_global(
            TrustAnchor::from_der(&der, AnchorSource::Configured)
                .map_err(|e| InputError::TrustAnchor(e.to_string()))?,
        );
    }
    let response_bytes =
        serde_json::to_vec(&response.value).map_err(|e| InputError::Response(e.to_string()))?;

    match kind {
        ResponseKind::Registration => {
            let r: RegistrationResponseJson = fido_wire::webauthn::json::from_json(&response_bytes)
                .map_err(|e| InputError::Response(json_err("a RegistrationResponseJSON", e)))?;
            let o: Option<CreationOptionsJson> = match &options {
                Some(o) => Some(
                    fido_wire::webauthn::json::from_json(&parse_options(
                        &o.options.value,
                        "creation options",
                    )?)
                    .map_err(|e| {
                        InputError::Options(json_err("PublicKeyCredentialCreationOptionsJSON", e))
                    })?,
                ),
                None => None,
            };
            let rp_id = rp_id(req, o.as_ref().and_then(|o| o.rp.id.as_deref()), &mut notes)?;
            let challenge = challenge(req, o.as_ref().map(|o| o.challenge.as_slice()))?;
            let uv = o
                .as_ref()
                .and_then(|o| o.authenticator_selection.as_ref())
                .and_then(|s| s.user_verification.clone());
            let algorithms: Vec<CoseAlgorithm> = match &o {
                Some(o) => o.pub_key_cred_params.iter().map(|p| p.alg).collect(),
                None => {
                    notes.push(
                        "no options: every algorithm Keybench verifies counts as offered (step 20)"
                            .into(),
                    );
                    SUPPORTED_ALGORITHMS.to_vec()
                }
            };
            let conditional =
                options.as_ref().and_then(|o| o.mediation.as_deref()) == Some("conditional");
            let rp = rp_config(req, &rp_id, &mut notes);
            let ctx = context(&rp, &trust, uv.as_ref(), req.at);
            let user_handle = o.as_ref().map(|o| o.user.id.as_slice()).unwrap_or_default();
            let ext_map = o.as_ref().and_then(|o| o.extensions.as_ref());
            let mut rec = Recorder::default();
            let outcome = verify_registration_observed(
                &ctx,
                &RegistrationExpectations {
                    challenge: &challenge,
                    user_handle,
                    algorithms: &algorithms,
                    conditional_mediation: conditional,
                    extensions: ext_map,
                },
                &RegistrationResponse::from_json(&r),
                &|_| false,
                &mut rec,
            );
            rec.override_not_checkable(
                Rule::NotYetRegistered,
                "the relying party's credential store is not known here",
            );
            if trust_unjudged(&rec, req.trust_anchors.is_empty()) {
                rec.override_not_checkable(
                    Rule::AttestationTrust,
                    "no trust anchors given: the attestation's certificate path cannot be judged (give the root with a trust anchor)",
                );
            }
            let mut inputs = Map::new();
            let mut decoded = Map::new();
            add_input(
                &mut inputs,
                &mut decoded,
                "clientDataJSON",
                r.response.client_data_json.as_slice(),
            );
            add_input(
                &mut inputs,
                &mut decoded,
                "attestationObject",
                r.response.attestation_object.as_slice(),
            );
            add_raw(&mut inputs, "rawId", r.raw_id.as_slice());
            let extensions = outcome
                .as_ref()
                .map(|o| o.extension_verdicts.clone())
                .unwrap_or_default();
            Ok(finish(
                Ceremony::Registration,
                &rec,
                extensions,
                expected(&rp, &challenge, &ctx, Some(&algorithms)),
                notes,
                inputs,
                decoded,
            ))
        }
        ResponseKind::Authentication => {
            let r: AuthenticationResponseJson =
                fido_wire::webauthn::json::from_json(&response_bytes).map_err(|e| {
                    InputError::Response(json_err("an AuthenticationResponseJSON", e))
                })?;
            let o: Option<RequestOptionsJson> = match &options {
                Some(o) => Some(
                    fido_wire::webauthn::json::from_json(&parse_options(
                        &o.options.value,
                        "request options",
                    )?)
                    .map_err(|e| {
                        InputError::Options(json_err("PublicKeyCredentialRequestOptionsJSON", e))
                    })?,
                ),
                None => None,
            };
            let key_bytes = req.public_key.ok_or_else(|| {
                InputError::Missing(
                    "an assertion is checked with the stored public key: give it as COSE, JWK, PEM or the registration response".into(),
                )
            })?;
            let key = public_key::parse(key_bytes)?;
            notes.push(format!("public key: read as {}", key.form));
            let rp_id = rp_id(req, o.as_ref().and_then(|o| o.rp_id.as_deref()), &mut notes)?;
            let challenge = challenge(req, o.as_ref().map(|o| o.challenge.as_slice()))?;
            let uv = o.as_ref().and_then(|o| o.user_verification.clone());
            let rp = rp_config(req, &rp_id, &mut notes);
            let mut ctx = context(&rp, &trust, uv.as_ref(), req.at);
            let alg = key.key.alg.ok_or_else(|| {
                InputError::PublicKey("the key names no algorithm (COSE label 3)".into())
            })?;
            let user_handle = r
                .response
                .user_handle
                .as_ref()
                .map(|h| h.as_slice().to_vec())
                .unwrap_or_default();
            let record = CredentialRecord {
                id: key
                    .registered
                    .as_ref()
                    .map_or(r.raw_id.as_slice().to_vec(), |k| k.id.clone())
                    .into(),
                public_key: key.key.to_cbor().into(),
                algorithm: alg,
                sign_count: key.registered.as_ref().map_or(0, |k| k.sign_count),
                uv_initialized: false,
                transports: Vec::new(),
                backup_eligible: key.registered.as_ref().map_or_else(
                    || {
                        fido_wire::webauthn::AuthenticatorData::parse(
                            r.response.authenticator_data.as_slice(),
                        )
                        .map(|a| a.flags.backup_eligible())
                        .unwrap_or(false)
                    },
                    |k| k.backup_eligible,
                ),
                backup_state: false,
                rp_id: rp_id.clone(),
                user_handle: user_handle.clone().into(),
                aaguid: Vec::new().into(),
                attestation_format: String::new(),
                attestation_trust: crate::TrustOutcome::NoAttestation,
            };
            let credential = Credential::from_record(record)
                .map_err(|e| InputError::PublicKey(e.to_string()))?;
            if key.registered.is_none() {
                ctx.policy.counter = CounterPolicy::Report;
            }
            let allow: Vec<&[u8]> = o
                .as_ref()
                .map(|o| {
                    o.allow_credentials
                        .iter()
                        .map(|c| c.id.as_slice())
                        .collect()
                })
                .unwrap_or_default();
            let ext_map = o.as_ref().and_then(|o| o.extensions.as_ref());
            let mut rec = Recorder::default();
            let outcome = verify_authentication_observed(
                &ctx,
                &AuthenticationExpectations {
                    challenge: &challenge,
                    allow_credentials: &allow,
                    identified_user: Some(&user_handle),
                    extensions: ext_map,
                },
                &AuthenticationResponse::from_json(&r),
                &credential,
                &mut rec,
            );
            if key.registered.is_none() {
                rec.override_not_checkable(
                    Rule::UserAccount,
                    "the relying party's accounts are not known here: the key given stands for the credential record",
                );
                rec.override_not_checkable(
                    Rule::BackupEligibility,
                    "the credential record's BE is not known (give the registration response as the key to compare)",
                );
                rec.override_not_checkable(
                    Rule::SignCount,
                    "the credential record's signCount is not known (give the registration response as the key to compare)",
                );
            } else {
                notes.push("the registration response stands for the credential record: its id, signCount and BE are compared; the user handle is not known".into());
            }
            let mut inputs = Map::new();
            let mut decoded = Map::new();
            add_input(
                &mut inputs,
                &mut decoded,
                "clientDataJSON",
                r.response.client_data_json.as_slice(),
            );
            add_input(
                &mut inputs,
                &mut decoded,
                "authenticatorData",
                r.response.authenticator_data.as_slice(),
            );
            add_raw(&mut inputs, "signature", r.response.signature.as_slice());
            add_raw(&mut inputs, "rawId", r.raw_id.as_slice());
            if let Some(h) = &r.response.user_handle {
                add_raw(&mut inputs, "userHandle", h.as_slice());
            }
            if let Ok(k) =
                crate::decoder::decode(crate::decoder::InputKind::CoseKey, &key.key.to_cbor())
            {
                decoded.insert("publicKey".into(), k);
            }
            let extensions = outcome
                .as_ref()
                .map(|o| o.extension_verdicts.clone())
                .unwrap_or_default();
            Ok(finish(
                Ceremony::Authentication,
                &rec,
                extensions,
                expected(&rp, &challenge, &ctx, None),
                notes,
                inputs,
                decoded,
            ))
        }
    }
}

/// The trust step passed only because nothing could judge the path.
fn trust_unjudged(rec: &Recorder, no_anchors: bool) -> bool {
    no_anchors
        && rec.recorded.iter().any(|r| {
            r.step.rule == Rule::AttestationTrust
                && r.detail
                    .found
                    .as_deref()
                    .is_some_and(|f| f.starts_with("not trusted"))
        })
}

fn certificate_der(bytes: &[u8]) -> Result<Vec<u8>, InputError> {
    let trimmed = std::str::from_utf8(bytes)
        .map(str::trim)
        .unwrap_or_default();
    if trimmed.starts_with("-----BEGIN ") {
        let (_, pem) = x509_parser::pem::parse_x509_pem(trimmed.as_bytes())
            .map_err(|e| InputError::TrustAnchor(format!("PEM: {e}")))?;
        return Ok(pem.contents);
    }
    Ok(bytes.to_vec())
}

fn rp_id(
    req: &VerifyRequest<'_>,
    from_options: Option<&str>,
    notes: &mut Vec<String>,
) -> Result<String, InputError> {
    if let Some(id) = req.rp_id {
        return Ok(id.to_owned());
    }
    if let Some(id) = from_options {
        return Ok(id.to_owned());
    }
    let host = req.origin.and_then(|o| {
        let rest = o.split_once("://").map(|(_, r)| r)?;
        let host = rest.split(['/', ':']).next()?;
        (!host.is_empty()).then(|| host.to_owned())
    });
    match host {
        Some(h) => {
            notes.push(format!(
                "RP ID not given: the origin's host \"{h}\" is used"
            ));
            Ok(h)
        }
        None => Err(InputError::Missing(
            "no RP ID: give options with rp.id/rpId, the RP ID or the origin".into(),
        )),
    }
}

fn challenge(req: &VerifyRequest<'_>, from_options: Option<&[u8]>) -> Result<Vec<u8>, InputError> {
    if let Some(c) = from_options {
        return Ok(c.to_vec());
    }
    let text = req.challenge.ok_or_else(|| {
        InputError::Missing(
            "no challenge: give the options the relying party sent, or the challenge".into(),
        )
    })?;
    fido_wire::webauthn::base64url::decode(text.trim().trim_end_matches('='))
        .map_err(|e| InputError::Missing(format!("the challenge is not base64url: {e}")))
}

fn rp_config(req: &VerifyRequest<'_>, rp_id: &str, notes: &mut Vec<String>) -> RpConfig {
    let origin = match req.origin {
        Some(o) => o.trim_end_matches('/').to_owned(),
        None => {
            let o = format!("https://{rp_id}");
            notes.push(format!(
                "origin not given: \"{o}\" is expected (give the origin if the relying party's page is elsewhere)"
            ));
            o
        }
    };
    let rp = RpConfig::new(rp_id, [origin]);
    if req.top_origins.is_empty() {
        rp
    } else {
        rp.with_cross_origin(CrossOriginPolicy::EmbeddedIn {
            top_origins: req.top_origins.to_vec(),
        })
    }
}

fn context<'a>(
    rp: &'a RpConfig,
    trust: &'a TrustStore,
    uv: Option<&UserVerificationRequirement>,
    at: Option<UnixTime>,
) -> CeremonyContext<'a> {
    CeremonyContext {
        rp,
        policy: CeremonyPolicy {
            user_verification: if uv == Some(&UserVerificationRequirement::Required) {
                UserVerification::Required
            } else {
                UserVerification::NotRequired
            },
            counter: CounterPolicy::Reject,
            backup_eligibility: BackupEligibilityPolicy::MustMatchRecord,
            attestation: AttestationPolicy::ReportUntrusted,
            tpm_sha1: TpmSha1Policy::default(),
        },
        trust,
        now: at.unwrap_or_else(UnixTime::now),
    }
}

fn expected(
    rp: &RpConfig,
    challenge: &[u8],
    ctx: &CeremonyContext<'_>,
    algorithms: Option<&[CoseAlgorithm]>,
) -> Json {
    let mut out = json!({
        "rpId": rp.rp_id(),
        "origins": rp.origins(),
        "challenge": fido_wire::webauthn::base64url::encode(challenge),
        "userVerificationRequired": ctx.policy.user_verification == UserVerification::Required,
    });
    if let (Some(a), Json::Object(m)) = (algorithms, &mut out) {
        m.insert(
            "algorithms".into(),
            json!(a.iter().map(|a| a.to_string()).collect::<Vec<_>>()),
        );
    }
    out
}

fn add_raw(inputs: &mut Map<String, Json>, name: &str, bytes: &[u8]) {
    inputs.insert(name.into(), json!(crate::decoder::hex(bytes)));
}

fn add_input(
    inputs: &mut Map<String, Json>,
    decoded: &mut Map<String, Json>,
    name: &str,
    bytes: &[u8],
) {
    add_raw(inputs, name, bytes);
    let kind = match name {
        "clientDataJSON" => crate::decoder::InputKind::ClientDataJson,
        "attestationObject" => crate::decoder::InputKind::AttestationObject,
        _ => crate::decoder::InputKind::AuthenticatorData,
    };
    let value = crate::decoder::decode(kind, bytes)
        .unwrap_or_else(|e| json!({ "name": name, "error": e.to_string() }));
    decoded.insert(name.into(), value);
}

fn finish(
    ceremony: Ceremony,
    rec: &Recorder,
    extensions: Vec<ExtensionVerdict>,
    expected: Json,
    notes: Vec<String>,
    inputs: Map<String, Json>,
    decoded: Map<String, Json>,
) -> Report {
    let steps = rec.steps(ceremony);
    let failure = steps
        .iter()
        .find(|s| s.status == StepStatus::Failed)
        .map(|s| json!({ "step": s.step, "code": s.code, "message": s.message }));
    Report {
        ceremony,
        verified: failure.is_none(),
        steps,
        failure,
        extensions,
        expected,
        notes,
        inputs,
        decoded,
    }
}

/// The first failing step's location, if any (for callers that highlight).
pub fn first_failure_location(report: &Report) -> Option<&Location> {
    report
        .steps
        .iter()
        .find(|s| s.status == StepStatus::Failed)
        .and_then(|s| s.detail.location.as_ref())
}
