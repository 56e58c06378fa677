//! Certificate revocation lists (RFC 5280 §5) for a validated path: each
//! certificate that names CRL distribution points is checked against its
//! issuer's CRL — signed by that issuer's key, current at the time of the
//! check — and refused when listed there, with the reason the CRL gives. A
//! certificate whose CRL was not supplied is reported as unchecked, never
//! passed silently. Nothing here fetches: the caller brings the CRLs (from
//! a cache, a file, or the metadata service).

use super::certificate::{CertError, Certificate};
use super::chain::UnixTime;
use x509_parser::prelude::FromDer as _;
use x509_parser::revocation_list::CertificateRevocationList;

/// The largest CRL accepted.
pub const MAX_CRL_LEN: usize = 8 * 1024 * 1024;

/// Why a path is not known to be unrevoked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RevocationError {
    /// Larger than [`MAX_CRL_LEN`].
    #[error("CRL is {0} bytes, over the limit of {MAX_CRL_LEN}")]
    TooLong(usize),
    /// Not a DER certificate revocation list.
    #[error("not a DER CRL: {0}")]
    Parse(String),
    /// The CRL names the issuer but its signature is not that issuer's.
    #[error("the CRL of \"{issuer}\" is not signed by that issuer's key")]
    BadSignature {
        /// The issuer the CRL names.
        issuer: String,
    },
    /// The CRL's nextUpdate has passed: it can no longer vouch.
    #[error("the CRL of \"{issuer}\" is out of date (nextUpdate {next_update}, checked at {at})")]
    Expired {
        /// The issuer.
        issuer: String,
        /// nextUpdate, seconds since the epoch.
        next_update: i64,
        /// When the check ran.
        at: i64,
    },
    /// The CRL's thisUpdate is in the future.
    #[error("the CRL of \"{issuer}\" is not valid yet (thisUpdate {this_update})")]
    NotYetValid {
        /// The issuer.
        issuer: String,
        /// thisUpdate, seconds since the epoch.
        this_update: i64,
    },
    /// The certificate is on its issuer's CRL.
    #[error("\"{subject}\" (serial {serial}) is revoked by its issuer: {reason}")]
    Revoked {
        /// The revoked certificate's subject.
        subject: String,
        /// Its serial number, hex.
        serial: String,
        /// The CRL's reason code, named.
        reason: &'static str,
    },
    /// The issuer's CRL has a critical extension this check cannot apply.
    #[error(
        "the CRL of \"{issuer}\" has the critical extension {extension}, which this check does not apply"
    )]
    UnsupportedCrl {
        /// The issuer.
        issuer: String,
        /// The extension's OID.
        extension: String,
    },
    /// No CRL of the issuer was supplied for a certificate that names one.
    #[error("revocation of \"{subject}\" not checked: no CRL of its issuer was available (published at {})", points.join(", "))]
    Unavailable {
        /// The certificate's subject.
        subject: String,
        /// Where its issuer publishes the CRL.
        points: Vec<String>,
    },
    /// A certificate of the path could not be read.
    #[error(transparent)]
    Certificate(#[from] CertError),
}

/// A certificate revocation list, DER kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crl {
    der: Vec<u8>,
}

impl Crl {
    /// Checks that `der` is exactly one parseable CRL.
    pub fn from_der(der: &[u8]) -> Result<Crl, RevocationError> {
        if der.len() > MAX_CRL_LEN {
            return Err(RevocationError::TooLong(der.len()));
        }
        let (rest, _) = CertificateRevocationList::from_der(der)
            .map_err(|e| RevocationError::Parse(e.to_string()))?;
        if !rest.is_empty() {
            return Err(RevocationError::Parse(format!(
                "{} byte(s) follow the CRL",
                rest.len()
            )));
        }
        Ok(Crl { der: der.to_vec() })
    }

    /// The DER bytes.
    pub fn der(&self) -> &[u8] {
        &self.der
    }
}

