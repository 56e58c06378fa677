//! Credential key pairs: generation, the COSE public key, and signing.
//! ECDSA (ES256, ES384, ES512, ES256K), RSA (RS256, PS256) and Ed25519
//! through aws-lc-rs; ML-DSA-44/65/87 through pqcrypto-mldsa (pure ML-DSA,
//! empty context, as RFC 9964 and WebAuthn use).

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P256K1_SHA256_ASN1_SIGNING,
    ECDSA_P384_SHA384_ASN1_SIGNING, ECDSA_P521_SHA512_ASN1_SIGNING, EcdsaKeyPair,
    EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair as _, RSA_PKCS1_SHA256, RSA_PSS_SHA256,
    RsaEncoding, RsaKeyPair,
};
use fido_wire::cose::{CoseAlgorithm, CoseCurve, CoseKey, KeyParams};
use pqcrypto_mldsa::{mldsa44, mldsa65, mldsa87};
use pqcrypto_traits::sign::{DetachedSignature as _, PublicKey as _, SecretKey as _};
use std::fmt;
use zeroize::Zeroizing;

/// The algorithms this authenticator can create credentials with, in its
/// order of preference (getInfo's `algorithms`).
pub const SUPPORTED: [CoseAlgorithm; 10] = [
    CoseAlgorithm::ML_DSA_87,
    CoseAlgorithm::ML_DSA_65,
    CoseAlgorithm::ML_DSA_44,
    CoseAlgorithm::EDDSA,
    CoseAlgorithm::ES256,
    CoseAlgorithm::ES384,
    CoseAlgorithm::ES512,
    CoseAlgorithm::RS256,
    CoseAlgorithm::PS256,
    CoseAlgorithm::ES256K,
];

/// RSA credentials' modulus size: the smallest WebAuthn relying parties
/// accept, as keys with RSA credentials use.
const RSA_KEY_SIZE: KeySize = KeySize::Rsa2048;

/// The ECDSA curve and hash of an ECDSA algorithm.
fn ecdsa_signing(alg: CoseAlgorithm) -> Option<(&'static EcdsaSigningAlgorithm, CoseCurve)> {
    Some(match alg {
        CoseAlgorithm::ES384 => (&ECDSA_P384_SHA384_ASN1_SIGNING, CoseCurve::P384),
        CoseAlgorithm::ES512 => (&ECDSA_P521_SHA512_ASN1_SIGNING, CoseCurve::P521),
        CoseAlgorithm::ES256K => (&ECDSA_P256K1_SHA256_ASN1_SIGNING, CoseCurve::SECP256K1),
        _ => return None,
    })
}

/// The signature padding of an RSA algorithm.
fn rsa_padding(alg: CoseAlgorithm) -> Option<&'static dyn RsaEncoding> {
    Some(match alg {
        CoseAlgorithm::RS256 => &RSA_PKCS1_SHA256,
        CoseAlgorithm::PS256 => &RSA_PSS_SHA256,
        _ => return None,
    })
}

/// A credential's private key.
pub enum CredentialKey {
    /// ECDSA P-256 with SHA-256.
    Es256(EcdsaKeyPair),
    /// ECDSA on another curve (ES384, ES512, ES256K).
    Ecdsa(CoseAlgorithm, EcdsaKeyPair),
    /// RSA (RS256, PS256).
    Rsa(CoseAlgorithm, RsaKeyPair),
    /// Ed25519.
    Ed25519(Ed25519KeyPair),
    /// ML-DSA-44.
    MlDsa44(Box<(mldsa44::PublicKey, mldsa44::SecretKey)>),
    /// ML-DSA-65.
    MlDsa65(Box<(mldsa65::PublicKey, mldsa65::SecretKey)>),
    /// ML-DSA-87.
    MlDsa87(Box<(mldsa87::PublicKey, mldsa87::SecretKey)>),
}

impl fmt::Debug for CredentialKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CredentialKey({}, private part redacted)",
            self.algorithm()
        )
    }
}

