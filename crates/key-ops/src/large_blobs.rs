//! The large-blob store as front ends offer it (CTAP 2.1 §6.10): list its
//! entries with the credential each belongs to, and read, write or delete
//! one credential's blob by its credential id. A credential's largeBlobKey
//! comes from credential management (so the PIN is needed); it is used in
//! memory and never shown.

use crate::error::KeyOpError;
use ctap_client::{Device, LargeBlobArray, LargeBlobKey, PinToken, StoredCredential};
use fido_wire::ctap2::{LargeBlobEntry, Permissions};
use fido_wire::webauthn::base64url;
use serde::Serialize;
use std::fmt;

/// One element of the large-blob array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LargeBlobEntryView {
    /// Its position in the array.
    pub index: usize,
    /// The discoverable credential whose largeBlobKey opens it (base64url),
    /// if one on this key does.
    pub credential_id: Option<String>,
    /// That credential's RP ID.
    pub rp_id: Option<String>,
    /// That credential's user.name.
    pub user_name: Option<String>,
    /// The blob's size once decrypted and inflated (origSize), for entries.
    pub size: Option<u64>,
    /// The encrypted bytes stored (ciphertext and tag), for entries.
    pub stored_bytes: Option<usize>,
}

/// The whole large-blob array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LargeBlobsView {
    /// The serialized array's length (array and hash).
    pub serialized_bytes: usize,
    /// maxSerializedLargeBlobArray.
    pub max_serialized_bytes: Option<u64>,
    /// Every element, in order.
    pub entries: Vec<LargeBlobEntryView>,
}

impl fmt::Display for LargeBlobsView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} large-blob entries, {} of {} bytes used",
            self.entries.len(),
            self.serialized_bytes,
            self.max_serialized_bytes
                .map_or_else(|| "?".to_owned(), |m| m.to_string())
        )?;
        for e in &self.entries {
            match (&e.credential_id, e.size) {
                (Some(id), size) => write!(
                    f,
                    "\n#{}  {}  {}  user {}  {} bytes",
                    e.index,
                    e.rp_id.as_deref().unwrap_or("?"),
                    id,
                    e.user_name.as_deref().unwrap_or("?"),
                    size.unwrap_or(0)
                )?,
                (None, Some(size)) => write!(
                    f,
                    "\n#{}  (no credential on this key opens it)  {size} bytes",
                    e.index
                )?,
                (None, None) => write!(f, "\n#{}  (not a large-blob entry)", e.index)?,
            }
        }
        Ok(())
    }
}

/// One credential's blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LargeBlobView {
    /// The credential (base64url).
    pub credential_id: String,
    /// Its RP ID.
    pub rp_id: String,
    /// The blob, base64url.
    pub blob: String,
    /// The blob as text, when it is UTF-8.
    pub text: Option<String>,
    /// Its length.
    pub size: usize,
}

impl fmt::Display for LargeBlobView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.text {
            Some(text) => write!(f, "{text}"),
            None => write!(f, "{} bytes (base64url): {}", self.size, self.blob),
        }
    }
}

/// A token for both credential management (to learn the largeBlobKeys)
/// and, when writing, largeBlobWrite.
fn token(device: &mut Device, pin: &str, write: bool) -> Result<PinToken, KeyOpError> {
    let mut permissions = Permissions::CREDENTIAL_MANAGEMENT;
    if write {
        permissions |= Permissions::LARGE_BLOB_WRITE;
    }
    Ok(device.pin_token(pin, Permissions(permissions), None)?)
}

/// Every discoverable credential with a largeBlobKey.
fn credentials_with_keys(
    device: &mut Device,
    token: &PinToken,
) -> Result<Vec<(StoredCredential, LargeBlobKey)>, KeyOpError> {
    let mut out = Vec::new();
    for (rp, hash) in device.relying_parties(token)? {
        for c in device.credentials(token, &rp, &hash)? {
            if let Some(key) = c.large_blob_key.clone() {
                out.push((c, key));
            }
        }
    }
    Ok(out)
}

