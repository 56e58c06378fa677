//! The metadata cache in a data directory: the last BLOB that verified and
//! the CRLs its signing path was checked with, so that every start-up and
//! every front end (server, desktop, CLI) reads the same trusted metadata
//! without the network.
//!
//! Layout: `<dir>/blob.jwt` and `<dir>/crls/<sha-256>.crl`. A BLOB is
//! written only after it verified, with the CRLs that made it verify, and
//! only if it is newer than the cached one: a download or a file that does
//! not verify never replaces a valid cache. Writes go to a temporary file,
//! are synced, then renamed, so a crash leaves the old cache or the new one,
//! never half of either.

use super::ModelInfo;
use super::{BlobTrust, MAX_BLOB_LEN, MdsError, MetadataBlob, verify_blob};
use crate::x509::{Crl, UnixTime, crl::MAX_CRL_LEN};
use serde::Serialize;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

/// The most CRL files read from a cache.
pub const MAX_CACHED_CRLS: usize = 32;

/// A data directory's metadata cache.
#[derive(Debug, Clone)]
pub struct MetadataCache {
    dir: PathBuf,
}

/// What installing a BLOB did.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Installed {
    /// The BLOB verified and is now the cached one.
    Replaced(MetadataBlob),
    /// The cache already held exactly these bytes (still valid).
    Unchanged(MetadataBlob),
}

impl Installed {
    /// The BLOB now cached.
    pub fn blob(&self) -> &MetadataBlob {
        match self {
            Installed::Replaced(b) | Installed::Unchanged(b) => b,
        }
    }
}

impl MetadataCache {
    /// The cache in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> MetadataCache {
        MetadataCache { dir: dir.into() }
    }

    /// The cache of a Keybench data directory (`<data_dir>/mds`).
    pub fn in_data_dir(data_dir: &Path) -> MetadataCache {
        MetadataCache::new(data_dir.join("mds"))
    }

    /// Where the cached BLOB is.
    pub fn blob_path(&self) -> PathBuf {
        self.dir.join("blob.jwt")
    }

    fn crl_dir(&self) -> PathBuf {
        self.dir.join("crls")
    }

    /// The cached BLOB's bytes, `None` when there is none.
    pub fn blob_bytes(&self) -> Result<Option<Vec<u8>>, MdsError> {
        let path = self.blob_path();
        match std::fs::File::open(&path) {
            Ok(file) => read_capped(file, MAX_BLOB_LEN, &path).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(&path, &e)),
        }
    }

    /// The cached CRLs (at most [`MAX_CACHED_CRLS`]); a file that is not a
    /// CRL is an error, not skipped.
    pub fn crls(&self) -> Result<Vec<Crl>, MdsError> {
        let dir = self.crl_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error(&dir, &e)),
        };
        let mut crls = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| io_error(&dir, &e))?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("crl") {
                continue;
            }
            if crls.len() == MAX_CACHED_CRLS {
                return Err(MdsError::Io {
                    path: dir.display().to_string(),
                    reason: format!("more than {MAX_CACHED_CRLS} CRLs"),
                });
            }
            let file = std::fs::File::open(&path).map_err(|e| io_error(&path, &e))?;
            let der = read_capped(file, MAX_CRL_LEN, &path)?;
            crls.push(Crl::from_der(&der).map_err(MdsError::Revocation)?);
        }
        Ok(crls)
    }

    /// The cached BLOB verified at `at` against `trust` (its CRLs plus the
    /// cached ones); `None` when nothing is cached. A cached BLOB past its
    /// nextUpdate is an error ([`MdsError::Stale`]): it must be refreshed.
    pub fn load(&self, trust: &BlobTrust, at: UnixTime) -> Result<Option<MetadataBlob>, MdsError> {
        let Some(bytes) = self.blob_bytes()? else {
            return Ok(None);
        };
        let trust = self.with_cached_crls(trust, Vec::new())?;
        verify_blob(&bytes, &trust, at, None).map(Some)
    }

    /// Verifies `jwt` at `at` against `trust` with `crls` (DER) and the
    /// cached CRLs, refuses it unless it is newer than a cached BLOB that
    /// still verifies, and only then writes it and the CRLs to the cache.
    pub fn install(
        &self,
        jwt: &[u8],
        crls: &[Vec<u8>],
        trust: &BlobTrust,
        at: UnixTime,
    ) -> Result<Installed, MdsError> {
        let new_crls = crls
            .iter()
            .map(|der| Crl::from_der(der).map_err(MdsError::Revocation))
            .collect::<Result<Vec<_>, _>>()?;
        let trust = self.with_cached_crls(trust, new_crls.clone())?;
        let cached = self.blob_bytes()?;
        if cached.as_deref() == Some(jwt) {
            return verify_blob(jwt, &trust, at, None).map(Installed::Unchanged);
        }
        // The rollback floor is the cached BLOB's number, when that BLOB is
        // still valid; an invalid or stale cache may be replaced by anything
        // that verifies.
        let previous_no = cached
            .and_then(|bytes| verify_blob(&bytes, &trust, at, None).ok())
            .map(|b| b.no);
        let blob = verify_blob(jwt, &trust, at, previous_no)?;
        let crl_dir = self.crl_dir();
        std::fs::create_dir_all(&crl_dir).map_err(|e| io_error(&crl_dir, &e))?;
        for crl in &new_crls {
            let name = crate::decoder::node::hex(
                aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, crl.der()).as_ref(),
            );
            write_atomically(&crl_dir.join(format!("{name}.crl")), crl.der())?;
        }
        write_atomically(&self.blob_path(), jwt)?;
        Ok(Installed::Replaced(blob))
    }

    /// The cached BLOB verified at `at`, with what to report about it;
    /// a cache that does not verify gives no BLOB and says why.
    pub fn load_status(&self, trust: &BlobTrust, at: UnixTime) -> LoadedMetadata {
        match self.load(trust, at) {
            Ok(None) => LoadedMetadata {
                blob: None,
                status: MdsStatus::None,
            },
            Ok(Some(blob)) => LoadedMetadata {
                status: MdsStatus::Loaded {
                    no: blob.no,
                    next_update: blob.next_update.clone(),
                    entries: blob.entries.len(),
                    signer: blob.signer.clone(),
                    anchor: blob.anchor.clone(),
                    denied: blob
                        .entries
                        .iter()
                        .filter(|e| e.distrust_reason().is_some())
                        .count(),
                },
                blob: Some(blob),
            },
            Err(e) => LoadedMetadata {
                blob: None,
                status: MdsStatus::Invalid {
                    code: e.code(),
                    reason: e.to_string(),
                },
            },
        }
    }

    fn with_cached_crls(
        &self,
        trust: &BlobTrust,
        mut extra: Vec<Crl>,
    ) -> Result<BlobTrust, MdsError> {
        let mut crls = trust.crls.clone();
        crls.append(&mut extra);
        crls.extend(self.crls()?);
        Ok(trust.clone().with_crls(crls))
    }
}