/// Key generation or signing failed inside the crypto library.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("crypto failure: {0}")]
pub struct CryptoError(pub &'static str);

impl CredentialKey {
    /// Generates a fresh key pair for `alg`; `None` when `alg` is not supported.
    pub fn generate(alg: CoseAlgorithm) -> Option<Result<CredentialKey, CryptoError>> {
        Some(match alg {
            CoseAlgorithm::ES256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING)
                .map(CredentialKey::Es256)
                .map_err(|_| CryptoError("P-256 key generation")),
            CoseAlgorithm::EDDSA => Ed25519KeyPair::generate()
                .map(CredentialKey::Ed25519)
                .map_err(|_| CryptoError("Ed25519 key generation")),
            CoseAlgorithm::ML_DSA_44 => Ok(CredentialKey::MlDsa44(Box::new(mldsa44::keypair()))),
            CoseAlgorithm::ML_DSA_65 => Ok(CredentialKey::MlDsa65(Box::new(mldsa65::keypair()))),
            CoseAlgorithm::ML_DSA_87 => Ok(CredentialKey::MlDsa87(Box::new(mldsa87::keypair()))),
            other => {
                if let Some((signing, _)) = ecdsa_signing(other) {
                    EcdsaKeyPair::generate(signing)
                        .map(|k| CredentialKey::Ecdsa(other, k))
                        .map_err(|_| CryptoError("ECDSA key generation"))
                } else if rsa_padding(other).is_some() {
                    RsaKeyPair::generate(RSA_KEY_SIZE)
                        .map(|k| CredentialKey::Rsa(other, k))
                        .map_err(|_| CryptoError("RSA key generation"))
                } else {
                    return None;
                }
            }
        })
    }

    /// The private key as the state file keeps it: PKCS#8 for ECDSA, RSA
    /// and Ed25519, public key then secret key for ML-DSA.
    pub fn to_private_bytes(&self) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let export = CryptoError("private key export");
        Ok(Zeroizing::new(match self {
            CredentialKey::Es256(k) | CredentialKey::Ecdsa(_, k) => {
                k.to_pkcs8v1().map_err(|_| export)?.as_ref().to_vec()
            }
            CredentialKey::Rsa(_, k) => k.as_der().map_err(|_| export)?.as_ref().to_vec(),
            CredentialKey::Ed25519(k) => k.to_pkcs8().map_err(|_| export)?.as_ref().to_vec(),
            CredentialKey::MlDsa44(k) => [k.0.as_bytes(), k.1.as_bytes()].concat(),
            CredentialKey::MlDsa65(k) => [k.0.as_bytes(), k.1.as_bytes()].concat(),
            CredentialKey::MlDsa87(k) => [k.0.as_bytes(), k.1.as_bytes()].concat(),
        }))
    }

    /// The key `to_private_bytes` exported.
    pub fn from_private_bytes(alg: CoseAlgorithm, bytes: &[u8]) -> Result<Self, CryptoError> {
        let bad = CryptoError("stored private key is not valid for its algorithm");
        macro_rules! ml_dsa {
            ($module:ident, $variant:ident) => {{
                let (public, secret) = bytes
                    .split_at_checked($module::public_key_bytes())
                    .ok_or(bad.clone())?;
                CredentialKey::$variant(Box::new((
                    $module::PublicKey::from_bytes(public).map_err(|_| bad.clone())?,
                    $module::SecretKey::from_bytes(secret).map_err(|_| bad.clone())?,
                )))
            }};
        }
        Ok(match alg {
            CoseAlgorithm::ES256 => CredentialKey::Es256(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, bytes)
                    .map_err(|_| bad)?,
            ),
            CoseAlgorithm::EDDSA => {
                CredentialKey::Ed25519(Ed25519KeyPair::from_pkcs8(bytes).map_err(|_| bad)?)
            }
            CoseAlgorithm::ML_DSA_44 => ml_dsa!(mldsa44, MlDsa44),
            CoseAlgorithm::ML_DSA_65 => ml_dsa!(mldsa65, MlDsa65),
            CoseAlgorithm::ML_DSA_87 => ml_dsa!(mldsa87, MlDsa87),
            other => {
                if let Some((signing, _)) = ecdsa_signing(other) {
                    CredentialKey::Ecdsa(
                        other,
                        EcdsaKeyPair::from_pkcs8(signing, bytes).map_err(|_| bad)?,
                    )
                } else if rsa_padding(other).is_some() {
                    CredentialKey::Rsa(other, RsaKeyPair::from_pkcs8(bytes).map_err(|_| bad)?)
                } else {
                    return Err(bad);
                }
            }
        })
    }

    /// The key's COSE algorithm.
    pub fn algorithm(&self) -> CoseAlgorithm {
        match self {
            CredentialKey::Es256(_) => CoseAlgorithm::ES256,
            CredentialKey::Ecdsa(alg, _) | CredentialKey::Rsa(alg, _) => *alg,
            CredentialKey::Ed25519(_) => CoseAlgorithm::EDDSA,
            CredentialKey::MlDsa44(_) => CoseAlgorithm::ML_DSA_44,
            CredentialKey::MlDsa65(_) => CoseAlgorithm::ML_DSA_65,
            CredentialKey::MlDsa87(_) => CoseAlgorithm::ML_DSA_87,
        }
    }

    /// The public key as a COSE_Key (EC2, RSA, OKP or AKP), alg always
    /// present.
    pub fn cose_public_key(&self) -> CoseKey {
        let alg = Some(self.algorithm());
        let params = match self {
            CredentialKey::Es256(k) => ec2(CoseCurve::P256, k),
            CredentialKey::Ecdsa(alg, k) => ec2(
                ecdsa_signing(*alg).map_or(CoseCurve(0), |(_, curve)| curve),
                k,
            ),
            CredentialKey::Rsa(_, k) => KeyParams::Rsa {
                n: k.public_key()
                    .modulus()
                    .big_endian_without_leading_zero()
                    .to_vec(),
                e: k.public_key()
                    .exponent()
                    .big_endian_without_leading_zero()
                    .to_vec(),
            },
            CredentialKey::Ed25519(k) => KeyParams::Okp {
                curve: CoseCurve::ED25519,
                x: k.public_key().as_ref().to_vec(),
                d: None,
            },
            CredentialKey::MlDsa44(k) => akp(k.0.as_bytes()),
            CredentialKey::MlDsa65(k) => akp(k.0.as_bytes()),
            CredentialKey::MlDsa87(k) => akp(k.0.as_bytes()),
        };
        CoseKey {
            kid: None,
            alg,
            params,
            other: Vec::new(),
        }
    }

    /// Signs `message` (authenticatorData || clientDataHash).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        Ok(match self {
            CredentialKey::Es256(k) | CredentialKey::Ecdsa(_, k) => k
                .sign(&SystemRandom::new(), message)
                .map_err(|_| CryptoError("ECDSA signing"))?
                .as_ref()
                .to_vec(),
            CredentialKey::Rsa(alg, k) => {
                let padding = rsa_padding(*alg).ok_or(CryptoError("RSA padding"))?;
                let mut signature = vec![0; k.public_modulus_len()];
                k.sign(padding, &SystemRandom::new(), message, &mut signature)
                    .map_err(|_| CryptoError("RSA signing"))?;
                signature
            }
            CredentialKey::Ed25519(k) => k.sign(message).as_ref().to_vec(),
            CredentialKey::MlDsa44(k) => mldsa44::detached_sign(message, &k.1).as_bytes().to_vec(),
            CredentialKey::MlDsa65(k) => mldsa65::detached_sign(message, &k.1).as_bytes().to_vec(),
            CredentialKey::MlDsa87(k) => mldsa87::detached_sign(message, &k.1).as_bytes().to_vec(),
        })
    }
}