/// The credential named by `credential_id` (base64url) and its key.
fn credential(
    device: &mut Device,
    token: &PinToken,
    credential_id: &str,
) -> Result<(StoredCredential, LargeBlobKey), KeyOpError> {
    let id = base64url::decode(credential_id).map_err(|_| KeyOpError::BadCredentialId)?;
    credentials_with_keys(device, token)?
        .into_iter()
        .find(|(c, _)| c.id == id)
        .ok_or_else(|| KeyOpError::NoLargeBlobKey(credential_id.to_owned()))
}

/// Lists the array's elements, each with the credential that opens it.
pub fn list(device: &mut Device, pin: &str) -> Result<LargeBlobsView, KeyOpError> {
    let token = token(device, pin, false)?;
    let keys = credentials_with_keys(device, &token)?;
    let serialized = device.large_blob_read_serialized()?;
    let array =
        LargeBlobArray::from_serialized(&serialized).map_err(ctap_client::CtapError::from)?;
    let mut entries = Vec::with_capacity(array.elements.len());
    for (index, element) in array.elements.iter().enumerate() {
        let entry = LargeBlobEntry::from_value(element);
        let mut view = LargeBlobEntryView {
            index,
            credential_id: None,
            rp_id: None,
            user_name: None,
            size: entry.as_ref().map(|e| e.orig_size),
            stored_bytes: entry.as_ref().map(|e| e.ciphertext.len()),
        };
        for (c, key) in &keys {
            if matches!(array.read_at(index, key.as_bytes()), Ok(Some(_))) {
                view.credential_id = Some(base64url::encode(&c.id));
                view.rp_id = Some(c.rp.id.clone());
                view.user_name = c.user.name.clone();
                break;
            }
        }
        entries.push(view);
    }
    Ok(LargeBlobsView {
        serialized_bytes: serialized.len(),
        max_serialized_bytes: device.info().max_serialized_large_blob_array,
        entries,
    })
}

/// Reads the blob of the credential `credential_id` (base64url).
pub fn read(
    device: &mut Device,
    pin: &str,
    credential_id: &str,
) -> Result<LargeBlobView, KeyOpError> {
    let token = token(device, pin, false)?;
    let (c, key) = credential(device, &token, credential_id)?;
    let array = device.large_blob_read()?;
    let blob = array
        .read(key.as_bytes())
        .map_err(ctap_client::CtapError::from)?
        .ok_or_else(|| KeyOpError::NoLargeBlob(credential_id.to_owned()))?;
    Ok(LargeBlobView {
        credential_id: base64url::encode(&c.id),
        rp_id: c.rp.id.clone(),
        size: blob.len(),
        text: String::from_utf8(blob.clone()).ok(),
        blob: base64url::encode(&blob),
    })
}

/// Stores `blob` for the credential `credential_id`, replacing its old one;
/// every other element of the array is kept as it was.
pub fn write(
    device: &mut Device,
    pin: &str,
    credential_id: &str,
    blob: &[u8],
) -> Result<(), KeyOpError> {
    let token = token(device, pin, true)?;
    let (_, key) = credential(device, &token, credential_id)?;
    let mut array = device.large_blob_read()?;
    array
        .write(key.as_bytes(), blob)
        .map_err(ctap_client::CtapError::from)?;
    Ok(device.large_blob_write_array(Some(&token), &array)?)
}

/// Deletes the blob of the credential `credential_id`; answers how many
/// entries were removed (0 when it had none: nothing is written then).
pub fn delete(device: &mut Device, pin: &str, credential_id: &str) -> Result<usize, KeyOpError> {
    let token = token(device, pin, true)?;
    let (_, key) = credential(device, &token, credential_id)?;
    let mut array = device.large_blob_read()?;
    let removed = array
        .delete(key.as_bytes())
        .map_err(ctap_client::CtapError::from)?;
    if removed > 0 {
        device.large_blob_write_array(Some(&token), &array)?;
    }
    Ok(removed)
}
