//! The specification's words for each step: WebAuthn Level 3 §7.1
//! "Registering a New Credential" and §7.2 "Verifying an Authentication
//! Assertion", quoted from w3c/webauthn `index.bs` at 146d0db (the revision
//! the vendored test vectors come from; step numbers as that text renders).

use crate::ceremony::steps::{Ceremony, Rule};

/// A step as the specification numbers and words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecStep {
    /// The rule the core checks.
    pub rule: Rule,
    /// The step number(s), e.g. "14" or "5-6".
    pub number: &'static str,
    /// A short title.
    pub title: &'static str,
    /// The specification's sentence (or Keybench's, where it adds a rule).
    pub text: &'static str,
}

const fn s(rule: Rule, number: &'static str, title: &'static str, text: &'static str) -> SpecStep {
    SpecStep {
        rule,
        number,
        title,
        text,
    }
}

const SHARED_CROSS_ORIGIN_REG: &str = "If C.crossOrigin is present and set to true, verify that the Relying Party expects that this credential would have been created within an iframe that is not same-origin with its ancestors.";
const SHARED_TOP_ORIGIN_REG: &str = "If C.topOrigin is present: Verify that the Relying Party expects that this credential would have been created within an iframe that is not same-origin with its ancestors. Verify that the value of C.topOrigin matches the origin of a page that the Relying Party expects to be sub-framed within.";

/// §7.1 in the order the core checks it.
pub const REGISTRATION: &[SpecStep] = &[
    s(
        Rule::CredentialType,
        "3",
        "Response type",
        "Let response be credential.response. If response is not an instance of AuthenticatorAttestationResponse, abort the ceremony with a user-visible error. (In JSON: type is \"public-key\".)",
    ),
    s(
        Rule::ClientData,
        "5-6",
        "clientDataJSON decodes",
        "Let JSONtext be the result of running UTF-8 decode on the value of response.clientDataJSON. Let C, the client data claimed as collected during the credential creation, be the result of running an implementation-specific JSON parser on JSONtext.",
    ),
    s(
        Rule::CeremonyType,
        "7",
        "C.type",
        "Verify that the value of C.type is webauthn.create.",
    ),
    s(
        Rule::Challenge,
        "8",
        "C.challenge",
        "Verify that the value of C.challenge equals the base64url encoding of pkOptions.challenge.",
    ),
    s(
        Rule::Origin,
        "9",
        "C.origin",
        "Verify that the value of C.origin is an origin expected by the Relying Party.",
    ),
    s(
        Rule::CrossOrigin,
        "10",
        "C.crossOrigin",
        SHARED_CROSS_ORIGIN_REG,
    ),
    s(Rule::TopOrigin, "11", "C.topOrigin", SHARED_TOP_ORIGIN_REG),
    s(
        Rule::ClientDataHash,
        "12",
        "hash",
        "Let hash be the result of computing a hash over response.clientDataJSON using SHA-256.",
    ),
    s(
        Rule::AttestationObject,
        "13",
        "attestationObject decodes",
        "Perform CBOR decoding on the attestationObject field of the AuthenticatorAttestationResponse structure to obtain the attestation statement format fmt, the authenticator data authData, and the attestation statement attStmt.",
    ),
    s(
        Rule::RpIdHash,
        "14",
        "rpIdHash",
        "Verify that the rpIdHash in authData is the SHA-256 hash of the RP ID expected by the Relying Party.",
    ),
    s(
        Rule::UserPresent,
        "15",
        "User present (UP)",
        "If options.mediation is not set to conditional, verify that the UP bit of the flags in authData is set.",
    ),
    s(
        Rule::UserVerified,
        "16",
        "User verified (UV)",
        "If the Relying Party requires user verification for this registration, verify that the UV bit of the flags in authData is set.",
    ),
    s(
        Rule::BackupState,
        "17",
        "BS needs BE",
        "If the BE bit of the flags in authData is not set, verify that the BS bit is not set.",
    ),
    s(
        Rule::BackupEligibility,
        "18-19",
        "BE and BS",
        "If the Relying Party uses the credential's backup eligibility to inform its user experience flows and/or policies, evaluate the BE bit of the flags in authData. If the Relying Party uses the credential's backup state to inform its user experience flows and/or policies, evaluate the BS bit of the flags in authData.",
    ),
    s(
        Rule::Algorithm,
        "20",
        "Algorithm offered",
        "Verify that the \"alg\" parameter in the credential public key in authData matches the alg attribute of one of the items in pkOptions.pubKeyCredParams.",
    ),
    s(
        Rule::CredentialId,
        "20a",
        "rawId is the attested credential",
        "Keybench's rule (not a numbered step): the credential the response names (rawId) is the credentialId in authData's attested credential data.",
    ),
    s(
        Rule::AttestationFormat,
        "21",
        "Attestation format",
        "Determine the attestation statement format by performing a USASCII case-sensitive match on fmt against the set of supported WebAuthn Attestation Statement Format Identifier values.",
    ),
    s(
        Rule::AttestationStatement,
        "22",
        "Attestation statement",
        "Verify that attStmt is a correct attestation statement, conveying a valid attestation signature, by using the attestation statement format fmt's verification procedure given attStmt, authData and hash.",
    ),
    s(
        Rule::AttestationTrust,
        "23-24",
        "Attestation trust",
        "If validation is successful, obtain a list of acceptable trust anchors (i.e. attestation root certificates) for that attestation type and attestation statement format fmt, from a trusted source or from policy. Assess the attestation trustworthiness using the outputs of the verification procedure.",
    ),
    s(
        Rule::CredentialIdLength,
        "25",
        "credentialId length",
        "Verify that the credentialId is ≤ 1023 bytes. Credential IDs larger than this many bytes SHOULD cause the RP to fail this registration ceremony.",
    ),
    s(
        Rule::NotYetRegistered,
        "26",
        "Not yet registered",
        "Verify that the credentialId is not yet registered for any user. If the credentialId is already known then the Relying Party SHOULD fail this registration ceremony.",
    ),
    s(
        Rule::Extensions,
        "28",
        "Extension outputs",
        "Process the client extension outputs in clientExtensionResults and the authenticator extension outputs in the extensions in authData as required by the Relying Party.",
    ),
];

