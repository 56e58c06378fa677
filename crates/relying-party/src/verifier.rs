//! Signature verification keys, decoded once.
//!
//! A [`PublicKeyVerifier`] is built from a COSE key (a credential public key)
//! or from an X.509 SubjectPublicKeyInfo (an attestation or CA certificate)
//! and then verifies any number of signatures without parsing the key again:
//! classical keys become an aws-lc-rs [`ParsedPublicKey`], Ed448 keys (which
//! aws-lc-rs does not offer) an ed448-goldilocks key, ML-DSA keys a
//! pqcrypto-mldsa public key (pure ML-DSA, FIPS 204, empty context).
//!
//! Which signature encoding each algorithm uses is WebAuthn's (§6.5.5):
//! ECDSA signatures are ASN.1 DER, RSA and EdDSA signatures raw.

use aws_lc_rs::signature::{self as sig, ParsedPublicKey, RsaPublicKeyComponents};
use fido_wire::cose::{CoseAlgorithm, CoseCurve, CoseKey, CoseKeyError, KeyParams};
use pqcrypto_mldsa::{mldsa44, mldsa65, mldsa87};
use pqcrypto_traits::sign::{DetachedSignature as _, PublicKey as _};
use std::fmt;

/// Every credential algorithm this relying party verifies, strongest post-quantum first.
pub const SUPPORTED_ALGORITHMS: [CoseAlgorithm; 12] = [
    CoseAlgorithm::ML_DSA_87,
    CoseAlgorithm::ML_DSA_65,
    CoseAlgorithm::ML_DSA_44,
    CoseAlgorithm::EDDSA,
    CoseAlgorithm::ED25519,
    CoseAlgorithm::ED448,
    CoseAlgorithm::ES256,
    CoseAlgorithm::ES384,
    CoseAlgorithm::ES512,
    CoseAlgorithm::PS256,
    CoseAlgorithm::RS256,
    CoseAlgorithm::ES256K,
];

/// Why a public key cannot be turned into a verifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The COSE key bytes do not parse.
    #[error("credential public key: {0}")]
    Cose(#[from] CoseKeyError),
    /// The COSE key has no `alg` (WebAuthn requires it, §6.5.1.1).
    #[error("credential public key has no \"alg\" parameter")]
    MissingAlgorithm,
    /// An algorithm this relying party does not verify.
    #[error("algorithm {0} is not supported")]
    UnsupportedAlgorithm(CoseAlgorithm),
    /// The key type or curve does not belong to the algorithm.
    #[error("algorithm {alg} cannot use a {found} key")]
    KeyTypeMismatch {
        /// The key's algorithm.
        alg: CoseAlgorithm,
        /// What the key is (key type and curve).
        found: String,
    },
    /// The key carries private material (a credential public key never does).
    #[error("credential public key carries private key material")]
    PrivatePartPresent,
    /// The crypto library rejected the key (not on the curve, bad modulus, ...).
    #[error("{alg} public key rejected: {reason}")]
    Rejected {
        /// The key's algorithm.
        alg: CoseAlgorithm,
        /// What the library said.
        reason: String,
    },
}

/// Why a signature does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The signature is not valid for this key and message.
    #[error("{0} signature does not verify")]
    Invalid(CoseAlgorithm),
    /// An ML-DSA signature of the wrong size for its parameter set.
    #[error("{alg} signature is {found} bytes, FIPS 204 requires {expected}")]
    WrongLength {
        /// The key's algorithm.
        alg: CoseAlgorithm,
        /// FIPS 204 size.
        expected: usize,
        /// Size found.
        found: usize,
    },
}

/// Verifies a pure ML-DSA signature with an empty context (FIPS 204 §5.3,
/// which pqcrypto's detached verify implements), checking its size first.
macro_rules! ml_dsa_verify {
    ($set:ident, $alg:expr, $pk:expr, $message:expr, $signature:expr) => {{
        let expected = $set::signature_bytes();
        if $signature.len() != expected {
            return Err(SignatureError::WrongLength {
                alg: $alg,
                expected,
                found: $signature.len(),
            });
        }
        match $set::DetachedSignature::from_bytes($signature) {
            Ok(s) => $set::verify_detached_signature(&s, $message, $pk).is_ok(),
            Err(_) => false,
        }
    }};
}

