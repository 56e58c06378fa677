//! Downloading a fresh BLOB (feature `mds-refresh`; off by default, since
//! Keybench must work offline): HTTPS only, through reqwest with rustls, size
//! capped, verified exactly as a cached file is, and only then written over
//! the cache (write to a temporary file, then rename, so a crash never
//! leaves a half-written cache).

use super::{BlobTrust, MAX_BLOB_LEN, MdsError, MetadataBlob, verify_blob};
use crate::x509::UnixTime;
use std::io::{Read as _, Write as _};
use std::path::Path;
use std::time::Duration;

/// Where the FIDO Alliance publishes the MDS3 BLOB.
pub const MDS3_URL: &str = "https://mds3.fidoalliance.org/";

/// Downloads the BLOB from `url`, verifies it against `trust` at `at` (and
/// against rollback past `previous_no`), and on success replaces `cache`.
pub fn refresh(
    url: &str,
    cache: &Path,
    trust: &BlobTrust,
    at: UnixTime,
    previous_no: Option<u64>,
) -> Result<MetadataBlob, MdsError> {
    let download = |e: &dyn std::fmt::Display| MdsError::Download(e.to_string());
    if !url.starts_with("https://") {
        return Err(MdsError::Download(format!("{url} is not an https URL")));
    }
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .https_only(true)
        .build()
        .map_err(|e| download(&e))?;
    let response = client
        .get(url)
        .send()
        .and_then(reqwest::blocking::Response::error_for_status)
        .map_err(|e| download(&e))?;
    let mut bytes = Vec::new();
    response
        .take(MAX_BLOB_LEN as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| download(&e))?;
    let blob = verify_blob(&bytes, trust, at, previous_no)?;
    let io = |e: std::io::Error| MdsError::Io {
        path: cache.display().to_string(),
        reason: e.to_string(),
    };
    let tmp = cache.with_extension("download");
    let mut file = std::fs::File::create(&tmp).map_err(io)?;
    file.write_all(&bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&tmp, cache).map_err(io)?;
    Ok(blob)
}
