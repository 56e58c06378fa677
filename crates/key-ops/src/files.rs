//! Files a person hands a front end: certificates as PEM or DER.

use crate::KeyOpError;
use std::path::Path;

/// A certificate file's DER: the first PEM `CERTIFICATE` block when the
/// file is PEM, the bytes as they are otherwise.
pub fn read_certificate(path: &Path) -> Result<Vec<u8>, KeyOpError> {
    use base64::Engine as _;
    let bad = |reason: String| KeyOpError::BadFile {
        path: path.display().to_string(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Ok(bytes);
    };
    let Some(start) = text.find("-----BEGIN CERTIFICATE-----") else {
        return Ok(bytes);
    };
    let body: String = text
        .get(start..)
        .unwrap_or_default()
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .map_err(|e| bad(format!("bad PEM: {e}")))
}