/// RFC 5280 §5.3.1 reason codes, named.
fn reason_name(code: Option<u8>) -> &'static str {
    match code {
        None | Some(0) => "unspecified",
        Some(1) => "keyCompromise",
        Some(2) => "cACompromise",
        Some(3) => "affiliationChanged",
        Some(4) => "superseded",
        Some(5) => "cessationOfOperation",
        Some(6) => "certificateHold",
        Some(8) => "removeFromCRL",
        Some(9) => "privilegeWithdrawn",
        Some(10) => "aACompromise",
        Some(_) => "unknown reason",
    }
}

/// CRL extensions this check understands; a critical one it does not is a
/// CRL it cannot apply (RFC 5280 §5.2).
const KNOWN_CRL_EXTENSIONS: &[&str] = &[
    "2.5.29.20", // CRL number
    "2.5.29.28", // issuing distribution point
    "2.5.29.35", // authority key identifier
];

/// Checks `cert`, issued by `issuer`, against the newest of `crls` that
/// `issuer` signed (an older CRL that is still current may not yet list a
/// revocation a newer one does).
fn check_one(
    cert: &Certificate,
    issuer: &Certificate,
    crls: &[Crl],
    at: UnixTime,
) -> Result<(), RevocationError> {
    let points = cert.crl_distribution_points()?;
    if points.is_empty() {
        // Nothing published for this certificate: nothing to check.
        return Ok(());
    }
    let issuer_name = cert.with_parsed(|c| Ok(c.issuer().as_raw().to_vec()))?;
    let subject = cert.subject()?;
    let mut forged = None;
    let mut newest: Option<(i64, CertificateRevocationList<'_>)> = None;
    for crl in crls {
        let Ok((_, list)) = CertificateRevocationList::from_der(&crl.der) else {
            continue;
        };
        if list.issuer().as_raw() != issuer_name.as_slice() {
            continue;
        }
        let issuer_text = list.issuer().to_string();
        if issuer
            .verify_signature_over(
                &list.signature_algorithm.algorithm.to_id_string(),
                list.tbs_cert_list.as_ref(),
                &list.signature_value.data,
            )
            .is_err()
        {
            // Not the issuer's: another CRL may still be.
            forged = Some(issuer_text);
            continue;
        }
        if let Some(ext) = list
            .extensions()
            .iter()
            .find(|e| e.critical && !KNOWN_CRL_EXTENSIONS.contains(&e.oid.to_id_string().as_str()))
        {
            return Err(RevocationError::UnsupportedCrl {
                issuer: issuer_text,
                extension: ext.oid.to_id_string(),
            });
        }
        let this_update = list.last_update().timestamp();
        if newest.as_ref().is_none_or(|(t, _)| this_update > *t) {
            newest = Some((this_update, list));
        }
    }
    let Some((this_update, list)) = newest else {
        return Err(match forged {
            Some(issuer) => RevocationError::BadSignature { issuer },
            None => RevocationError::Unavailable { subject, points },
        });
    };
    let issuer_text = list.issuer().to_string();
    if this_update > at.0 {
        return Err(RevocationError::NotYetValid {
            issuer: issuer_text,
            this_update,
        });
    }
    if let Some(next) = list.next_update().map(|t| t.timestamp())
        && next < at.0
    {
        return Err(RevocationError::Expired {
            issuer: issuer_text,
            next_update: next,
            at: at.0,
        });
    }
    let serial = cert.serial()?;
    if let Some(entry) = list
        .iter_revoked_certificates()
        .find(|r| r.raw_serial() == serial.as_slice())
    {
        return Err(RevocationError::Revoked {
            subject,
            serial: serial.iter().map(|b| format!("{b:02x}")).collect(),
            reason: reason_name(entry.reason_code().map(|(_, r)| r.0)),
        });
    }
    Ok(())
}

/// Checks every certificate of a validated `path` (leaf first, each issued
/// by the next, the last issued by `anchor`; the path may end with the
/// anchor itself) against `crls` at time `at`.
pub fn check_path(
    path: &[Certificate],
    anchor: &Certificate,
    crls: &[Crl],
    at: UnixTime,
) -> Result<(), RevocationError> {
    let path = match path.split_last() {
        Some((last, rest)) if last == anchor => rest,
        _ => path,
    };
    let issuers = path.iter().skip(1).chain(std::iter::once(anchor));
    for (cert, issuer) in path.iter().zip(issuers) {
        check_one(cert, issuer, crls, at)?;
    }
    Ok(())
}
