//! Authenticator responses: the status byte, then the makeCredential and
//! getAssertion response maps (CTAP 2.1 §6.1, §6.2), and their conversion to
//! what a relying party receives.

use super::fields::{Ctap2Error, MapReader, bytes, int_map};
use super::status::StatusCode;
use crate::cbor::{self, DecodeOptions, Value};
use crate::webauthn::{
    AttestationObject, AttestationObjectError, AuthDataError, AuthenticatorData,
};

/// Splits a response into its status and, when present, its decoded CBOR body.
/// Authenticators' bodies are decoded in any key order (many real keys do not
/// sort), under the CTAP limits.
pub fn parse_response(bytes: &[u8]) -> Result<(StatusCode, Option<Value>), Ctap2Error> {
    let (&status, body) = bytes.split_first().ok_or(Ctap2Error::Empty)?;
    if body.is_empty() {
        return Ok((StatusCode(status), None));
    }
    let value = cbor::from_slice(body, &DecodeOptions::CTAP_ANY_ORDER).map_err(|source| {
        Ctap2Error::Cbor {
            what: "response body",
            source,
        }
    })?;
    Ok((StatusCode(status), Some(value)))
}

/// The authenticatorMakeCredential response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MakeCredentialResponse {
    /// 0x01 fmt.
    pub fmt: String,
    /// 0x02 authData, exactly as sent.
    pub auth_data: Vec<u8>,
    /// 0x03 attStmt.
    pub att_stmt: Value,
    /// 0x04 epAtt.
    pub enterprise_attestation: Option<bool>,
    /// 0x05 largeBlobKey.
    pub large_blob_key: Option<Vec<u8>>,
    /// 0x06 unsignedExtensionOutputs.
    pub unsigned_extension_outputs: Option<Value>,
}

/// Why a makeCredential response does not make an attestation object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ToAttestationError {
    /// The authenticator data is invalid.
    #[error(transparent)]
    AuthData(#[from] AuthDataError),
    /// The assembled object is invalid.
    #[error(transparent)]
    Object(#[from] AttestationObjectError),
}

impl MakeCredentialResponse {
    /// Decodes the response map.
    pub fn from_value(value: &Value) -> Result<Self, Ctap2Error> {
        let m = MapReader::new("authenticatorMakeCredential response", value)?;
        Ok(MakeCredentialResponse {
            fmt: m.req(0x01, "fmt", "a text string", |v| {
                v.as_text().map(str::to_owned)
            })?,
            auth_data: m.req(0x02, "authData", "a byte string", bytes)?,
            att_stmt: m.req(0x03, "attStmt", "a map", |v| v.as_map().map(|_| v.clone()))?,
            enterprise_attestation: m.opt(0x04, "epAtt", "a boolean", Value::as_bool)?,
            large_blob_key: m.opt(0x05, "largeBlobKey", "a byte string", bytes)?,
            unsigned_extension_outputs: m.opt(0x06, "unsignedExtensionOutputs", "a map", |v| {
                v.as_map().map(|_| v.clone())
            })?,
        })
    }

    /// Encodes the response map (an authenticator's side).
    pub fn to_value(&self) -> Value {
        int_map(
            vec![
                (0x01, Some(Value::text(self.fmt.clone()))),
                (0x02, Some(Value::bytes(self.auth_data.clone()))),
                (0x03, Some(self.att_stmt.clone())),
                (0x04, self.enterprise_attestation.map(Value::Bool)),
                (0x05, self.large_blob_key.clone().map(Value::bytes)),
                (0x06, self.unsigned_extension_outputs.clone()),
            ],
            &[],
        )
    }

    /// The WebAuthn attestation object carrying the same statement: the keys
    /// become "fmt", "attStmt" and "authData", nothing else changes.
    pub fn to_attestation_object(&self) -> Result<AttestationObject, ToAttestationError> {
        let bytes = cbor::to_vec(&Value::map([
            (Value::text("fmt"), Value::text(self.fmt.clone())),
            (Value::text("attStmt"), self.att_stmt.clone()),
            (
                Value::text("authData"),
                Value::bytes(self.auth_data.clone()),
            ),
        ]));
        Ok(AttestationObject::from_cbor(&bytes)?)
    }
}

/// A PublicKeyCredentialUserEntity as CTAP carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEntity {
    /// User handle.
    pub id: Vec<u8>,
    /// Account name, when the authenticator returns it.
    pub name: Option<String>,
    /// Display name, when the authenticator returns it.
    pub display_name: Option<String>,
}

