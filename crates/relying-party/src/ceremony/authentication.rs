//! Verifying an authentication assertion: WebAuthn L3 §7.2
//! (`#sctn-verifying-assertion`). Steps 1-4 are the client's.

use super::steps::{FailFast, Input, Location, Rule, Step, StepDetail, StepObserver, check};
use super::{CeremonyContext, client_data, extensions, sha256};
use crate::credential::Credential;
use crate::error::CeremonyError;
use crate::policy::{BackupEligibilityPolicy, CounterPolicy, UserVerification};
use fido_wire::cbor::Value;
use fido_wire::webauthn::json::AuthenticationResponseJson;
use fido_wire::webauthn::{AuthenticatorData, CeremonyType};

/// What the relying party asked for when it issued the request options.
#[derive(Debug, Clone, Copy)]
pub struct AuthenticationExpectations<'a> {
    /// The challenge the session engine handed out (and has now consumed).
    pub challenge: &'a [u8],
    /// `allowCredentials` IDs; empty means any (discoverable credentials).
    pub allow_credentials: &'a [&'a [u8]],
    /// The user identified before the ceremony (by user handle), if any.
    pub identified_user: Option<&'a [u8]>,
    /// `options.extensions` as sent (client extension inputs), if any.
    pub extensions: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

/// The parts of an authentication response the ceremony uses.
#[derive(Debug, Clone, Copy)]
pub struct AuthenticationResponse<'a> {
    /// `type`.
    pub credential_type: &'a str,
    /// `rawId`.
    pub raw_id: &'a [u8],
    /// `response.clientDataJSON`.
    pub client_data_json: &'a [u8],
    /// `response.authenticatorData`.
    pub authenticator_data: &'a [u8],
    /// `response.signature`.
    pub signature: &'a [u8],
    /// `response.userHandle`.
    pub user_handle: Option<&'a [u8]>,
    /// `clientExtensionResults`.
    pub client_extension_results: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

impl<'a> AuthenticationResponse<'a> {
    /// The parts of `AuthenticationResponseJSON`.
    pub fn from_json(json: &'a AuthenticationResponseJson) -> Self {
        AuthenticationResponse {
            credential_type: json.kind.as_str(),
            raw_id: json.raw_id.as_slice(),
            client_data_json: json.response.client_data_json.as_slice(),
            authenticator_data: json.response.authenticator_data.as_slice(),
            signature: json.response.signature.as_slice(),
            user_handle: json.response.user_handle.as_ref().map(|h| h.as_slice()),
            client_extension_results: Some(&json.client_extension_results),
        }
    }
}

/// How the signature counter compared (§7.2 step 22).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterCheck {
    /// Both counters are zero: the authenticator keeps no counter.
    NotUsed,
    /// The counter advanced.
    Advanced,
    /// The counter did not advance: a signal (not proof) of a cloned key.
    Regressed {
        /// The record's counter.
        recorded: u32,
        /// The assertion's counter.
        received: u32,
    },
}

/// An assertion that verified; [`Credential::apply`] records it (step 24).
#[derive(Debug, Clone, PartialEq)]
pub struct AuthenticationOutcome {
    /// The assertion's signCount.
    pub sign_count: u32,
    /// How it compared with the record.
    pub counter: CounterCheck,
    /// UV.
    pub user_verified: bool,
    /// BE now.
    pub backup_eligible: bool,
    /// BS now.
    pub backup_state: bool,
    /// Whether BE differs from the record (only possible under
    /// [`BackupEligibilityPolicy::Report`]).
    pub backup_eligibility_changed: bool,
    /// Authenticator extension outputs, for the caller to process (step 23).
    pub extensions: Option<Value>,
    /// What the extension outputs were checked to mean (step 23).
    pub extension_verdicts: Vec<extensions::ExtensionVerdict>,
}

/// Runs §7.2 steps 3 and 5-23 against `credential`, the record the caller
/// looked up by `rawId` (step 6).
pub fn verify_authentication(
    ctx: &CeremonyContext<'_>,
    expect: &AuthenticationExpectations<'_>,
    response: &AuthenticationResponse<'_>,
    credential: &Credential,
) -> Result<AuthenticationOutcome, CeremonyError> {
    verify_authentication_observed(ctx, expect, response, credential, &mut FailFast)
}

