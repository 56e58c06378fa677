//! COSE algorithm and curve identifiers (IANA "COSE Algorithms", "COSE Elliptic Curves").
//!
//! Both are open newtypes over the registry integer: an identifier this crate
//! has no name for is carried through unchanged, never rejected here.

use std::fmt;

/// A COSE algorithm identifier.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct CoseAlgorithm(pub i64);

impl CoseAlgorithm {
    /// ECDSA with SHA-256 on P-256.
    pub const ES256: CoseAlgorithm = CoseAlgorithm(-7);
    /// ECDSA with SHA-384 on P-384.
    pub const ES384: CoseAlgorithm = CoseAlgorithm(-35);
    /// ECDSA with SHA-512 on P-521.
    pub const ES512: CoseAlgorithm = CoseAlgorithm(-36);
    /// ECDSA with SHA-256 on secp256k1 (RFC 8812).
    pub const ES256K: CoseAlgorithm = CoseAlgorithm(-47);
    /// EdDSA (in WebAuthn: Ed25519).
    pub const EDDSA: CoseAlgorithm = CoseAlgorithm(-8);
    /// Ed25519, fully specified (RFC 9864).
    pub const ED25519: CoseAlgorithm = CoseAlgorithm(-19);
    /// Ed448, fully specified (RFC 9864).
    pub const ED448: CoseAlgorithm = CoseAlgorithm(-53);
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    pub const RS256: CoseAlgorithm = CoseAlgorithm(-257);
    /// RSASSA-PSS with SHA-256.
    pub const PS256: CoseAlgorithm = CoseAlgorithm(-37);
    /// ML-DSA-44 (FIPS 204), RFC 9964.
    pub const ML_DSA_44: CoseAlgorithm = CoseAlgorithm(-48);
    /// ML-DSA-65 (FIPS 204), RFC 9964.
    pub const ML_DSA_65: CoseAlgorithm = CoseAlgorithm(-49);
    /// ML-DSA-87 (FIPS 204), RFC 9964.
    pub const ML_DSA_87: CoseAlgorithm = CoseAlgorithm(-50);
    /// ECDH-ES with HKDF-SHA-256: the alg CTAP's pinUvAuth key agreement keys carry
    /// (a key-agreement algorithm, never a signature one).
    pub const ECDH_ES_HKDF_256: CoseAlgorithm = CoseAlgorithm(-25);

    /// Every algorithm this crate has a name for, strongest post-quantum first.
    pub const KNOWN: [CoseAlgorithm; 12] = [
        Self::ML_DSA_87,
        Self::ML_DSA_65,
        Self::ML_DSA_44,
        Self::EDDSA,
        Self::ED25519,
        Self::ED448,
        Self::ES256,
        Self::ES384,
        Self::ES512,
        Self::PS256,
        Self::RS256,
        Self::ES256K,
    ];

    /// The registry name, if known.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
            Self::ES512 => "ES512",
            Self::ES256K => "ES256K",
            Self::EDDSA => "EdDSA",
            Self::ED25519 => "Ed25519",
            Self::ED448 => "Ed448",
            Self::RS256 => "RS256",
            Self::PS256 => "PS256",
            Self::ML_DSA_44 => "ML-DSA-44",
            Self::ML_DSA_65 => "ML-DSA-65",
            Self::ML_DSA_87 => "ML-DSA-87",
            _ => return None,
        })
    }

    /// The algorithm with this registry name (case-insensitive), if known.
    pub fn from_name(name: &str) -> Option<CoseAlgorithm> {
        Self::KNOWN
            .into_iter()
            .find(|alg| alg.name().is_some_and(|n| n.eq_ignore_ascii_case(name)))
    }

    /// For ML-DSA: the FIPS 204 public key and signature sizes in bytes.
    pub fn ml_dsa_sizes(self) -> Option<MlDsaSizes> {
        match self {
            Self::ML_DSA_44 => Some(MlDsaSizes {
                public_key: 1312,
                signature: 2420,
            }),
            Self::ML_DSA_65 => Some(MlDsaSizes {
                public_key: 1952,
                signature: 3309,
            }),
            Self::ML_DSA_87 => Some(MlDsaSizes {
                public_key: 2592,
                signature: 4627,
            }),
            _ => None,
        }
    }

    /// Whether this is one of the ML-DSA parameter sets.
    pub fn is_ml_dsa(self) -> bool {
        self.ml_dsa_sizes().is_some()
    }
}

/// FIPS 204 sizes of one ML-DSA parameter set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MlDsaSizes {
    /// Encoded public key length.
    pub public_key: usize,
    /// Encoded signature length.
    pub signature: usize,
}

impl fmt::Debug for CoseAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name}({})", self.0),
            None => write!(f, "CoseAlgorithm({})", self.0),
        }
    }
}

impl fmt::Display for CoseAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} ({})", self.0),
            None => write!(f, "unknown algorithm ({})", self.0),
        }
    }
}

/// A COSE elliptic curve identifier.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CoseCurve(pub i64);

impl CoseCurve {
    /// NIST P-256 (EC2).
    pub const P256: CoseCurve = CoseCurve(1);
    /// NIST P-384 (EC2).
    pub const P384: CoseCurve = CoseCurve(2);
    /// NIST P-521 (EC2).
    pub const P521: CoseCurve = CoseCurve(3);
    /// X25519 (OKP).
    pub const X25519: CoseCurve = CoseCurve(4);
    /// X448 (OKP).
    pub const X448: CoseCurve = CoseCurve(5);
    /// Ed25519 (OKP).
    pub const ED25519: CoseCurve = CoseCurve(6);
    /// Ed448 (OKP).
    pub const ED448: CoseCurve = CoseCurve(7);
    /// secp256k1 (EC2, RFC 8812).
    pub const SECP256K1: CoseCurve = CoseCurve(8);

    /// The registry name, if known.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::P256 => "P-256",
            Self::P384 => "P-384",
            Self::P521 => "P-521",
            Self::X25519 => "X25519",
            Self::X448 => "X448",
            Self::ED25519 => "Ed25519",
            Self::ED448 => "Ed448",
            Self::SECP256K1 => "secp256k1",
            _ => return None,
        })
    }

    /// Length in bytes of one coordinate (EC2) or of the public key (OKP), if known.
    pub fn coordinate_len(self) -> Option<usize> {
        Some(match self {
            Self::P256 | Self::SECP256K1 | Self::X25519 | Self::ED25519 => 32,
            Self::P384 => 48,
            Self::P521 => 66,
            Self::X448 => 56,
            Self::ED448 => 57,
            _ => return None,
        })
    }
}

impl fmt::Debug for CoseCurve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name}({})", self.0),
            None => write!(f, "CoseCurve({})", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for alg in CoseAlgorithm::KNOWN {
            assert_eq!(CoseAlgorithm::from_name(alg.name().unwrap()), Some(alg));
        }
        assert_eq!(CoseAlgorithm(-65535).name(), None);
        assert_eq!(
            CoseAlgorithm::from_name("ml-dsa-65"),
            Some(CoseAlgorithm(-49))
        );
    }
}
