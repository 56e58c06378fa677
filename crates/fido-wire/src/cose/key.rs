//! COSE_Key (RFC 9052 §7, RFC 9053, RFC 9964 for AKP/ML-DSA) parsed from and
//! written to CBOR.
//!
//! Parsing checks structure only: required parameters present, each of the
//! right CBOR type, sizes right where the curve or algorithm fixes them.
//! Whether the key suits a given signature is the verifier's business.
//! Parameters this crate does not interpret are kept, so nothing is lost.

use super::algorithm::{CoseAlgorithm, CoseCurve};
use crate::cbor::{self, DecodeError, DecodeOptions, Value};
use std::fmt;

/// COSE key type values (IANA "COSE Key Types").
pub mod kty {
    /// Octet key pair (EdDSA, ECDH on Curve25519/448).
    pub const OKP: i64 = 1;
    /// Elliptic curve with x and y.
    pub const EC2: i64 = 2;
    /// RSA.
    pub const RSA: i64 = 3;
    /// Algorithm key pair (RFC 9964: ML-DSA).
    pub const AKP: i64 = 7;
}

/// Common COSE_Key labels.
pub mod label {
    /// kty.
    pub const KTY: i64 = 1;
    /// kid.
    pub const KID: i64 = 2;
    /// alg.
    pub const ALG: i64 = 3;
    /// EC2/OKP crv; RSA n; AKP pub.
    pub const MINUS_1: i64 = -1;
    /// EC2/OKP x; RSA e; AKP priv (seed).
    pub const MINUS_2: i64 = -2;
    /// EC2 y.
    pub const MINUS_3: i64 = -3;
    /// EC2/OKP d (private key).
    pub const MINUS_4: i64 = -4;
}

/// Private key material, never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKeyBytes(pub Vec<u8>);

impl fmt::Debug for PrivateKeyBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<private key, {} bytes, redacted>", self.0.len())
    }
}

/// The parameters that depend on the key type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyParams {
    /// kty 1.
    Okp {
        /// crv.
        curve: CoseCurve,
        /// x: the public key.
        x: Vec<u8>,
        /// d, when present.
        d: Option<PrivateKeyBytes>,
    },
    /// kty 2 (uncompressed points only: y is a byte string).
    Ec2 {
        /// crv.
        curve: CoseCurve,
        /// x coordinate.
        x: Vec<u8>,
        /// y coordinate.
        y: Vec<u8>,
        /// d, when present.
        d: Option<PrivateKeyBytes>,
    },
    /// kty 3.
    Rsa {
        /// Modulus.
        n: Vec<u8>,
        /// Public exponent.
        e: Vec<u8>,
    },
    /// kty 7 (RFC 9964).
    Akp {
        /// pub: the raw FIPS 204 public key.
        public: Vec<u8>,
        /// priv: the 32-byte seed, when present.
        seed: Option<PrivateKeyBytes>,
    },
    /// A key type this crate does not interpret; its parameters are in [`CoseKey::other`].
    Other {
        /// The kty value as found.
        kty: Value,
    },
}

/// A COSE_Key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoseKey {
    /// kid (label 2).
    pub kid: Option<Vec<u8>>,
    /// alg (label 3); required for AKP keys.
    pub alg: Option<CoseAlgorithm>,
    /// Type-specific parameters.
    pub params: KeyParams,
    /// Parameters not interpreted above, in wire order.
    pub other: Vec<(Value, Value)>,
}

/// Why a CBOR item is not a usable COSE_Key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CoseKeyError {
    /// The bytes are not acceptable CBOR.
    #[error("COSE key is not valid CBOR: {0}")]
    Cbor(#[from] DecodeError),
    /// The item is not a map.
    #[error("COSE key must be a map, found a {found}")]
    NotAMap {
        /// The kind of item found.
        found: &'static str,
    },
    /// A required parameter is absent.
    #[error("COSE key lacks required parameter {name} (label {label})")]
    MissingParameter {
        /// Its label.
        label: i64,
        /// Its name.
        name: &'static str,
    },
    /// A parameter has the wrong CBOR type.
    #[error("COSE key parameter {name} (label {label}) must be {expected}, found a {found}")]
    WrongType {
        /// Its label.
        label: i64,
        /// Its name.
        name: &'static str,
        /// What was expected.
        expected: &'static str,
        /// The kind of item found.
        found: &'static str,
    },
    /// A parameter has the wrong length for its curve or algorithm.
    #[error(
        "COSE key parameter {name} (label {label}) is {found} bytes, {context} requires {expected}"
    )]
    WrongLength {
        /// Its label.
        label: i64,
        /// Its name.
        name: &'static str,
        /// Required length.
        expected: usize,
        /// Length found.
        found: usize,
        /// What fixes the length (a curve or algorithm name).
        context: &'static str,
    },
}