/// What a cache holds, as front ends report it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum MdsStatus {
    /// No BLOB in the cache and none given.
    None,
    /// A verified BLOB is in force.
    Loaded {
        /// Its serial number.
        no: u64,
        /// Its nextUpdate.
        next_update: String,
        /// Its entries.
        entries: usize,
        /// Its signing certificate's subject.
        signer: String,
        /// The root it chains to.
        anchor: String,
        /// Models denied by their status reports.
        denied: usize,
    },
    /// A cached BLOB that no longer verifies (stale, revoked signer, …):
    /// no MDS anchor is in force.
    Invalid {
        /// The stable code of the refusal.
        code: &'static str,
        /// Why.
        reason: String,
    },
}

/// A cache's BLOB, loaded, and its status.
#[derive(Debug)]
pub struct LoadedMetadata {
    /// The BLOB, when one verified.
    pub blob: Option<MetadataBlob>,
    /// What `GET /api/mds` says.
    pub status: MdsStatus,
}

impl LoadedMetadata {
    /// The model card for `aaguid`, when the BLOB has an entry.
    pub fn model(&self, aaguid: &[u8; 16]) -> Option<ModelInfo> {
        self.blob
            .as_ref()
            .and_then(|b| b.entry(aaguid))
            .map(ModelInfo::of)
    }
}

/// The URIs of the CRL distribution points of a BLOB's signing path: the
/// CRLs [`MetadataCache::install`] needs, to fetch or to bring as files.
pub fn signing_path_crl_points(jwt: &[u8]) -> Result<Vec<String>, MdsError> {
    let mut points = Vec::new();
    for (index, cert) in super::jws::signing_path(jwt)?.iter().enumerate() {
        let uris = cert.crl_distribution_points().map_err(|e| MdsError::X5c {
            index,
            reason: e.to_string(),
        })?;
        for uri in uris {
            if !points.contains(&uri) {
                points.push(uri);
            }
        }
    }
    Ok(points)
}

fn io_error(path: &Path, e: &std::io::Error) -> MdsError {
    MdsError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

fn read_capped(file: std::fs::File, max: usize, path: &Path) -> Result<Vec<u8>, MdsError> {
    let mut bytes = Vec::new();
    file.take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(path, &e))?;
    if bytes.len() > max {
        return Err(MdsError::TooLong {
            what: "a cached metadata file",
            len: bytes.len(),
            max,
        });
    }
    Ok(bytes)
}

/// Temporary file, sync, rename, sync the directory.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), MdsError> {
    let tmp = path.with_extension("partial");
    let mut file = std::fs::File::create(&tmp).map_err(|e| io_error(&tmp, &e))?;
    file.write_all(bytes).map_err(|e| io_error(&tmp, &e))?;
    file.sync_all().map_err(|e| io_error(&tmp, &e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_error(path, &e))?;
    if let Some(dir) = path.parent()
        && let Ok(dir) = std::fs::File::open(dir)
    {
        // Best effort: not every file system syncs directories.
        let _ = dir.sync_all();
    }
    Ok(())
}
