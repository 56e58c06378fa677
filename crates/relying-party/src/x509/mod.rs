//! X.509 certificates for attestation: parsing (x509-parser), the keys they
//! carry as verifiers (classical through aws-lc-rs, ML-DSA through
//! pqcrypto-mldsa), and chain validation up to explicit trust anchors.
//!
//! Chain rules (RFC 5280 §6.1, reduced to what attestation needs): every
//! certificate valid at the given time; each signed by the next; every
//! issuer a CA by basicConstraints, with keyCertSign when keyUsage is
//! present, and its pathLenConstraint respected; the top either is an
//! anchor or is signed by one. An empty anchor list trusts nothing.

mod certificate;
mod chain;
pub mod crl;

pub(crate) use certificate::ml_dsa_for_oid;
pub use certificate::{CertError, Certificate, MAX_CERT_LEN, RS1, oid};
pub use chain::{AnchorSource, ChainError, TrustAnchor, TrustAnchors, UnixTime, VerifiedChain};
pub use crl::{Crl, RevocationError};
