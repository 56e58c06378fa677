//! COSE algorithms and keys, classical and post-quantum.
//!
//! Covers what WebAuthn and CTAP2 carry: EC2 (ES256/384/512), OKP (EdDSA),
//! RSA (RS256, PS256) and AKP keys for ML-DSA-44/65/87 (RFC 9964: kty 7, the
//! raw FIPS 204 public key at label -1, `alg` required).

mod algorithm;
mod key;

pub use algorithm::{CoseAlgorithm, CoseCurve, MlDsaSizes};
pub use key::{CoseKey, CoseKeyError, KeyParams, PrivateKeyBytes, kty, label};
