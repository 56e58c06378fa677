//! FIDO metadata in the server: at start-up, a BLOB given with `--mds` is
//! installed in the data directory's cache (verified first; see
//! `relying_party::mds::MetadataCache`), then the cache is loaded and fed
//! into the shared trust store, so attestation verdicts have MDS anchors
//! and revoked or compromised models are denied. What was loaded (or why
//! nothing was) is kept for `GET /api/mds`; model cards for
//! `GET /api/mds/{aaguid}` and beside each credential.

use crate::app::App;
use relying_party::TrustStore;
use relying_party::mds::{self, BlobTrust, LoadedMetadata, MdsError, MdsStatus, MetadataCache};
use relying_party::x509::{AnchorSource, Crl, TrustAnchor, UnixTime};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

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
    /// Download a fresh BLOB (and its CRLs) from this https URL after
    /// start-up and then daily, in the background: start-up never waits
    /// for it, and a download that does not verify never replaces the
    /// cache.
    pub refresh_url: Option<String>,
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
    add_cached_crls(&cache, trust);
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

/// A trust store with the operator's configured anchors and CRLs (DER).
pub fn configured_trust(anchors: &[Vec<u8>], crls: &[Vec<u8>]) -> Result<TrustStore, String> {
    let mut trust = TrustStore::new();
    for der in anchors {
        let anchor = TrustAnchor::from_der(der, AnchorSource::Configured)
            .map_err(|e| format!("trust anchor: {e}"))?;
        trust.add_global(anchor);
    }
    for der in crls {
        trust.add_crl(Crl::from_der(der).map_err(|e| format!("CRL: {e}"))?);
    }
    Ok(trust)
}

/// The metadata cache's CRLs (those its BLOB's signing path came with, and
/// any for attestation paths) into `trust`.
fn add_cached_crls(cache: &MetadataCache, trust: &mut TrustStore) {
    match cache.crls() {
        Ok(crls) => crls.into_iter().for_each(|c| trust.add_crl(c)),
        Err(e) => tracing::warn!(error = %e, "the metadata cache's CRLs could not be read"),
    }
}

/// How often a configured refresh runs after the first.
pub const REFRESH_EVERY: Duration = Duration::from_secs(24 * 60 * 60);

/// Reloads the FIDO metadata of a running server from its data directory's
/// cache: a new trust store (configured anchors plus the BLOB's) replaces
/// the old one whole, so a ceremony sees one or the other, never a mix.
/// Holds the server weakly: a handle kept by a front end never keeps a
/// stopped server's state (its store) alive.
#[derive(Clone)]
pub struct Reloader {
    app: std::sync::Weak<App>,
}

impl std::fmt::Debug for Reloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reloader").finish_non_exhaustive()
    }
}

impl Reloader {
    pub(crate) fn new(app: &Arc<App>) -> Reloader {
        Reloader {
            app: Arc::downgrade(app),
        }
    }

    fn app(&self) -> Result<Arc<App>, String> {
        self.app
            .upgrade()
            .ok_or_else(|| "the server has stopped".to_owned())
    }

    /// Reads the cache again and puts it in force (blocking: files).
    pub fn reload(&self) -> Result<MdsStatus, String> {
        let app = self.app()?;
        let config = &app.config;
        let mut trust = configured_trust(&config.trust_anchors, &config.crls)?;
        let cache = MetadataCache::in_data_dir(&config.data_dir);
        let loaded = cache.load_status(&config.mds.blob_trust(), UnixTime::now());
        add_cached_crls(&cache, &mut trust);
        if let Some(blob) = &loaded.blob {
            blob.apply_to(&mut trust);
        }
        let status = loaded.status.clone();
        // Metadata first, then trust: both are whole values, swapped.
        *app.metadata
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(loaded);
        *app.trust
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(trust);
        Ok(status)
    }

    /// The metadata in force.
    pub fn status(&self) -> Result<MdsStatus, String> {
        Ok(self.app()?.metadata().status.clone())
    }

    /// With a refresh URL configured: a thread that downloads, installs
    /// and reloads now and then every [`REFRESH_EVERY`] until the returned
    /// guard is dropped. Nothing without one.
    pub(crate) fn spawn_refresh(&self) -> Option<RefreshGuard> {
        let url = self.app.upgrade()?.config.mds.refresh_url.clone()?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let reloader = self.clone();
        let thread = std::thread::Builder::new()
            .name("mds-refresh".into())
            .spawn(move || {
                loop {
                    if reloader.refresh_once(&url).is_err() {
                        return;
                    }
                    match stopped.recv_timeout(REFRESH_EVERY) {
                        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                        _ => return,
                    }
                }
            })
            .ok()?;
        Some(RefreshGuard {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// One download; `Err` once the server has stopped.
    fn refresh_once(&self, url: &str) -> Result<(), String> {
        // The server's state is not held during the download.
        let (data_dir, trust) = {
            let app = self.app()?;
            (app.config.data_dir.clone(), app.config.mds.blob_trust())
        };
        let cache = MetadataCache::in_data_dir(&data_dir);
        match mds::refresh(url, &cache, &trust, UnixTime::now()) {
            Ok(mds::Installed::Unchanged(_)) => {}
            Ok(_) => match self.reload() {
                Ok(status) => tracing::info!(?status, "FIDO metadata refreshed"),
                Err(e) => tracing::warn!(error = %e, "reloading the refreshed FIDO metadata"),
            },
            Err(e) => {
                tracing::warn!(%url, code = e.code(), error = %e, "FIDO metadata refresh failed; the cache stays")
            }
        }
        Ok(())
    }
}

/// Stops the refresh thread when dropped (without waiting for a download
/// in flight to finish: it only writes the cache after verifying).
pub(crate) struct RefreshGuard {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for RefreshGuard {
    fn drop(&mut self) {
        drop(self.stop.take());
        // Detached: a download in flight may take its timeout to end.
        drop(self.thread.take());
    }
}
