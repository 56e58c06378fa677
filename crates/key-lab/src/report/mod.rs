//! The report a tester hands on: the key's identity, Keybench's version,
//! the date and the machine, then one section per question asked of the
//! key. It renders as one self-contained HTML file ([`html`]: inline CSS
//! and SVG charts from [`svg`], no scripts, nothing fetched; printable) and
//! as JSON with the same data.
//!
//! A new kind of result becomes a new [`Section`] variant with its own
//! renderer; the page, the identity and the JSON shape stay as they are.

pub mod html;
pub mod machine;
pub mod svg;

/// Metadata that names a key's model: statements or BLOB entries as the
/// relying party parses uploads (bounded, every entry with an AAGUID).
pub mod metadata {
    pub use relying_party::mds::{
        LoadedMetadata, MAX_UPLOAD_LEN as MAX_METADATA_LEN, MdsError, MetadataEntry,
        parse_uploaded as parse,
    };
}

use crate::compare::Comparison;
use key_ops::views::InfoView;
use metadata::MetadataEntry;
use serde::Serialize;
use std::path::{Path, PathBuf};

pub use machine::Machine;

/// The report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Keybench's version.
    pub keybench_version: String,
    /// When the report was made (RFC 3339, UTC).
    pub generated_at: String,
    /// The machine it was made on.
    pub machine: Machine,
    /// The key.
    pub key: KeyIdentity,
    /// The results, in order.
    pub sections: Vec<Section>,
}

/// One result in a report.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
#[non_exhaustive]
pub enum Section {
    /// The classical-versus-post-quantum comparison.
    Compare(Comparison),
    /// The conformance probe: every check with its verdict and evidence.
    Probe(Box<crate::probe::ProbeReport>),
}

/// Which key a report is about.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyIdentity {
    /// How the key was named (`/dev/hidraw3`, `udp:127.0.0.1:8111`, …).
    pub name: String,
    /// The AAGUID, as a UUID.
    pub aaguid: String,
    /// The model's name from metadata, when known.
    pub metadata_name: Option<String>,
    /// Where that name comes from.
    pub metadata_source: Option<MetadataSource>,
    /// What CTAPHID INIT said.
    pub transport: TransportIdentity,
    /// getInfo, decoded.
    pub info: InfoView,
}

/// Where a model name comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum MetadataSource {
    /// The FIDO Metadata Service BLOB in force (verified to its root).
    Mds,
    /// Keybench's own virtual authenticator.
    Keybench,
    /// Metadata the user gave (a statement or BLOB entries), not verified
    /// by anyone: the name is what the file says.
    Given,
}

impl MetadataSource {
    /// For people.
    pub fn describe(self) -> &'static str {
        match self {
            MetadataSource::Mds => "FIDO metadata, verified",
            MetadataSource::Keybench => "Keybench's own model",
            MetadataSource::Given => "from the metadata given, not verified",
        }
    }
}

/// The transport the key answered on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum TransportIdentity {
    /// CTAPHID: what INIT answered.
    Hid {
        /// The device's version, `major.minor.build`.
        device_version: String,
        /// Capabilities advertised: `WINK`, `CBOR`, `NMSG`.
        capabilities: Vec<&'static str>,
    },
    /// The FIDO applet on a card (NFC or contact reader).
    Nfc {
        /// What SELECT answered.
        applet_version: String,
        /// Whether the reader carries extended APDUs, when known.
        extended_apdus: Option<bool>,
    },
}

/// The AAGUID as a UUID (`6b627669-7274-…`), as the decoder writes it.
pub fn uuid(aaguid: &[u8; 16]) -> String {
    relying_party::decoder::uuid_string(aaguid)
}

/// The model name Keybench knows without metadata: its own virtual key.
pub fn known_model(aaguid: &[u8; 16]) -> Option<String> {
    (*aaguid == virtual_authenticator::Config::default().aaguid)
        .then(|| "Keybench virtual authenticator".to_owned())
}

/// The description of the entry for `aaguid` among `entries`.
pub fn metadata_name(entries: &[MetadataEntry], aaguid: &[u8; 16]) -> Option<String> {
    entries
        .iter()
        .find(|e| e.aaguid.as_ref() == Some(aaguid))
        .map(|e| e.description().to_owned())
}

/// Where a report looks up the key's model, best first.
#[derive(Debug, Clone, Copy, Default)]
pub struct ModelSources<'a> {
    /// The FIDO metadata in force (`keybench mds install`): its model card
    /// goes into getInfo's view too.
    pub mds: Option<&'a metadata::LoadedMetadata>,
    /// Statements or BLOB entries the user gave, unverified.
    pub given: &'a [MetadataEntry],
}

