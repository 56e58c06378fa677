//! The stored public key an assertion is checked with, in the forms people
//! have it: a COSE_Key (base64url, base64 or hex text, or raw CBOR), a JWK,
//! a PEM or DER SubjectPublicKeyInfo, or a registration response (the key in
//! its attested credential data). Everything becomes a COSE_Key, the form a
//! credential record keeps.

use super::input::{InputError, text_bytes};
use crate::x509::oid;
use fido_wire::cose::{CoseAlgorithm, CoseCurve, CoseKey, KeyParams};
use fido_wire::webauthn::AttestationObject;
use serde_json::Value as Json;

/// What a registration response tells about the credential, besides its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredCredential {
    /// The credential ID.
    pub id: Vec<u8>,
    /// signCount at registration.
    pub sign_count: u32,
    /// BE at registration.
    pub backup_eligible: bool,
}

/// A public key and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredKey {
    /// The key.
    pub key: CoseKey,
    /// The form it was given in.
    pub form: &'static str,
    /// Set when it came from a registration response.
    pub registered: Option<RegisteredCredential>,
}

/// Reads a public key given as text or bytes in any accepted form.
pub fn parse(input: &[u8]) -> Result<StoredKey, InputError> {
    let text = std::str::from_utf8(input).ok().map(str::trim);
    match text {
        Some(t) if t.starts_with('{') => {
            let json: Json = serde_json::from_str(t)
                .map_err(|e| InputError::PublicKey(format!("not JSON: {e}")))?;
            if json.get("kty").is_some() {
                return Ok(StoredKey {
                    key: from_jwk(&json)?,
                    form: "JWK",
                    registered: None,
                });
            }
            from_registration_json(&json)
        }
        Some(t) if t.starts_with("-----BEGIN ") => {
            let der = pem_der(t)?;
            Ok(StoredKey {
                key: from_spki(&der)?,
                form: "PEM SubjectPublicKeyInfo",
                registered: None,
            })
        }
        _ => {
            let bytes = match text {
                Some(t) => text_bytes(t)
                    .map_err(|e| InputError::PublicKey(format!("not COSE, JWK or PEM: {e}")))?,
                None => input.to_vec(),
            };
            if bytes.first() == Some(&0x30) {
                return Ok(StoredKey {
                    key: from_spki(&bytes)?,
                    form: "DER SubjectPublicKeyInfo",
                    registered: None,
                });
            }
            let key = CoseKey::from_cbor(&bytes)
                .map_err(|e| InputError::PublicKey(format!("not a COSE_Key: {e}")))?;
            if key.has_private_part() {
                return Err(InputError::PublicKey(
                    "the COSE_Key holds private key material: give the public key only".into(),
                ));
            }
            Ok(StoredKey {
                key,
                form: "COSE_Key",
                registered: None,
            })
        }
    }
}

/// The key inside a RegistrationResponseJSON's attestation object.
fn from_registration_json(json: &Json) -> Result<StoredKey, InputError> {
    let normalised = super::input::normalise_response(json)?;
    let att = normalised
        .value
        .pointer("/response/attestationObject")
        .and_then(Json::as_str)
        .ok_or_else(|| {
            InputError::PublicKey(
                "JSON that is neither a JWK (kty) nor a registration response (response.attestationObject)"
                    .into(),
            )
        })?;
    let bytes = fido_wire::webauthn::base64url::decode(att)
        .map_err(|e| InputError::PublicKey(format!("attestationObject: {e}")))?;
    let att = AttestationObject::from_cbor(&bytes)
        .map_err(|e| InputError::PublicKey(format!("attestationObject: {e}")))?;
    let acd = att.auth_data.attested_credential.ok_or_else(|| {
        InputError::PublicKey("the attestation object has no attested credential data".into())
    })?;
    Ok(StoredKey {
        key: acd.public_key,
        form: "registration response",
        registered: Some(RegisteredCredential {
            id: acd.credential_id,
            sign_count: att.auth_data.sign_count,
            backup_eligible: att.auth_data.flags.backup_eligible(),
        }),
    })
}

fn pem_der(text: &str) -> Result<Vec<u8>, InputError> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(text.as_bytes())
        .map_err(|e| InputError::PublicKey(format!("PEM: {e}")))?;
    match pem.label.as_str() {
        "PUBLIC KEY" => Ok(pem.contents),
        "CERTIFICATE" => {
            let (_, cert) = x509_parser::parse_x509_certificate(&pem.contents)
                .map_err(|e| InputError::PublicKey(format!("certificate: {e}")))?;
            Ok(cert.public_key().raw.to_vec())
        }
        other => Err(InputError::PublicKey(format!(
            "the PEM block is a \"{other}\", not a PUBLIC KEY"
        ))),
    }
}

