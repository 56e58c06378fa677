//! Downloading a fresh BLOB (feature `mds-refresh`; off by default, since
//! Keybench must work offline): the BLOB over HTTPS only, then the CRLs its
//! signing path names (CRLs are signed by their issuers, so they are taken
//! from http: distribution points too, as every PKI publishes them), each
//! through reqwest with rustls and size capped; then installed in the cache
//! exactly as a file is ([`MetadataCache::install`]): verified first, and
//! never over a valid newer cache.

use super::{BlobTrust, Installed, MAX_BLOB_LEN, MdsError, MetadataCache, signing_path_crl_points};
use crate::x509::{UnixTime, crl::MAX_CRL_LEN};
use std::io::Read as _;
use std::time::Duration;

/// Where the FIDO Alliance publishes the MDS3 BLOB.
pub const MDS3_URL: &str = "https://mds3.fidoalliance.org/";

fn client(https_only: bool) -> Result<reqwest::blocking::Client, MdsError> {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .https_only(https_only)
        .build()
        .map_err(|e| MdsError::Download(e.to_string()))
}

fn get(client: &reqwest::blocking::Client, url: &str, max: usize) -> Result<Vec<u8>, MdsError> {
    let download = |e: &dyn std::fmt::Display| MdsError::Download(format!("{url}: {e}"));
    let response = client
        .get(url)
        .send()
        .and_then(reqwest::blocking::Response::error_for_status)
        .map_err(|e| download(&e))?;
    let mut bytes = Vec::new();
    response
        .take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| download(&e))?;
    if bytes.len() > max {
        return Err(download(&format!("more than {max} bytes")));
    }
    Ok(bytes)
}

/// Downloads each CRL distribution point that is an http(s) URL; each
/// point's own outcome, so an unreachable CRL is reported by name.
pub fn fetch_crls(points: &[String]) -> Vec<(String, Result<Vec<u8>, MdsError>)> {
    let client = match client(false) {
        Ok(c) => c,
        Err(e) => return points.iter().map(|p| (p.clone(), Err(e.clone()))).collect(),
    };
    points
        .iter()
        .map(|point| {
            let outcome = if point.starts_with("http://") || point.starts_with("https://") {
                get(&client, point, MAX_CRL_LEN)
            } else {
                Err(MdsError::Download(format!("{point} is not an http(s) URL")))
            };
            (point.clone(), outcome)
        })
        .collect()
}

/// Downloads the BLOB from `url` (https only) and the CRLs of its signing
/// path, then installs it in `cache` if it verifies against `trust` at `at`
/// and is newer than the cached one. A CRL that could not be fetched makes
/// the install fail with the revocation error naming it (unless the cache
/// already holds that CRL).
pub fn refresh(
    url: &str,
    cache: &MetadataCache,
    trust: &BlobTrust,
    at: UnixTime,
) -> Result<Installed, MdsError> {
    if !url.starts_with("https://") {
        return Err(MdsError::Download(format!("{url} is not an https URL")));
    }
    let jwt = get(&client(true)?, url, MAX_BLOB_LEN)?;
    let points = signing_path_crl_points(&jwt)?;
    let crls: Vec<Vec<u8>> = fetch_crls(&points)
        .into_iter()
        .filter_map(|(_, outcome)| outcome.ok())
        .collect();
    cache.install(&jwt, &crls, trust, at)
}
