//! What the virtual key remembers across power cycles — credentials (with
//! previewSign's signing keys), the
//! PIN record, authenticatorConfig settings, the attestation identity,
//! enterprise attestation's setting, RP IDs and device identity, and the
//! large-blob array, the fingerprint sensor's templates and uvRetries —
//! and its state file.
//!
//! The file is CTAP2-canonical CBOR under explicit limits, written
//! atomically (a temporary file in the same directory, fsync, rename, fsync
//! of the directory) with mode 0600. A file that cannot be read or decoded
//! is an error naming the file and the problem: the key never silently
//! starts empty over a user's credentials.

use crate::attestation::AttestationIdentity;
use crate::enterprise::EnterpriseState;
use crate::keys::CredentialKey;
use crate::pin::PinRecord;
use fido_wire::cbor::{self, DecodeOptions, Limits, Value};
use fido_wire::cose::CoseAlgorithm;
use fido_wire::ctap2::{INITIAL_LARGE_BLOB_ARRAY, UserEntity};
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The state file format version this build writes and reads.
pub const STATE_VERSION: u64 = 1;

/// Most credentials one key holds (discoverable or not).
pub const MAX_CREDENTIALS: usize = 1024;

const FILE_LIMITS: DecodeOptions = DecodeOptions {
    limits: Limits {
        // ML-DSA-87 keys are 7.5 KB each; 1,024 of them fit.
        max_input_len: 16 * 1024 * 1024,
        max_depth: 8,
        max_items: 64 * 1024,
    },
    canonical: true,
};

/// Why the state file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// Reading or writing the file failed.
    #[error("state file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file exists but is not a valid state file.
    #[error(
        "state file {path} is corrupt ({reason}); it was left untouched — move it away to start with an empty key"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The file was written by a newer format.
    #[error(
        "state file {path} has format version {found}; this build reads version {STATE_VERSION}"
    )]
    Version {
        /// The file.
        path: PathBuf,
        /// The version found.
        found: u64,
    },
    /// Others may read the file, which holds private keys.
    #[error(
        "state file {path} has mode {mode:o}; it holds private keys, so it must not be readable by others (chmod 600 it)"
    )]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its mode bits.
        mode: u32,
    },
}

/// One credential.
pub struct Credential {
    /// Credential id (32 random bytes).
    pub id: Vec<u8>,
    /// RP ID.
    pub rp_id: String,
    /// RP name, when given.
    pub rp_name: Option<String>,
    /// User entity as given at registration (updateUserInformation may change it).
    pub user: UserEntity,
    /// Discoverable (resident)?
    pub discoverable: bool,
    /// The private key.
    pub key: CredentialKey,
    /// Signature counter.
    pub sign_count: u32,
    /// credProtect level 1, 2 or 3.
    pub cred_protect: u8,
    /// hmac-secret CredRandomWithUV then CredRandomWithoutUV.
    pub cred_random: Option<Zeroizing<[u8; 64]>>,
    /// credBlob.
    pub cred_blob: Option<Vec<u8>>,
    /// largeBlobKey.
    pub large_blob_key: Option<[u8; 32]>,
    /// Made with thirdPartyPayment (CTAP 2.2 §12.9).
    pub third_party_payment: bool,
    /// previewSign's signing key, when one was generated with the credential.
    pub sign_key: Option<crate::sign_extension::SignKey>,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("rp_id", &self.rp_id)
            .field("alg", &self.key.algorithm())
            .field("discoverable", &self.discoverable)
            .field("sign_count", &self.sign_count)
            .field("cred_protect", &self.cred_protect)
            .finish_non_exhaustive()
    }
}

/// Everything that survives a power cycle.
#[derive(Debug)]
pub struct PersistentState {
    /// Credentials, oldest first.
    pub credentials: Vec<Credential>,
    /// The PIN record.
    pub pin: PinRecord,
    /// alwaysUv.
    pub always_uv: bool,
    /// The packed basic attestation identity, once generated.
    pub attestation: Option<AttestationIdentity>,
    /// The serialized large-blob array (CTAP 2.1 §6.10): a CBOR array and
    /// its 16-byte truncated SHA-256, as the last complete write left it.
    pub large_blob_array: Vec<u8>,
    /// Enterprise attestation: enabled, its RP IDs, its device identity.
    pub enterprise: EnterpriseState,
    /// The device identifier getInfo's encIdentifier carries (CTAP 2.2):
    /// random, made at first start and anew by every reset.
    pub identifier: Option<[u8; 16]>,
    /// The fingerprint sensor's enrolled fingers and uvRetries.
    pub bio: crate::bio::BioState,
}

