//! The previewSign extension's CTAP inputs and outputs, typed (the WebAuthn
//! `sign` extension, version 4 as python-fido2 2.2.1 speaks it): the
//! generateKey request at makeCredential and the key it returns (from the
//! authenticator data's output and the attestation object in the unsigned
//! extension outputs), and the signing request at getAssertion with the
//! signature it returns. [`crate::webauthn`] maps the WebAuthn client
//! extension onto these.
//!
//! Wire format (integer keys): registration input {3: algorithms, 4:
//! flags}, output {3: alg, 4: flags} signed and {7: attestation object}
//! unsigned; assertion input {2: key handle, 6: tbs, 7: additional
//! arguments}, output {6: signature}.

use fido_wire::cbor::{self, DecodeOptions, Value};
use fido_wire::cose::CoseKey;
use fido_wire::webauthn::AuthenticatorData;

/// The extension identifier.
pub const NAME: &str = "previewSign";

/// Flags: signing needs user presence.
pub const FLAG_UP: u8 = 0b001;
/// Flags: signing needs user verification (with [`FLAG_UP`]).
pub const FLAG_UV: u8 = 0b100;

/// ESP256 (-9).
pub const ESP256: i64 = -9;
/// ES256 (-7).
pub const ES256: i64 = -7;
/// ESP256-split (-300): the key signs a SHA-256 digest.
pub const ESP256_SPLIT: i64 = -300;
/// ESP256-split with an ARKG-P256 derived key (placeholder -65539).
pub const ESP256_SPLIT_ARKG: i64 = -65539;

/// Why a key's previewSign output is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignOutputError {
    /// The authenticator data output has no algorithm.
    #[error("the key's previewSign output names no algorithm")]
    MissingAlgorithm,
    /// The unsigned extension outputs carry no attestation object.
    #[error("the key's previewSign output has no attestation object")]
    MissingAttestationObject,
    /// The attestation object does not decode or holds no signing key.
    #[error("the previewSign attestation object is malformed: {0}")]
    MalformedAttestationObject(String),
    /// The assertion's output has no signature.
    #[error("the key's previewSign output has no signature")]
    MissingSignature,
}

impl SignOutputError {
    /// A stable identifier.
    pub fn code(&self) -> &'static str {
        match self {
            SignOutputError::MissingAlgorithm => "sign_missing_algorithm",
            SignOutputError::MissingAttestationObject => "sign_missing_attestation_object",
            SignOutputError::MalformedAttestationObject(_) => "sign_malformed_attestation_object",
            SignOutputError::MissingSignature => "sign_missing_signature",
        }
    }
}

/// makeCredential's generateKey request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateKeyInput {
    /// Acceptable algorithms, preferred first; the key picks one.
    pub algorithms: Vec<i64>,
    /// 0, [`FLAG_UP`] or [`FLAG_UP`] | [`FLAG_UV`].
    pub flags: u8,
}

impl GenerateKeyInput {
    /// The authenticator extension input {3: algorithms, 4: flags}.
    pub fn to_value(&self) -> Value {
        Value::map([
            (
                Value::int(3),
                Value::Array(self.algorithms.iter().map(|a| Value::int(*a)).collect()),
            ),
            (Value::int(4), Value::int(self.flags)),
        ])
    }
}

/// The signing key a registration made.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedKey {
    /// The algorithm the key chose.
    pub algorithm: i64,
    /// The key's flags, when reported.
    pub flags: Option<u8>,
    /// The key handle to sign with.
    pub key_handle: Vec<u8>,
    /// The public key (for ARKG, the public seed), parsed.
    pub public_key: CoseKey,
    /// The public key exactly as the key encoded it.
    pub public_key_cbor: Vec<u8>,
    /// The key's attestation object as sent ({1: fmt, 2: authData, 3: attStmt}).
    pub attestation_object: Vec<u8>,
}

impl GeneratedKey {
    /// The key from a makeCredential's authenticator data extensions and
    /// unsigned extension outputs; `None` when the key made none.
    pub fn from_outputs(
        extensions: Option<&Value>,
        unsigned: Option<&Value>,
    ) -> Result<Option<Self>, SignOutputError> {
        let Some(signed) = extensions.and_then(|e| e.get_text(NAME)) else {
            return Ok(None);
        };
        let algorithm = signed
            .get_int(3)
            .and_then(Value::as_i64)
            .ok_or(SignOutputError::MissingAlgorithm)?;
        let flags = signed
            .get_int(4)
            .and_then(Value::as_u64)
            .and_then(|f| u8::try_from(f).ok());
        let attestation_object = unsigned
            .and_then(|u| u.get_text(NAME))
            .and_then(|u| u.get_int(7))
            .and_then(Value::as_bytes)
            .ok_or(SignOutputError::MissingAttestationObject)?
            .to_vec();
        let malformed = |e: String| SignOutputError::MalformedAttestationObject(e);
        let decoded = cbor::from_slice(&attestation_object, &DecodeOptions::CTAP_ANY_ORDER)
            .map_err(|e| malformed(e.to_string()))?;
        let auth_data = decoded
            .get_int(2)
            .and_then(Value::as_bytes)
            .ok_or_else(|| malformed("no authenticator data".into()))?;
        let credential = AuthenticatorData::parse(auth_data)
            .map_err(|e| malformed(e.to_string()))?
            .attested_credential
            .ok_or_else(|| malformed("no attested key".into()))?;
        Ok(Some(GeneratedKey {
            algorithm,
            flags,
            key_handle: credential.credential_id,
            public_key: credential.public_key,
            public_key_cbor: credential.public_key_cbor,
            attestation_object,
        }))
    }
}

