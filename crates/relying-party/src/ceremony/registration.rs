//! Registering a new credential: WebAuthn L3 §7.1
//! (`#sctn-registering-a-new-credential`). Steps 1-4 are the client's
//! (options, create(), the response object, client extension results).

use super::{CeremonyContext, client_data, sha256};
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
}

/// Runs §7.1 steps 3 and 5-27. `is_registered` answers step 26 ("not yet
/// registered for any user"); storing the record (step 29) is the caller's.
pub fn verify_registration(
    ctx: &CeremonyContext<'_>,
    expect: &RegistrationExpectations<'_>,
    response: &RegistrationResponse<'_>,
    is_registered: &dyn Fn(&[u8]) -> bool,
) -> Result<RegistrationOutcome, CeremonyError> {
    // Step 3: the response must be a public-key credential's.
    if response.credential_type != "public-key" {
        return Err(CeremonyError::WrongCredentialType(
            response.credential_type.to_owned(),
        ));
    }
    // Steps 5-11.
    client_data::check(
        ctx.rp,
        response.client_data_json,
        CeremonyType::Create,
        expect.challenge,
    )?;
    // Step 12: hash = SHA-256(clientDataJSON).
    let client_data_hash = sha256(response.client_data_json);
    // Step 13: CBOR-decode the attestation object.
    let att = AttestationObject::from_cbor(response.attestation_object)?;
    let auth_data = &att.auth_data;
    let Some(acd) = auth_data.attested_credential.as_ref() else {
        // from_cbor guarantees attested credential data; kept as a typed error.
        return Err(CeremonyError::AttestationObject(
            fido_wire::webauthn::AttestationObjectError::NoAttestedCredential,
        ));
    };
    // Step 14: "rpIdHash in authData is the SHA-256 hash of the RP ID".
    if &auth_data.rp_id_hash != ctx.rp.rp_id_hash() {
        return Err(CeremonyError::RpIdHashMismatch {
            rp_id: ctx.rp.rp_id().to_owned(),
        });
    }
    // Step 15: UP set unless mediation was conditional.
    if !expect.conditional_mediation && !auth_data.flags.user_present() {
        return Err(CeremonyError::UserNotPresent);
    }
    // Step 16: UV set if the relying party requires user verification.
    if ctx.policy.user_verification == UserVerification::Required
        && !auth_data.flags.user_verified()
    {
        return Err(CeremonyError::UserNotVerified);
    }
    // Step 17: "If the BE bit ... is not set, verify that the BS bit is not set."
    if !auth_data.flags.backup_eligible() && auth_data.flags.backed_up() {
        return Err(CeremonyError::BackupStateWithoutEligibility);
    }
    // Steps 18-19: BE and BS are recorded (step 27) and reported; Keybench's
    // policy does not gate registration on them.

    // Step 20: "alg ... matches the alg of one of the items in pubKeyCredParams".
    // The key is decoded here, once; a key we cannot verify with fails now,
    // not at the first authentication.
    let alg = acd
        .public_key
        .alg
        .ok_or(crate::verifier::KeyError::MissingAlgorithm)?;
    if !expect.algorithms.contains(&alg) {
        return Err(CeremonyError::AlgorithmNotOffered(alg));
    }
    let verifier = PublicKeyVerifier::from_cose(&acd.public_key)?;

    // The credential the client names must be the one the authenticator attested.
    if acd.credential_id != response.raw_id {
        return Err(CeremonyError::CredentialIdMismatch);
    }

    // Step 21: case-sensitive match of fmt against supported formats.
    let format = AttestationFormat::from_identifier(&att.fmt)
        .ok_or_else(|| CeremonyError::UnsupportedAttestationFormat(att.fmt.clone()))?;
    // Step 22: the format's verification procedure.
    let statement = verify_statement(
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
    )?;
    // Steps 23-24: anchors for this AAGUID, then trust assessment.
    let trust = ctx.trust.assess(&statement, &acd.aaguid, ctx.now);
    if ctx.policy.attestation == AttestationPolicy::RequireTrustedAnchor && !trust.is_trusted() {
        let why = match &trust {
            TrustOutcome::NoAttestation => "no attestation".to_owned(),
            TrustOutcome::SelfAttestation => "self attestation".to_owned(),
            TrustOutcome::NotTrusted { reason } => reason.clone(),
            TrustOutcome::Trusted { .. } => String::new(),
        };
        return Err(CeremonyError::AttestationNotTrusted(why));
    }
    // Step 25: credentialId at most 1023 bytes (the parser enforces it too).
    if acd.credential_id.len() > MAX_CREDENTIAL_ID_LEN {
        return Err(CeremonyError::CredentialIdTooLong(acd.credential_id.len()));
    }
    // Step 26: "credentialId is not yet registered for any user".
    if is_registered(&acd.credential_id) {
        return Err(CeremonyError::CredentialAlreadyRegistered);
    }
    // Step 27: the credential record.
    let flags = auth_data.flags;
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
    // Step 28: extension outputs go to the caller.
    Ok(RegistrationOutcome {
        credential: Credential::from_parts(record, verifier),
        statement,
        trust,
        user_verified: flags.user_verified(),
        extensions: auth_data.extensions.clone(),
    })
}
