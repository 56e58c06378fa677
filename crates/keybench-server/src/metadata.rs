//! FIDO metadata in the server: at start-up, a BLOB given with `--mds` is
//! installed in the data directory's cache (verified first; see
//! `relying_party::mds::MetadataCache`), then the cache is loaded and fed
//! into the shared trust store, so attestation verdicts have MDS anchors
//! and revoked or compromised models are denied. What was loaded (or why
//! nothing was) is kept for `GET /api/mds`; model cards for
//! `GET /api/mds/{aaguid}` and beside each credential.

use relying_party::TrustStore;
use relying_party::mds::{BlobTrust, LoadedMetadata, MdsError, MdsStatus, MetadataCache};
use relying_party::x509::UnixTime;
use std::path::PathBuf;

/// Where metadata comes from.
#[derive(Debug, Clone, Default)]
pub struct MdsSettings {
    /// A BLOB file to install into the cache at start-up (`--mds FILE`).
    pub file: Option<PathBuf>,
    /// CRL files (DER) for the BLOB's signing path (`--mds-crl FILE`).
    pub crl_files: Vec<PathBuf>,
    /// Who may sign BLOBs; `None` is the FIDO Alliance (the bundled root,
    /// `mds.fidoalliance.org`).
    pub trust: Option<BlobTrust>,
}

impl MdsSettings {
    /// The signer pinning in force.
    pub fn blob_trust(&self) -> BlobTrust {
        self.trust
            .clone()
            .unwrap_or_else(|| BlobTrust::fido(Vec::new()))
    }
}

/// Why start-up refused the metadata it was given.
pub fn install_error(file: &std::path::Path, e: &MdsError) -> String {
    format!("--mds {}: {e}", file.display())
}

/// Installs the configured file (if any), then loads the cache into
/// `trust`. Blocking (files); run on the blocking pool. A given file that
/// does not verify is an error (the operator asked for it); an older one
/// than the cache keeps the cache; a cache that no longer verifies is
/// reported in the status, not fatal.
pub fn load(
    settings: &MdsSettings,
    data_dir: &std::path::Path,
    trust: &mut TrustStore,
    at: UnixTime,
) -> Result<LoadedMetadata, String> {
    let cache = MetadataCache::in_data_dir(data_dir);
    let blob_trust = settings.blob_trust();
    if let Some(file) = &settings.file {
        let bytes = std::fs::read(file).map_err(|e| format!("--mds {}: {e}", file.display()))?;
        let crls = settings
            .crl_files
            .iter()
            .map(|f| std::fs::read(f).map_err(|e| format!("--mds-crl {}: {e}", f.display())))
            .collect::<Result<Vec<_>, _>>()?;
        match cache.install(&bytes, &crls, &blob_trust, at) {
            Ok(_) | Err(MdsError::Rollback { .. }) => {}
            Err(e) => return Err(install_error(file, &e)),
        }
    }
    let loaded = cache.load_status(&blob_trust, at);
    match (&loaded.blob, &loaded.status) {
        (Some(blob), _) => {
            blob.apply_to(trust);
        }
        (None, MdsStatus::Invalid { reason, .. }) => {
            tracing::warn!(%reason, "the cached FIDO metadata does not verify; no MDS anchors");
        }
        (None, _) => {}
    }
    Ok(loaded)
}