/// getAssertion's signing request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInput {
    /// The key handle from the registration.
    pub key_handle: Vec<u8>,
    /// The data to be signed (a SHA-256 digest for the split algorithms).
    pub tbs: Vec<u8>,
    /// The algorithm's additional arguments, CBOR-encoded (ARKG's
    /// COSE_Sign_Args).
    pub additional_args: Option<Vec<u8>>,
}

impl SignInput {
    /// The authenticator extension input {2: kh, 6: tbs, 7: args}.
    pub fn to_value(&self) -> Value {
        let mut m = vec![
            (Value::int(2), Value::bytes(self.key_handle.clone())),
            (Value::int(6), Value::bytes(self.tbs.clone())),
        ];
        if let Some(args) = &self.additional_args {
            m.push((Value::int(7), Value::bytes(args.clone())));
        }
        Value::Map(m)
    }
}

/// The signature from a getAssertion's authenticator data extensions;
/// `None` when the key sent no previewSign output.
pub fn signature(extensions: Option<&Value>) -> Result<Option<Vec<u8>>, SignOutputError> {
    let Some(output) = extensions.and_then(|e| e.get_text(NAME)) else {
        return Ok(None);
    };
    output
        .get_int(6)
        .and_then(Value::as_bytes)
        .map(|s| Some(s.to_vec()))
        .ok_or(SignOutputError::MissingSignature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fido_wire::cose::{CoseAlgorithm, CoseCurve, KeyParams};
    use fido_wire::webauthn::{AttestedCredentialData, Flags};

    #[test]
    fn inputs_encode_with_integer_keys() {
        let gk = GenerateKeyInput {
            algorithms: vec![ESP256, ESP256_SPLIT_ARKG],
            flags: FLAG_UP,
        };
        assert_eq!(
            gk.to_value().get_int(3),
            Some(&Value::Array(vec![Value::int(-9), Value::int(-65539)]))
        );
        assert_eq!(gk.to_value().get_int(4), Some(&Value::int(1)));
        let si = SignInput {
            key_handle: vec![1],
            tbs: vec![2],
            additional_args: None,
        };
        assert_eq!(si.to_value().get_int(2), Some(&Value::bytes(vec![1])));
        assert_eq!(si.to_value().get_int(6), Some(&Value::bytes(vec![2])));
        assert!(si.to_value().get_int(7).is_none());
    }

    #[test]
    fn generated_key_is_read_from_the_attestation_object() {
        let key = CoseKey {
            kid: None,
            alg: Some(CoseAlgorithm(-9)),
            params: KeyParams::Ec2 {
                curve: CoseCurve::P256,
                x: vec![1; 32],
                y: vec![2; 32],
                d: None,
            },
            other: vec![],
        };
        let auth_data = AuthenticatorData {
            rp_id_hash: [0; 32],
            flags: Flags(Flags::UP),
            sign_count: 0,
            attested_credential: Some(AttestedCredentialData::new([0; 16], vec![7; 32], key)),
            extensions: None,
        }
        .to_bytes();
        let att_obj = cbor::to_canonical_vec(&Value::map([
            (Value::int(1), Value::text("none")),
            (Value::int(2), Value::bytes(auth_data)),
            (Value::int(3), Value::Map(vec![])),
        ]));
        let ext = Value::map([(
            Value::text(NAME),
            Value::map([
                (Value::int(3), Value::int(-9)),
                (Value::int(4), Value::int(1)),
            ]),
        )]);
        let unsigned = Value::map([(
            Value::text(NAME),
            Value::map([(Value::int(7), Value::bytes(att_obj))]),
        )]);
        let got = GeneratedKey::from_outputs(Some(&ext), Some(&unsigned))
            .unwrap()
            .unwrap();
        assert_eq!(got.algorithm, -9);
        assert_eq!(got.flags, Some(1));
        assert_eq!(got.key_handle, vec![7; 32]);
        assert_eq!(
            GeneratedKey::from_outputs(Some(&ext), None),
            Err(SignOutputError::MissingAttestationObject)
        );
        assert_eq!(GeneratedKey::from_outputs(None, Some(&unsigned)), Ok(None));
        let bad = Value::map([(
            Value::text(NAME),
            Value::map([(Value::int(7), Value::bytes(vec![0xff]))]),
        )]);
        assert_eq!(
            GeneratedKey::from_outputs(Some(&ext), Some(&bad))
                .unwrap_err()
                .code(),
            "sign_malformed_attestation_object"
        );
    }

    #[test]
    fn signature_is_read_from_the_output() {
        let ext = Value::map([(
            Value::text(NAME),
            Value::map([(Value::int(6), Value::bytes(vec![3, 4]))]),
        )]);
        assert_eq!(signature(Some(&ext)), Ok(Some(vec![3, 4])));
        assert_eq!(signature(None), Ok(None));
        let empty = Value::map([(Value::text(NAME), Value::Map(vec![]))]);
        assert_eq!(
            signature(Some(&empty)),
            Err(SignOutputError::MissingSignature)
        );
    }
}
