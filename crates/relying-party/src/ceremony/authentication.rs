//! Verifying an authentication assertion: WebAuthn L3 §7.2
//! (`#sctn-verifying-assertion`). Steps 1-4 are the client's.

use super::{CeremonyContext, client_data, sha256};
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
}

/// Runs §7.2 steps 3 and 5-22 against `credential`, the record the caller
/// looked up by `rawId` (step 6).
pub fn verify_authentication(
    ctx: &CeremonyContext<'_>,
    expect: &AuthenticationExpectations<'_>,
    response: &AuthenticationResponse<'_>,
    credential: &Credential,
) -> Result<AuthenticationOutcome, CeremonyError> {
    let record = credential.record();
    // Step 3: a public-key credential's response.
    if response.credential_type != "public-key" {
        return Err(CeremonyError::WrongCredentialType(
            response.credential_type.to_owned(),
        ));
    }
    // Step 5: "If allowCredentials is not empty, verify that credential.id
    // identifies one of the public key credentials listed".
    if !expect.allow_credentials.is_empty() && !expect.allow_credentials.contains(&response.raw_id)
    {
        return Err(CeremonyError::CredentialNotAllowed);
    }
    // Step 6: the credential record is the one rawId names, and belongs to
    // the user: the identified user's, or the one userHandle names.
    if record.id.as_slice() != response.raw_id {
        return Err(CeremonyError::CredentialRecordMismatch);
    }
    match (expect.identified_user, response.user_handle) {
        (Some(user), handle) => {
            if user != record.user_handle.as_slice() {
                return Err(CeremonyError::UserHandleMismatch);
            }
            if handle.is_some_and(|h| h != user) {
                return Err(CeremonyError::UserHandleMismatch);
            }
        }
        (None, None) => return Err(CeremonyError::UserHandleMissing),
        (None, Some(h)) => {
            if h != record.user_handle.as_slice() {
                return Err(CeremonyError::UserHandleMismatch);
            }
        }
    }
    // Step 7: authenticator data, parsed fully before use.
    let auth_data = AuthenticatorData::parse(response.authenticator_data)?;
    // Steps 8-14.
    client_data::check(
        ctx.rp,
        response.client_data_json,
        CeremonyType::Get,
        expect.challenge,
    )?;
    // Step 15: rpIdHash.
    if &auth_data.rp_id_hash != ctx.rp.rp_id_hash() {
        return Err(CeremonyError::RpIdHashMismatch {
            rp_id: ctx.rp.rp_id().to_owned(),
        });
    }
    let flags = auth_data.flags;
    // Step 16: "Verify that the UP bit ... is set."
    if !flags.user_present() {
        return Err(CeremonyError::UserNotPresent);
    }
    // Step 17: UV if required.
    if ctx.policy.user_verification == UserVerification::Required && !flags.user_verified() {
        return Err(CeremonyError::UserNotVerified);
    }
    // Step 18: BS only with BE.
    if !flags.backup_eligible() && flags.backed_up() {
        return Err(CeremonyError::BackupStateWithoutEligibility);
    }
    // Step 19: BE must equal the record's (it is fixed for a credential).
    let be_changed = flags.backup_eligible() != record.backup_eligible;
    if be_changed && ctx.policy.backup_eligibility == BackupEligibilityPolicy::MustMatchRecord {
        return Err(CeremonyError::BackupEligibilityChanged {
            recorded: record.backup_eligible,
            received: flags.backup_eligible(),
        });
    }
    // Step 20: hash = SHA-256(cData).
    let hash = sha256(response.client_data_json);
    // Step 21: the signature over authData || hash, with the stored key.
    credential.verifier().verify_webauthn(
        response.authenticator_data,
        &hash,
        response.signature,
    )?;
    // Step 22: the signature counter.
    let received = auth_data.sign_count;
    let recorded = record.sign_count;
    let counter = if received == 0 && recorded == 0 {
        CounterCheck::NotUsed
    } else if received > recorded {
        CounterCheck::Advanced
    } else {
        if ctx.policy.counter == CounterPolicy::Reject {
            return Err(CeremonyError::CounterRegressed { recorded, received });
        }
        CounterCheck::Regressed { recorded, received }
    };
    Ok(AuthenticationOutcome {
        sign_count: received,
        counter,
        user_verified: flags.user_verified(),
        backup_eligible: flags.backup_eligible(),
        backup_state: flags.backed_up(),
        backup_eligibility_changed: be_changed,
        extensions: auth_data.extensions,
    })
}