/// An ECDSA public key as EC2 parameters.
fn ec2(curve: CoseCurve, k: &EcdsaKeyPair) -> KeyParams {
    // Uncompressed SEC1 point: 0x04 || x || y.
    let point = k.public_key().as_ref();
    let coords = point.get(1..).unwrap_or_default();
    let (x, y) = coords.split_at(coords.len() / 2);
    KeyParams::Ec2 {
        curve,
        x: x.to_vec(),
        y: y.to_vec(),
        d: None,
    }
}

fn akp(public: &[u8]) -> KeyParams {
    KeyParams::Akp {
        public: public.to_vec(),
        seed: None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// The state file keeps every key: exported and imported again, each
    /// algorithm's key is the same (same public key, signatures made).
    #[test]
    fn every_supported_key_survives_the_state_file() {
        for alg in SUPPORTED {
            let key = CredentialKey::generate(alg).unwrap().unwrap();
            assert_eq!(key.algorithm(), alg);
            let bytes = key.to_private_bytes().unwrap();
            let again = CredentialKey::from_private_bytes(alg, &bytes).unwrap();
            assert_eq!(again.cose_public_key(), key.cose_public_key(), "{alg}");
            assert!(!again.sign(b"message").unwrap().is_empty(), "{alg}");
            // Under another algorithm the bytes are refused, not misread.
            let other = if alg == CoseAlgorithm::ES384 {
                CoseAlgorithm::RS256
            } else {
                CoseAlgorithm::ES384
            };
            assert!(
                CredentialKey::from_private_bytes(other, &bytes).is_err(),
                "{alg} as {other}"
            );
        }
        assert!(CredentialKey::generate(CoseAlgorithm::ED448).is_none());
    }
}