/// A SubjectPublicKeyInfo (DER) as a COSE_Key. RSA keys get RS256, the
/// algorithm WebAuthn relying parties offer for RSA.
pub fn from_spki(der: &[u8]) -> Result<CoseKey, InputError> {
    use x509_parser::prelude::FromDer;
    let bad = |m: String| InputError::PublicKey(m);
    let (_, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(der)
        .map_err(|e| bad(format!("not a SubjectPublicKeyInfo: {e}")))?;
    let key_oid = spki.algorithm.algorithm.to_id_string();
    let raw: &[u8] = &spki.subject_public_key.data;
    let (alg, params) = match key_oid.as_str() {
        oid::EC_PUBLIC_KEY => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string())
                .unwrap_or_default();
            let (alg, crv, n) = match curve.as_str() {
                oid::P256 => (CoseAlgorithm::ES256, CoseCurve::P256, 32),
                oid::P384 => (CoseAlgorithm::ES384, CoseCurve::P384, 48),
                oid::P521 => (CoseAlgorithm::ES512, CoseCurve::P521, 66),
                other => {
                    return Err(bad(format!(
                        "EC curve {other} is not P-256, P-384 or P-521"
                    )));
                }
            };
            let (x, y) = match raw.split_first() {
                Some((4, xy)) if xy.len() == 2 * n => xy.split_at(n),
                _ => return Err(bad("the EC point is not uncompressed (04 || x || y)".into())),
            };
            (
                alg,
                KeyParams::Ec2 {
                    curve: crv,
                    x: x.to_vec(),
                    y: y.to_vec(),
                    d: None,
                },
            )
        }
        oid::ED25519 | "1.3.101.113" => {
            let (alg, crv) = if key_oid == oid::ED25519 {
                (CoseAlgorithm::EDDSA, CoseCurve::ED25519)
            } else {
                (CoseAlgorithm::ED448, CoseCurve::ED448)
            };
            (
                alg,
                KeyParams::Okp {
                    curve: crv,
                    x: raw.to_vec(),
                    d: None,
                },
            )
        }
        oid::RSA => match spki.parsed() {
            Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => (
                CoseAlgorithm::RS256,
                KeyParams::Rsa {
                    n: strip_zeros(rsa.modulus),
                    e: strip_zeros(rsa.exponent),
                },
            ),
            _ => return Err(bad("the RSA public key does not parse".into())),
        },
        oid::ML_DSA_44 | oid::ML_DSA_65 | oid::ML_DSA_87 => {
            let alg = match key_oid.as_str() {
                oid::ML_DSA_44 => CoseAlgorithm::ML_DSA_44,
                oid::ML_DSA_65 => CoseAlgorithm::ML_DSA_65,
                _ => CoseAlgorithm::ML_DSA_87,
            };
            (
                alg,
                KeyParams::Akp {
                    public: raw.to_vec(),
                    seed: None,
                },
            )
        }
        other => return Err(bad(format!("key algorithm {other} is not supported"))),
    };
    Ok(CoseKey {
        kid: None,
        alg: Some(alg),
        params,
        other: Vec::new(),
    })
}

fn strip_zeros(b: &[u8]) -> Vec<u8> {
    let start = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    b.get(start..).unwrap_or_default().to_vec()
}

/// A JWK (RFC 7517/7518/8037; AKP for ML-DSA) as a COSE_Key.
pub fn from_jwk(jwk: &Json) -> Result<CoseKey, InputError> {
    let bad = |m: String| InputError::PublicKey(format!("JWK: {m}"));
    let member = |name: &str| -> Result<Vec<u8>, InputError> {
        let s = jwk
            .get(name)
            .and_then(Json::as_str)
            .ok_or_else(|| bad(format!("\"{name}\" is missing")))?;
        fido_wire::webauthn::base64url::decode(s.trim_end_matches('='))
            .map_err(|e| bad(format!("\"{name}\": {e}")))
    };
    if jwk.get("d").is_some() || jwk.get("priv").is_some() {
        return Err(bad(
            "it holds private key material: give the public key only".into(),
        ));
    }
    let alg_named = jwk.get("alg").and_then(Json::as_str).and_then(|a| {
        CoseAlgorithm::from_name(a).or(if a == "Ed448" {
            Some(CoseAlgorithm::ED448)
        } else {
            None
        })
    });
    let kty = jwk.get("kty").and_then(Json::as_str).unwrap_or_default();
    let crv = jwk.get("crv").and_then(Json::as_str).unwrap_or_default();
    let (alg, params) = match (kty, crv) {
        ("EC", "P-256" | "P-384" | "P-521") => {
            let (alg, curve) = match crv {
                "P-256" => (CoseAlgorithm::ES256, CoseCurve::P256),
                "P-384" => (CoseAlgorithm::ES384, CoseCurve::P384),
                _ => (CoseAlgorithm::ES512, CoseCurve::P521),
            };
            (
                alg,
                KeyParams::Ec2 {
                    curve,
                    x: member("x")?,
                    y: member("y")?,
                    d: None,
                },
            )
        }
        ("OKP", "Ed25519" | "Ed448") => {
            let (alg, curve) = if crv == "Ed25519" {
                (CoseAlgorithm::EDDSA, CoseCurve::ED25519)
            } else {
                (CoseAlgorithm::ED448, CoseCurve::ED448)
            };
            (
                alg,
                KeyParams::Okp {
                    curve,
                    x: member("x")?,
                    d: None,
                },
            )
        }
        ("RSA", _) => (
            CoseAlgorithm::RS256,
            KeyParams::Rsa {
                n: member("n")?,
                e: member("e")?,
            },
        ),
        ("AKP", _) => {
            let alg = alg_named
                .ok_or_else(|| bad("an AKP key needs \"alg\" (ML-DSA-44, -65 or -87)".into()))?;
            (
                alg,
                KeyParams::Akp {
                    public: member("pub")?,
                    seed: None,
                },
            )
        }
        _ => {
            return Err(bad(format!(
                "kty \"{kty}\" with crv \"{crv}\" is not supported"
            )));
        }
    };
    Ok(CoseKey {
        kid: None,
        alg: Some(alg_named.unwrap_or(alg)),
        params,
        other: Vec::new(),
    })
}
