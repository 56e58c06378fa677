//! The decoder for users (what the Python platform's codec tab offered):
//! attestation objects, authenticator data, clientDataJSON, COSE keys
//! (ML-DSA AKP keys included), X.509 certificates (DER or PEM) and raw CBOR
//! to annotated JSON. Every field carries its `name`, its `raw` value as
//! found (bytes as lowercase hex), and its `meaning`: flags spelled out,
//! AAGUIDs, algorithm and curve names, extension outputs, certificate
//! subjects, validity and extensions (FIDO AAGUID, ML-DSA key OIDs).
//!
//! Input is untrusted: at most [`MAX_INPUT_LEN`] bytes, CBOR under the
//! general decoder limits (depth, item count), certificates under
//! [`crate::x509::MAX_CERT_LEN`]. Nothing here panics; anything unreadable is
//! a [`DecodeError`] naming the reason, and a broken member inside a readable
//! structure is reported in that member's `error`, so users see how far the
//! bytes made sense. Private key material in COSE keys is never echoed.
//!
//! Entry points: [`decode`] for a known [`InputKind`], [`decode_auto`] for
//! bytes of unknown kind, [`decode_text`] for text as users paste it (PEM,
//! JSON, hex or base64/base64url).

mod cbor;
mod cert;
mod cose;
pub(crate) mod node;

pub(crate) use node::hex;
mod webauthn;

use fido_wire::cbor::{self as wire_cbor, DecodeOptions};

/// An AAGUID in its 8-4-4-4-12 form.
pub fn uuid_string(aaguid: &[u8; 16]) -> String {
    node::uuid(aaguid)
}
use serde_json::{Value as Json, json};

/// The largest input accepted (the general CBOR limit).
pub const MAX_INPUT_LEN: usize = wire_cbor::Limits::GENERAL.max_input_len;

/// What the input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum InputKind {
    /// A WebAuthn attestation object (CBOR).
    AttestationObject,
    /// Authenticator data (bytes).
    AuthenticatorData,
    /// clientDataJSON (UTF-8 JSON).
    ClientDataJson,
    /// A COSE_Key (CBOR).
    CoseKey,
    /// An X.509 certificate, DER or PEM.
    Certificate,
    /// Any CBOR item.
    Cbor,
}

impl InputKind {
    /// The name used in the output's `kind`.
    pub fn name(self) -> &'static str {
        match self {
            InputKind::AttestationObject => "attestationObject",
            InputKind::AuthenticatorData => "authenticatorData",
            InputKind::ClientDataJson => "clientDataJSON",
            InputKind::CoseKey => "coseKey",
            InputKind::Certificate => "certificate",
            InputKind::Cbor => "cbor",
        }
    }
}

