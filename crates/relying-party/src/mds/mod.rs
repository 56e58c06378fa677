//! FIDO Metadata Service v3: the BLOB, verified offline.
//!
//! [`verify_blob`] takes the BLOB (a JWT: `header.payload.signature`,
//! base64url), verifies its JWS (ES256 or RS256) with the `x5c` path in its
//! header up to the given roots — by default the bundled FIDO root,
//! GlobalSign Root CA - R3 ([`fido_mds_root`], source in `data/README.md`) —
//! refuses a BLOB past its `nextUpdate` or not newer than the last one
//! seen, and indexes the entries by AAGUID. [`MetadataBlob::apply_to`] then
//! feeds each trustworthy model's `attestationRootCertificates` into a
//! [`TrustStore`] as [`AnchorSource::FidoMds`] anchors for that AAGUID, and
//! denies trust to models whose status reports say revoked or compromised.
//!
//! Nothing here touches the network: the BLOB comes from a bundled or cached
//! file ([`load_blob_file`]); the optional `mds-refresh` feature adds a
//! download. Metadata statements uploaded in a session
//! ([`parse_uploaded`], [`apply_uploaded`]) become [`AnchorSource::Uploaded`]
//! anchors, described as "uploaded, not MDS-trusted"; they can never lift a
//! denial that MDS made.
//!
//! Who may sign is pinned ([`BlobTrust`]): the path must reach the roots,
//! the signing certificate must be issued to the metadata service's own
//! name (`mds.fidoalliance.org`) by a CA of the root's operator
//! (GlobalSign), and every certificate of the path that names CRL
//! distribution points is checked against its issuer's CRL (MDS3 §3.2); a
//! CRL that was not supplied is an error that says so, never a silent pass.

mod blob;
mod cache;
mod jws;
mod model;
#[cfg(feature = "mds-refresh")]
mod refresh;

pub use blob::{
    MAX_ENTRIES, MetadataBlob, MetadataEntry, StatusReport, UNTRUSTED_STATUSES, UnverifiedPayload,
    parse_aaguid, parse_aaguid_typed,
};

pub use cache::{
    Installed, LoadedMetadata, MAX_CACHED_CRLS, MdsStatus, MetadataCache, signing_path_crl_points,
};
pub use model::{MAX_ICON_LEN, ModelInfo, ModelVerdict};
#[cfg(feature = "mds-refresh")]
pub use refresh::{MDS3_URL, fetch_crls, refresh};

use crate::attestation::TrustStore;
use crate::x509::{
    AnchorSource, ChainError, Crl, RevocationError, TrustAnchor, TrustAnchors, UnixTime,
};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::io::Read as _;
use std::path::Path;

/// The largest BLOB accepted (the live one is about 7 MB).
pub const MAX_BLOB_LEN: usize = 32 * 1024 * 1024;

/// The largest uploaded metadata document accepted.
pub const MAX_UPLOAD_LEN: usize = 1024 * 1024;

/// The most statements one upload may carry.
pub const MAX_UPLOADED_STATEMENTS: usize = 1000;

/// GlobalSign Root CA - R3 (DER), the FIDO MDS3 root. See `data/README.md`.
pub const FIDO_MDS_ROOT_DER: &[u8] = include_bytes!("../../data/globalsign-root-ca-r3.der");

/// The name the FIDO metadata service's signing certificate is issued to.
pub const FIDO_MDS_SIGNER: &str = "mds.fidoalliance.org";

/// The organization of the CAs (under GlobalSign Root CA - R3) that issue
/// the FIDO metadata service's signing certificate.
pub const FIDO_MDS_INTERMEDIATE_ORGANIZATION: &str = "GlobalSign nv-sa";

/// Who may sign a BLOB.
#[derive(Debug, Clone)]
pub struct BlobTrust {
    /// The roots the signing path must reach.
    pub roots: TrustAnchors,
    /// The name (subjectAltName dNSName, or common name without one) the
    /// signing certificate must be issued to.
    pub signer_name: String,
    /// An organization the certificate that issued the signer's must name
    /// in its subject, when set.
    pub intermediate_organization: Option<String>,
    /// CRLs for the signing path (the issuers' current ones).
    pub crls: Vec<Crl>,
}

impl BlobTrust {
    /// The FIDO metadata service: the bundled root, its signer and its
    /// issuing CAs, with the CRLs the caller has.
    pub fn fido(crls: Vec<Crl>) -> BlobTrust {
        BlobTrust {
            roots: fido_mds_root(),
            signer_name: FIDO_MDS_SIGNER.to_owned(),
            intermediate_organization: Some(FIDO_MDS_INTERMEDIATE_ORGANIZATION.to_owned()),
            crls,
        }
    }

