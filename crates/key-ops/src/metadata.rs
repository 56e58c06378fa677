//! FIDO metadata for the front ends: installing a BLOB file into a data
//! directory's cache (verified first, with the CRLs of its signing path),
//! what the cache holds, checking a file without installing it, and the
//! model card of a key's AAGUID — the same cache `keybench serve` loads, so
//! the CLI, the desktop and the server agree on what is trusted.

use crate::KeyOpError;
use relying_party::mds::{
    self, BlobTrust, LoadedMetadata, MdsStatus, MetadataCache, ModelInfo, UnverifiedPayload,
};
use relying_party::x509::{AnchorSource, TrustAnchor, TrustAnchors, UnixTime};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Who may sign the BLOBs a front end accepts: the FIDO Alliance by
/// default, or a replacement root and signer name (a private metadata
/// service, a test's).
#[derive(Debug, Clone, Default)]
pub struct SignerChoice {
    /// A root certificate (PEM or DER file) replacing the bundled FIDO root.
    pub root: Option<PathBuf>,
    /// The name the signing certificate must be issued to (with `root`;
    /// default `mds.fidoalliance.org`).
    pub signer: Option<String>,
}

impl SignerChoice {
    /// The pinning in force.
    pub fn blob_trust(&self) -> Result<BlobTrust, KeyOpError> {
        let Some(root) = &self.root else {
            return Ok(BlobTrust::fido(Vec::new()));
        };
        let der = crate::files::read_certificate(root)?;
        let anchor = TrustAnchor::from_der(&der, AnchorSource::Configured).map_err(|e| {
            KeyOpError::Metadata {
                code: "mds_bad_root",
                message: format!("{}: {e}", root.display()),
            }
        })?;
        let mut roots = TrustAnchors::new();
        roots.add(anchor);
        Ok(BlobTrust::pinned(
            roots,
            self.signer.as_deref().unwrap_or(mds::FIDO_MDS_SIGNER),
        ))
    }
}

/// What installing a BLOB did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstallView {
    /// `replaced` or `unchanged`.
    pub outcome: &'static str,
    /// The cache's status afterwards.
    pub status: MdsStatus,
    /// Where the cache is.
    pub cache: String,
}

fn metadata_error(e: &mds::MdsError) -> KeyOpError {
    KeyOpError::Metadata {
        code: e.code(),
        message: e.to_string(),
    }
}

fn read_file(path: &Path, max: usize) -> Result<Vec<u8>, KeyOpError> {
    let bytes = std::fs::read(path).map_err(|e| KeyOpError::Metadata {
        code: "mds_io",
        message: format!("{}: {e}", path.display()),
    })?;
    if bytes.len() > max {
        return Err(KeyOpError::Metadata {
            code: "mds_too_long",
            message: format!("{} is over {max} bytes", path.display()),
        });
    }
    Ok(bytes)
}

fn read_crls(files: &[PathBuf]) -> Result<Vec<Vec<u8>>, KeyOpError> {
    files
        .iter()
        .map(|f| read_file(f, relying_party::x509::crl::MAX_CRL_LEN))
        .collect()
}

/// Verifies `file` (with `crl_files`) and, when newer than the cached BLOB,
/// makes it the data directory's metadata.
pub fn install(
    data_dir: &Path,
    file: &Path,
    crl_files: &[PathBuf],
    signer: &SignerChoice,
) -> Result<InstallView, KeyOpError> {
    let jwt = read_file(file, mds::MAX_BLOB_LEN)?;
    install_bytes(data_dir, &jwt, &read_crls(crl_files)?, signer)
}

/// [`install`] for a BLOB and CRLs in memory (a desktop file picker's).
pub fn install_bytes(
    data_dir: &Path,
    jwt: &[u8],
    crls: &[Vec<u8>],
    signer: &SignerChoice,
) -> Result<InstallView, KeyOpError> {
    let trust = signer.blob_trust()?;
    let cache = MetadataCache::in_data_dir(data_dir);
    let installed = cache
        .install(jwt, crls, &trust, UnixTime::now())
        .map_err(|e| metadata_error(&e))?;
    Ok(view(&cache, &installed, &trust))
}

