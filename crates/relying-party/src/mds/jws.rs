//! The MDS3 BLOB's JWS (RFC 7515 compact serialisation): three base64url
//! parts, a protected header naming the algorithm and carrying the signer's
//! certificate path in `x5c`, the path validated up to the given roots, and
//! the signature checked over `header.payload` with the leaf's key.
//!
//! Only what FIDO signs with is accepted: ES256 (P-256, the signature as
//! JOSE's 64-byte r||s) and RS256. `none`, HMAC algorithms and anything else
//! are refused by name, as is a `crit` header (nothing here understands one).

use super::{BlobTrust, MdsError};
use crate::x509::{Certificate, UnixTime, crl, oid};
use aws_lc_rs::signature::{self as sig, UnparsedPublicKey};
use base64::Engine as _;
use fido_wire::webauthn::base64url;
use serde::Deserialize;

/// The most certificates accepted in `x5c`.
const MAX_X5C: usize = 8;

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    x5c: Vec<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

/// A JWS whose signature verified: the payload and who signed it.
pub(crate) struct VerifiedJws {
    pub payload: Vec<u8>,
    pub algorithm: String,
    pub signer: String,
    pub anchor: String,
}

fn part(s: &str, name: &'static str) -> Result<Vec<u8>, MdsError> {
    base64url::decode(s).map_err(|e| MdsError::Base64 {
        part: name,
        reason: e.to_string(),
    })
}

/// The protected header and the certificate path it carries in `x5c`,
/// parsed but not validated.
fn header_and_path(h64: &str) -> Result<(Header, Vec<Certificate>), MdsError> {
    let header: Header = serde_json::from_slice(&part(h64, "header")?)
        .map_err(|e| MdsError::HeaderJson(e.to_string()))?;
    if header.crit.is_some() {
        return Err(MdsError::UnsupportedCritical);
    }
    if header.x5c.is_empty() {
        return Err(MdsError::MissingX5c);
    }
    if header.x5c.len() > MAX_X5C {
        return Err(MdsError::TooManyCertificates(header.x5c.len()));
    }
    let path = header
        .x5c
        .iter()
        .enumerate()
        .map(|(index, b64)| {
            // x5c is base64 (RFC 7515 §4.1.6), not base64url.
            let der = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| MdsError::X5c {
                    index,
                    reason: e.to_string(),
                })?;
            Certificate::from_der(&der).map_err(|e| MdsError::X5c {
                index,
                reason: e.to_string(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((header, path))
}

/// The certificates of a BLOB's signing path (leaf first), unverified:
/// what a caller needs to know which CRLs to bring before verifying.
pub(crate) fn signing_path(jws: &[u8]) -> Result<Vec<Certificate>, MdsError> {
    let text = std::str::from_utf8(jws).map_err(|_| MdsError::NotCompactJws)?;
    let h64 = text.split('.').next().ok_or(MdsError::NotCompactJws)?;
    Ok(header_and_path(h64)?.1)
}

/// Verifies a compact JWS at time `at` against `roots`.
pub(crate) fn verify(jws: &[u8], trust: &BlobTrust, at: UnixTime) -> Result<VerifiedJws, MdsError> {
    let text = std::str::from_utf8(jws).map_err(|_| MdsError::NotCompactJws)?;
    // A cached file may end with a newline; nothing else is tolerated.
    let text = text.trim_end_matches(['\r', '\n']);
    let mut parts = text.split('.');
    let (Some(h64), Some(p64), Some(s64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(MdsError::NotCompactJws);
    };
    let (header, path) = header_and_path(h64)?;
    let chain = trust.roots.verify(&path, at).map_err(MdsError::Chain)?;
    let anchor = chain.anchor.subject.clone();
    let leaf = path.first().ok_or(MdsError::MissingX5c)?;
    check_pins(trust, &path, &chain.anchor.certificate)?;
    let signature = part(s64, "signature")?;
    let signed = text
        .get(..h64.len() + 1 + p64.len())
        .ok_or(MdsError::NotCompactJws)?;
    check_signature(leaf, &header.alg, signed.as_bytes(), &signature)?;
    // Revocation last: a path that is not even valid or a signature that
    // does not verify is reported as such first.
    crl::check_path(&path, &chain.anchor.certificate, &trust.crls, at)
        .map_err(MdsError::Revocation)?;
    Ok(VerifiedJws {
        payload: part(p64, "payload")?,
        algorithm: header.alg,
        signer: leaf.subject().unwrap_or_default(),
        anchor,
    })
}

/// The signer is the metadata service itself, issued by the pinned CA.
fn check_pins(
    trust: &BlobTrust,
    path: &[Certificate],
    anchor: &Certificate,
) -> Result<(), MdsError> {
    let leaf = path.first().ok_or(MdsError::MissingX5c)?;
    let unreadable = |e: crate::x509::CertError| MdsError::X5c {
        index: 0,
        reason: e.to_string(),
    };
    let names = leaf.dns_names().map_err(unreadable)?;
    if !names
        .iter()
        .any(|n| n.eq_ignore_ascii_case(&trust.signer_name))
    {
        return Err(MdsError::SignerNotPinned {
            expected: trust.signer_name.clone(),
            found: names,
        });
    }
    if let Some(org) = &trust.intermediate_organization {
        // The leaf's issuer: the next certificate of the path, else the root.
        let issuer = path.get(1).unwrap_or(anchor);
        if !issuer
            .organizations()
            .map_err(unreadable)?
            .iter()
            .any(|o| o == org)
        {
            return Err(MdsError::IssuerNotPinned {
                expected: org.clone(),
                found: issuer.subject().unwrap_or_default(),
            });
        }
    }
    Ok(())
}

fn check_signature(
    leaf: &Certificate,
    alg: &str,
    message: &[u8],
    signature: &[u8],
) -> Result<(), MdsError> {
    let (key_oid, curve, key) = leaf
        .with_parsed(|c| {
            let spki = c.public_key();
            Ok((
                spki.algorithm.algorithm.to_id_string(),
                spki.algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.as_oid().ok())
                    .map(|o| o.to_id_string()),
                spki.subject_public_key.data.to_vec(),
            ))
        })
        .map_err(|e| MdsError::X5c {
            index: 0,
            reason: e.to_string(),
        })?;
    let algorithm: &'static dyn sig::VerificationAlgorithm = match alg {
        "ES256" => {
            if key_oid != oid::EC_PUBLIC_KEY || curve.as_deref() != Some(oid::P256) {
                return Err(MdsError::KeyMismatch(alg.to_owned()));
            }
            // JWS ES256 is r||s, 32 bytes each (RFC 7518 §3.4), never DER.
            if signature.len() != 64 {
                return Err(MdsError::SignatureEncoding {
                    alg: alg.to_owned(),
                    len: signature.len(),
                });
            }
            &sig::ECDSA_P256_SHA256_FIXED
        }
        "RS256" => {
            if key_oid != oid::RSA {
                return Err(MdsError::KeyMismatch(alg.to_owned()));
            }
            &sig::RSA_PKCS1_2048_8192_SHA256
        }
        other => return Err(MdsError::UnsupportedAlgorithm(other.to_owned())),
    };
    UnparsedPublicKey::new(algorithm, key)
        .verify(message, signature)
        .map_err(|_| MdsError::BadSignature)
}