    /// Another metadata service (a private one, or a test's): its roots and
    /// the name its signer's certificate is issued to.
    pub fn pinned(roots: TrustAnchors, signer_name: impl Into<String>) -> BlobTrust {
        BlobTrust {
            roots,
            signer_name: signer_name.into(),
            intermediate_organization: None,
            crls: Vec::new(),
        }
    }

    /// The same, with these CRLs.
    pub fn with_crls(mut self, crls: Vec<Crl>) -> BlobTrust {
        self.crls = crls;
        self
    }
}

/// The bundled FIDO MDS3 root as the only anchor.
pub fn fido_mds_root() -> TrustAnchors {
    let mut roots = TrustAnchors::new();
    // The bundled bytes are a known-good certificate; a failure would be a
    // broken build, reported by the tests, and leaves no anchor (trusts nothing).
    if let Ok(anchor) = TrustAnchor::from_der(FIDO_MDS_ROOT_DER, AnchorSource::Configured) {
        roots.add(anchor);
    }
    roots
}

/// Why a BLOB or an uploaded statement is refused: one variant per rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MdsError {
    /// Larger than the limit.
    #[error("{what} is {len} bytes, over the limit of {max}")]
    TooLong {
        /// What was too long.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The file could not be read.
    #[error("reading {path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        reason: String,
    },
    /// Not three dot-separated parts of ASCII.
    #[error("the BLOB is not a compact JWS (header.payload.signature)")]
    NotCompactJws,
    /// A part is not base64url.
    #[error("JWS {part} is not base64url: {reason}")]
    Base64 {
        /// header, payload or signature.
        part: &'static str,
        /// The decoder's message.
        reason: String,
    },
    /// The header is not the expected JSON.
    #[error("JWS header: {0}")]
    HeaderJson(String),
    /// A `crit` header parameter: nothing here understands extensions.
    #[error("JWS header has \"crit\" parameters, which are not supported")]
    UnsupportedCritical,
    /// An algorithm other than ES256 and RS256 (including "none").
    #[error("JWS algorithm \"{0}\" is not accepted (only ES256 and RS256)")]
    UnsupportedAlgorithm(String),
    /// No x5c in the header.
    #[error("JWS header has no x5c certificate path")]
    MissingX5c,
    /// More x5c certificates than any real path has.
    #[error("JWS x5c has {0} certificates, more than accepted")]
    TooManyCertificates(usize),
    /// An x5c entry that is not a certificate.
    #[error("JWS x5c certificate {index}: {reason}")]
    X5c {
        /// Position, leaf = 0.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// The x5c path does not reach a root.
    #[error("JWS signing certificate path: {0}")]
    Chain(ChainError),
    /// The signing certificate is not issued to the pinned signer.
    #[error(
        "the BLOB is signed by a certificate for {found:?}, not the metadata service ({expected})"
    )]
    SignerNotPinned {
        /// The pinned name.
        expected: String,
        /// The names the certificate has.
        found: Vec<String>,
    },
    /// The signing certificate's issuer is not of the pinned organization.
    #[error("the BLOB's signing certificate is issued by \"{found}\", not a CA of {expected}")]
    IssuerNotPinned {
        /// The pinned organization.
        expected: String,
        /// The issuing certificate's subject.
        found: String,
    },
    /// A certificate of the signing path is revoked, or its revocation
    /// could not be checked.
    #[error("JWS signing certificate path: {0}")]
    Revocation(RevocationError),
    /// The signing certificate's key does not suit the algorithm.
    #[error("the JWS signing certificate's key does not suit {0}")]
    KeyMismatch(String),
    /// An ES256 signature that is not the 64-byte JOSE r||s form.
    #[error("{alg} JWS signature must be 64 bytes (r||s), found {len} (DER is not JOSE)")]
    SignatureEncoding {
        /// The algorithm.
        alg: String,
        /// The length found.
        len: usize,
    },
    /// The signature does not verify.
    #[error("the BLOB's JWS signature does not verify")]
    BadSignature,
    /// The payload is not the expected JSON.
    #[error("BLOB payload: {0}")]
    PayloadJson(String),
    /// nextUpdate is not an ISO 8601 date.
    #[error("BLOB nextUpdate \"{0}\" is not a YYYY-MM-DD date")]
    BadNextUpdate(String),
    /// The BLOB is past its nextUpdate: a newer one must be fetched.
    #[error("the BLOB is stale: nextUpdate {next_update} has passed (now {at})")]
    Stale {
        /// nextUpdate.
        next_update: String,
        /// The verification time.
        at: String,
    },
    /// The BLOB is not newer than the last one accepted.
    #[error("BLOB no {no} is not newer than the last accepted ({previous}): a rollback")]
    Rollback {
        /// This BLOB's no.
        no: u64,
        /// The last accepted no.
        previous: u64,
    },
    /// More entries than accepted.
    #[error("the BLOB has {0} entries, more than accepted")]
    TooManyEntries(usize),
    /// A malformed entry.
    #[error("BLOB entry {index}: {reason}")]
    Entry {
        /// Its position.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// The download failed (feature `mds-refresh`).
    #[error("downloading the BLOB: {0}")]
    Download(String),
    /// An uploaded document that is not metadata.
    #[error("uploaded metadata: {0}")]
    Uploaded(String),
}