fn view(cache: &MetadataCache, installed: &mds::Installed, trust: &BlobTrust) -> InstallView {
    InstallView {
        outcome: match installed {
            mds::Installed::Replaced(_) => "replaced",
            _ => "unchanged",
        },
        status: cache.load_status(trust, UnixTime::now()).status,
        cache: cache.blob_path().display().to_string(),
    }
}

/// The data directory's metadata, verified now.
pub fn load(data_dir: &Path, signer: &SignerChoice) -> Result<LoadedMetadata, KeyOpError> {
    let trust = signer.blob_trust()?;
    Ok(MetadataCache::in_data_dir(data_dir).load_status(&trust, UnixTime::now()))
}

/// A verdict on a BLOB file, without installing it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileVerdict {
    /// Whether it verified.
    pub valid: bool,
    /// The refusal's stable code, when it did not.
    pub code: Option<&'static str>,
    /// Why not, when it did not.
    pub reason: Option<String>,
    /// The CRL distribution points its signing path names.
    pub crl_points: Vec<String>,
    /// `no` (read without verifying when the BLOB did not verify).
    pub no: Option<u64>,
    /// `nextUpdate` (likewise).
    pub next_update: Option<String>,
    /// The number of entries (likewise).
    pub entries: Option<usize>,
}

/// Verifies `file` with `crl_files` at `at` (now when `None`), reporting
/// what it holds either way; nothing is installed.
pub fn verify_file(
    file: &Path,
    crl_files: &[PathBuf],
    signer: &SignerChoice,
    at: Option<UnixTime>,
) -> Result<FileVerdict, KeyOpError> {
    let trust = signer.blob_trust()?;
    let jwt = read_file(file, mds::MAX_BLOB_LEN)?;
    let crls = read_crls(crl_files)?
        .iter()
        .map(|der| relying_party::x509::Crl::from_der(der))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| metadata_error(&mds::MdsError::Revocation(e)))?;
    let crl_points = mds::signing_path_crl_points(&jwt).unwrap_or_default();
    let verdict = mds::verify_blob(
        &jwt,
        &trust.with_crls(crls),
        at.unwrap_or_else(UnixTime::now),
        None,
    );
    let unverified: Option<UnverifiedPayload> = mds::read_unverified(&jwt).ok();
    Ok(match verdict {
        Ok(blob) => FileVerdict {
            valid: true,
            code: None,
            reason: None,
            crl_points,
            no: Some(blob.no),
            next_update: Some(blob.next_update.clone()),
            entries: Some(blob.entries.len()),
        },
        Err(e) => FileVerdict {
            valid: false,
            code: Some(e.code()),
            reason: Some(e.to_string()),
            crl_points,
            no: unverified.as_ref().map(|p| p.no),
            next_update: unverified.as_ref().map(|p| p.next_update.clone()),
            entries: unverified.as_ref().map(|p| p.entries.len()),
        },
    })
}

/// The model card for an AAGUID (16 bytes) from loaded metadata.
pub fn model(metadata: &LoadedMetadata, aaguid: &[u8]) -> Option<ModelInfo> {
    let aaguid: [u8; 16] = aaguid.try_into().ok()?;
    metadata.model(&aaguid)
}

/// Downloads the BLOB from `url` (https) and the CRLs its signing path
/// names, and installs them when they verify and are newer than the cache.
pub fn fetch(data_dir: &Path, url: &str, signer: &SignerChoice) -> Result<InstallView, KeyOpError> {
    let trust = signer.blob_trust()?;
    let cache = MetadataCache::in_data_dir(data_dir);
    let installed =
        mds::refresh(url, &cache, &trust, UnixTime::now()).map_err(|e| metadata_error(&e))?;
    Ok(view(&cache, &installed, &trust))
}