impl Default for PersistentState {
    fn default() -> Self {
        PersistentState {
            credentials: Vec::new(),
            pin: PinRecord::default(),
            always_uv: false,
            attestation: None,
            large_blob_array: INITIAL_LARGE_BLOB_ARRAY.to_vec(),
            enterprise: EnterpriseState::default(),
            identifier: None,
            bio: crate::bio::BioState::default(),
        }
    }
}

fn t(s: &str) -> Value {
    Value::text(s)
}

fn opt_text(v: Option<&String>) -> Value {
    v.map_or(Value::Null, |s| Value::text(s.clone()))
}

fn identity_value(identity: Option<&AttestationIdentity>) -> Value {
    identity.map_or(Value::Null, |a| {
        Value::map([
            (t("key"), Value::bytes(a.key_pkcs8().to_vec())),
            (t("cert"), Value::bytes(a.certificate.clone())),
            (t("root"), Value::bytes(a.root.clone())),
        ])
    })
}

fn text_list(v: &Value) -> Option<Vec<String>> {
    v.as_array()?
        .iter()
        .map(|v| v.as_text().map(str::to_owned))
        .collect()
}

impl PersistentState {
    /// Encodes the state (canonical CBOR). Holds private keys: zeroized on drop.
    pub fn to_cbor(&self) -> Result<Zeroizing<Vec<u8>>, crate::keys::CryptoError> {
        let mut creds = Vec::with_capacity(self.credentials.len());
        for c in &self.credentials {
            creds.push(Value::map([
                (t("id"), Value::bytes(c.id.clone())),
                (t("rp"), Value::text(c.rp_id.clone())),
                (t("rpName"), opt_text(c.rp_name.as_ref())),
                (t("user"), c.user.to_value()),
                (t("rk"), Value::Bool(c.discoverable)),
                (t("alg"), Value::int(c.key.algorithm().0)),
                (t("key"), Value::bytes(c.key.to_private_bytes()?.to_vec())),
                (t("signCount"), Value::int(u64::from(c.sign_count))),
                (t("credProtect"), Value::int(u64::from(c.cred_protect))),
                (
                    t("credRandom"),
                    c.cred_random
                        .as_ref()
                        .map_or(Value::Null, |r| Value::bytes(r.to_vec())),
                ),
                (
                    t("credBlob"),
                    c.cred_blob.clone().map_or(Value::Null, Value::bytes),
                ),
                (
                    t("largeBlobKey"),
                    c.large_blob_key
                        .map_or(Value::Null, |k| Value::bytes(k.to_vec())),
                ),
                (t("thirdPartyPayment"), Value::Bool(c.third_party_payment)),
                (
                    t("previewSign"),
                    match &c.sign_key {
                        None => Value::Null,
                        Some(k) => k
                            .to_value()
                            .map_err(|_| crate::keys::CryptoError("previewSign key export"))?,
                    },
                ),
            ]));
        }
        let p = &self.pin;
        let pin = Value::map([
            (
                t("hash"),
                p.hash.map_or(Value::Null, |h| Value::bytes(h.to_vec())),
            ),
            (t("codePoints"), Value::int(p.code_points)),
            (t("retries"), Value::int(p.retries)),
            (t("minLength"), Value::int(p.min_length)),
            (t("forceChange"), Value::Bool(p.force_change)),
            (
                t("minLengthRpIds"),
                Value::Array(p.min_length_rp_ids.iter().map(|s| t(s)).collect()),
            ),
            (
                t("persistentToken"),
                p.persistent_token
                    .as_ref()
                    .map_or(Value::Null, |v| Value::bytes(v.to_vec())),
            ),
        ]);
        let attestation = identity_value(self.attestation.as_ref());
        let e = &self.enterprise;
        let enterprise = Value::map([
            (t("enabled"), Value::Bool(e.enabled)),
            (
                t("rpIds"),
                Value::Array(e.rp_ids.iter().map(|s| t(s)).collect()),
            ),
            (t("identity"), identity_value(e.identity.as_ref())),
        ]);
        let bio = Value::map([
            (
                t("templates"),
                Value::Array(
                    self.bio
                        .templates
                        .iter()
                        .map(|tpl| {
                            Value::map([
                                (t("id"), Value::bytes(tpl.id.clone())),
                                (t("name"), Value::text(tpl.name.clone())),
                            ])
                        })
                        .collect(),
                ),
            ),
            (t("uvRetries"), Value::int(self.bio.uv_retries)),
        ]);
        let root = Value::map([
            (t("version"), Value::int(STATE_VERSION)),
            (t("bio"), bio),
            (t("credentials"), Value::Array(creds)),
            (t("pin"), pin),
            (t("alwaysUv"), Value::Bool(self.always_uv)),
            (t("attestation"), attestation),
            (t("largeBlobs"), Value::bytes(self.large_blob_array.clone())),
            (t("enterprise"), enterprise),
            (
                t("identifier"),
                self.identifier
                    .map_or(Value::Null, |i| Value::bytes(i.to_vec())),
            ),
        ]);
        Ok(Zeroizing::new(cbor::to_canonical_vec(&root)))
    }