enum Inner {
    AwsLc(ParsedPublicKey),
    // Boxed: the keys are 1.3-2.6 KB inline arrays.
    MlDsa44(Box<mldsa44::PublicKey>),
    MlDsa65(Box<mldsa65::PublicKey>),
    MlDsa87(Box<mldsa87::PublicKey>),
    Ed448(Box<ed448_goldilocks::VerifyingKey>),
}

/// A public key ready to verify signatures (decoded once).
pub struct PublicKeyVerifier {
    alg: CoseAlgorithm,
    inner: Inner,
}

impl fmt::Debug for PublicKeyVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKeyVerifier({:?})", self.alg)
    }
}

fn rejected(alg: CoseAlgorithm, e: impl fmt::Display) -> KeyError {
    KeyError::Rejected {
        alg,
        reason: e.to_string(),
    }
}

fn mismatch(alg: CoseAlgorithm, params: &KeyParams) -> KeyError {
    let found = match params {
        KeyParams::Okp { curve, .. } => format!("OKP {curve:?}"),
        KeyParams::Ec2 { curve, .. } => format!("EC2 {curve:?}"),
        KeyParams::Rsa { .. } => "RSA".to_owned(),
        KeyParams::Akp { public, .. } => format!("AKP ({} bytes)", public.len()),
        KeyParams::Other { kty } => format!("kty {kty}"),
    };
    KeyError::KeyTypeMismatch { alg, found }
}

fn ec_algorithm(
    alg: CoseAlgorithm,
) -> Option<(CoseCurve, &'static sig::EcdsaVerificationAlgorithm)> {
    Some(match alg {
        CoseAlgorithm::ES256 => (CoseCurve::P256, &sig::ECDSA_P256_SHA256_ASN1),
        CoseAlgorithm::ES384 => (CoseCurve::P384, &sig::ECDSA_P384_SHA384_ASN1),
        CoseAlgorithm::ES512 => (CoseCurve::P521, &sig::ECDSA_P521_SHA512_ASN1),
        CoseAlgorithm::ES256K => (CoseCurve::SECP256K1, &sig::ECDSA_P256K1_SHA256_ASN1),
        _ => return None,
    })
}

fn rsa_algorithm(alg: CoseAlgorithm) -> Option<&'static sig::RsaParameters> {
    Some(match alg {
        CoseAlgorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
        CoseAlgorithm::PS256 => &sig::RSA_PSS_2048_8192_SHA256,
        _ => return None,
    })
}