impl MdsError {
    /// Every code [`MdsError::code`] can give.
    pub const CODES: [&'static str; 25] = [
        "mds_too_long",
        "mds_io",
        "mds_not_compact_jws",
        "mds_base64",
        "mds_header_json",
        "mds_unsupported_critical",
        "mds_unsupported_algorithm",
        "mds_missing_x5c",
        "mds_too_many_certificates",
        "mds_bad_certificate",
        "mds_chain",
        "mds_signer_not_pinned",
        "mds_issuer_not_pinned",
        "mds_revocation",
        "mds_key_mismatch",
        "mds_signature_encoding",
        "mds_bad_signature",
        "mds_payload_json",
        "mds_bad_next_update",
        "mds_stale",
        "mds_rollback",
        "mds_too_many_entries",
        "mds_bad_entry",
        "mds_download",
        "mds_uploaded",
    ];

    /// A stable code for the refusal, for APIs and `--json` output.
    pub fn code(&self) -> &'static str {
        match self {
            MdsError::TooLong { .. } => "mds_too_long",
            MdsError::Io { .. } => "mds_io",
            MdsError::NotCompactJws => "mds_not_compact_jws",
            MdsError::Base64 { .. } => "mds_base64",
            MdsError::HeaderJson(_) => "mds_header_json",
            MdsError::UnsupportedCritical => "mds_unsupported_critical",
            MdsError::UnsupportedAlgorithm(_) => "mds_unsupported_algorithm",
            MdsError::MissingX5c => "mds_missing_x5c",
            MdsError::TooManyCertificates(_) => "mds_too_many_certificates",
            MdsError::X5c { .. } => "mds_bad_certificate",
            MdsError::Chain(_) => "mds_chain",
            MdsError::SignerNotPinned { .. } => "mds_signer_not_pinned",
            MdsError::IssuerNotPinned { .. } => "mds_issuer_not_pinned",
            MdsError::Revocation(_) => "mds_revocation",
            MdsError::KeyMismatch(_) => "mds_key_mismatch",
            MdsError::SignatureEncoding { .. } => "mds_signature_encoding",
            MdsError::BadSignature => "mds_bad_signature",
            MdsError::PayloadJson(_) => "mds_payload_json",
            MdsError::BadNextUpdate(_) => "mds_bad_next_update",
            MdsError::Stale { .. } => "mds_stale",
            MdsError::Rollback { .. } => "mds_rollback",
            MdsError::TooManyEntries(_) => "mds_too_many_entries",
            MdsError::Entry { .. } => "mds_bad_entry",
            MdsError::Download(_) => "mds_download",
            MdsError::Uploaded(_) => "mds_uploaded",
        }
    }
}

/// Verifies a BLOB at time `at` against `trust` (normally [`BlobTrust::fido`]).
/// `previous_no` is the `no` of the last BLOB accepted, if any: a BLOB that
/// is not newer is refused as a rollback.
pub fn verify_blob(
    jwt: &[u8],
    trust: &BlobTrust,
    at: UnixTime,
    previous_no: Option<u64>,
) -> Result<MetadataBlob, MdsError> {
    if jwt.len() > MAX_BLOB_LEN {
        return Err(MdsError::TooLong {
            what: "the BLOB",
            len: jwt.len(),
            max: MAX_BLOB_LEN,
        });
    }
    let mut verified = jws::verify(jwt, trust, at)?;
    let payload = std::mem::take(&mut verified.payload);
    MetadataBlob::from_payload(&payload, verified, at, previous_no)
}

