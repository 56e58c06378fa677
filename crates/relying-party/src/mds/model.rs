//! What a metadata entry says about a model, as front ends show it next to
//! getInfo and attestation verdicts: its description and icon, the
//! certification its status reports record, the reports themselves, and a
//! verdict — untrusted (red, with the reason) when a report says revoked or
//! compromised.

use super::{MetadataEntry, StatusReport, UNTRUSTED_STATUSES};
use serde::Serialize;
use serde_json::Value as Json;

/// The largest icon passed on (a data: URL; published icons are a few KiB).
pub const MAX_ICON_LEN: usize = 64 * 1024;

/// The verdict on a model from its status reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
#[non_exhaustive]
pub enum ModelVerdict {
    /// A FIDO certification is recorded and nothing untrusted.
    Certified {
        /// The latest certification status (e.g. `FIDO_CERTIFIED_L1`).
        level: String,
    },
    /// Listed, but no certification recorded (e.g. only a self-assertion).
    NotCertified,
    /// A status after which attestation is never trusted.
    Untrusted {
        /// The status report's reason, with its date.
        reason: String,
    },
}

/// A model as the metadata service describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ModelInfo {
    /// The AAGUID, 8-4-4-4-12.
    pub aaguid: String,
    /// The statement's description.
    pub description: String,
    /// The statement's icon, when it is a data: URL of an image within
    /// [`MAX_ICON_LEN`] (anything else is dropped: the UI never loads a
    /// URL from metadata).
    pub icon: Option<String>,
    /// `authenticatorVersion`.
    pub authenticator_version: Option<u64>,
    /// `protocolFamily` (fido2, u2f, uaf).
    pub protocol_family: Option<String>,
    /// `attestationTypes`.
    pub attestation_types: Vec<String>,
    /// `keyProtection`.
    pub key_protection: Vec<String>,
    /// The status reports, as published (oldest first, as MDS lists them).
    pub status_reports: Vec<StatusReport>,
    /// The verdict.
    pub verdict: ModelVerdict,
}

fn strings(statement: &Json, key: &str) -> Vec<String> {
    statement
        .get(key)
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Json::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

impl ModelInfo {
    /// The model of `entry` (an entry without an AAGUID gets an empty one).
    pub fn of(entry: &MetadataEntry) -> ModelInfo {
        let statement = &entry.statement;
        let icon = statement
            .get("icon")
            .and_then(Json::as_str)
            .filter(|s| s.starts_with("data:image/") && s.len() <= MAX_ICON_LEN)
            .map(str::to_owned);
        let verdict = match entry.distrust_reason() {
            Some(reason) => ModelVerdict::Untrusted { reason },
            // The highest level recorded (FIDO_CERTIFIED < _L1 < _L1plus < _L2 …).
            None => entry
                .status_reports
                .iter()
                .filter(|r| r.status.starts_with("FIDO_CERTIFIED"))
                .max_by(|a, b| a.status.cmp(&b.status))
                .map_or(ModelVerdict::NotCertified, |r| ModelVerdict::Certified {
                    level: r.status.clone(),
                }),
        };
        debug_assert!(
            !matches!(verdict, ModelVerdict::Certified { .. })
                || !entry
                    .status_reports
                    .iter()
                    .any(|r| UNTRUSTED_STATUSES.contains(&r.status.as_str()))
        );
        ModelInfo {
            aaguid: entry
                .aaguid
                .map(|a| crate::decoder::uuid_string(&a))
                .unwrap_or_default(),
            description: entry.description().to_owned(),
            icon,
            authenticator_version: statement.get("authenticatorVersion").and_then(Json::as_u64),
            protocol_family: statement
                .get("protocolFamily")
                .and_then(Json::as_str)
                .map(str::to_owned),
            attestation_types: strings(statement, "attestationTypes"),
            key_protection: strings(statement, "keyProtection"),
            status_reports: entry.status_reports.clone(),
            verdict,
        }
    }
}