impl PublicKeyVerifier {
    /// Decodes a COSE key in CBOR (a credential public key as stored).
    pub fn from_cose_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        Self::from_cose(&CoseKey::from_cbor(bytes)?)
    }

    /// Decodes a parsed COSE key; its `alg` must be present and match its type.
    pub fn from_cose(key: &CoseKey) -> Result<Self, KeyError> {
        let alg = key.alg.ok_or(KeyError::MissingAlgorithm)?;
        if key.has_private_part() {
            return Err(KeyError::PrivatePartPresent);
        }
        let inner = match (&key.params, alg) {
            (KeyParams::Ec2 { curve, x, y, .. }, _) if ec_algorithm(alg).is_some() => {
                let Some((want, algorithm)) = ec_algorithm(alg) else {
                    return Err(KeyError::UnsupportedAlgorithm(alg));
                };
                if *curve != want {
                    return Err(mismatch(alg, &key.params));
                }
                let mut point = Vec::with_capacity(1 + x.len() + y.len());
                point.push(0x04);
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                Inner::AwsLc(ParsedPublicKey::new(algorithm, point).map_err(|e| rejected(alg, e))?)
            }
            // EdDSA (-8) names the curve through crv; Ed25519 (-19) and
            // Ed448 (-53) are the fully specified forms (RFC 9864).
            (KeyParams::Okp { curve, x, .. }, CoseAlgorithm::EDDSA | CoseAlgorithm::ED25519)
                if *curve == CoseCurve::ED25519 =>
            {
                Inner::AwsLc(ParsedPublicKey::new(&sig::ED25519, x).map_err(|e| rejected(alg, e))?)
            }
            (KeyParams::Okp { curve, x, .. }, CoseAlgorithm::EDDSA | CoseAlgorithm::ED448)
                if *curve == CoseCurve::ED448 =>
            {
                ed448_key(alg, x)?
            }
            (KeyParams::Rsa { n, e }, _) if rsa_algorithm(alg).is_some() => {
                let Some(params) = rsa_algorithm(alg) else {
                    return Err(KeyError::UnsupportedAlgorithm(alg));
                };
                let components = RsaPublicKeyComponents { n, e };
                Inner::AwsLc(
                    components
                        .to_parsed_public_key(params)
                        .map_err(|e| rejected(alg, e))?,
                )
            }
            (KeyParams::Akp { public, .. }, _) if alg.is_ml_dsa() => ml_dsa_key(alg, public)?,
            (_, alg) if !SUPPORTED_ALGORITHMS.contains(&alg) => {
                return Err(KeyError::UnsupportedAlgorithm(alg));
            }
            (params, alg) => return Err(mismatch(alg, params)),
        };
        Ok(PublicKeyVerifier { alg, inner })
    }

    /// A verifier from raw key material as certificates carry it: `spki` is the
    /// whole DER SubjectPublicKeyInfo for classical keys and the raw FIPS 204
    /// public key for ML-DSA. `alg` names the signature algorithm to check.
    pub fn from_certificate_key(
        alg: CertSignatureAlgorithm,
        spki_der: &[u8],
        raw_key: &[u8],
    ) -> Result<Self, KeyError> {
        let (cose, inner) = match alg {
            CertSignatureAlgorithm::Ecdsa(v, cose) => (
                cose,
                Inner::AwsLc(ParsedPublicKey::new(v, spki_der).map_err(|e| rejected(cose, e))?),
            ),
            CertSignatureAlgorithm::Rsa(params, cose) => (
                cose,
                Inner::AwsLc(
                    ParsedPublicKey::new(params, spki_der).map_err(|e| rejected(cose, e))?,
                ),
            ),
            CertSignatureAlgorithm::Ed25519 => (
                CoseAlgorithm::EDDSA,
                Inner::AwsLc(
                    ParsedPublicKey::new(&sig::ED25519, spki_der)
                        .map_err(|e| rejected(CoseAlgorithm::EDDSA, e))?,
                ),
            ),
            CertSignatureAlgorithm::MlDsa(cose) => (cose, ml_dsa_key(cose, raw_key)?),
        };
        Ok(PublicKeyVerifier { alg: cose, inner })
    }

    /// The COSE algorithm this key verifies.
    pub fn algorithm(&self) -> CoseAlgorithm {
        self.alg
    }

    /// Verifies `signature` over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
        let ok = match &self.inner {
            Inner::AwsLc(key) => key.verify_sig(message, signature).is_ok(),
            Inner::MlDsa44(pk) => ml_dsa_verify!(mldsa44, self.alg, &**pk, message, signature),
            Inner::MlDsa65(pk) => ml_dsa_verify!(mldsa65, self.alg, &**pk, message, signature),
            Inner::MlDsa87(pk) => ml_dsa_verify!(mldsa87, self.alg, &**pk, message, signature),
            // RFC 8032 Ed448 with an empty context, as COSE uses it (RFC 9053 §2.2).
            Inner::Ed448(pk) => ed448_goldilocks::Signature::try_from(signature)
                .is_ok_and(|s| pk.verify_raw(&s, message).is_ok()),
        };
        if ok {
            Ok(())
        } else {
            Err(SignatureError::Invalid(self.alg))
        }
    }

    /// Verifies a WebAuthn signature: over `authenticatorData || clientDataHash`.
    pub fn verify_webauthn(
        &self,
        authenticator_data: &[u8],
        client_data_hash: &[u8; 32],
        signature: &[u8],
    ) -> Result<(), SignatureError> {
        let mut message = Vec::with_capacity(authenticator_data.len() + 32);
        message.extend_from_slice(authenticator_data);
        message.extend_from_slice(client_data_hash);
        self.verify(&message, signature)
    }
}