/// The payload of a compact JWS BLOB, decoded but NOT verified (see
/// [`MetadataBlob::read_unverified`]).
pub fn read_unverified(jwt: &[u8]) -> Result<UnverifiedPayload, MdsError> {
    let text = std::str::from_utf8(jwt).map_err(|_| MdsError::NotCompactJws)?;
    let p64 = text
        .trim_end_matches(['\r', '\n'])
        .split('.')
        .nth(1)
        .ok_or(MdsError::NotCompactJws)?;
    let payload = fido_wire::webauthn::base64url::decode(p64).map_err(|e| MdsError::Base64 {
        part: "payload",
        reason: e.to_string(),
    })?;
    MetadataBlob::read_unverified(&payload)
}

/// Reads a bundled or cached BLOB file (at most [`MAX_BLOB_LEN`]) and verifies it.
pub fn load_blob_file(
    path: &Path,
    trust: &BlobTrust,
    at: UnixTime,
    previous_no: Option<u64>,
) -> Result<MetadataBlob, MdsError> {
    let io = |e: std::io::Error| MdsError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(MAX_BLOB_LEN as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    verify_blob(&bytes, trust, at, previous_no)
}

/// What applying metadata to a trust store did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ApplyReport {
    /// Anchors added.
    pub anchors_added: usize,
    /// Models (AAGUIDs) that gained at least one anchor.
    pub models_trusted: usize,
    /// Models denied, with the reason (AAGUID as 8-4-4-4-12).
    pub denied: Vec<(String, String)>,
    /// Entries skipped or certificates that did not parse.
    pub problems: Vec<String>,
}

/// What one metadata entry with an AAGUID contributes to a trust store,
/// and all that applying it reads: its model, description, attestation root
/// certificates (base64 DER as published) and the reason to deny it, if its
/// status reports give one. Uploaded statements are kept in this form:
/// parsed once, when they arrive, instead of on every registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct ModelTrust {
    /// The AAGUID, as 8-4-4-4-12 hex.
    #[serde(with = "aaguid_text")]
    pub aaguid: [u8; 16],
    /// The statement's description.
    pub description: String,
    /// `attestationRootCertificates`: base64 DER strings as published.
    pub root_certificates: Vec<String>,
    /// Why no anchor may vouch for the model, if none may.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distrust: Option<String>,
}

impl ModelTrust {
    /// What `entry` contributes; `None` for entries without an AAGUID (UAF
    /// and U2F models: nothing to index them by).
    pub fn of(entry: &MetadataEntry) -> Option<ModelTrust> {
        Some(ModelTrust {
            aaguid: entry.aaguid?,
            description: entry.description().to_owned(),
            root_certificates: entry
                .attestation_root_certificates()
                .into_iter()
                .map(str::to_owned)
                .collect(),
            distrust: entry.distrust_reason(),
        })
    }
}

mod aaguid_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(aaguid: &[u8; 16], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::decoder::uuid_string(aaguid))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 16], D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        super::parse_aaguid(&text)
            .ok_or_else(|| serde::de::Error::custom("an AAGUID is 8-4-4-4-12 hex"))
    }
}

fn apply(entries: &[MetadataEntry], store: &mut TrustStore, uploaded: bool) -> ApplyReport {
    let models: Vec<ModelTrust> = entries.iter().filter_map(ModelTrust::of).collect();
    apply_models(&models, store, uploaded)
}

fn apply_models(models: &[ModelTrust], store: &mut TrustStore, uploaded: bool) -> ApplyReport {
    let mut report = ApplyReport::default();
    for model in models {
        let aaguid = model.aaguid;
        let id = crate::decoder::uuid_string(&aaguid);
        if let Some(reason) = &model.distrust {
            store.deny_aaguid(aaguid, reason.clone());
            report.denied.push((id, reason.clone()));
            continue;
        }
        let mut added = 0;
        for (i, b64) in model.root_certificates.iter().enumerate() {
            let der = match base64::engine::general_purpose::STANDARD.decode(b64) {
                Ok(der) => der,
                Err(e) => {
                    report
                        .problems
                        .push(format!("{id} root certificate {i}: not base64: {e}"));
                    continue;
                }
            };
            let description = model.description.clone();
            let source = if uploaded {
                AnchorSource::Uploaded {
                    description: format!("{description} (uploaded, not MDS-trusted)"),
                }
            } else {
                AnchorSource::FidoMds { description }
            };
            match TrustAnchor::from_der(&der, source) {
                Ok(anchor) => {
                    store.add_for_aaguid(aaguid, anchor);
                    added += 1;
                }
                Err(e) => report
                    .problems
                    .push(format!("{id} root certificate {i}: {e}")),
            }
        }
        report.anchors_added += added;
        if added > 0 {
            report.models_trusted += 1;
        }
    }
    report
}