fn param(map: &[(Value, Value)], label: i64) -> Option<&Value> {
    map.iter()
        .find_map(|(k, v)| (k.as_i64() == Some(label)).then_some(v))
}

fn required<'a>(
    map: &'a [(Value, Value)],
    label: i64,
    name: &'static str,
) -> Result<&'a Value, CoseKeyError> {
    param(map, label).ok_or(CoseKeyError::MissingParameter { label, name })
}

fn as_int(v: &Value, label: i64, name: &'static str) -> Result<i64, CoseKeyError> {
    v.as_i64().ok_or(CoseKeyError::WrongType {
        label,
        name,
        expected: "an integer",
        found: v.kind(),
    })
}

fn as_bytes(v: &Value, label: i64, name: &'static str) -> Result<Vec<u8>, CoseKeyError> {
    v.as_bytes()
        .map(<[u8]>::to_vec)
        .ok_or(CoseKeyError::WrongType {
            label,
            name,
            expected: "a byte string",
            found: v.kind(),
        })
}

fn check_len(
    bytes: &[u8],
    expected: Option<usize>,
    label: i64,
    name: &'static str,
    context: Option<&'static str>,
) -> Result<(), CoseKeyError> {
    match (expected, context) {
        (Some(expected), Some(context)) if bytes.len() != expected => {
            Err(CoseKeyError::WrongLength {
                label,
                name,
                expected,
                found: bytes.len(),
                context,
            })
        }
        _ => Ok(()),
    }
}

/// crv (label -1) of an EC2 or OKP key.
fn curve(map: &[(Value, Value)]) -> Result<CoseCurve, CoseKeyError> {
    let v = required(map, label::MINUS_1, "crv")?;
    as_int(v, label::MINUS_1, "crv").map(CoseCurve)
}

/// A required coordinate of an EC2 or OKP key, its length checked for known curves.
fn coordinate(
    map: &[(Value, Value)],
    label: i64,
    name: &'static str,
    curve: CoseCurve,
) -> Result<Vec<u8>, CoseKeyError> {
    let bytes = as_bytes(required(map, label, name)?, label, name)?;
    check_len(&bytes, curve.coordinate_len(), label, name, curve.name())?;
    Ok(bytes)
}

/// The private scalar d (label -4) of an EC2 or OKP key, when present.
fn private_d(map: &[(Value, Value)]) -> Result<Option<PrivateKeyBytes>, CoseKeyError> {
    param(map, label::MINUS_4)
        .map(|v| as_bytes(v, label::MINUS_4, "d").map(PrivateKeyBytes))
        .transpose()
}

impl CoseKey {
    /// Parses a COSE_Key from CBOR bytes (any key order, no trailing bytes).
    pub fn from_cbor(bytes: &[u8]) -> Result<CoseKey, CoseKeyError> {
        let value = cbor::from_slice(bytes, &DecodeOptions::CTAP_ANY_ORDER)?;
        CoseKey::from_value(&value)
    }

