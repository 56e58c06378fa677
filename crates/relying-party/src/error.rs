//! Why a registration or authentication ceremony fails: one variant per
//! rule of WebAuthn L3 §7.1 and §7.2, each naming the step it enforces
//! (step numbers as in the specification at w3c/webauthn 146d0db, the
//! revision the vendored test vectors come from).

use crate::attestation::AttestationError;
use crate::verifier::{KeyError, SignatureError};
use fido_wire::cose::CoseAlgorithm;
use fido_wire::webauthn::{AttestationObjectError, AuthDataError, ClientDataError};

/// A failed ceremony. Messages name the rule, never secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CeremonyError {
    /// §7.1 step 3 / §7.2 step 3: the credential's `type` is not "public-key".
    #[error("credential type is \"{0}\", not \"public-key\"")]
    WrongCredentialType(String),
    /// §7.1 steps 5-6 / §7.2 steps 8-9: clientDataJSON is not valid client data.
    #[error("clientDataJSON: {0}")]
    ClientData(#[from] ClientDataError),
    /// §7.1 step 7 / §7.2 step 10: `type` is not the ceremony's.
    #[error("clientDataJSON type is \"{found}\", expected \"{expected}\"")]
    WrongCeremonyType {
        /// "webauthn.create" or "webauthn.get".
        expected: &'static str,
        /// What the client data said.
        found: String,
    },
    /// §7.1 step 8 / §7.2 step 11: `challenge` is not the one handed out.
    #[error("clientDataJSON challenge does not match the challenge issued for this ceremony")]
    ChallengeMismatch,
    /// §7.1 step 9 / §7.2 step 12: `origin` is not on the allow-list.
    #[error("origin \"{0}\" is not an allowed origin of this relying party")]
    OriginNotAllowed(String),
    /// §7.1 step 10 / §7.2 step 13: `crossOrigin` is true but the relying
    /// party does not expect to be framed.
    #[error("crossOrigin is true but this relying party allows same-origin use only")]
    CrossOriginNotAllowed,
    /// §7.1 step 11.1 / §7.2 step 14.1: `topOrigin` is present but the
    /// relying party does not expect to be framed.
    #[error("topOrigin is present but this relying party allows same-origin use only")]
    TopOriginNotExpected,
    /// §7.1 step 11.2 / §7.2 step 14.2: `topOrigin` is not an allowed embedder.
    #[error("topOrigin \"{0}\" is not an allowed embedding origin")]
    TopOriginNotAllowed(String),
    /// §7.1 step 13: the attestation object does not decode.
    #[error("attestationObject: {0}")]
    AttestationObject(#[from] AttestationObjectError),
    /// §7.2 step 7: the authenticator data does not decode.
    #[error("authenticatorData: {0}")]
    AuthenticatorData(#[from] AuthDataError),
    /// §7.1 step 14 / §7.2 step 15: `rpIdHash` is not SHA-256 of the RP ID.
    #[error("rpIdHash is not the SHA-256 of RP ID \"{rp_id}\"")]
    RpIdHashMismatch {
        /// The expected RP ID.
        rp_id: String,
    },
    /// §7.1 step 15 / §7.2 step 16: the UP flag is not set.
    #[error("user presence flag (UP) is not set")]
    UserNotPresent,
    /// §7.1 step 16 / §7.2 step 17: UV is required and its flag is not set.
    #[error("user verification is required but the UV flag is not set")]
    UserNotVerified,
    /// §7.1 step 17 / §7.2 step 18: BS is set although BE is not.
    #[error("backup state (BS) is set but backup eligibility (BE) is not")]
    BackupStateWithoutEligibility,
    /// §7.2 step 19: BE differs from the credential record.
    #[error("backup eligibility changed: recorded {recorded}, now {received}")]
    BackupEligibilityChanged {
        /// BE in the record.
        recorded: bool,
        /// BE in this assertion.
        received: bool,
    },
    /// §7.1 step 20: the credential algorithm was not among those offered.
    #[error("credential algorithm {0} was not offered in pubKeyCredParams")]
    AlgorithmNotOffered(CoseAlgorithm),
    /// §7.1 step 20 (and the record's key): the credential public key is unusable.
    #[error("credential public key: {0}")]
    PublicKey(#[from] KeyError),
    /// §7.1 step 21: `fmt` is not a supported attestation statement format.
    #[error("attestation statement format \"{0}\" is not supported")]
    UnsupportedAttestationFormat(String),
    /// §7.1 step 22: the attestation statement does not verify.
    #[error("attestation: {0}")]
    Attestation(#[from] AttestationError),
    /// §7.1 step 24: policy requires an attestation a trust anchor vouches for.
    #[error("attestation is not trusted: {0}")]
    AttestationNotTrusted(String),
    /// §7.1 step 25: the credential ID is longer than 1023 bytes.
    #[error("credential ID is {0} bytes, over 1023")]
    CredentialIdTooLong(usize),
    /// The credential's `rawId` is not the credential ID in the authenticator data.
    #[error("rawId does not match the credential ID in the authenticator data")]
    CredentialIdMismatch,
    /// §7.1 step 26: the credential ID is already registered.
    #[error("credential ID is already registered")]
    CredentialAlreadyRegistered,
    /// §7.2 step 5: the credential is not in allowCredentials.
    #[error("credential is not one of those allowed for this ceremony")]
    CredentialNotAllowed,
    /// §7.2 step 6: `rawId` is not the credential record's ID.
    #[error("credential record is not the one the response names")]
    CredentialRecordMismatch,
    /// §7.2 step 6: the user was not identified beforehand and no userHandle came back.
    #[error("userHandle is required when the user was not identified beforehand")]
    UserHandleMissing,
    /// §7.2 step 6: userHandle is not the user account's.
    #[error("userHandle does not belong to the credential's user account")]
    UserHandleMismatch,
    /// §7.2 step 21: the assertion signature does not verify.
    #[error("assertion signature: {0}")]
    Signature(#[from] SignatureError),
    /// §7.1 step 28 / §7.2 step 23: an extension output breaks the
    /// extension's definition (type, length) or the policy the relying party
    /// enforced (credProtect).
    #[error("extension {extension}: {reason}")]
    ExtensionOutput {
        /// The extension.
        extension: String,
        /// What is wrong.
        reason: String,
    },
    /// §7.2 step 22 under [`crate::CounterPolicy::Reject`]: the counter did not advance.
    #[error("signature counter did not advance: recorded {recorded}, received {received}")]
    CounterRegressed {
        /// The record's counter.
        recorded: u32,
        /// The assertion's counter.
        received: u32,
    },
}

impl CeremonyError {
    /// The stable API code of this failure (docs/API.md, "Error codes"):
    /// written out, so renaming a variant cannot change what clients see.
    pub fn code(&self) -> &'static str {
        match self {
            CeremonyError::WrongCredentialType(_) => "wrong_credential_type",
            CeremonyError::ClientData(_) => "client_data",
            CeremonyError::WrongCeremonyType { .. } => "wrong_ceremony_type",
            CeremonyError::ChallengeMismatch => "challenge_mismatch",
            CeremonyError::OriginNotAllowed(_) => "origin_not_allowed",
            CeremonyError::CrossOriginNotAllowed => "cross_origin_not_allowed",
            CeremonyError::TopOriginNotExpected => "top_origin_not_expected",
            CeremonyError::TopOriginNotAllowed(_) => "top_origin_not_allowed",
            CeremonyError::AttestationObject(_) => "attestation_object",
            CeremonyError::AuthenticatorData(_) => "authenticator_data",
            CeremonyError::RpIdHashMismatch { .. } => "rp_id_hash_mismatch",
            CeremonyError::UserNotPresent => "user_not_present",
            CeremonyError::UserNotVerified => "user_not_verified",
            CeremonyError::BackupStateWithoutEligibility => "backup_state_without_eligibility",
            CeremonyError::BackupEligibilityChanged { .. } => "backup_eligibility_changed",
            CeremonyError::AlgorithmNotOffered(_) => "algorithm_not_offered",
            CeremonyError::PublicKey(_) => "public_key",
            CeremonyError::UnsupportedAttestationFormat(_) => "unsupported_attestation_format",
            CeremonyError::Attestation(_) => "attestation",
            CeremonyError::AttestationNotTrusted(_) => "attestation_not_trusted",
            CeremonyError::CredentialIdTooLong(_) => "credential_id_too_long",
            CeremonyError::CredentialIdMismatch => "credential_id_mismatch",
            CeremonyError::CredentialAlreadyRegistered => "credential_already_registered",
            CeremonyError::CredentialNotAllowed => "credential_not_allowed",
            CeremonyError::CredentialRecordMismatch => "credential_record_mismatch",
            CeremonyError::UserHandleMissing => "user_handle_missing",
            CeremonyError::UserHandleMismatch => "user_handle_mismatch",
            CeremonyError::Signature(_) => "signature",
            CeremonyError::CounterRegressed { .. } => "counter_regressed",
            CeremonyError::ExtensionOutput { .. } => "extension_output",
        }
    }

    /// Every code [`CeremonyError::code`] answers.
    pub const CODES: &'static [&'static str] = &[
        "wrong_credential_type",
        "client_data",
        "wrong_ceremony_type",
        "challenge_mismatch",
        "origin_not_allowed",
        "cross_origin_not_allowed",
        "top_origin_not_expected",
        "top_origin_not_allowed",
        "attestation_object",
        "authenticator_data",
        "rp_id_hash_mismatch",
        "user_not_present",
        "user_not_verified",
        "backup_state_without_eligibility",
        "backup_eligibility_changed",
        "algorithm_not_offered",
        "public_key",
        "unsupported_attestation_format",
        "attestation",
        "attestation_not_trusted",
        "credential_id_too_long",
        "credential_id_mismatch",
        "credential_already_registered",
        "credential_not_allowed",
        "credential_record_mismatch",
        "user_handle_missing",
        "user_handle_mismatch",
        "signature",
        "counter_regressed",
        "extension_output",
    ];
}
