//! The large-blob store as front ends offer it (CTAP 2.1 §6.10): list its
//! entries with the credential each belongs to, every credential that can
//! hold a blob with its blob decrypted (the desktop's viewer), and read,
//! write or delete one credential's blob by its credential id. A
//! credential's largeBlobKey comes from credential management (so the PIN
//! is needed); it is used in memory and never shown. The blobs themselves
//! are the user's data, shown to them on purpose, never logged.

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

/// A decrypted blob as a person reads it: text when it is UTF-8, else hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlobContentView {
    /// Its length in bytes.
    pub size: usize,
    /// The blob, when it is UTF-8 text.
    pub text: Option<String>,
    /// The blob in lower-case hex, when it is not UTF-8.
    pub hex: Option<String>,
}

impl BlobContentView {
    /// The view of `blob`.
    pub fn of(blob: &[u8]) -> BlobContentView {
        let text = std::str::from_utf8(blob).ok().map(str::to_owned);
        BlobContentView {
            size: blob.len(),
            hex: text.is_none().then(|| crate::hex(blob)),
            text,
        }
    }
}

/// A discoverable credential that can hold a large blob (it has a
/// largeBlobKey), with its blob if it has one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialBlobView {
    /// The credential (base64url).
    pub credential_id: String,
    /// Its RP ID.
    pub rp_id: String,
    /// Its user.name.
    pub user_name: Option<String>,
    /// Its blob, decrypted; none when it has no blob.
    pub blob: Option<BlobContentView>,
}

/// Every credential that can hold a large blob, with its blob decrypted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialBlobsView {
    /// The credentials, in the order credential management lists them.
    pub credentials: Vec<CredentialBlobView>,
    /// Entries of the array no credential on this key opens (left by a
    /// deleted credential, or not large-blob entries at all).
    pub unopened_entries: usize,
    /// The serialized array's length (array and hash).
    pub serialized_bytes: usize,
    /// maxSerializedLargeBlobArray.
    pub max_serialized_bytes: Option<u64>,
}

impl fmt::Display for CredentialBlobsView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} credentials can hold a large blob; {} of {} bytes used",
            self.credentials.len(),
            self.serialized_bytes,
            self.max_serialized_bytes
                .map_or_else(|| "?".to_owned(), |m| m.to_string())
        )?;
        for c in &self.credentials {
            write!(
                f,
                "\n{}  {}  user {}: ",
                c.rp_id,
                c.credential_id,
                c.user_name.as_deref().unwrap_or("?")
            )?;
            match &c.blob {
                None => write!(f, "no blob")?,
                Some(b) => match (&b.text, &b.hex) {
                    (Some(text), _) => write!(f, "{} bytes: {text}", b.size)?,
                    (None, hex) => write!(
                        f,
                        "{} bytes (hex): {}",
                        b.size,
                        hex.as_deref().unwrap_or("")
                    )?,
                },
            }
        }
        Ok(())
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