impl UserEntity {
    /// Reads the entity map; `None` when it is not a map with a byte-string id.
    pub fn from_value(v: &Value) -> Option<UserEntity> {
        Some(UserEntity {
            id: v.get_text("id")?.as_bytes()?.to_vec(),
            name: v
                .get_text("name")
                .and_then(Value::as_text)
                .map(str::to_owned),
            display_name: v
                .get_text("displayName")
                .and_then(Value::as_text)
                .map(str::to_owned),
        })
    }

    /// The entity map, with only the members present.
    pub fn to_value(&self) -> Value {
        let mut m = vec![(Value::text("id"), Value::bytes(self.id.clone()))];
        if let Some(name) = &self.name {
            m.push((Value::text("name"), Value::text(name.clone())));
        }
        if let Some(display) = &self.display_name {
            m.push((Value::text("displayName"), Value::text(display.clone())));
        }
        Value::Map(m)
    }
}

/// The authenticatorGetAssertion / authenticatorGetNextAssertion response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetAssertionResponse {
    /// 0x01 credential id (absent only when the allow list had one entry).
    pub credential_id: Option<Vec<u8>>,
    /// 0x02 authData, exactly as sent.
    pub auth_data: Vec<u8>,
    /// 0x03 signature.
    pub signature: Vec<u8>,
    /// 0x04 user, for discoverable credentials.
    pub user: Option<UserEntity>,
    /// 0x05 numberOfCredentials (first response only).
    pub number_of_credentials: Option<u64>,
    /// 0x06 userSelected.
    pub user_selected: Option<bool>,
    /// 0x07 largeBlobKey.
    pub large_blob_key: Option<Vec<u8>>,
}

impl GetAssertionResponse {
    /// Decodes the response map.
    pub fn from_value(value: &Value) -> Result<Self, Ctap2Error> {
        let m = MapReader::new("authenticatorGetAssertion response", value)?;
        let user = m.opt(
            0x04,
            "user",
            "a map with a byte-string id",
            UserEntity::from_value,
        )?;
        Ok(GetAssertionResponse {
            credential_id: m.opt(
                0x01,
                "credential",
                "a descriptor map with a byte-string id",
                |v| {
                    v.get_text("id")
                        .and_then(Value::as_bytes)
                        .map(<[u8]>::to_vec)
                },
            )?,
            auth_data: m.req(0x02, "authData", "a byte string", bytes)?,
            signature: m.req(0x03, "signature", "a byte string", bytes)?,
            user,
            number_of_credentials: m.opt(
                0x05,
                "numberOfCredentials",
                "an unsigned integer",
                Value::as_u64,
            )?,
            user_selected: m.opt(0x06, "userSelected", "a boolean", Value::as_bool)?,
            large_blob_key: m.opt(0x07, "largeBlobKey", "a byte string", bytes)?,
        })
    }

    /// Encodes the response map (an authenticator's side).
    pub fn to_value(&self) -> Value {
        let user = self.user.as_ref().map(UserEntity::to_value);
        int_map(
            vec![
                (
                    0x01,
                    self.credential_id.as_ref().map(|id| {
                        Value::map([
                            (Value::text("id"), Value::bytes(id.clone())),
                            (Value::text("type"), Value::text("public-key")),
                        ])
                    }),
                ),
                (0x02, Some(Value::bytes(self.auth_data.clone()))),
                (0x03, Some(Value::bytes(self.signature.clone()))),
                (0x04, user),
                (0x05, self.number_of_credentials.map(Value::int)),
                (0x06, self.user_selected.map(Value::Bool)),
                (0x07, self.large_blob_key.clone().map(Value::bytes)),
            ],
            &[],
        )
    }

    /// The authenticator data, parsed.
    pub fn parsed_auth_data(&self) -> Result<AuthenticatorData, AuthDataError> {
        AuthenticatorData::parse(&self.auth_data)
    }
}