fn ed448_key(alg: CoseAlgorithm, x: &[u8]) -> Result<Inner, KeyError> {
    let bytes = <&[u8; 57]>::try_from(x)
        .map_err(|_| rejected(alg, format!("an Ed448 key is 57 bytes, found {}", x.len())))?;
    let key = ed448_goldilocks::VerifyingKey::from_bytes(bytes)
        .map_err(|_| rejected(alg, "not a point on Edwards448"))?;
    Ok(Inner::Ed448(Box::new(key)))
}

fn ml_dsa_key(alg: CoseAlgorithm, public: &[u8]) -> Result<Inner, KeyError> {
    let r = |e: pqcrypto_traits::Error| rejected(alg, e);
    Ok(match alg {
        CoseAlgorithm::ML_DSA_44 => {
            Inner::MlDsa44(Box::new(mldsa44::PublicKey::from_bytes(public).map_err(r)?))
        }
        CoseAlgorithm::ML_DSA_65 => {
            Inner::MlDsa65(Box::new(mldsa65::PublicKey::from_bytes(public).map_err(r)?))
        }
        CoseAlgorithm::ML_DSA_87 => {
            Inner::MlDsa87(Box::new(mldsa87::PublicKey::from_bytes(public).map_err(r)?))
        }
        other => return Err(KeyError::UnsupportedAlgorithm(other)),
    })
}