/// §7.2 in the order the core checks it.
pub const AUTHENTICATION: &[SpecStep] = &[
    s(
        Rule::CredentialType,
        "3",
        "Response type",
        "Let response be credential.response. If response is not an instance of AuthenticatorAssertionResponse, abort the ceremony with a user-visible error. (In JSON: type is \"public-key\".)",
    ),
    s(
        Rule::AllowCredentials,
        "5",
        "allowCredentials",
        "If pkOptions.allowCredentials is not empty, verify that credential.id identifies one of the public key credentials listed in pkOptions.allowCredentials.",
    ),
    s(
        Rule::UserAccount,
        "6",
        "Credential record and user",
        "Identify the user being authenticated and let credentialRecord be the credential record for the credential: verify that the user account contains a credential record whose id equals credential.rawId; if response.userHandle is present, verify that it equals the user handle of the user account.",
    ),
    s(
        Rule::AuthenticatorData,
        "7",
        "authenticatorData decodes",
        "Let cData, authData and sig denote the value of response's clientDataJSON, authenticatorData, and signature respectively.",
    ),
    s(
        Rule::ClientData,
        "8-9",
        "clientDataJSON decodes",
        "Let JSONtext be the result of running UTF-8 decode on the value of cData. Let C, the client data claimed as used for the signature, be the result of running an implementation-specific JSON parser on JSONtext.",
    ),
    s(
        Rule::CeremonyType,
        "10",
        "C.type",
        "Verify that the value of C.type is the string webauthn.get.",
    ),
    s(
        Rule::Challenge,
        "11",
        "C.challenge",
        "Verify that the value of C.challenge equals the base64url encoding of pkOptions.challenge.",
    ),
    s(
        Rule::Origin,
        "12",
        "C.origin",
        "Verify that the value of C.origin is an origin expected by the Relying Party.",
    ),
    s(
        Rule::CrossOrigin,
        "13",
        "C.crossOrigin",
        "If C.crossOrigin is present and set to true, verify that the Relying Party expects this credential to be used within an iframe that is not same-origin with its ancestors.",
    ),
    s(
        Rule::TopOrigin,
        "14",
        "C.topOrigin",
        "If C.topOrigin is present: Verify that the Relying Party expects this credential to be used within an iframe that is not same-origin with its ancestors. Verify that the value of C.topOrigin matches the origin of a page that the Relying Party expects to be sub-framed within.",
    ),
    s(
        Rule::RpIdHash,
        "15",
        "rpIdHash",
        "Verify that the rpIdHash in authData is the SHA-256 hash of the RP ID expected by the Relying Party.",
    ),
    s(
        Rule::UserPresent,
        "16",
        "User present (UP)",
        "Verify that the UP bit of the flags in authData is set.",
    ),
    s(
        Rule::UserVerified,
        "17",
        "User verified (UV)",
        "If user verification was determined to be required, verify that the UV bit of the flags in authData is set. Otherwise, ignore the value of the UV flag.",
    ),
    s(
        Rule::BackupState,
        "18",
        "BS needs BE",
        "If the BE bit of the flags in authData is not set, verify that the BS bit is not set.",
    ),
    s(
        Rule::BackupEligibility,
        "19",
        "BE as recorded",
        "If credentialRecord.backupEligible is set, verify that currentBe is set. If credentialRecord.backupEligible is not set, verify that currentBe is not set.",
    ),
    s(
        Rule::ClientDataHash,
        "20",
        "hash",
        "Let hash be the result of computing a hash over the cData using SHA-256.",
    ),
    s(
        Rule::Signature,
        "21",
        "Signature",
        "Using credentialRecord.publicKey, verify that sig is a valid signature over the binary concatenation of authData and hash.",
    ),
    s(
        Rule::SignCount,
        "22",
        "Signature counter",
        "If authData.signCount is nonzero or credentialRecord.signCount is nonzero, then: if authData.signCount is greater than credentialRecord.signCount the signature counter is valid; less than or equal to is a signal, but not proof, that the authenticator may be cloned.",
    ),
    s(
        Rule::Extensions,
        "23",
        "Extension outputs",
        "Process the client extension outputs in clientExtensionResults and the authenticator extension outputs in the extensions in authData as required by the Relying Party.",
    ),
];

/// The steps of a ceremony.
pub fn steps(ceremony: Ceremony) -> &'static [SpecStep] {
    match ceremony {
        Ceremony::Registration => REGISTRATION,
        Ceremony::Authentication => AUTHENTICATION,
    }
}

/// The section of a ceremony.
pub fn section(ceremony: Ceremony) -> &'static str {
    match ceremony {
        Ceremony::Registration => "7.1",
        Ceremony::Authentication => "7.2",
    }
}