/// Why an input cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Nothing to decode.
    #[error("the input is empty")]
    Empty,
    /// Over [`MAX_INPUT_LEN`].
    #[error("the input is {len} bytes, over the limit of {max}")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not well-formed CBOR (or over the CBOR limits).
    #[error("not CBOR: {0}")]
    Cbor(#[from] wire_cbor::DecodeError),
    /// CBOR, but not an attestation object.
    #[error("not an attestation object: {0}")]
    NotAttestationObject(String),
    /// Not authenticator data.
    #[error("not authenticator data: {0}")]
    AuthenticatorData(#[from] fido_wire::webauthn::AuthDataError),
    /// Not clientDataJSON.
    #[error("not clientDataJSON: {0}")]
    ClientData(#[from] fido_wire::webauthn::ClientDataError),
    /// CBOR, but not a map (a COSE key must be one).
    #[error("not a COSE key: a COSE key is a CBOR map, this is a {0}")]
    NotCoseKey(&'static str),
    /// Not a certificate.
    #[error("not an X.509 certificate: {0}")]
    Certificate(#[from] crate::x509::CertError),
    /// PEM armour that does not hold a certificate.
    #[error("PEM: {0}")]
    Pem(String),
    /// Text in none of the accepted encodings.
    #[error("text is not PEM, JSON, hex or base64/base64url: {0}")]
    TextEncoding(String),
    /// Bytes of no kind this decoder knows.
    #[error(
        "not recognised as an attestation object, COSE key, authenticator data, X.509 certificate, clientDataJSON or CBOR ({0})"
    )]
    NotRecognised(String),
}

fn check_len(bytes: &[u8]) -> Result<(), DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    if bytes.len() > MAX_INPUT_LEN {
        return Err(DecodeError::TooLong {
            len: bytes.len(),
            max: MAX_INPUT_LEN,
        });
    }
    Ok(())
}

fn wrap(kind: InputKind, node: node::Node) -> Json {
    let mut out = node.to_json();
    if let Json::Object(m) = &mut out {
        m.insert("kind".into(), json!(kind.name()));
    }
    out
}

/// Decodes `bytes` as `kind`.
pub fn decode(kind: InputKind, bytes: &[u8]) -> Result<Json, DecodeError> {
    check_len(bytes)?;
    let node = match kind {
        InputKind::AttestationObject => {
            let v = wire_cbor::from_slice(bytes, &DecodeOptions::GENERAL)?;
            if v.as_map().is_none() {
                return Err(DecodeError::NotAttestationObject(format!(
                    "a map is required, this is a {}",
                    v.kind()
                )));
            }
            if !webauthn::is_attestation_object(&v) {
                return Err(DecodeError::NotAttestationObject(
                    "the map lacks \"fmt\" or \"authData\"".into(),
                ));
            }
            webauthn::attestation_object(&v)
        }
        InputKind::AuthenticatorData => webauthn::auth_data("authenticatorData", bytes)?,
        InputKind::ClientDataJson => webauthn::client_data(bytes)?,
        InputKind::CoseKey => {
            let v = wire_cbor::from_slice(bytes, &DecodeOptions::GENERAL)?;
            if v.as_map().is_none() {
                return Err(DecodeError::NotCoseKey(v.kind()));
            }
            cose::key("coseKey", &v)
        }
        InputKind::Certificate => {
            let der = certificate_der(bytes)?;
            crate::x509::Certificate::from_der(&der)?;
            cert::certificate("certificate", &der)
        }
        InputKind::Cbor => {
            let v = wire_cbor::from_slice(bytes, &DecodeOptions::GENERAL)?;
            cbor::document(&v)
        }
    };
    Ok(wrap(kind, node))
}

/// PEM or DER certificate bytes to DER.
fn certificate_der(bytes: &[u8]) -> Result<Vec<u8>, DecodeError> {
    if !looks_like_pem(bytes) {
        return Ok(bytes.to_vec());
    }
    let (_, pem) =
        x509_parser::pem::parse_x509_pem(bytes).map_err(|e| DecodeError::Pem(e.to_string()))?;
    if pem.label != "CERTIFICATE" {
        return Err(DecodeError::Pem(format!(
            "the PEM block is a \"{}\", not a CERTIFICATE",
            pem.label
        )));
    }
    Ok(pem.contents)
}

fn looks_like_pem(bytes: &[u8]) -> bool {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    bytes
        .get(start..)
        .is_some_and(|b| b.starts_with(b"-----BEGIN "))
}

/// Decodes bytes of unknown kind: PEM, then CBOR that is an attestation
/// object or a COSE key, then authenticator data, then a DER certificate,
/// then JSON (a PublicKeyCredential response, else clientDataJSON), then any
/// CBOR. The output's `kind` says which.
pub fn decode_auto(bytes: &[u8]) -> Result<Json, DecodeError> {
    check_len(bytes)?;
    if looks_like_pem(bytes) {
        return decode(InputKind::Certificate, bytes);
    }
    let cbor = wire_cbor::from_slice(bytes, &DecodeOptions::GENERAL);
    if let Ok(v) = &cbor {
        if v.as_map().is_some() && webauthn::is_attestation_object(v) {
            return decode(InputKind::AttestationObject, bytes);
        }
        if v.get_int(1).and_then(|k| k.as_i64()).is_some()
            && fido_wire::cose::CoseKey::from_value(v).is_ok()
        {
            return decode(InputKind::CoseKey, bytes);
        }
    }
    // Authenticator data before generic CBOR: its first bytes (a hash) may
    // happen to read as a CBOR head that spans the whole input.
    let auth_data = webauthn::auth_data("authenticatorData", bytes);
    if let Ok(node) = auth_data {
        return Ok(wrap(InputKind::AuthenticatorData, node));
    }
    if bytes.first() == Some(&0x30) && crate::x509::Certificate::from_der(bytes).is_ok() {
        return decode(InputKind::Certificate, bytes);
    }
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') || bytes.starts_with(b"\xef\xbb\xbf") {
        return decode_json(bytes);
    }
    match cbor {
        Ok(v) => Ok(wrap(InputKind::Cbor, cbor::document(&v))),
        Err(e) => Err(DecodeError::NotRecognised(format!(
            "as CBOR: {e}; as authenticator data: {}",
            auth_data.err().map(|e| e.to_string()).unwrap_or_default()
        ))),
    }
}

/// JSON: a PublicKeyCredential (registration or authentication response in
/// its L3 JSON form, every base64url member decoded), else clientDataJSON.
fn decode_json(bytes: &[u8]) -> Result<Json, DecodeError> {
    if let Ok(j) = serde_json::from_slice::<Json>(bytes)
        && webauthn::is_credential_json(&j)
    {
        let mut out = webauthn::credential_json(&j).to_json();
        if let Json::Object(m) = &mut out {
            m.insert("kind".into(), json!("publicKeyCredential"));
        }
        return Ok(out);
    }
    decode(InputKind::ClientDataJson, bytes)
}