/// A certificate signature algorithm resolved against the signer's key:
/// what [`PublicKeyVerifier::from_certificate_key`] needs.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub enum CertSignatureAlgorithm {
    /// ECDSA with the curve of the signer's key and the hash of the signature OID.
    Ecdsa(&'static sig::EcdsaVerificationAlgorithm, CoseAlgorithm),
    /// RSA PKCS#1 v1.5 or PSS.
    Rsa(&'static sig::RsaParameters, CoseAlgorithm),
    /// Ed25519.
    Ed25519,
    /// ML-DSA-44/65/87 (pure, empty context).
    MlDsa(CoseAlgorithm),
}

impl fmt::Debug for CertSignatureAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertSignatureAlgorithm::Ecdsa(_, a) => write!(f, "Ecdsa({a:?})"),
            CertSignatureAlgorithm::Rsa(_, a) => write!(f, "Rsa({a:?})"),
            CertSignatureAlgorithm::Ed25519 => f.write_str("Ed25519"),
            CertSignatureAlgorithm::MlDsa(a) => write!(f, "MlDsa({a:?})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fido_wire::cbor::Value;

    #[test]
    fn cose_key_checks() {
        // ES256 key from the WebAuthn L3 test vectors (none.ES256).
        let es256 = hex::decode("a5010203262001215820afefa16f97ca9b2d23eb86ccb64098d20db90856062eb249c33a9b672f26df61225820930a56b87a2fca66334b03458abf879717c12cc68ed73290af2e2664796b9220").unwrap();
        let v = PublicKeyVerifier::from_cose_bytes(&es256).unwrap();
        assert_eq!(v.algorithm(), CoseAlgorithm::ES256);
        assert_eq!(
            v.verify(b"x", &[0x30, 0x00]),
            Err(SignatureError::Invalid(CoseAlgorithm::ES256))
        );

        // Same key claiming ES384: wrong curve.
        let mut key = CoseKey::from_cbor(&es256).unwrap();
        key.alg = Some(CoseAlgorithm::ES384);
        assert!(matches!(
            PublicKeyVerifier::from_cose(&key),
            Err(KeyError::KeyTypeMismatch { .. })
        ));
        key.alg = Some(CoseAlgorithm::RS256);
        assert!(matches!(
            PublicKeyVerifier::from_cose(&key),
            Err(KeyError::KeyTypeMismatch { .. })
        ));
        key.alg = Some(CoseAlgorithm(-65535));
        assert_eq!(
            PublicKeyVerifier::from_cose(&key).unwrap_err(),
            KeyError::UnsupportedAlgorithm(CoseAlgorithm(-65535))
        );
        key.alg = None;
        assert_eq!(
            PublicKeyVerifier::from_cose(&key).unwrap_err(),
            KeyError::MissingAlgorithm
        );

        // A point not on the curve.
        let mut key = CoseKey::from_cbor(&es256).unwrap();
        if let KeyParams::Ec2 { y, .. } = &mut key.params {
            y[31] ^= 1;
        }
        assert!(matches!(
            PublicKeyVerifier::from_cose(&key),
            Err(KeyError::Rejected { .. })
        ));
    }

    #[test]
    fn ml_dsa_signature_size_is_checked() {
        let key = Value::map([
            (Value::int(1), Value::int(7)),
            (Value::int(3), Value::int(-49)),
            (Value::int(-1), Value::bytes(vec![0u8; 1952])),
        ]);
        let v = PublicKeyVerifier::from_cose(&CoseKey::from_value(&key).unwrap()).unwrap();
        assert_eq!(
            v.verify(b"m", &[0u8; 10]),
            Err(SignatureError::WrongLength {
                alg: CoseAlgorithm::ML_DSA_65,
                expected: 3309,
                found: 10
            })
        );
        assert_eq!(
            v.verify(b"m", &[0u8; 3309]),
            Err(SignatureError::Invalid(CoseAlgorithm::ML_DSA_65))
        );
    }

    #[test]
    fn ed448_rfc8032_vector_verifies_through_a_cose_key() {
        // RFC 8032 §7.4, "1 octet" (message 0x03, empty context).
        let public = hex::decode("43ba28f430cdff456ae531545f7ecd0ac834a55d9358c0372bfa0c6c6798c0866aea01eb00742802b8438ea4cb82169c235160627b4c3a9480").unwrap();
        let signature = hex::decode("26b8f91727bd62897af15e41eb43c377efb9c610d48f2335cb0bd0087810f4352541b143c4b981b7e18f62de8ccdf633fc1bf037ab7cd779805e0dbcc0aae1cbcee1afb2e027df36bc04dcecbf154336c19f0af7e0a6472905e799f1953d2a0ff3348ab21aa4adafd1d234441cf807c03a00").unwrap();
        for alg in [-8, -53] {
            let key = Value::map([
                (Value::int(1), Value::int(1)),
                (Value::int(3), Value::int(alg)),
                (Value::int(-1), Value::int(7)),
                (Value::int(-2), Value::bytes(public.clone())),
            ]);
            let v = PublicKeyVerifier::from_cose(&CoseKey::from_value(&key).unwrap()).unwrap();
            assert_eq!(v.verify(&[0x03], &signature), Ok(()));
            assert!(v.verify(&[0x04], &signature).is_err());
            let mut flipped = signature.clone();
            flipped[10] ^= 1;
            assert!(v.verify(&[0x03], &flipped).is_err());
            assert!(v.verify(&[0x03], &signature[..113]).is_err());
        }
        // A 56-byte key and a key that is not a curve point are refused up front.
        let short = Value::map([
            (Value::int(1), Value::int(1)),
            (Value::int(3), Value::int(-53)),
            (Value::int(-1), Value::int(7)),
            (Value::int(-2), Value::bytes(public[..56].to_vec())),
        ]);
        let short = CoseKey::from_value(&short)
            .map_err(KeyError::from)
            .and_then(|k| PublicKeyVerifier::from_cose(&k));
        assert!(matches!(
            short,
            Err(KeyError::Rejected { .. } | KeyError::Cose(_))
        ));
        let mut bad = public.clone();
        bad[0] ^= 0xff;
        bad[56] = 0xff;
        let not_a_point = Value::map([
            (Value::int(1), Value::int(1)),
            (Value::int(3), Value::int(-53)),
            (Value::int(-1), Value::int(7)),
            (Value::int(-2), Value::bytes(bad)),
        ]);
        assert!(matches!(
            PublicKeyVerifier::from_cose(&CoseKey::from_value(&not_a_point).unwrap()),
            Err(KeyError::Rejected { .. })
        ));
    }
}
