//! The attestation object (WebAuthn L3 §6.5.4): `{fmt, attStmt, authData}`
//! with text keys, as a relying party receives it.

use super::authdata::{AuthDataError, AuthenticatorData};
use crate::cbor::{self, DecodeError, DecodeOptions, Value};

/// An attestation object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestationObject {
    /// Attestation statement format identifier ("none", "packed", "tpm", ...).
    pub fmt: String,
    /// The attestation statement, a map whose shape depends on `fmt`.
    pub att_stmt: Value,
    /// The authenticator data, parsed.
    pub auth_data: AuthenticatorData,
    /// The authenticator data bytes exactly as received (what signatures cover).
    pub auth_data_bytes: Vec<u8>,
}

/// Why bytes are not a valid attestation object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AttestationObjectError {
    /// Not acceptable CBOR.
    #[error("attestation object is not valid CBOR: {0}")]
    Cbor(#[from] DecodeError),
    /// The top-level item is not a map.
    #[error("attestation object must be a map, found a {found}")]
    NotAMap {
        /// The kind of item found.
        found: &'static str,
    },
    /// A required member is missing or of the wrong type.
    #[error("attestation object member \"{member}\" must be {expected}")]
    Member {
        /// The member name.
        member: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// The authenticator data inside is invalid.
    #[error("authData: {0}")]
    AuthData(#[from] AuthDataError),
    /// The authenticator data lacks attested credential data.
    #[error("authData of an attestation object must carry attested credential data (AT flag)")]
    NoAttestedCredential,
}

impl AttestationObject {
    /// Parses an attestation object (keys in any order, no unknown members kept).
    pub fn from_cbor(bytes: &[u8]) -> Result<AttestationObject, AttestationObjectError> {
        let value = cbor::from_slice(bytes, &DecodeOptions::CTAP_ANY_ORDER)?;
        if value.as_map().is_none() {
            return Err(AttestationObjectError::NotAMap {
                found: value.kind(),
            });
        }
        let fmt = value
            .get_text("fmt")
            .and_then(Value::as_text)
            .ok_or(AttestationObjectError::Member {
                member: "fmt",
                expected: "a text string",
            })?
            .to_owned();
        let att_stmt = value
            .get_text("attStmt")
            .filter(|v| v.as_map().is_some())
            .ok_or(AttestationObjectError::Member {
                member: "attStmt",
                expected: "a map",
            })?
            .clone();
        let auth_data_bytes = value
            .get_text("authData")
            .and_then(Value::as_bytes)
            .ok_or(AttestationObjectError::Member {
                member: "authData",
                expected: "a byte string",
            })?
            .to_vec();
        let auth_data = AuthenticatorData::parse(&auth_data_bytes)?;
        if auth_data.attested_credential.is_none() {
            return Err(AttestationObjectError::NoAttestedCredential);
        }
        Ok(AttestationObject {
            fmt,
            att_stmt,
            auth_data,
            auth_data_bytes,
        })
    }

    /// The attestation object as a CBOR map.
    pub fn to_value(&self) -> Value {
        Value::map([
            (Value::text("fmt"), Value::text(self.fmt.clone())),
            (Value::text("attStmt"), self.att_stmt.clone()),
            (
                Value::text("authData"),
                Value::bytes(self.auth_data_bytes.clone()),
            ),
        ])
    }

    /// The attestation object as CBOR: the three members in canonical order,
    /// the attestation statement exactly as received (its member order is part
    /// of what the authenticator sent, so it is not rearranged).
    pub fn to_cbor(&self) -> Vec<u8> {
        cbor::to_vec(&self.to_value())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn att_stmt_order_is_kept() {
        // From a fuzzing find: a packed attStmt with "ver" before "sig".
        let auth_data = hex::decode("bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b54100000000000000000000000000000000000000000001aaa5010203262001215820afefa16f97ca9b2d23eb86ccb64098d20db90856062eb249c33a9b672f26df61225820930a56b87a2fca66334b03458abf879717c12cc68ed73290af2e2664796b9220").unwrap();
        let att_stmt = Value::map([
            (Value::text("ver"), Value::int(-7)),
            (Value::text("sig"), Value::bytes(vec![1, 2])),
        ]);
        let obj = Value::map([
            (Value::text("fmt"), Value::text("packed")),
            (Value::text("attStmt"), att_stmt.clone()),
            (Value::text("authData"), Value::bytes(auth_data)),
        ]);
        let bytes = cbor::to_vec(&obj);
        let parsed = AttestationObject::from_cbor(&bytes).unwrap();
        assert_eq!(parsed.att_stmt, att_stmt);
        assert_eq!(parsed.to_cbor(), bytes);
        assert_eq!(
            AttestationObject::from_cbor(&parsed.to_cbor()).unwrap(),
            parsed
        );
    }
}
