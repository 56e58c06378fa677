//! The MDS3 BLOB payload (FIDO Metadata Service v3.0 §3.1.6): `no`,
//! `nextUpdate`, and the entries, each with its metadata statement and its
//! status reports; entries indexed by AAGUID; trust decided per entry from
//! its status history.

use super::MdsError;
use crate::x509::UnixTime;
use serde::Deserialize;
use serde_json::Value as Json;
use std::collections::HashMap;

/// Statuses (MDS3 §3.1.4 AuthenticatorStatus) after which a model's
/// attestation is never trusted: the model is revoked, or the attestation
/// or user keys are known to be compromised, or user verification can be
/// bypassed. A later status (FIDO_CERTIFIED, UPDATE_AVAILABLE) does not
/// undo them: devices already in users' hands stay affected.
pub const UNTRUSTED_STATUSES: [&str; 5] = [
    "REVOKED",
    "ATTESTATION_KEY_COMPROMISE",
    "USER_KEY_REMOTE_COMPROMISE",
    "USER_KEY_PHYSICAL_COMPROMISE",
    "USER_VERIFICATION_BYPASS",
];

/// One status report (MDS3 §3.1.3), the members used here.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StatusReport {
    /// The AuthenticatorStatus value.
    pub status: String,
    /// ISO 8601 date the status took effect, when given.
    #[serde(default)]
    pub effective_date: Option<String>,
    /// The certification it records (e.g. "FIDO Certified L1"), when given.
    #[serde(default)]
    pub certification_descriptor: Option<String>,
    /// The certificate number, when given.
    #[serde(default)]
    pub certificate_number: Option<String>,
    /// Where the report is published, when given.
    #[serde(default)]
    pub url: Option<String>,
}

/// One BLOB entry (MDS3 §3.1.1).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MetadataEntry {
    /// The AAGUID (FIDO2 authenticators), when the entry has one.
    pub aaguid: Option<[u8; 16]>,
    /// The metadata statement as published (FIDO Metadata Statement v3.0).
    pub statement: Json,
    /// The status reports, as published.
    pub status_reports: Vec<StatusReport>,
}

impl MetadataEntry {
    /// The statement's description.
    pub fn description(&self) -> &str {
        self.statement
            .get("description")
            .and_then(Json::as_str)
            .unwrap_or("(no description)")
    }

    /// `attestationRootCertificates`: base64 DER strings as published.
    pub fn attestation_root_certificates(&self) -> Vec<&str> {
        self.statement
            .get("attestationRootCertificates")
            .and_then(Json::as_array)
            .map(|a| a.iter().filter_map(Json::as_str).collect())
            .unwrap_or_default()
    }

    /// Why the entry's attestation must not be trusted, if it must not:
    /// the first status report with one of [`UNTRUSTED_STATUSES`].
    pub fn distrust_reason(&self) -> Option<String> {
        self.status_reports
            .iter()
            .find(|r| UNTRUSTED_STATUSES.contains(&r.status.as_str()))
            .map(|r| {
                format!(
                    "FIDO MDS3 reports {} for \"{}\"{}",
                    r.status,
                    self.description(),
                    r.effective_date
                        .as_deref()
                        .map(|d| format!(" (effective {d})"))
                        .unwrap_or_default()
                )
            })
    }
}