    /// Decodes a state file's contents; `path` is only for messages.
    pub fn from_cbor(bytes: &[u8], path: &Path) -> Result<Self, StateError> {
        let corrupt = |reason: String| StateError::Corrupt {
            path: path.to_owned(),
            reason,
        };
        let root = cbor::from_slice(bytes, &FILE_LIMITS).map_err(|e| corrupt(e.to_string()))?;
        let field = |v: &Value, name: &str| -> Result<Value, StateError> {
            v.get_text(name)
                .cloned()
                .ok_or_else(|| corrupt(format!("missing \"{name}\"")))
        };
        let version = field(&root, "version")?
            .as_u64()
            .ok_or_else(|| corrupt("\"version\" is not a number".into()))?;
        if version != STATE_VERSION {
            return Err(StateError::Version {
                path: path.to_owned(),
                found: version,
            });
        }
        let bad = |what: &str| corrupt(format!("\"{what}\" has the wrong type"));
        let opt_bytes = |v: Value, what: &str| -> Result<Option<Vec<u8>>, StateError> {
            match v {
                Value::Null => Ok(None),
                Value::Bytes(b) => Ok(Some(b)),
                _ => Err(bad(what)),
            }
        };
        let mut credentials = Vec::new();
        for c in field(&root, "credentials")?
            .as_array()
            .ok_or_else(|| bad("credentials"))?
        {
            let alg = CoseAlgorithm(field(c, "alg")?.as_i64().ok_or_else(|| bad("alg"))?);
            let key_bytes = Zeroizing::new(
                field(c, "key")?
                    .as_bytes()
                    .ok_or_else(|| bad("key"))?
                    .to_vec(),
            );
            let key = CredentialKey::from_private_bytes(alg, &key_bytes)
                .map_err(|e| corrupt(format!("a credential key: {e}")))?;
            let cred_random = match opt_bytes(field(c, "credRandom")?, "credRandom")? {
                None => None,
                Some(b) => Some(Zeroizing::new(
                    <[u8; 64]>::try_from(b.as_slice()).map_err(|_| bad("credRandom"))?,
                )),
            };
            let large_blob_key = match opt_bytes(field(c, "largeBlobKey")?, "largeBlobKey")? {
                None => None,
                Some(b) => {
                    Some(<[u8; 32]>::try_from(b.as_slice()).map_err(|_| bad("largeBlobKey"))?)
                }
            };
            credentials.push(Credential {
                id: field(c, "id")?
                    .as_bytes()
                    .ok_or_else(|| bad("id"))?
                    .to_vec(),
                rp_id: field(c, "rp")?
                    .as_text()
                    .ok_or_else(|| bad("rp"))?
                    .to_owned(),
                rp_name: field(c, "rpName")?.as_text().map(str::to_owned),
                user: UserEntity::from_value(&field(c, "user")?).ok_or_else(|| bad("user"))?,
                discoverable: field(c, "rk")?.as_bool().ok_or_else(|| bad("rk"))?,
                key,
                sign_count: field(c, "signCount")?
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| bad("signCount"))?,
                cred_protect: field(c, "credProtect")?
                    .as_u64()
                    .and_then(|n| u8::try_from(n).ok())
                    .filter(|n| (1..=3).contains(n))
                    .ok_or_else(|| bad("credProtect"))?,
                cred_random,
                cred_blob: opt_bytes(field(c, "credBlob")?, "credBlob")?,
                large_blob_key,
                // Credentials written before the extension existed: unmarked.
                third_party_payment: match c.get_text("thirdPartyPayment") {
                    None => false,
                    Some(v) => v.as_bool().ok_or_else(|| bad("thirdPartyPayment"))?,
                },
                // Credentials written before previewSign existed: no key.
                sign_key: match c.get_text("previewSign") {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(
                        crate::sign_extension::SignKey::from_value(v)
                            .map_err(|what| corrupt(format!("a credential's {what}")))?,
                    ),
                },
            });
        }
        if credentials.len() > MAX_CREDENTIALS {
            return Err(corrupt(format!(
                "{} credentials, more than the {MAX_CREDENTIALS} a key holds",
                credentials.len()
            )));
        }
        let p = field(&root, "pin")?;
        let uint = |name: &str| -> Result<u64, StateError> {
            field(&p, name)?.as_u64().ok_or_else(|| bad(name))
        };
        let pin = PinRecord {
            hash: match opt_bytes(field(&p, "hash")?, "hash")? {
                None => None,
                Some(h) => Some(<[u8; 16]>::try_from(h.as_slice()).map_err(|_| bad("hash"))?),
            },
            code_points: uint("codePoints")?,
            retries: uint("retries")?.min(crate::pin::MAX_PIN_RETRIES),
            min_length: uint("minLength")?,
            force_change: field(&p, "forceChange")?
                .as_bool()
                .ok_or_else(|| bad("forceChange"))?,
            min_length_rp_ids: text_list(&field(&p, "minLengthRpIds")?)
                .ok_or_else(|| bad("minLengthRpIds"))?,
            // Files written before persistent tokens existed have none.
            persistent_token: match p.get_text("persistentToken").cloned() {
                None => None,
                Some(v) => match opt_bytes(v, "persistentToken")? {
                    None => None,
                    Some(b) => Some(Zeroizing::new(
                        <[u8; 32]>::try_from(b.as_slice()).map_err(|_| bad("persistentToken"))?,
                    )),
                },
            },
        };
        let identity = |v: Value| -> Result<Option<AttestationIdentity>, StateError> {
            match v {
                Value::Null => Ok(None),
                a => Ok(Some(
                    AttestationIdentity::from_parts(
                        Zeroizing::new(
                            field(&a, "key")?
                                .as_bytes()
                                .ok_or_else(|| bad("key"))?
                                .to_vec(),
                        ),
                        field(&a, "cert")?
                            .as_bytes()
                            .ok_or_else(|| bad("cert"))?
                            .to_vec(),
                        field(&a, "root")?
                            .as_bytes()
                            .ok_or_else(|| bad("root"))?
                            .to_vec(),
                    )
                    .map_err(|e| corrupt(e.to_string()))?,
                )),
            }
        };
        let attestation = identity(field(&root, "attestation")?)?;
        // Files written before enterprise attestation existed: disabled, no list.
        let enterprise = match root.get_text("enterprise") {
            None => EnterpriseState::default(),
            Some(e) => EnterpriseState {
                enabled: field(e, "enabled")?
                    .as_bool()
                    .ok_or_else(|| bad("enabled"))?,
                rp_ids: text_list(&field(e, "rpIds")?).ok_or_else(|| bad("rpIds"))?,
                identity: identity(field(e, "identity")?)?,
            },
        };
        // Files written before large blobs existed have none: the initial array.
        let large_blob_array = match root.get_text("largeBlobs") {
            None => INITIAL_LARGE_BLOB_ARRAY.to_vec(),
            Some(v) => {
                let b = v.as_bytes().ok_or_else(|| bad("largeBlobs"))?;
                if b.len() < INITIAL_LARGE_BLOB_ARRAY.len()
                    || b.len() > crate::large_blobs::MAX_SERIALIZED_LARGE_BLOB_ARRAY
                {
                    return Err(corrupt(format!(
                        "\"largeBlobs\" is {} bytes, outside 17..={}",
                        b.len(),
                        crate::large_blobs::MAX_SERIALIZED_LARGE_BLOB_ARRAY
                    )));
                }
                b.to_vec()
            }
        };
        let identifier = match root.get_text("identifier").cloned() {
            None => None,
            Some(v) => match opt_bytes(v, "identifier")? {
                None => None,
                Some(b) => Some(<[u8; 16]>::try_from(b.as_slice()).map_err(|_| bad("identifier"))?),
            },
        };
        // Files written before the fingerprint sensor existed: no finger.
        let bio = match root.get_text("bio") {
            None => crate::bio::BioState::default(),
            Some(b) => {
                let mut templates = Vec::new();
                for tpl in field(b, "templates")?
                    .as_array()
                    .ok_or_else(|| bad("templates"))?
                {
                    templates.push(crate::bio::Template {
                        id: field(tpl, "id")?
                            .as_bytes()
                            .ok_or_else(|| bad("template id"))?
                            .to_vec(),
                        name: field(tpl, "name")?
                            .as_text()
                            .ok_or_else(|| bad("template name"))?
                            .to_owned(),
                    });
                }
                if templates.len() > crate::bio::MAX_TEMPLATES {
                    return Err(corrupt(format!(
                        "{} fingerprint templates, more than the {} the sensor holds",
                        templates.len(),
                        crate::bio::MAX_TEMPLATES
                    )));
                }
                crate::bio::BioState {
                    templates,
                    uv_retries: field(b, "uvRetries")?
                        .as_u64()
                        .ok_or_else(|| bad("uvRetries"))?
                        .min(crate::bio::MAX_UV_RETRIES),
                }
            }
        };
        Ok(PersistentState {
            bio,
            large_blob_array,
            enterprise,
            identifier,
            credentials,
            pin,
            always_uv: field(&root, "alwaysUv")?
                .as_bool()
                .ok_or_else(|| bad("alwaysUv"))?,
            attestation,
        })
    }
}