/// Every discoverable credential with a largeBlobKey and its blob,
/// decrypted (one token, one read of the array).
pub fn by_credential(device: &mut Device, pin: &str) -> Result<CredentialBlobsView, KeyOpError> {
    let token = token(device, pin, false)?;
    let keys = credentials_with_keys(device, &token)?;
    let serialized = device.large_blob_read_serialized()?;
    let array =
        LargeBlobArray::from_serialized(&serialized).map_err(ctap_client::CtapError::from)?;
    let mut opened = vec![false; array.elements.len()];
    let mut credentials = Vec::with_capacity(keys.len());
    for (c, key) in &keys {
        let mut blob = None;
        for (index, seen) in opened.iter_mut().enumerate() {
            if let Ok(Some(bytes)) = array.read_at(index, key.as_bytes()) {
                *seen = true;
                // The first entry a key opens is its blob (§6.10.3).
                if blob.is_none() {
                    blob = Some(BlobContentView::of(&bytes));
                }
            }
        }
        credentials.push(CredentialBlobView {
            credential_id: base64url::encode(&c.id),
            rp_id: c.rp.id.clone(),
            user_name: c.user.name.clone(),
            blob,
        });
    }
    Ok(CredentialBlobsView {
        credentials,
        unopened_entries: opened.iter().filter(|o| !**o).count(),
        serialized_bytes: serialized.len(),
        max_serialized_bytes: device.info().max_serialized_large_blob_array,
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use ctap_client::Recorder;
    use ctap_client::webauthn::{self, ClientContext};
    use fido_wire::cose::CoseAlgorithm;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    use virtual_authenticator::{AttestationMode, PresencePolicy, StateStore};

    const PIN: &str = "123456";

    /// A virtual key in-process with a PIN and one discoverable credential
    /// made with the largeBlob extension; answers the credential's id.
    fn key_with_credential() -> (Device, Arc<AtomicBool>, String) {
        let key = crate::virtual_key::build(
            vec![CoseAlgorithm(-7)],
            PresencePolicy::Approve,
            AttestationMode::None,
            StateStore::Memory,
        )
        .unwrap();
        let (host, end) = ctaphid::pipe();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        std::thread::spawn(move || {
            ctaphid::serve::serve(end, crate::virtual_key::IDENTITY, key, s)
        });
        let mut device = Device::open(host, Recorder::default()).unwrap();
        device.set_pin(PIN).unwrap();
        let mut options = crate::options::creation(
            "localhost",
            "alice",
            &[CoseAlgorithm(-7)],
            true,
            "preferred",
        )
        .unwrap();
        options.extensions = Some(
            serde_json::json!({"largeBlob": {"support": "required"}})
                .as_object()
                .unwrap()
                .clone(),
        );
        let ctx = &mut ClientContext {
            pin: Some(PIN),
            ..ClientContext::new("http://localhost")
        };
        let made = webauthn::register(&mut device, &options, ctx).unwrap();
        (device, stop, base64url::encode(&made.raw_id.0))
    }

    #[test]
    fn the_viewer_shows_each_credentials_blob_as_text_or_hex() {
        let (mut device, stop, id) = key_with_credential();
        let view = by_credential(&mut device, PIN).unwrap();
        assert_eq!(view.credentials.len(), 1);
        assert_eq!(view.credentials[0].credential_id, id);
        assert_eq!(view.credentials[0].rp_id, "localhost");
        assert_eq!(view.credentials[0].user_name.as_deref(), Some("alice"));
        assert_eq!(view.credentials[0].blob, None);

        write(&mut device, PIN, &id, "héllo blob".as_bytes()).unwrap();
        let view = by_credential(&mut device, PIN).unwrap();
        assert_eq!(
            view.credentials[0].blob,
            Some(BlobContentView {
                size: 11,
                text: Some("héllo blob".into()),
                hex: None
            })
        );
        assert_eq!(view.unopened_entries, 0);
        assert!(view.serialized_bytes > 17, "{view:?}");

        // Not UTF-8: hex.
        write(&mut device, PIN, &id, &[0xff, 0x00, 0x10]).unwrap();
        let blob = by_credential(&mut device, PIN).unwrap().credentials[0]
            .blob
            .clone()
            .unwrap();
        assert_eq!(
            (blob.size, blob.text, blob.hex.as_deref()),
            (3, None, Some("ff0010"))
        );
        // The CLI's read sees the same blob.
        assert_eq!(read(&mut device, PIN, &id).unwrap().size, 3);

        assert_eq!(delete(&mut device, PIN, &id).unwrap(), 1);
        assert_eq!(
            by_credential(&mut device, PIN).unwrap().credentials[0].blob,
            None
        );
        // The wrong PIN is the key's error, not a blob.
        assert_eq!(
            by_credential(&mut device, "000000").unwrap_err().code(),
            "ctap_pin_invalid"
        );
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}
