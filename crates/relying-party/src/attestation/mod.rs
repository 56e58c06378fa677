//! Attestation statements (WebAuthn L3 §8): each format's verification
//! procedure, and the trust assessment of its result (§7.1 steps 21-24).
//!
//! A format module checks the statement and returns a
//! [`VerifiedStatement`]: the attestation type and the trust path
//! (certificates, leaf first). Whether that path is trusted is decided
//! separately by [`TrustStore::assess`], against explicit anchors only.

mod android_key;
mod apple;
mod fido_u2f;
mod none;
mod packed;
mod tpm;
mod trust;

pub use trust::{TrustOutcome, TrustStore};

use crate::verifier::PublicKeyVerifier;
use crate::x509::{CertError, Certificate};
use fido_wire::cbor::Value;
use fido_wire::cose::{CoseAlgorithm, CoseKey};
use fido_wire::webauthn::AuthenticatorData;
use serde::{Deserialize, Serialize};

/// The attestation statement formats verified here (IANA registry names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum AttestationFormat {
    /// "none" (§8.7).
    #[serde(rename = "none")]
    None,
    /// "packed" (§8.2).
    #[serde(rename = "packed")]
    Packed,
    /// "tpm" (§8.3).
    #[serde(rename = "tpm")]
    Tpm,
    /// "android-key" (§8.4).
    #[serde(rename = "android-key")]
    AndroidKey,
    /// "fido-u2f" (§8.6).
    #[serde(rename = "fido-u2f")]
    FidoU2f,
    /// "apple" (§8.8).
    #[serde(rename = "apple")]
    Apple,
}

impl AttestationFormat {
    /// Case-sensitive match on the identifier (§7.1 step 21).
    pub fn from_identifier(fmt: &str) -> Option<AttestationFormat> {
        Some(match fmt {
            "none" => AttestationFormat::None,
            "packed" => AttestationFormat::Packed,
            "tpm" => AttestationFormat::Tpm,
            "android-key" => AttestationFormat::AndroidKey,
            "fido-u2f" => AttestationFormat::FidoU2f,
            "apple" => AttestationFormat::Apple,
            _ => return None,
        })
    }

    /// The identifier.
    pub fn identifier(self) -> &'static str {
        match self {
            AttestationFormat::None => "none",
            AttestationFormat::Packed => "packed",
            AttestationFormat::Tpm => "tpm",
            AttestationFormat::AndroidKey => "android-key",
            AttestationFormat::FidoU2f => "fido-u2f",
            AttestationFormat::Apple => "apple",
        }
    }
}

/// Attestation types (§6.5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum AttestationType {
    /// No attestation.
    None,
    /// Signed by the credential key itself.
    SelfAttestation,
    /// Basic attestation (a batch key).
    Basic,
    /// Attestation CA (TPM AIK certificates).
    AttCa,
    /// Anonymisation CA (Apple).
    AnonCa,
    /// Basic or AttCA; the format cannot tell which.
    Uncertain,
}

/// A statement that verified: its type and trust path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedStatement {
    /// The format.
    pub format: AttestationFormat,
    /// The attestation type.
    pub attestation_type: AttestationType,
    /// The attestation trust path, leaf first (empty for none and self).
    pub trust_path: Vec<Certificate>,
}