    /// Parses a COSE_Key from a decoded CBOR map.
    pub fn from_value(value: &Value) -> Result<CoseKey, CoseKeyError> {
        let map = value.as_map().ok_or(CoseKeyError::NotAMap {
            found: value.kind(),
        })?;
        let kty_value = required(map, label::KTY, "kty")?;
        let kid = param(map, label::KID)
            .map(|v| as_bytes(v, label::KID, "kid"))
            .transpose()?;
        let alg = param(map, label::ALG)
            .map(|v| as_int(v, label::ALG, "alg").map(CoseAlgorithm))
            .transpose()?;

        let mut consumed: Vec<i64> = vec![label::KTY, label::KID, label::ALG];
        let params = match kty_value.as_i64() {
            Some(kty::OKP) => {
                let curve = curve(map)?;
                let x = coordinate(map, label::MINUS_2, "x", curve)?;
                let d = private_d(map)?;
                consumed.extend([label::MINUS_1, label::MINUS_2, label::MINUS_4]);
                KeyParams::Okp { curve, x, d }
            }
            Some(kty::EC2) => {
                let curve = curve(map)?;
                let x = coordinate(map, label::MINUS_2, "x", curve)?;
                let y = coordinate(map, label::MINUS_3, "y", curve)?;
                let d = private_d(map)?;
                consumed.extend([
                    label::MINUS_1,
                    label::MINUS_2,
                    label::MINUS_3,
                    label::MINUS_4,
                ]);
                KeyParams::Ec2 { curve, x, y, d }
            }
            Some(kty::RSA) => {
                let n = as_bytes(required(map, label::MINUS_1, "n")?, label::MINUS_1, "n")?;
                let e = as_bytes(required(map, label::MINUS_2, "e")?, label::MINUS_2, "e")?;
                consumed.extend([label::MINUS_1, label::MINUS_2]);
                KeyParams::Rsa { n, e }
            }
            Some(kty::AKP) => {
                // RFC 9964: alg is required for AKP keys, the key's meaning depends on it.
                let alg = alg.ok_or(CoseKeyError::MissingParameter {
                    label: label::ALG,
                    name: "alg",
                })?;
                let public =
                    as_bytes(required(map, label::MINUS_1, "pub")?, label::MINUS_1, "pub")?;
                let sizes = alg.ml_dsa_sizes();
                check_len(
                    &public,
                    sizes.map(|s| s.public_key),
                    label::MINUS_1,
                    "pub",
                    alg.name(),
                )?;
                let seed = param(map, label::MINUS_2)
                    .map(|v| as_bytes(v, label::MINUS_2, "priv").map(PrivateKeyBytes))
                    .transpose()?;
                if let Some(seed) = &seed {
                    check_len(
                        &seed.0,
                        sizes.map(|_| 32),
                        label::MINUS_2,
                        "priv",
                        alg.name(),
                    )?;
                }
                consumed.extend([label::MINUS_1, label::MINUS_2]);
                KeyParams::Akp { public, seed }
            }
            _ => {
                consumed.truncate(3);
                KeyParams::Other {
                    kty: kty_value.clone(),
                }
            }
        };
        let other = map
            .iter()
            .filter(|(k, _)| !k.as_i64().is_some_and(|l| consumed.contains(&l)))
            .cloned()
            .collect();
        Ok(CoseKey {
            kid,
            alg,
            params,
            other,
        })
    }

    /// The key type value (label 1).
    pub fn kty(&self) -> Value {
        match &self.params {
            KeyParams::Okp { .. } => Value::int(kty::OKP),
            KeyParams::Ec2 { .. } => Value::int(kty::EC2),
            KeyParams::Rsa { .. } => Value::int(kty::RSA),
            KeyParams::Akp { .. } => Value::int(kty::AKP),
            KeyParams::Other { kty } => kty.clone(),
        }
    }

    /// The key as a CBOR map: kty, kid, alg, type parameters, then the others.
    pub fn to_value(&self) -> Value {
        let mut m = vec![(Value::int(label::KTY), self.kty())];
        if let Some(kid) = &self.kid {
            m.push((Value::int(label::KID), Value::bytes(kid.clone())));
        }
        if let Some(alg) = self.alg {
            m.push((Value::int(label::ALG), Value::int(alg.0)));
        }
        let b = |l: i64, v: &[u8]| (Value::int(l), Value::bytes(v.to_vec()));
        match &self.params {
            KeyParams::Okp { curve, x, d } => {
                m.push((Value::int(label::MINUS_1), Value::int(curve.0)));
                m.push(b(label::MINUS_2, x));
                if let Some(d) = d {
                    m.push(b(label::MINUS_4, &d.0));
                }
            }
            KeyParams::Ec2 { curve, x, y, d } => {
                m.push((Value::int(label::MINUS_1), Value::int(curve.0)));
                m.push(b(label::MINUS_2, x));
                m.push(b(label::MINUS_3, y));
                if let Some(d) = d {
                    m.push(b(label::MINUS_4, &d.0));
                }
            }
            KeyParams::Rsa { n, e } => {
                m.push(b(label::MINUS_1, n));
                m.push(b(label::MINUS_2, e));
            }
            KeyParams::Akp { public, seed } => {
                m.push(b(label::MINUS_1, public));
                if let Some(seed) = seed {
                    m.push(b(label::MINUS_2, &seed.0));
                }
            }
            KeyParams::Other { .. } => {}
        }
        m.extend(self.other.iter().cloned());
        Value::Map(m)
    }

    /// The key in CTAP2 canonical CBOR.
    pub fn to_cbor(&self) -> Vec<u8> {
        cbor::to_canonical_vec(&self.to_value())
    }

