//! Certificate paths up to explicit trust anchors. Time is a parameter, so
//! tests (and replays of old attestations) choose it.

use super::certificate::{CertError, Certificate};
use serde::{Deserialize, Serialize};
use x509_parser::time::ASN1Time;

/// Seconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnixTime(pub i64);

impl UnixTime {
    /// The system clock now.
    pub fn now() -> UnixTime {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        UnixTime(secs)
    }
}

/// Where a trust anchor came from; every trust result carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
#[non_exhaustive]
pub enum AnchorSource {
    /// Configured by the operator.
    Configured,
    /// A root certificate of a FIDO MDS3 metadata statement, from a BLOB
    /// whose signature verified up to the FIDO root.
    FidoMds {
        /// The statement's description.
        description: String,
    },
    /// A root certificate of a metadata statement uploaded in a session:
    /// uploaded, not MDS-trusted.
    Uploaded {
        /// The statement's description.
        description: String,
    },
}

/// One trust anchor: a root (or any) certificate trusted as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustAnchor {
    /// The certificate.
    pub certificate: Certificate,
    /// Its subject (cached for reports).
    pub subject: String,
    /// Where it came from.
    pub source: AnchorSource,
}

impl TrustAnchor {
    /// An anchor from DER.
    pub fn from_der(der: &[u8], source: AnchorSource) -> Result<TrustAnchor, CertError> {
        let certificate = Certificate::from_der(der)?;
        let subject = certificate.subject()?;
        Ok(TrustAnchor {
            certificate,
            subject,
            source,
        })
    }
}

/// A set of trust anchors. Empty trusts nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustAnchors {
    anchors: Vec<TrustAnchor>,
}

/// Why a path does not reach a trust anchor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// No certificates given.
    #[error("empty certificate path")]
    Empty,
    /// No anchors configured: nothing is trusted.
    #[error("no trust anchors are configured, so nothing is trusted")]
    NoAnchors,
    /// A certificate of the path is broken.
    #[error("certificate {index} of the path: {source}")]
    Certificate {
        /// Position in the path, leaf = 0.
        index: usize,
        /// What is wrong.
        source: CertError,
    },
    /// Outside its validity period at the verification time.
    #[error("certificate \"{subject}\" is not valid at {at} (valid {not_before} to {not_after})")]
    NotValidAt {
        /// Its subject.
        subject: String,
        /// The verification time (Unix seconds).
        at: i64,
        /// notBefore (Unix seconds).
        not_before: i64,
        /// notAfter (Unix seconds).
        not_after: i64,
    },
    /// An issuer that is not a CA by basicConstraints.
    #[error("issuer \"{0}\" is not a CA (basicConstraints)")]
    NotCa(String),
    /// An issuer whose keyUsage lacks keyCertSign.
    #[error("issuer \"{0}\" may not sign certificates (keyUsage lacks keyCertSign)")]
    NoKeyCertSign(String),
    /// An issuer with more CA certificates below it than its pathLenConstraint allows.
    #[error(
        "issuer \"{subject}\" allows {allowed} intermediate CA(s) below it, the path has {found}"
    )]
    PathLenExceeded {
        /// Its subject.
        subject: String,
        /// Its pathLenConstraint.
        allowed: u32,
        /// Intermediates below it.
        found: usize,
    },
    /// The path is longer than any attestation path should be.
    #[error("certificate path of {0} certificates is too long")]
    TooLong(usize),
    /// The top of the path is not an anchor and no anchor signed it.
    #[error("no trust anchor vouches for \"{0}\"")]
    NoAnchorVouches(String),
}

/// The result of a successful path validation: which anchor vouched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedChain<'a> {
    /// The anchor at the top.
    pub anchor: &'a TrustAnchor,
    /// The path length including the anchor.
    pub length: usize,
}

/// The longest path accepted (leaf + intermediates, anchor excluded).
const MAX_PATH: usize = 8;

fn asn1(t: &ASN1Time) -> i64 {
    t.timestamp()
}

impl TrustAnchors {
    /// No anchors (trusts nothing).
    pub fn new() -> TrustAnchors {
        TrustAnchors::default()
    }

    /// Adds an anchor.
    pub fn add(&mut self, anchor: TrustAnchor) {
        if !self.anchors.contains(&anchor) {
            self.anchors.push(anchor);
        }
    }