/// Why an attestation statement does not verify: one variant per rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AttestationError {
    /// A required member is absent or of the wrong CBOR type.
    #[error("{fmt} attStmt member \"{member}\" must be {expected}")]
    Member {
        /// The format.
        fmt: &'static str,
        /// The member.
        member: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// "none" with a non-empty statement.
    #[error("\"none\" attestation must have an empty attStmt")]
    NoneNotEmpty,
    /// An x5c array with no certificates.
    #[error("{0} attStmt x5c is empty")]
    EmptyX5c(&'static str),
    /// A certificate of x5c does not parse.
    #[error("{fmt} x5c certificate {index}: {source}")]
    Certificate {
        /// The format.
        fmt: &'static str,
        /// Position in x5c.
        index: usize,
        /// What is wrong.
        source: CertError,
    },
    /// Self attestation whose alg is not the credential key's (§8.2.2).
    #[error("self attestation alg {stmt} differs from the credential key's {credential}")]
    SelfAlgorithmMismatch {
        /// attStmt alg.
        stmt: CoseAlgorithm,
        /// Credential key alg.
        credential: CoseAlgorithm,
    },
    /// The attestation signature does not verify.
    #[error("{0} attestation signature does not verify")]
    BadSignature(&'static str),
    /// An attestation certificate requirement of the format is not met.
    #[error("{fmt} attestation certificate: {rule}")]
    CertificateRequirement {
        /// The format.
        fmt: &'static str,
        /// The rule broken.
        rule: String,
    },
    /// The certificate's AAGUID extension differs from authData's AAGUID.
    #[error("{0} certificate AAGUID extension does not match the authenticator data's AAGUID")]
    AaguidMismatch(&'static str),
    /// The certificate's public key is not the credential public key.
    #[error("{0} certificate public key is not the credential public key")]
    CredentialKeyMismatch(&'static str),
    /// A nonce or challenge embedded by the format does not match.
    #[error("{0} attestation nonce does not match")]
    NonceMismatch(&'static str),
    /// The credential key is of a type the format does not allow.
    #[error("{fmt} attestation cannot carry a {alg} credential key")]
    CredentialKeyType {
        /// The format.
        fmt: &'static str,
        /// The credential's algorithm.
        alg: CoseAlgorithm,
    },
    /// An algorithm refused as insecure unless policy allows it.
    #[error("{fmt} attestation uses {alg}, refused by policy")]
    InsecureAlgorithm {
        /// The format.
        fmt: &'static str,
        /// The algorithm.
        alg: CoseAlgorithm,
    },
    /// A format-specific structure (TPM structures, Android key description) is malformed.
    #[error("{fmt}: {reason}")]
    Malformed {
        /// The format.
        fmt: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// What a format's verification procedure receives (§7.1 step 22).
pub struct StatementInput<'a> {
    /// The attestation statement map.
    pub att_stmt: &'a Value,
    /// The authenticator data, parsed.
    pub auth_data: &'a AuthenticatorData,
    /// The authenticator data bytes, as signed.
    pub auth_data_bytes: &'a [u8],
    /// SHA-256 of clientDataJSON.
    pub client_data_hash: &'a [u8; 32],
    /// The credential public key.
    pub credential_key: &'a CoseKey,
    /// The credential public key, decoded.
    pub credential_verifier: &'a PublicKeyVerifier,
    /// Whether TPM attestation may use RS1 ([`crate::policy::TpmSha1Policy`]).
    pub allow_tpm_rs1: bool,
}

impl StatementInput<'_> {
    /// authenticatorData || clientDataHash, what most formats sign.
    pub(crate) fn signed_data(&self) -> Vec<u8> {
        let mut m = Vec::with_capacity(self.auth_data_bytes.len() + 32);
        m.extend_from_slice(self.auth_data_bytes);
        m.extend_from_slice(self.client_data_hash);
        m
    }
}

/// Runs `format`'s verification procedure.
pub fn verify_statement(
    format: AttestationFormat,
    input: &StatementInput<'_>,
) -> Result<VerifiedStatement, AttestationError> {
    match format {
        AttestationFormat::None => none::verify(input),
        AttestationFormat::Packed => packed::verify(input),
        AttestationFormat::FidoU2f => fido_u2f::verify(input),
        AttestationFormat::Tpm => tpm::verify(input),
        AttestationFormat::AndroidKey => android_key::verify(input),
        AttestationFormat::Apple => apple::verify(input),
    }
}

/// Member helpers shared by the formats.
pub(crate) struct Stmt<'a> {
    pub fmt: &'static str,
    pub value: &'a Value,
}

impl<'a> Stmt<'a> {
    pub fn new(fmt: &'static str, value: &'a Value) -> Self {
        Stmt { fmt, value }
    }

    fn err(&self, member: &'static str, expected: &'static str) -> AttestationError {
        AttestationError::Member {
            fmt: self.fmt,
            member,
            expected,
        }
    }

    pub fn has(&self, member: &str) -> bool {
        self.value.get_text(member).is_some()
    }

    pub fn bytes(&self, member: &'static str) -> Result<&'a [u8], AttestationError> {
        self.value
            .get_text(member)
            .and_then(Value::as_bytes)
            .ok_or_else(|| self.err(member, "a byte string"))
    }

    pub fn text(&self, member: &'static str) -> Result<&'a str, AttestationError> {
        self.value
            .get_text(member)
            .and_then(Value::as_text)
            .ok_or_else(|| self.err(member, "a text string"))
    }

    pub fn alg(&self) -> Result<CoseAlgorithm, AttestationError> {
        self.value
            .get_text("alg")
            .and_then(Value::as_i64)
            .map(CoseAlgorithm)
            .ok_or_else(|| self.err("alg", "an integer (COSE algorithm)"))
    }

    /// x5c as certificates, leaf first; required and non-empty.
    pub fn x5c(&self) -> Result<Vec<Certificate>, AttestationError> {
        let items = self
            .value
            .get_text("x5c")
            .and_then(Value::as_array)
            .ok_or_else(|| self.err("x5c", "an array of byte strings"))?;
        if items.is_empty() {
            return Err(AttestationError::EmptyX5c(self.fmt));
        }
        items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let der = item
                    .as_bytes()
                    .ok_or_else(|| self.err("x5c", "an array of byte strings"))?;
                Certificate::from_der(der).map_err(|source| AttestationError::Certificate {
                    fmt: self.fmt,
                    index,
                    source,
                })
            })
            .collect()
    }

    pub fn cert_err(&self, source: CertError) -> AttestationError {
        AttestationError::Certificate {
            fmt: self.fmt,
            index: 0,
            source,
        }
    }

    pub fn requirement(&self, rule: impl Into<String>) -> AttestationError {
        AttestationError::CertificateRequirement {
            fmt: self.fmt,
            rule: rule.into(),
        }
    }

    pub fn malformed(&self, reason: impl Into<String>) -> AttestationError {
        AttestationError::Malformed {
            fmt: self.fmt,
            reason: reason.into(),
        }
    }
}

/// Checks the id-fido-gen-ce-aaguid extension, when present, against authData's AAGUID.
pub(crate) fn check_cert_aaguid(
    stmt: &Stmt<'_>,
    cert: &Certificate,
    auth_data: &AuthenticatorData,
) -> Result<(), AttestationError> {
    if let Some(ext) = cert.fido_aaguid().map_err(|e| stmt.cert_err(e))? {
        let aaguid = auth_data
            .attested_credential
            .as_ref()
            .map(|a| a.aaguid.to_vec())
            .unwrap_or_default();
        if ext != aaguid {
            return Err(AttestationError::AaguidMismatch(stmt.fmt));
        }
    }
    Ok(())
}