impl MetadataBlob {
    /// Feeds the BLOB into `store`: each model's attestation root
    /// certificates become [`AnchorSource::FidoMds`] anchors for its AAGUID,
    /// unless its status reports one of [`UNTRUSTED_STATUSES`], in which case
    /// the AAGUID is denied (no anchor, not even a global one, vouches for it).
    pub fn apply_to(&self, store: &mut TrustStore) -> ApplyReport {
        apply(&self.entries, store, false)
    }
}

/// Parses uploaded metadata (at most [`MAX_UPLOAD_LEN`] bytes): a metadata
/// statement, a BLOB entry (`{"aaguid", "metadataStatement", "statusReports"}`),
/// an array of either, or a BLOB-shaped payload (`{"entries": [...]}`). Each
/// must name an AAGUID. Nothing uploaded is verified by anyone: see
/// [`apply_uploaded`].
pub fn parse_uploaded(json: &[u8]) -> Result<Vec<MetadataEntry>, MdsError> {
    if json.len() > MAX_UPLOAD_LEN {
        return Err(MdsError::TooLong {
            what: "uploaded metadata",
            len: json.len(),
            max: MAX_UPLOAD_LEN,
        });
    }
    let doc: Json =
        serde_json::from_slice(json).map_err(|e| MdsError::Uploaded(format!("not JSON: {e}")))?;
    let items: Vec<Json> = match doc {
        Json::Array(items) => items,
        Json::Object(mut m) => match m.remove("entries") {
            Some(Json::Array(items)) => items,
            Some(_) => return Err(MdsError::Uploaded("\"entries\" must be an array".into())),
            None => vec![Json::Object(m)],
        },
        _ => return Err(MdsError::Uploaded("expected a JSON object or array".into())),
    };
    if items.len() > MAX_UPLOADED_STATEMENTS {
        return Err(MdsError::Uploaded(format!(
            "{} statements, more than {MAX_UPLOADED_STATEMENTS}",
            items.len()
        )));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| uploaded_entry(index, item))
        .collect()
}

fn uploaded_entry(index: usize, item: Json) -> Result<MetadataEntry, MdsError> {
    let err = |reason: &str| MdsError::Uploaded(format!("statement {index}: {reason}"));
    let Json::Object(mut m) = item else {
        return Err(err("not a JSON object"));
    };
    let status_reports: Vec<StatusReport> = match m.remove("statusReports") {
        Some(v) => serde_json::from_value(v).map_err(|e| err(&format!("statusReports: {e}")))?,
        None => Vec::new(),
    };
    let entry_aaguid = m.get("aaguid").and_then(Json::as_str).map(str::to_owned);
    let statement = match m.remove("metadataStatement") {
        Some(s @ Json::Object(_)) => s,
        Some(_) => return Err(err("metadataStatement must be an object")),
        None => Json::Object(m),
    };
    let aaguid_text = statement
        .get("aaguid")
        .and_then(Json::as_str)
        .map(str::to_owned)
        .or(entry_aaguid)
        .ok_or_else(|| err("no aaguid (only FIDO2 statements can be uploaded)"))?;
    let aaguid = parse_aaguid(&aaguid_text)
        .ok_or_else(|| err(&format!("aaguid \"{aaguid_text}\" is not 8-4-4-4-12 hex")))?;
    if statement
        .get("attestationRootCertificates")
        .and_then(Json::as_array)
        .is_none_or(Vec::is_empty)
    {
        return Err(err("no attestationRootCertificates"));
    }
    Ok(MetadataEntry {
        aaguid: Some(aaguid),
        statement,
        status_reports,
    })
}

/// Feeds uploaded statements into `store` as [`AnchorSource::Uploaded`]
/// anchors ("uploaded, not MDS-trusted"). A model MDS denied stays denied.
pub fn apply_uploaded(entries: &[MetadataEntry], store: &mut TrustStore) -> ApplyReport {
    apply(entries, store, true)
}

/// [`apply_uploaded`] for statements kept as [`ModelTrust`] (parsed once,
/// at upload).
pub fn apply_uploaded_models(models: &[ModelTrust], store: &mut TrustStore) -> ApplyReport {
    apply_models(models, store, true)
}