/// Where the state lives.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StateStore {
    /// In memory only: gone when the process ends.
    #[default]
    Memory,
    /// A state file.
    File(PathBuf),
}

impl StateStore {
    /// Reads the state: `Ok(None)` when there is no file yet (or in memory).
    pub fn load(&self) -> Result<Option<PersistentState>, StateError> {
        let StateStore::File(path) = self else {
            return Ok(None);
        };
        let io = |source| StateError::Io {
            path: path.clone(),
            source,
        };
        let bytes = match std::fs::read(path) {
            Ok(b) => Zeroizing::new(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(path).map_err(io)?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(StateError::Permissions {
                    path: path.clone(),
                    mode,
                });
            }
        }
        PersistentState::from_cbor(&bytes, path).map(Some)
    }

    /// Writes the state atomically (no-op in memory).
    pub fn save(&self, state: &PersistentState) -> Result<(), StateError> {
        let StateStore::File(path) = self else {
            return Ok(());
        };
        let io = |source| StateError::Io {
            path: path.clone(),
            source,
        };
        let bytes = state
            .to_cbor()
            .map_err(|e| io(std::io::Error::other(e.to_string())))?;
        write_atomic(path, &bytes).map_err(io)
    }
}

/// Writes `bytes` to `path` so that a crash leaves either the old or the new
/// contents: a 0600 temporary file beside it, fsync, rename, fsync the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("the state path has no file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let result = (|| {
        let mut f = options.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        #[cfg(unix)]
        std::fs::File::open(&dir)?.sync_all()?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