fn step(rule: Rule) -> Step {
    Step::authentication(rule)
}

fn b64(bytes: &[u8]) -> String {
    fido_wire::webauthn::base64url::encode(bytes)
}

/// [`verify_authentication`] telling `obs` about every step: the one
/// implementation of §7.2, whether the caller wants a verdict or a report.
pub fn verify_authentication_observed<O: StepObserver>(
    ctx: &CeremonyContext<'_>,
    expect: &AuthenticationExpectations<'_>,
    response: &AuthenticationResponse<'_>,
    credential: &Credential,
    obs: &mut O,
) -> Result<AuthenticationOutcome, CeremonyError> {
    let record = credential.record();
    // Step 3: a public-key credential's response.
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
    let raw_id_at = || {
        Some(Location {
            input: Input::RawId,
            path: "rawId".into(),
            range: 0..response.raw_id.len(),
        })
    };
    // Step 5: "If allowCredentials is not empty, verify that credential.id
    // identifies one of the public key credentials listed".
    let result = if !expect.allow_credentials.is_empty()
        && !expect.allow_credentials.contains(&response.raw_id)
    {
        Err(CeremonyError::CredentialNotAllowed)
    } else {
        Ok(())
    };
    check(obs, step(Rule::AllowCredentials), result, || {
        let expected = if expect.allow_credentials.is_empty() {
            "any credential (allowCredentials is empty)".to_owned()
        } else {
            let ids: Vec<String> = expect.allow_credentials.iter().map(|i| b64(i)).collect();
            format!("one of {}", ids.join(", "))
        };
        StepDetail::compared(expected, b64(response.raw_id)).at(raw_id_at())
    })?;
    // Step 6: the credential record is the one rawId names, and belongs to
    // the user: the identified user's, or the one userHandle names.
    let result = if record.id.as_slice() != response.raw_id {
        Err(CeremonyError::CredentialRecordMismatch)
    } else {
        match (expect.identified_user, response.user_handle) {
            (Some(user), handle) => {
                if user != record.user_handle.as_slice() || handle.is_some_and(|h| h != user) {
                    Err(CeremonyError::UserHandleMismatch)
                } else {
                    Ok(())
                }
            }
            (None, None) => Err(CeremonyError::UserHandleMissing),
            (None, Some(h)) => {
                if h != record.user_handle.as_slice() {
                    Err(CeremonyError::UserHandleMismatch)
                } else {
                    Ok(())
                }
            }
        }
    };
    let record_id_matches = record.id.as_slice() == response.raw_id;
    check(obs, step(Rule::UserAccount), result, || {
        if !record_id_matches {
            return StepDetail::compared(b64(record.id.as_slice()), b64(response.raw_id))
                .at(raw_id_at());
        }
        let found = response
            .user_handle
            .map(b64)
            .unwrap_or_else(|| "no userHandle".into());
        let expected = if record.user_handle.as_slice().is_empty() {
            format!(
                "credential record {} (its user handle is not known)",
                b64(record.id.as_slice())
            )
        } else {
            format!(
                "userHandle {} or absent",
                b64(record.user_handle.as_slice())
            )
        };
        StepDetail::compared(expected, found).at(response.user_handle.map(|h| Location {
            input: Input::UserHandle,
            path: "response.userHandle".into(),
            range: 0..h.len(),
        }))
    })?;
    // Step 7: authenticator data, parsed fully before use.
    let auth_data = AuthenticatorData::parse(response.authenticator_data);
    match &auth_data {
        Ok(_) => obs.passed(step(Rule::AuthenticatorData), || {
            StepDetail::found(format!("{} bytes", response.authenticator_data.len()))
        }),
        Err(e) => check(
            obs,
            step(Rule::AuthenticatorData),
            Err(e.clone().into()),
            || {
                StepDetail::default().at(Some(Location {
                    input: Input::AuthenticatorData,
                    path: "authenticatorData".into(),
                    range: 0..response.authenticator_data.len(),
                }))
            },
        )?,
    }
    // Steps 8-14.
    client_data::check_all(
        obs,
        ctx.rp,
        response.client_data_json,
        CeremonyType::Get,
        expect.challenge,
    )?;
    let auth_data = match auth_data {
        Ok(a) => a,
        // Only an observer that keeps going gets here: the rest needs the
        // authenticator data.
        Err(e) => return Err(obs.first_failure().unwrap_or(e.into())),
    };
    let at = |path: &str, range: std::ops::Range<usize>| {
        Some(Location {
            input: Input::AuthenticatorData,
            path: format!("authenticatorData.{path}"),
            range,
        })
    };
    // Step 15: rpIdHash.
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
    // Step 16: "Verify that the UP bit ... is set."
    let result = if flags.user_present() {
        Ok(())
    } else {
        Err(CeremonyError::UserNotPresent)
    };
    check(obs, step(Rule::UserPresent), result, || {
        flag_detail("UP set", "UP", flags.user_present())
    })?;
    // Step 17: UV if required.
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
    // Step 18: BS only with BE.
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
    // Step 19: BE must equal the record's (it is fixed for a credential).
    let be_changed = flags.backup_eligible() != record.backup_eligible;
    let result = if be_changed
        && ctx.policy.backup_eligibility == BackupEligibilityPolicy::MustMatchRecord
    {
        Err(CeremonyError::BackupEligibilityChanged {
            recorded: record.backup_eligible,
            received: flags.backup_eligible(),
        })
    } else {
        Ok(())
    };
    check(obs, step(Rule::BackupEligibility), result, || {
        StepDetail::compared(
            format!("BE {} (as recorded)", record.backup_eligible),
            format!("BE {}", flags.backup_eligible()),
        )
        .at(at("flags.BE", 32..33))
    })?;
    // Step 20: hash = SHA-256(cData).
    let hash = sha256(response.client_data_json);
    obs.passed(step(Rule::ClientDataHash), || {
        StepDetail::found(crate::decoder::hex(&hash))
    });
    // Step 21: the signature over authData || hash, with the stored key.
    let result = credential
        .verifier()
        .verify_webauthn(response.authenticator_data, &hash, response.signature)
        .map_err(CeremonyError::from);
    check(obs, step(Rule::Signature), result, || {
        StepDetail::compared(
            format!(
                "a valid {} signature over authenticatorData || SHA-256(clientDataJSON)",
                record.algorithm
            ),
            format!("{} bytes", response.signature.len()),
        )
        .at(Some(Location {
            input: Input::Signature,
            path: "signature".into(),
            range: 0..response.signature.len(),
        }))
    })?;
    // Step 22: the signature counter.
    let received = auth_data.sign_count;
    let recorded = record.sign_count;
    let counter = if received == 0 && recorded == 0 {
        CounterCheck::NotUsed
    } else if received > recorded {
        CounterCheck::Advanced
    } else {
        CounterCheck::Regressed { recorded, received }
    };
    let result = if matches!(counter, CounterCheck::Regressed { .. })
        && ctx.policy.counter == CounterPolicy::Reject
    {
        Err(CeremonyError::CounterRegressed { recorded, received })
    } else {
        Ok(())
    };
    check(obs, step(Rule::SignCount), result, || {
        StepDetail::compared(
            format!("0 (with a recorded 0) or above the recorded {recorded}"),
            received.to_string(),
        )
        .at(at("signCount", 33..37))
    })?;
    // Step 23: extension outputs, against what options.extensions asked for.
    let extension_verdicts = extensions::check_outputs(
        obs,
        step(Rule::Extensions),
        expect.extensions,
        auth_data.extensions.as_ref(),
        response.client_extension_results,
        None,
    )?;
    if let Some(first) = obs.first_failure() {
        return Err(first);
    }
    Ok(AuthenticationOutcome {
        sign_count: received,
        counter,
        user_verified: flags.user_verified(),
        backup_eligible: flags.backup_eligible(),
        backup_state: flags.backed_up(),
        backup_eligibility_changed: be_changed,
        extensions: auth_data.extensions,
        extension_verdicts,
    })
}