    /// The same key without private parameters (what a credential public key must be).
    pub fn public_only(&self) -> CoseKey {
        let mut key = self.clone();
        match &mut key.params {
            KeyParams::Okp { d, .. } | KeyParams::Ec2 { d, .. } => *d = None,
            KeyParams::Akp { seed, .. } => *seed = None,
            KeyParams::Rsa { .. } | KeyParams::Other { .. } => {}
        }
        key
    }

    /// Whether the key carries private material.
    pub fn has_private_part(&self) -> bool {
        matches!(
            &self.params,
            KeyParams::Okp { d: Some(_), .. }
                | KeyParams::Ec2 { d: Some(_), .. }
                | KeyParams::Akp { seed: Some(_), .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn es256_key() -> Vec<u8> {
        // From the WebAuthn L3 test vectors (none.ES256 credential public key).
        hex::decode("a5010203262001215820afefa16f97ca9b2d23eb86ccb64098d20db90856062eb249c33a9b672f26df61225820930a56b87a2fca66334b03458abf879717c12cc68ed73290af2e2664796b9220").unwrap()
    }

    #[test]
    fn ec2_round_trip() {
        let key = CoseKey::from_cbor(&es256_key()).unwrap();
        assert_eq!(key.alg, Some(CoseAlgorithm::ES256));
        assert!(matches!(
            key.params,
            KeyParams::Ec2 {
                curve: CoseCurve::P256,
                ..
            }
        ));
        assert_eq!(key.to_cbor(), es256_key());
    }

    #[test]
    fn akp_requires_alg_and_right_length() {
        let pk = vec![7u8; 1952];
        let no_alg = Value::map([
            (Value::int(1), Value::int(7)),
            (Value::int(-1), Value::bytes(pk.clone())),
        ]);
        assert_eq!(
            CoseKey::from_value(&no_alg),
            Err(CoseKeyError::MissingParameter {
                label: 3,
                name: "alg"
            })
        );
        let wrong_len = Value::map([
            (Value::int(1), Value::int(7)),
            (Value::int(3), Value::int(-48)),
            (Value::int(-1), Value::bytes(pk.clone())),
        ]);
        assert!(matches!(
            CoseKey::from_value(&wrong_len),
            Err(CoseKeyError::WrongLength {
                expected: 1312,
                found: 1952,
                ..
            })
        ));
        let ok = Value::map([
            (Value::int(1), Value::int(7)),
            (Value::int(3), Value::int(-49)),
            (Value::int(-1), Value::bytes(pk.clone())),
        ]);
        let key = CoseKey::from_value(&ok).unwrap();
        assert_eq!(
            key.params,
            KeyParams::Akp {
                public: pk,
                seed: None
            }
        );
    }

    #[test]
    fn unknown_algorithms_and_key_types_are_carried() {
        let v = Value::map([
            (Value::int(1), Value::int(7)),
            (Value::int(3), Value::int(-999)),
            (Value::int(-1), Value::bytes(vec![1, 2, 3])),
        ]);
        let key = CoseKey::from_value(&v).unwrap();
        assert_eq!(key.alg, Some(CoseAlgorithm(-999)));
        assert_eq!(key.to_value(), v);

        let v = Value::map([
            (Value::int(1), Value::text("future")),
            (Value::int(-1), Value::int(5)),
        ]);
        let key = CoseKey::from_value(&v).unwrap();
        assert!(matches!(key.params, KeyParams::Other { .. }));
        assert_eq!(key.to_value(), v);
    }

    #[test]
    fn private_parts_are_redacted_in_debug() {
        let v = Value::map([
            (Value::int(1), Value::int(7)),
            (Value::int(3), Value::int(-48)),
            (Value::int(-1), Value::bytes(vec![0u8; 1312])),
            (Value::int(-2), Value::bytes(vec![0x42u8; 32])),
        ]);
        let key = CoseKey::from_value(&v).unwrap();
        assert!(key.has_private_part());
        let dbg = format!("{key:?}");
        assert!(dbg.contains("redacted"));
        assert!(!dbg.contains("66, 66"));
        assert!(!key.public_only().has_private_part());
    }

    #[test]
    fn type_errors_are_precise() {
        let v = Value::map([
            (Value::int(1), Value::int(2)),
            (Value::int(-1), Value::int(1)),
            (Value::int(-2), Value::text("x")),
        ]);
        assert_eq!(
            CoseKey::from_value(&v),
            Err(CoseKeyError::WrongType {
                label: -2,
                name: "x",
                expected: "a byte string",
                found: "text string"
            })
        );
        assert_eq!(
            CoseKey::from_value(&Value::int(1)),
            Err(CoseKeyError::NotAMap { found: "integer" })
        );
    }
}