    /// The anchors.
    pub fn anchors(&self) -> &[TrustAnchor] {
        &self.anchors
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    /// Validates `path` (leaf first, as x5c orders it) at time `at` and
    /// returns the anchor that vouches for it.
    pub fn verify(
        &self,
        path: &[Certificate],
        at: UnixTime,
    ) -> Result<VerifiedChain<'_>, ChainError> {
        if path.is_empty() {
            return Err(ChainError::Empty);
        }
        if path.len() > MAX_PATH {
            return Err(ChainError::TooLong(path.len()));
        }
        if self.anchors.is_empty() {
            return Err(ChainError::NoAnchors);
        }
        // A path may end with the anchor itself (x5c sometimes includes the root).
        let (path, anchor_in_path) = match path.split_last() {
            Some((last, rest)) if !rest.is_empty() => {
                match self.anchors.iter().find(|a| a.certificate == *last) {
                    Some(a) => (rest, Some(a)),
                    None => (path, None),
                }
            }
            _ => (path, None),
        };
        for (index, cert) in path.iter().enumerate() {
            check_validity(cert, at).map_err(|e| with_index(e, index))?;
        }
        // Each certificate must be signed by the next, which must be a CA.
        for (index, pair) in path.windows(2).enumerate() {
            let [child, issuer] = pair else { continue };
            check_issuer(issuer, index).map_err(|e| with_index(e, index + 1))?;
            child
                .verify_signed_by(issuer)
                .map_err(|source| ChainError::Certificate { index, source })?;
        }
        let top_index = path.len() - 1;
        let Some(top) = path.last() else {
            return Err(ChainError::Empty);
        };
        // The leaf itself may be an anchor (a pinned attestation certificate).
        if anchor_in_path.is_none()
            && path.len() == 1
            && let Some(a) = self.anchors.iter().find(|a| a.certificate == *top)
        {
            return Ok(VerifiedChain {
                anchor: a,
                length: 1,
            });
        }
        let candidates: Vec<&TrustAnchor> = match anchor_in_path {
            Some(a) => vec![a],
            None => self.anchors.iter().collect(),
        };
        let mut last_err = None;
        for anchor in candidates {
            let attempt = check_validity(&anchor.certificate, at)
                .and_then(|()| check_issuer(&anchor.certificate, top_index))
                .and_then(|()| {
                    top.verify_signed_by(&anchor.certificate).map_err(|source| {
                        ChainError::Certificate {
                            index: top_index,
                            source,
                        }
                    })
                });
            match attempt {
                Ok(()) => {
                    return Ok(VerifiedChain {
                        anchor,
                        length: path.len() + 1,
                    });
                }
                Err(e) => last_err = Some(e),
            }
        }
        // Report a rule an anchor broke when the anchor looked like the issuer,
        // otherwise that no anchor vouches.
        match (anchor_in_path, last_err) {
            (Some(_), Some(e)) => Err(e),
            _ => Err(ChainError::NoAnchorVouches(
                top.subject().unwrap_or_default(),
            )),
        }
    }
}

fn with_index(e: ChainError, index: usize) -> ChainError {
    match e {
        ChainError::Certificate { source, .. } => ChainError::Certificate { index, source },
        other => other,
    }
}

fn check_validity(cert: &Certificate, at: UnixTime) -> Result<(), ChainError> {
    cert.with_parsed(|c| {
        let v = c.validity();
        Ok((
            asn1(&v.not_before),
            asn1(&v.not_after),
            c.subject().to_string(),
        ))
    })
    .map_err(|source| ChainError::Certificate { index: 0, source })
    .and_then(|(not_before, not_after, subject)| {
        if at.0 < not_before || at.0 > not_after {
            Err(ChainError::NotValidAt {
                subject,
                at: at.0,
                not_before,
                not_after,
            })
        } else {
            Ok(())
        }
    })
}

/// An issuer must be a CA, may sign certificates, and allow
/// `intermediates_below` CA certificates under it.
fn check_issuer(issuer: &Certificate, intermediates_below: usize) -> Result<(), ChainError> {
    let facts = issuer
        .with_parsed(|c| {
            let subject = c.subject().to_string();
            let bc = c
                .basic_constraints()
                .map_err(|e| CertError::Extension {
                    oid: "2.5.29.19".into(),
                    reason: e.to_string(),
                })?
                .map(|b| (b.value.ca, b.value.path_len_constraint));
            let ku = c
                .key_usage()
                .map_err(|e| CertError::Extension {
                    oid: "2.5.29.15".into(),
                    reason: e.to_string(),
                })?
                .map(|k| k.value.key_cert_sign());
            Ok((subject, bc, ku))
        })
        .map_err(|source| ChainError::Certificate { index: 0, source })?;
    let (subject, bc, ku) = facts;
    let Some((true, path_len)) = bc else {
        return Err(ChainError::NotCa(subject));
    };
    if ku == Some(false) {
        return Err(ChainError::NoKeyCertSign(subject));
    }
    if let Some(allowed) = path_len
        && intermediates_below > allowed as usize
    {
        return Err(ChainError::PathLenExceeded {
            subject,
            allowed,
            found: intermediates_below,
        });
    }
    Ok(())
}