/// Parses an AAGUID in the 8-4-4-4-12 form MDS3 uses (hex, any case).
pub fn parse_aaguid(s: &str) -> Option<[u8; 16]> {
    let groups: Vec<&str> = s.split('-').collect();
    if groups.iter().map(|g| g.len()).collect::<Vec<_>>() != [8, 4, 4, 4, 12] {
        return None;
    }
    let digits: String = groups.concat();
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        let pair = digits.get(i * 2..i * 2 + 2)?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

/// Parses an AAGUID a person typed: 8-4-4-4-12, or 32 hex digits.
pub fn parse_aaguid_typed(s: &str) -> Option<[u8; 16]> {
    parse_aaguid(s).or_else(|| {
        if s.len() != 32 {
            return None;
        }
        let mut out = [0u8; 16];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(s.get(i * 2..i * 2 + 2)?, 16).ok()?;
        }
        Some(out)
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEntry {
    #[serde(default)]
    aaguid: Option<String>,
    #[serde(default)]
    metadata_statement: Option<Json>,
    #[serde(default)]
    status_reports: Vec<StatusReport>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPayload {
    #[serde(default)]
    legal_header: Option<String>,
    no: u64,
    next_update: String,
    entries: Vec<RawEntry>,
}

/// The most entries accepted (the live BLOB has a few hundred).
pub const MAX_ENTRIES: usize = 100_000;

/// A verified, current BLOB.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MetadataBlob {
    /// The BLOB serial number; a newer BLOB has a larger one.
    pub no: u64,
    /// `nextUpdate` as published (ISO 8601 date).
    pub next_update: String,
    /// `legalHeader`.
    pub legal_header: Option<String>,
    /// The JWS algorithm (ES256 or RS256).
    pub algorithm: String,
    /// Subject of the signing certificate.
    pub signer: String,
    /// Subject of the root the signing certificate chains to.
    pub anchor: String,
    /// Every entry, in BLOB order.
    pub entries: Vec<MetadataEntry>,
    by_aaguid: HashMap<[u8; 16], usize>,
}

impl MetadataBlob {
    pub(crate) fn from_payload(
        payload: &[u8],
        verified: super::jws::VerifiedJws,
        at: UnixTime,
        previous_no: Option<u64>,
    ) -> Result<MetadataBlob, MdsError> {
        let raw: RawPayload =
            serde_json::from_slice(payload).map_err(|e| MdsError::PayloadJson(e.to_string()))?;
        let next = crate::date::parse_date(&raw.next_update)
            .ok_or_else(|| MdsError::BadNextUpdate(raw.next_update.clone()))?;
        // nextUpdate is a date: the BLOB is current through that whole day.
        if at.0 >= next.saturating_add(86_400) {
            return Err(MdsError::Stale {
                next_update: raw.next_update,
                at: crate::date::rfc3339(at.0),
            });
        }
        if let Some(previous) = previous_no
            && raw.no <= previous
        {
            return Err(MdsError::Rollback {
                no: raw.no,
                previous,
            });
        }
        if raw.entries.len() > MAX_ENTRIES {
            return Err(MdsError::TooManyEntries(raw.entries.len()));
        }
        let mut entries = Vec::with_capacity(raw.entries.len());
        let mut by_aaguid = HashMap::new();
        for (index, e) in raw.entries.into_iter().enumerate() {
            let aaguid = match &e.aaguid {
                Some(s) => Some(parse_aaguid(s).ok_or_else(|| MdsError::Entry {
                    index,
                    reason: format!("aaguid \"{s}\" is not 8-4-4-4-12 hex"),
                })?),
                None => None,
            };
            let statement = e.metadata_statement.ok_or_else(|| MdsError::Entry {
                index,
                reason: "no metadataStatement".into(),
            })?;
            if let Some(a) = aaguid
                && by_aaguid.insert(a, entries.len()).is_some()
            {
                return Err(MdsError::Entry {
                    index,
                    reason: "a second entry for the same AAGUID".into(),
                });
            }
            entries.push(MetadataEntry {
                aaguid,
                statement,
                status_reports: e.status_reports,
            });
        }
        Ok(MetadataBlob {
            no: raw.no,
            next_update: raw.next_update,
            legal_header: raw.legal_header,
            algorithm: verified.algorithm,
            signer: verified.signer,
            anchor: verified.anchor,
            entries,
            by_aaguid,
        })
    }

    /// The BLOB's payload read WITHOUT verifying anything (not its
    /// signature, not its date): for showing what a file holds, never for
    /// trust (the result cannot be applied to a trust store).
    pub fn read_unverified(payload: &[u8]) -> Result<UnverifiedPayload, MdsError> {
        let raw: RawPayload =
            serde_json::from_slice(payload).map_err(|e| MdsError::PayloadJson(e.to_string()))?;
        if raw.entries.len() > MAX_ENTRIES {
            return Err(MdsError::TooManyEntries(raw.entries.len()));
        }
        let entries = raw
            .entries
            .into_iter()
            .filter_map(|e| {
                Some(MetadataEntry {
                    aaguid: e.aaguid.as_deref().and_then(parse_aaguid),
                    statement: e.metadata_statement?,
                    status_reports: e.status_reports,
                })
            })
            .collect();
        Ok(UnverifiedPayload {
            no: raw.no,
            next_update: raw.next_update,
            entries,
        })
    }

    /// The entry for `aaguid`, if the BLOB has one.
    pub fn entry(&self, aaguid: &[u8; 16]) -> Option<&MetadataEntry> {
        self.by_aaguid
            .get(aaguid)
            .and_then(|i| self.entries.get(*i))
    }
}

/// A BLOB payload that nobody verified: shown, never trusted.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct UnverifiedPayload {
    /// `no`.
    pub no: u64,
    /// `nextUpdate`.
    pub next_update: String,
    /// The entries that have a metadata statement.
    pub entries: Vec<MetadataEntry>,
}