impl KeyIdentity {
    /// The identity of an open key named `name`; its model's name from the
    /// FIDO metadata in force, else from metadata the user gave, else
    /// Keybench's own models are recognised.
    pub fn of(device: &ctap_client::Device, name: &str, models: ModelSources<'_>) -> KeyIdentity {
        use ctaphid::client::capability;
        let info = device.info();
        let transport = match device.link_info() {
            ctap_client::LinkInfo::Hid {
                device_version: (ma, mi, bu),
                capabilities: bits,
                ..
            } => TransportIdentity::Hid {
                device_version: format!("{ma}.{mi}.{bu}"),
                capabilities: [
                    (capability::WINK, "WINK"),
                    (capability::CBOR, "CBOR"),
                    (capability::NMSG, "NMSG"),
                ]
                .into_iter()
                .filter(|(bit, _)| bits & bit != 0)
                .map(|(_, name)| name)
                .collect(),
            },
            ctap_client::LinkInfo::Nfc {
                applet_version,
                extended_apdus,
            } => TransportIdentity::Nfc {
                applet_version,
                extended_apdus,
            },
        };
        let mut view = InfoView::from(info);
        if let Some(mds) = models.mds {
            view = view.with_metadata(mds, &info.aaguid);
        }
        let (metadata_name, metadata_source) = match (
            models.mds.and_then(|m| m.model(&info.aaguid)),
            metadata_name(models.given, &info.aaguid),
            known_model(&info.aaguid),
        ) {
            (Some(card), _, _) => (Some(card.description), Some(MetadataSource::Mds)),
            (None, Some(n), _) => (Some(n), Some(MetadataSource::Given)),
            (None, None, Some(n)) => (Some(n), Some(MetadataSource::Keybench)),
            (None, None, None) => (None, None),
        };
        KeyIdentity {
            name: name.to_owned(),
            aaguid: uuid(&info.aaguid),
            metadata_name,
            metadata_source,
            transport,
            info: view,
        }
    }
}

impl Report {
    /// A report made now, on this machine, about `key`.
    pub fn new(key: KeyIdentity, sections: Vec<Section>) -> Report {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or_default();
        Report {
            keybench_version: env!("CARGO_PKG_VERSION").to_owned(),
            generated_at: relying_party::date::rfc3339_millis(now_ms),
            machine: Machine::this(),
            key,
            sections,
        }
    }

    /// The report as JSON.
    pub fn to_json(&self) -> String {
        // Every member serialises (strings, numbers, maps with string keys).
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// The report as one self-contained HTML page.
    pub fn to_html(&self) -> String {
        html::page(self)
    }

    /// Writes the page to `path` and the JSON beside it (the same name
    /// ending in `.json`; a `.json` path gets the page as `.html`), and
    /// answers both paths: HTML, JSON.
    pub fn write(&self, path: &Path) -> std::io::Result<(PathBuf, PathBuf)> {
        let (html_path, json_path) = paths(path);
        std::fs::write(&html_path, self.to_html())?;
        std::fs::write(&json_path, self.to_json())?;
        Ok((html_path, json_path))
    }
}

/// Where a report named `path` goes: its page and its JSON.
pub fn paths(path: &Path) -> (PathBuf, PathBuf) {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        (path.with_extension("html"), path.to_path_buf())
    } else {
        (path.to_path_buf(), path.with_extension("json"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aaguid_as_uuid() {
        assert_eq!(
            uuid(b"kbvirt-mldsa-v01"),
            "6b627669-7274-2d6d-6c64-73612d763031"
        );
        assert!(known_model(b"kbvirt-mldsa-v01").is_some());
        assert!(known_model(&[0; 16]).is_none());
        let entries = relying_party::mds::parse_uploaded(
            br#"{"aaguid": "6b627669-7274-2d6d-6c64-73612d763031", "description": "A key <b>", "attestationRootCertificates": ["MIIB"]}"#,
        )
        .unwrap();
        assert_eq!(
            metadata_name(&entries, b"kbvirt-mldsa-v01").as_deref(),
            Some("A key <b>")
        );
        assert_eq!(metadata_name(&entries, &[0; 16]), None);
    }

    #[test]
    fn page_and_json_side_by_side() {
        let p = |s: &str| PathBuf::from(s);
        assert_eq!(paths(&p("r.html")), (p("r.html"), p("r.json")));
        assert_eq!(paths(&p("out/r")), (p("out/r"), p("out/r.json")));
        assert_eq!(paths(&p("r.JSON")), (p("r.html"), p("r.JSON")));
    }
}
