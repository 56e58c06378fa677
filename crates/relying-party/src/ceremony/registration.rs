//! Registering a new credential: WebAuthn L3 §7.1
//! (`#sctn-registering-a-new-credential`). Steps 1-4 are the client's
//! (options, create(), the response object, client extension results).

use super::steps::{
    self, FailFast, Input, Location, Rule, Step, StepDetail, StepObserver, check, fatal,
};
use super::{CeremonyContext, client_data, extensions, sha256};
use crate::attestation::{
    AttestationFormat, StatementInput, TrustOutcome, VerifiedStatement, verify_statement,
};
use crate::credential::{Credential, CredentialRecord};
use crate::error::CeremonyError;
use crate::policy::{AttestationPolicy, TpmSha1Policy, UserVerification};
use crate::verifier::PublicKeyVerifier;
use fido_wire::cbor::Value;
use fido_wire::cose::CoseAlgorithm;
use fido_wire::webauthn::authdata::MAX_CREDENTIAL_ID_LEN;
use fido_wire::webauthn::json::{AuthenticatorTransport, RegistrationResponseJson};
use fido_wire::webauthn::{AttestationObject, CeremonyType};

/// What the relying party asked for when it issued the creation options.
#[derive(Debug, Clone, Copy)]
pub struct RegistrationExpectations<'a> {
    /// The challenge the session engine handed out (and has now consumed).
    pub challenge: &'a [u8],
    /// The user handle of the account being registered.
    pub user_handle: &'a [u8],
    /// `pubKeyCredParams` algorithms as offered.
    pub algorithms: &'a [CoseAlgorithm],
    /// Whether options.mediation was "conditional" (then UP may be clear, step 15).
    pub conditional_mediation: bool,
    /// `options.extensions` as sent (client extension inputs), if any.
    pub extensions: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

/// The parts of a registration response the ceremony uses.
#[derive(Debug, Clone, Copy)]
pub struct RegistrationResponse<'a> {
    /// `type`.
    pub credential_type: &'a str,
    /// `rawId`.
    pub raw_id: &'a [u8],
    /// `response.clientDataJSON`.
    pub client_data_json: &'a [u8],
    /// `response.attestationObject`.
    pub attestation_object: &'a [u8],
    /// `response.transports`.
    pub transports: &'a [AuthenticatorTransport],
    /// `clientExtensionResults`.
    pub client_extension_results: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

impl<'a> RegistrationResponse<'a> {
    /// The parts of `RegistrationResponseJSON`. Its `publicKey` convenience
    /// member is deliberately unused: the key comes from the authenticator data.
    pub fn from_json(json: &'a RegistrationResponseJson) -> Self {
        RegistrationResponse {
            credential_type: json.kind.as_str(),
            raw_id: json.raw_id.as_slice(),
            client_data_json: json.response.client_data_json.as_slice(),
            attestation_object: json.response.attestation_object.as_slice(),
            transports: &json.response.transports,
            client_extension_results: Some(&json.client_extension_results),
        }
    }
}

/// A registration that verified.
#[derive(Debug)]
pub struct RegistrationOutcome {
    /// The new credential (record plus decoded key), ready to store (step 27).
    pub credential: Credential,
    /// The attestation statement as verified (step 22).
    pub statement: VerifiedStatement,
    /// What the attestation established (step 24).
    pub trust: TrustOutcome,
    /// UV at registration.
    pub user_verified: bool,
    /// Authenticator extension outputs, for the caller to process (step 28).
    pub extensions: Option<Value>,
    /// What the extension outputs were checked to mean (step 28).
    pub extension_verdicts: Vec<extensions::ExtensionVerdict>,
    /// An enterprise attestation: the options asked for "enterprise" and
    /// the statement that verified carries an attestation certificate
    /// (which may identify the one device; whether an anchor vouches for it
    /// is [`Self::trust`]). Set by [`crate::RelyingParty::finish_registration`],
    /// which knows what the options asked; false from the bare ceremony.
    pub enterprise_attestation: bool,
}

/// Runs §7.1 steps 3 and 5-28. `is_registered` answers step 26 ("not yet
/// registered for any user"); storing the record (step 29) is the caller's.
pub fn verify_registration(
    ctx: &CeremonyContext<'_>,
    expect: &RegistrationExpectations<'_>,
    response: &RegistrationResponse<'_>,
    is_registered: &dyn Fn(&[u8]) -> bool,
) -> Result<RegistrationOutcome, CeremonyError> {
    verify_registration_observed(ctx, expect, response, is_registered, &mut FailFast)
}