/// Decodes text as users paste it: PEM armour, a JSON object (a
/// PublicKeyCredential response or clientDataJSON), or binary in hex (spaces and colons allowed) or
/// base64/base64url (padding optional). The output gains an `encoding`.
pub fn decode_text(text: &str) -> Result<Json, DecodeError> {
    check_len(text.as_bytes())?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(DecodeError::Empty);
    }
    let (encoding, out) = if trimmed.starts_with("-----BEGIN ") {
        ("pem", decode(InputKind::Certificate, trimmed.as_bytes())?)
    } else if trimmed.starts_with('{') {
        ("json", decode_json(trimmed.as_bytes())?)
    } else {
        let (encoding, bytes) = text_to_bytes(trimmed)?;
        (encoding, decode_auto(&bytes)?)
    };
    let mut out = out;
    if let Json::Object(m) = &mut out {
        m.insert("encoding".into(), json!(encoding));
    }
    Ok(out)
}

/// Pasted text (PEM stays text; hex, base64 or base64url become bytes) as
/// the bytes a [`decode`] of a given kind takes.
pub fn text_bytes(text: &str) -> Result<Vec<u8>, DecodeError> {
    check_len(text.as_bytes())?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(DecodeError::Empty);
    }
    if trimmed.starts_with("-----BEGIN ") || trimmed.starts_with('{') {
        return Ok(trimmed.as_bytes().to_vec());
    }
    text_to_bytes(trimmed).map(|(_, b)| b)
}

fn text_to_bytes(text: &str) -> Result<(&'static str, Vec<u8>), DecodeError> {
    let compact: String = text
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && *c != ':')
        .collect();
    let hex_digits = compact.strip_prefix("0x").unwrap_or(&compact);
    if !hex_digits.is_empty()
        && hex_digits.len().is_multiple_of(2)
        && hex_digits.bytes().all(|b| b.is_ascii_hexdigit())
    {
        let bytes = hex_digits
            .as_bytes()
            .chunks(2)
            .map(|pair| {
                std::str::from_utf8(pair)
                    .ok()
                    .and_then(|p| u8::from_str_radix(p, 16).ok())
                    .ok_or_else(|| DecodeError::TextEncoding("bad hex digit".into()))
            })
            .collect::<Result<Vec<u8>, _>>()?;
        return Ok(("hex", bytes));
    }
    use base64::Engine as _;
    let b64: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let unpadded = b64.trim_end_matches('=');
    let engine = base64::engine::general_purpose::GeneralPurpose::new(
        if unpadded.contains(['+', '/']) {
            &base64::alphabet::STANDARD
        } else {
            &base64::alphabet::URL_SAFE
        },
        base64::engine::general_purpose::NO_PAD,
    );
    engine
        .decode(unpadded)
        .map(|b| ("base64", b))
        .map_err(|e| DecodeError::TextEncoding(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_empty_input() {
        assert_eq!(decode_auto(&[]), Err(DecodeError::Empty));
        assert_eq!(decode_text("  \n"), Err(DecodeError::Empty));
        let big = vec![0u8; MAX_INPUT_LEN + 1];
        assert_eq!(
            decode(InputKind::Cbor, &big),
            Err(DecodeError::TooLong {
                len: MAX_INPUT_LEN + 1,
                max: MAX_INPUT_LEN
            })
        );
    }

    #[test]
    fn text_encodings() {
        assert_eq!(
            text_to_bytes("a1:01 02").unwrap(),
            ("hex", vec![0xa1, 1, 2])
        );
        assert_eq!(text_to_bytes("oQEC").unwrap(), ("base64", vec![0xa1, 1, 2]));
        assert_eq!(text_to_bytes("_-8").unwrap(), ("base64", vec![0xff, 0xef]));
        assert_eq!(text_to_bytes("/+8=").unwrap(), ("base64", vec![0xff, 0xef]));
        assert!(matches!(
            text_to_bytes("not base64!"),
            Err(DecodeError::TextEncoding(_))
        ));
    }

    #[test]
    fn generic_cbor_is_annotated() {
        // {1: h'0102', "a": [-1, 1.5, true]}
        let bytes = [
            0xa2, 0x01, 0x42, 0x01, 0x02, 0x61, 0x61, 0x83, 0x20, 0xf9, 0x3e, 0x00, 0xf5,
        ];
        let out = decode(InputKind::Cbor, &bytes).unwrap();
        assert_eq!(out["kind"], "cbor");
        assert_eq!(
            out["meaning"]["diagnostic"],
            "{1: h'0102', \"a\": [-1, 1.5_1, true]}"
        );
        assert_eq!(out["fields"][0]["name"], "1");
        assert_eq!(out["fields"][0]["raw"], "0102");
        assert_eq!(out["fields"][1]["fields"][0]["type"], "negative integer");
        assert_eq!(out["fields"][1]["fields"][1]["raw"], 1.5);
        // Not a COSE key (no kty), not authenticator data: generic CBOR.
        assert_eq!(decode_auto(&bytes).unwrap()["kind"], "cbor");
    }
}