fn step(rule: Rule) -> Step {
    Step::registration(rule)
}

/// [`verify_registration`] telling `obs` about every step: the one
/// implementation of §7.1, whether the caller wants a verdict or a report.
pub fn verify_registration_observed<O: StepObserver>(
    ctx: &CeremonyContext<'_>,
    expect: &RegistrationExpectations<'_>,
    response: &RegistrationResponse<'_>,
    is_registered: &dyn Fn(&[u8]) -> bool,
    obs: &mut O,
) -> Result<RegistrationOutcome, CeremonyError> {
    // Step 3: the response must be a public-key credential's.
    let result = if response.credential_type == "public-key" {
        Ok(())
    } else {
        Err(CeremonyError::WrongCredentialType(
            response.credential_type.to_owned(),
        ))
    };
    check(obs, step(Rule::CredentialType), result, || {
        StepDetail::compared("public-key", response.credential_type)
    })?;
    // Steps 5-11.
    client_data::check_all(
        obs,
        ctx.rp,
        response.client_data_json,
        CeremonyType::Create,
        expect.challenge,
    )?;
    // Step 12: hash = SHA-256(clientDataJSON).
    let client_data_hash = sha256(response.client_data_json);
    obs.passed(step(Rule::ClientDataHash), || {
        StepDetail::found(crate::decoder::hex(&client_data_hash))
    });
    // Step 13: CBOR-decode the attestation object.
    let att = match AttestationObject::from_cbor(response.attestation_object) {
        Ok(att) => att,
        Err(e) => {
            return Err(fatal(obs, step(Rule::AttestationObject), e.into(), || {
                StepDetail::default().at(Some(Location {
                    input: Input::AttestationObject,
                    path: "attestationObject".into(),
                    range: 0..response.attestation_object.len(),
                }))
            }));
        }
    };
    let auth_data = &att.auth_data;
    let Some(acd) = auth_data.attested_credential.as_ref() else {
        // from_cbor guarantees attested credential data; kept as a typed error.
        let e = CeremonyError::AttestationObject(
            fido_wire::webauthn::AttestationObjectError::NoAttestedCredential,
        );
        return Err(fatal(
            obs,
            step(Rule::AttestationObject),
            e,
            StepDetail::default,
        ));
    };
    obs.passed(step(Rule::AttestationObject), || {
        StepDetail::found(format!(
            "fmt \"{}\", {} bytes of authenticator data",
            att.fmt,
            att.auth_data_bytes.len()
        ))
    });
    // Where a field of the authenticator data is inside the attestation
    // object (reports only).
    let at = |path: &str, range: std::ops::Range<usize>| {
        steps::find_bytes(response.attestation_object, &att.auth_data_bytes).map(|base| Location {
            input: Input::AttestationObject,
            path: format!("attestationObject.authData.{path}"),
            range: base + range.start..base + range.end,
        })
    };
    // Step 14: "rpIdHash in authData is the SHA-256 hash of the RP ID".
    let result = if &auth_data.rp_id_hash == ctx.rp.rp_id_hash() {
        Ok(())
    } else {
        Err(CeremonyError::RpIdHashMismatch {
            rp_id: ctx.rp.rp_id().to_owned(),
        })
    };
    check(obs, step(Rule::RpIdHash), result, || {
        StepDetail::compared(
            format!(
                "SHA-256(\"{}\") = {}",
                ctx.rp.rp_id(),
                crate::decoder::hex(ctx.rp.rp_id_hash())
            ),
            crate::decoder::hex(&auth_data.rp_id_hash),
        )
        .at(at("rpIdHash", 0..32))
    })?;
    let flags = auth_data.flags;
    let flag_detail = |expected: &str, name: &str, set: bool| {
        StepDetail::compared(
            expected,
            format!("{name} {}", if set { "set" } else { "clear" }),
        )
        .at(at(&format!("flags.{name}"), 32..33))
    };
    // Step 15: UP set unless mediation was conditional.
    let result = if !expect.conditional_mediation && !flags.user_present() {
        Err(CeremonyError::UserNotPresent)
    } else {
        Ok(())
    };
    check(obs, step(Rule::UserPresent), result, || {
        let expected = if expect.conditional_mediation {
            "UP set or clear (conditional mediation)"
        } else {
            "UP set"
        };
        flag_detail(expected, "UP", flags.user_present())
    })?;
    // Step 16: UV set if the relying party requires user verification.
    let uv_required = ctx.policy.user_verification == UserVerification::Required;
    let result = if uv_required && !flags.user_verified() {
        Err(CeremonyError::UserNotVerified)
    } else {
        Ok(())
    };
    check(obs, step(Rule::UserVerified), result, || {
        let expected = if uv_required {
            "UV set (user verification required)"
        } else {
            "UV set or clear (not required)"
        };
        flag_detail(expected, "UV", flags.user_verified())
    })?;
    // Step 17: "If the BE bit ... is not set, verify that the BS bit is not set."
    let result = if !flags.backup_eligible() && flags.backed_up() {
        Err(CeremonyError::BackupStateWithoutEligibility)
    } else {
        Ok(())
    };
    check(obs, step(Rule::BackupState), result, || {
        StepDetail::compared(
            "BS clear unless BE is set",
            format!("BE {}, BS {}", flags.backup_eligible(), flags.backed_up()),
        )
        .at(at("flags.BS", 32..33))
    })?;
    // Steps 18-19: BE and BS are recorded (step 27) and reported; Keybench's
    // policy does not gate registration on them.
    obs.passed(step(Rule::BackupEligibility), || {
        StepDetail::found(format!(
            "BE {}, BS {} (recorded; no policy gates registration on them)",
            flags.backup_eligible(),
            flags.backed_up()
        ))
    });

    // Step 20: "alg ... matches the alg of one of the items in pubKeyCredParams".
    // The key is decoded here, once; a key we cannot verify with fails now,
    // not at the first authentication.
    let credential_key_at = || {
        let start = 55 + acd.credential_id.len();
        at(
            "attestedCredentialData.credentialPublicKey",
            start..start + acd.public_key_cbor.len(),
        )
    };
    let alg = match acd.public_key.alg {
        Some(alg) => alg,
        None => {
            return Err(fatal(
                obs,
                step(Rule::Algorithm),
                crate::verifier::KeyError::MissingAlgorithm.into(),
                || StepDetail::default().at(credential_key_at()),
            ));
        }
    };
    let result = if expect.algorithms.contains(&alg) {
        Ok(())
    } else {
        Err(CeremonyError::AlgorithmNotOffered(alg))
    };
    check(obs, step(Rule::Algorithm), result, || {
        let offered: Vec<String> = expect.algorithms.iter().map(|a| a.to_string()).collect();
        StepDetail::compared(format!("one of {}", offered.join(", ")), alg.to_string())
            .at(credential_key_at())
    })?;
    let verifier = match PublicKeyVerifier::from_cose(&acd.public_key) {
        Ok(v) => v,
        Err(e) => {
            return Err(fatal(obs, step(Rule::Algorithm), e.into(), || {
                StepDetail::default().at(credential_key_at())
            }));
        }
    };

    // The credential the client names must be the one the authenticator attested.
    let result = if acd.credential_id == response.raw_id {
        Ok(())
    } else {
        Err(CeremonyError::CredentialIdMismatch)
    };
    check(obs, step(Rule::CredentialId), result, || {
        StepDetail::compared(
            fido_wire::webauthn::base64url::encode(&acd.credential_id),
            fido_wire::webauthn::base64url::encode(response.raw_id),
        )
        .at(Some(Location {
            input: Input::RawId,
            path: "rawId".into(),
            range: 0..response.raw_id.len(),
        }))
    })?;

    // Step 21: case-sensitive match of fmt against supported formats.
    let format = match AttestationFormat::from_identifier(&att.fmt) {
        Some(f) => {
            obs.passed(step(Rule::AttestationFormat), || {
                StepDetail::found(att.fmt.as_str())
            });
            f
        }
        None => {
            let e = CeremonyError::UnsupportedAttestationFormat(att.fmt.clone());
            return Err(fatal(obs, step(Rule::AttestationFormat), e, || {
                StepDetail::compared(
                    "packed, tpm, android-key, android-safetynet, fido-u2f, apple or none",
                    att.fmt.as_str(),
                )
                .at(steps::find_bytes(response.attestation_object, b"\x63fmt")
                    .map(|start| Location {
                        input: Input::AttestationObject,
                        path: "attestationObject.fmt".into(),
                        range: (start + 4).min(response.attestation_object.len())
                            ..(start + 5 + att.fmt.len()).min(response.attestation_object.len()),
                    }))
            }));
        }
    };
    // Step 22: the format's verification procedure.
    let statement = match verify_statement(
        format,
        &StatementInput {
            att_stmt: &att.att_stmt,
            auth_data,
            auth_data_bytes: &att.auth_data_bytes,
            client_data_hash: &client_data_hash,
            credential_key: &acd.public_key,
            credential_verifier: &verifier,
            allow_tpm_rs1: ctx.policy.tpm_sha1 == TpmSha1Policy::Accept,
        },
    ) {
        Ok(s) => {
            obs.passed(step(Rule::AttestationStatement), || {
                StepDetail::found(format!(
                    "{:?} attestation, {} certificate(s) in the trust path",
                    s.attestation_type,
                    s.trust_path.len()
                ))
            });
            s
        }
        Err(e) => {
            return Err(fatal(
                obs,
                step(Rule::AttestationStatement),
                e.into(),
                || {
                    StepDetail::default().at(steps::find_bytes(
                        response.attestation_object,
                        b"\x67attStmt",
                    )
                    .map(|start| Location {
                        input: Input::AttestationObject,
                        path: "attestationObject.attStmt".into(),
                        range: start + 8..response.attestation_object.len(),
                    }))
                },
            ));
        }
    };
    // Steps 23-24: anchors for this AAGUID, then trust assessment.
    let trust = ctx.trust.assess(&statement, &acd.aaguid, ctx.now);
    let require = ctx.policy.attestation == AttestationPolicy::RequireTrustedAnchor;
    let result = if require && !trust.is_trusted() {
        let why = match &trust {
            TrustOutcome::NoAttestation => "no attestation".to_owned(),
            TrustOutcome::SelfAttestation => "self attestation".to_owned(),
            TrustOutcome::NotTrusted { reason } => reason.clone(),
            TrustOutcome::Trusted { .. } => String::new(),
        };
        Err(CeremonyError::AttestationNotTrusted(why))
    } else {
        Ok(())
    };
    check(obs, step(Rule::AttestationTrust), result, || {
        let expected = if require {
            "an attestation a trust anchor vouches for"
        } else {
            "any attestation (the policy accepts untrusted ones)"
        };
        StepDetail::compared(expected, trust.describe())
    })?;
    // Step 25: credentialId at most 1023 bytes (the parser enforces it too).
    let result = if acd.credential_id.len() > MAX_CREDENTIAL_ID_LEN {
        Err(CeremonyError::CredentialIdTooLong(acd.credential_id.len()))
    } else {
        Ok(())
    };
    check(obs, step(Rule::CredentialIdLength), result, || {
        StepDetail::compared(
            "at most 1023 bytes",
            format!("{} bytes", acd.credential_id.len()),
        )
        .at(at(
            "attestedCredentialData.credentialId",
            55..55 + acd.credential_id.len(),
        ))
    })?;
    // Step 26: "credentialId is not yet registered for any user".
    let result = if is_registered(&acd.credential_id) {
        Err(CeremonyError::CredentialAlreadyRegistered)
    } else {
        Ok(())
    };
    check(obs, step(Rule::NotYetRegistered), result, || {
        StepDetail::compared(
            "not registered yet",
            fido_wire::webauthn::base64url::encode(&acd.credential_id),
        )
    })?;
    // Step 28: extension outputs, against what options.extensions asked for.
    let extension_verdicts = extensions::check_outputs(
        obs,
        step(Rule::Extensions),
        expect.extensions,
        auth_data.extensions.as_ref(),
        response.client_extension_results,
        Some(flags),
    )?;
    if let Some(first) = obs.first_failure() {
        return Err(first);
    }
    // Step 27: the credential record.
    let record = CredentialRecord {
        id: acd.credential_id.clone().into(),
        public_key: acd.public_key_cbor.clone().into(),
        algorithm: alg,
        sign_count: auth_data.sign_count,
        uv_initialized: flags.user_verified(),
        transports: response.transports.to_vec(),
        backup_eligible: flags.backup_eligible(),
        backup_state: flags.backed_up(),
        rp_id: ctx.rp.rp_id().to_owned(),
        user_handle: expect.user_handle.to_vec().into(),
        aaguid: acd.aaguid.to_vec().into(),
        attestation_format: format.identifier().to_owned(),
        attestation_trust: trust.clone(),
    };
    Ok(RegistrationOutcome {
        credential: Credential::from_parts(record, verifier),
        statement,
        trust,
        user_verified: flags.user_verified(),
        extensions: auth_data.extensions.clone(),
        extension_verdicts,
        enterprise_attestation: false,
    })
}
