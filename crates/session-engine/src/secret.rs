//! The session secret key: where it comes from, its status, its rotation.
//!
//! Resolution order: an explicit setting wins.
//! 1. `KEYBENCH_SECRET_KEY` (32 bytes as 64 hex digits, 43 unpadded
//!    base64url characters or 44 padded standard base64 characters; anything
//!    else is an error, never silently replaced),
//! 2. the OS keyring (keyring-core; the Secret Service store on Linux),
//! 3. the key file (mode 0600),
//! 4. 32 fresh random bytes, stored in the first writable place: the keyring,
//!    else the key file (created atomically), else memory only (with a
//!    warning: sessions will not survive a restart).
//!
//! A keyring that is missing or locked (`PlatformFailure`,
//! `NoStorageAccess`, `NoDefaultStore`) gives a warning and a fallback,
//! never a failure. The status names the source and a short fingerprint
//! (a hash), never the key.
//!
//! Rotation: a new key seals new cookies; the previous key still opens
//! cookies (which are then re-sealed) for a short grace period after the
//! rotation ([`DEFAULT_PREVIOUS_KEY_GRACE`], configurable), so rotating
//! revokes a leaked key within that period; [`KeyManager::revoke_previous`]
//! drops it at once. Both keys are persisted where the key lives.

use crate::clock::{Clock, from_unix_ms, unix_ms};
use crate::events::{EventKind, EventLog, Severity};
use crate::keyfile;
use crate::random;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use keyring_core::{CredentialStore, Entry};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

/// How long a rotated-out key keeps opening cookies by default: long
/// enough for active users' cookies to be re-sealed, short enough that a
/// rotation revokes a leaked key the same day.
pub const DEFAULT_PREVIOUS_KEY_GRACE: Duration = Duration::from_secs(24 * 3600);

/// Name of the environment variable holding an explicit key.
pub const ENV_SECRET_KEY: &str = "KEYBENCH_SECRET_KEY";

/// A 32-byte secret key. Never printed; wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey([u8; 32]);

impl SecretKey {
    /// 32 fresh random bytes.
    pub fn generate() -> SecretKey {
        SecretKey(random::bytes::<32>())
    }

    /// Wraps raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> SecretKey {
        SecretKey(bytes)
    }

    /// Parses the accepted text forms (hex, base64url, standard base64).
    pub fn parse_text(text: &str) -> Result<SecretKey, KeyFormatError> {
        let t = text.trim();
        let decoded = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            decode_hex(t)
        } else if t.len() == 43 {
            URL_SAFE_NO_PAD
                .decode(t)
                .map_err(|_| KeyFormatError::Encoding)?
        } else if t.len() == 44 {
            STANDARD.decode(t).map_err(|_| KeyFormatError::Encoding)?
        } else {
            return Err(KeyFormatError::Length(t.len()));
        };
        let bytes: [u8; 32] = decoded
            .try_into()
            .map_err(|v: Vec<u8>| KeyFormatError::DecodedLength(v.len()))?;
        Ok(SecretKey(bytes))
    }

    /// The key as unpadded base64url (what the file and keyring hold).
    fn to_text(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// A short, non-reversible fingerprint: 10 base64url characters of
    /// SHA-256("keybench key fingerprint" || key).
    pub fn fingerprint(&self) -> String {
        let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        ctx.update(b"keybench key fingerprint\0");
        ctx.update(&self.0);
        let enc = URL_SAFE_NO_PAD.encode(ctx.finish().as_ref());
        enc.get(..10).unwrap_or("").to_owned()
    }

    /// The cookie crate's key (AES-256-GCM and HMAC keys expanded from this
    /// one with HKDF-SHA256).
    pub(crate) fn cookie_key(&self) -> cookie::Key {
        cookie::Key::derive_from(&self.0)
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(fingerprint {})", self.fingerprint())
    }
}

fn decode_hex(t: &str) -> Vec<u8> {
    t.as_bytes()
        .chunks(2)
        .filter_map(|pair| std::str::from_utf8(pair).ok())
        .filter_map(|s| u8::from_str_radix(s, 16).ok())
        .collect()
}

/// Why a key text was refused. (The text itself is never included.)
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFormatError {
    /// Not 43, 44 or 64 characters.
    #[error(
        "expected 64 hex digits, 43 base64url or 44 base64 characters for 32 bytes, got {0} characters"
    )]
    Length(usize),
    /// Not valid in its encoding.
    #[error("not valid hex/base64url/base64")]
    Encoding,
    /// Decoded to the wrong number of bytes.
    #[error("decodes to {0} bytes; the key must be 32 bytes")]
    DecodedLength(usize),
}

/// Where the key came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
#[non_exhaustive]
pub enum KeySource {
    /// The OS keyring.
    Keyring {
        /// The keyring's service name.
        service: String,
    },
    /// The `KEYBENCH_SECRET_KEY` environment variable.
    Environment,
    /// The key file.
    File {
        /// Its path.
        path: PathBuf,
    },
    /// Generated and kept in memory only.
    Ephemeral,
}

impl KeySource {
    fn label(&self) -> &'static str {
        match self {
            KeySource::Keyring { .. } => "keyring",
            KeySource::Environment => "environment",
            KeySource::File { .. } => "file",
            KeySource::Ephemeral => "memory",
        }
    }
}

/// The key's status for the UI: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyStatus {
    /// Where the current key lives.
    pub source: KeySource,
    /// The current key was generated by this process (first start).
    pub generated: bool,
    /// Fingerprint of the current key.
    pub fingerprint: String,
    /// Fingerprint of the previous key, while it still opens cookies.
    pub previous_fingerprint: Option<String>,
    /// Until when (ms since epoch) the previous key opens cookies.
    pub previous_valid_until_ms: Option<u64>,
    /// Warnings from resolution (keyring unavailable, permissions fixed...).
    pub warnings: Vec<String>,
}

/// Which keyring to try first.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum KeyringChoice {
    /// The platform keyring (Secret Service on Linux).
    #[default]
    Platform,
    /// A given keyring-core store.
    Store(Arc<CredentialStore>),
    /// Skip the keyring.
    Disabled,
}

impl fmt::Debug for KeyringChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyringChoice::Platform => f.write_str("Platform"),
            KeyringChoice::Store(_) => f.write_str("Store(..)"),
            KeyringChoice::Disabled => f.write_str("Disabled"),
        }
    }
}

/// Where to look for the key.
#[derive(Clone)]
pub struct SecretKeyConfig {
    /// The keyring to try first.
    pub keyring: KeyringChoice,
    /// Keyring service name.
    pub keyring_service: String,
    /// Keyring user (entry) name.
    pub keyring_user: String,
    /// The value of `KEYBENCH_SECRET_KEY`, if set (read by
    /// [`SecretKeyConfig::from_env`]; tests set it directly).
    pub env_value: Option<String>,
    /// The key file, if any.
    pub key_file: Option<PathBuf>,
    /// How long a rotated-out key keeps opening cookies (a
    /// [`crate::SessionEngine`] uses its `EngineConfig::previous_key_grace`
    /// instead).
    pub retire_after: Duration,
}

impl fmt::Debug for SecretKeyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKeyConfig")
            .field("keyring", &self.keyring)
            .field("keyring_service", &self.keyring_service)
            .field("keyring_user", &self.keyring_user)
            .field("env_value", &self.env_value.as_ref().map(|_| "<set>"))
            .field("key_file", &self.key_file)
            .field("retire_after", &self.retire_after)
            .finish()
    }
}

impl SecretKeyConfig {
    /// Platform keyring, `KEYBENCH_SECRET_KEY` from the environment, and the
    /// given key file.
    pub fn from_env(key_file: Option<PathBuf>) -> SecretKeyConfig {
        SecretKeyConfig {
            env_value: std::env::var(ENV_SECRET_KEY).ok(),
            ..Self::new(KeyringChoice::Platform, key_file)
        }
    }

    /// A config with no environment value.
    pub fn new(keyring: KeyringChoice, key_file: Option<PathBuf>) -> SecretKeyConfig {
        SecretKeyConfig {
            keyring,
            keyring_service: "keybench".to_owned(),
            keyring_user: "session-secret-key".to_owned(),
            env_value: None,
            key_file,
            retire_after: DEFAULT_PREVIOUS_KEY_GRACE,
        }
    }
}

/// A failure that stops key resolution (explicit configuration that is
/// wrong, or storage that holds a corrupt key). A missing keyring is not one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretKeyError {
    /// `KEYBENCH_SECRET_KEY` is set but is not a valid key.
    #[error("{ENV_SECRET_KEY} is set but invalid: {0}")]
    InvalidEnvKey(KeyFormatError),
    /// The keyring holds something that is not a key.
    #[error("the keyring entry holds an invalid key: {0}")]
    CorruptKeyring(String),
    /// The key file holds something that is not a key.
    #[error("the key file {path} holds an invalid key: {reason}")]
    CorruptKeyFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The key file could not be read or written.
    #[error("key file {path}: {source}")]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Rotation cannot persist a key given through the environment.
    #[error("the key comes from {ENV_SECRET_KEY}; rotate it there")]
    RotationNotPersistable,
    /// Writing the rotated key failed; the old key stays current.
    #[error("could not store the rotated key: {0}")]
    RotationStore(String),
    /// The stored previous key could not be removed; it still opens cookies.
    #[error("could not remove the previous key: {0}")]
    RevokeStore(String),
}

/// How a keyring failed, without the keyring's error value (which can carry
/// secret bytes in some variants).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyringProblem {
    /// No keyring here (no session bus, no daemon): `PlatformFailure`.
    PlatformFailure(String),
    /// Locked or inaccessible: `NoStorageAccess`.
    NoStorageAccess(String),
    /// No default store configured: `NoDefaultStore`.
    NoDefaultStore,
    /// The store works but holds no entry.
    NoEntry,
    /// Anything else (bad data, ambiguous entries...).
    Other(String),
}

impl KeyringProblem {
    /// Classifies a keyring-core error.
    pub fn classify(e: &keyring_core::Error) -> KeyringProblem {
        match e {
            keyring_core::Error::PlatformFailure(p) => {
                KeyringProblem::PlatformFailure(p.to_string())
            }
            keyring_core::Error::NoStorageAccess(p) => {
                KeyringProblem::NoStorageAccess(p.to_string())
            }
            keyring_core::Error::NoDefaultStore => KeyringProblem::NoDefaultStore,
            keyring_core::Error::NoEntry => KeyringProblem::NoEntry,
            keyring_core::Error::BadEncoding(_) | keyring_core::Error::BadDataFormat(..) => {
                KeyringProblem::Other("the entry holds malformed data".to_owned())
            }
            keyring_core::Error::Ambiguous(_) => {
                KeyringProblem::Other("several keyring entries match".to_owned())
            }
            other => KeyringProblem::Other(other.to_string()),
        }
    }

    /// True for the problems that mean "no usable keyring here".
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            KeyringProblem::PlatformFailure(_)
                | KeyringProblem::NoStorageAccess(_)
                | KeyringProblem::NoDefaultStore
        )
    }

    fn describe(&self) -> String {
        match self {
            KeyringProblem::PlatformFailure(d) => {
                format!("keyring unavailable (PlatformFailure: {d})")
            }
            KeyringProblem::NoStorageAccess(d) => {
                format!("keyring locked or inaccessible (NoStorageAccess: {d})")
            }
            KeyringProblem::NoDefaultStore => "no keyring store (NoDefaultStore)".to_owned(),
            KeyringProblem::NoEntry => "no keyring entry".to_owned(),
            KeyringProblem::Other(d) => format!("keyring error: {d}"),
        }
    }
}

/// Opens the configured keyring store.
fn open_store(choice: &KeyringChoice) -> Result<Arc<CredentialStore>, KeyringProblem> {
    match choice {
        KeyringChoice::Disabled => Err(KeyringProblem::Other(
            "disabled by configuration".to_owned(),
        )),
        KeyringChoice::Store(s) => Ok(s.clone()),
        KeyringChoice::Platform => platform_store(),
    }
}

#[cfg(target_os = "linux")]
fn platform_store() -> Result<Arc<CredentialStore>, KeyringProblem> {
    // Connecting without a session bus fails here with PlatformFailure.
    zbus_secret_service_keyring_store::Store::new()
        .map(|s| s as Arc<CredentialStore>)
        .map_err(|e| KeyringProblem::classify(&e))
}

#[cfg(not(target_os = "linux"))]
fn platform_store() -> Result<Arc<CredentialStore>, KeyringProblem> {
    keyring_core::get_default_store().ok_or(KeyringProblem::NoDefaultStore)
}

/// A current key and, if one is stored, the previous key with its
/// retirement time.
type KeyPair = (SecretKey, Option<(SecretKey, SystemTime)>);

/// The previous key as persisted.
#[derive(Serialize, Deserialize)]
struct PreviousRecord {
    key: String,
    retired_at_ms: u64,
}

/// Where the current key is persisted, for rotation.
#[derive(Clone)]
enum Home {
    Keyring {
        current: Arc<Entry>,
        previous: Arc<Entry>,
    },
    File(PathBuf),
    Environment,
    Memory,
}

/// The keys in use: the current one and, for a while, the previous one.
pub(crate) struct KeySet {
    pub(crate) current: SecretKey,
    pub(crate) current_cookie: cookie::Key,
    pub(crate) previous: Option<(SecretKey, cookie::Key, SystemTime)>,
}

impl KeySet {
    fn new(current: SecretKey, previous: Option<(SecretKey, SystemTime)>) -> KeySet {
        let current_cookie = current.cookie_key();
        KeySet {
            current,
            current_cookie,
            previous: previous.map(|(k, t)| {
                let c = k.cookie_key();
                (k, c, t)
            }),
        }
    }
}

/// The resolved key, its status and its rotation.
pub struct KeyManager {
    keys: RwLock<Arc<KeySet>>,
    home: Home,
    status: RwLock<KeyStatus>,
    retire_after: Duration,
    clock: Arc<dyn Clock>,
    /// Held across a rotation's or revocation's stored write and its swap in
    /// memory, so two at once cannot leave the store and memory holding
    /// different keys.
    changing: Mutex<()>,
}

impl fmt::Debug for KeyManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyManager")
            .field("status", &self.status())
            .finish()
    }
}

fn parse_previous(bytes: &[u8]) -> Option<(SecretKey, SystemTime)> {
    let rec: PreviousRecord = serde_json::from_slice(bytes).ok()?;
    let key = SecretKey::parse_text(&rec.key).ok()?;
    Some((key, from_unix_ms(rec.retired_at_ms)))
}

fn previous_record(key: &SecretKey, retired_at: SystemTime) -> Vec<u8> {
    serde_json::to_vec(&PreviousRecord {
        key: key.to_text(),
        retired_at_ms: unix_ms(retired_at),
    })
    .unwrap_or_default()
}

fn previous_path(path: &std::path::Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".previous");
    path.with_file_name(name)
}

/// Where the key was found (or made), before the manager is built.
struct Resolved {
    key: SecretKey,
    previous: Option<(SecretKey, SystemTime)>,
    home: Home,
    source: KeySource,
    generated: bool,
}

/// The keyring's answer.
enum KeyringOutcome {
    /// It holds a key.
    Found(Resolved),
    /// It works but holds no key yet: a generated key goes there.
    Empty { current: Entry, previous: Entry },
    /// It cannot be used (a warning says why) or is switched off.
    Unusable,
}

impl KeyManager {
    /// Resolves the key in the documented order: an explicit
    /// `KEYBENCH_SECRET_KEY`, the OS keyring, the key file, else a new key
    /// stored in the first writable of those. `events` receives the
    /// resolution and any fallback warnings.
    pub fn resolve(
        config: &SecretKeyConfig,
        clock: Arc<dyn Clock>,
        events: &EventLog,
    ) -> Result<KeyManager, SecretKeyError> {
        let mut warnings = Vec::new();
        let resolved = match Self::from_environment(config, &mut warnings)? {
            Some(r) => r,
            None => {
                let keyring = Self::from_keyring(config, &mut warnings)?;
                for w in &warnings {
                    events.record(
                        clock.now(),
                        EventKind::KeyringFallback,
                        Severity::Warning,
                        None,
                        Some("keyring_unavailable"),
                        w.clone(),
                    );
                }
                match keyring {
                    KeyringOutcome::Found(r) => r,
                    KeyringOutcome::Empty { current, previous } => {
                        match Self::from_file(config, &mut warnings)? {
                            Some(r) => r,
                            None => {
                                Self::generate(config, Some((current, previous)), &mut warnings)?
                            }
                        }
                    }
                    KeyringOutcome::Unusable => match Self::from_file(config, &mut warnings)? {
                        Some(r) => r,
                        None => Self::generate(config, None, &mut warnings)?,
                    },
                }
            }
        };
        Ok(Self::finish(config, clock, events, resolved, warnings))
    }

    /// First, the environment: an explicit setting wins over stored keys.
    fn from_environment(
        config: &SecretKeyConfig,
        warnings: &mut Vec<String>,
    ) -> Result<Option<Resolved>, SecretKeyError> {
        let Some(text) = &config.env_value else {
            return Ok(None);
        };
        let key = SecretKey::parse_text(text).map_err(SecretKeyError::InvalidEnvKey)?;
        if let Some(path) = config.key_file.as_ref().filter(|p| p.exists()) {
            warnings.push(format!(
                "{ENV_SECRET_KEY} is set, so the key file {} is not used",
                path.display()
            ));
        }
        Ok(Some(Resolved {
            key,
            previous: None,
            home: Home::Environment,
            source: KeySource::Environment,
            generated: false,
        }))
    }

    /// Second, the keyring.
    fn from_keyring(
        config: &SecretKeyConfig,
        warnings: &mut Vec<String>,
    ) -> Result<KeyringOutcome, SecretKeyError> {
        let entries = open_store(&config.keyring).and_then(|store| {
            let current =
                Entry::new_in_store(&store, &config.keyring_service, &config.keyring_user)
                    .map_err(|e| KeyringProblem::classify(&e))?;
            let previous_user = format!("{}.previous", config.keyring_user);
            let previous = Entry::new_in_store(&store, &config.keyring_service, &previous_user)
                .map_err(|e| KeyringProblem::classify(&e))?;
            Ok((current, previous))
        });
        let (current, previous) = match entries {
            Ok(e) => e,
            Err(problem) => {
                if !matches!(config.keyring, KeyringChoice::Disabled) {
                    warnings.push(format!("{}; falling back", problem.describe()));
                }
                return Ok(KeyringOutcome::Unusable);
            }
        };
        match current.get_secret() {
            Ok(bytes) => {
                let text = String::from_utf8(bytes)
                    .map_err(|_| SecretKeyError::CorruptKeyring("not text".to_owned()))?;
                let key = SecretKey::parse_text(&text)
                    .map_err(|e| SecretKeyError::CorruptKeyring(e.to_string()))?;
                let prev = previous.get_secret().ok().and_then(|b| parse_previous(&b));
                Ok(KeyringOutcome::Found(Resolved {
                    key,
                    previous: prev,
                    home: Home::Keyring {
                        current: Arc::new(current),
                        previous: Arc::new(previous),
                    },
                    source: KeySource::Keyring {
                        service: config.keyring_service.clone(),
                    },
                    generated: false,
                }))
            }
            Err(e) => {
                let problem = KeyringProblem::classify(&e);
                if problem == KeyringProblem::NoEntry {
                    Ok(KeyringOutcome::Empty { current, previous })
                } else if problem.is_unavailable() {
                    warnings.push(format!("{}; falling back", problem.describe()));
                    Ok(KeyringOutcome::Unusable)
                } else {
                    Err(SecretKeyError::CorruptKeyring(problem.describe()))
                }
            }
        }
    }

    /// Third, the key file.
    fn from_file(
        config: &SecretKeyConfig,
        warnings: &mut Vec<String>,
    ) -> Result<Option<Resolved>, SecretKeyError> {
        let Some(path) = &config.key_file else {
            return Ok(None);
        };
        Ok(
            Self::read_file(path, warnings)?.map(|(key, previous)| Resolved {
                key,
                previous,
                home: Home::File(path.clone()),
                source: KeySource::File { path: path.clone() },
                generated: false,
            }),
        )
    }

    /// Last, a new key, stored in the first writable place: the keyring
    /// when it works but was empty, else the key file, else memory only.
    fn generate(
        config: &SecretKeyConfig,
        empty_keyring: Option<(Entry, Entry)>,
        warnings: &mut Vec<String>,
    ) -> Result<Resolved, SecretKeyError> {
        let key = SecretKey::generate();
        if let Some((current, previous)) = empty_keyring {
            match current.set_secret(key.to_text().as_bytes()) {
                Ok(()) => {
                    return Ok(Resolved {
                        key,
                        previous: None,
                        home: Home::Keyring {
                            current: Arc::new(current),
                            previous: Arc::new(previous),
                        },
                        source: KeySource::Keyring {
                            service: config.keyring_service.clone(),
                        },
                        generated: true,
                    });
                }
                Err(e) => warnings.push(format!(
                    "could not store the key in the keyring ({}); falling back",
                    KeyringProblem::classify(&e).describe()
                )),
            }
        }
        if let Some(path) = &config.key_file {
            let created = keyfile::create_new(path, format!("{}\n", key.to_text()).as_bytes())
                .map_err(|source| SecretKeyError::KeyFile {
                    path: path.clone(),
                    source,
                })?;
            // Another process created it first: use its key, so both agree.
            let (key, generated) = if created {
                (key, true)
            } else {
                match Self::read_file(path, warnings)? {
                    Some((k, _)) => (k, false),
                    None => (key, true),
                }
            };
            return Ok(Resolved {
                key,
                previous: None,
                home: Home::File(path.clone()),
                source: KeySource::File { path: path.clone() },
                generated,
            });
        }
        warnings.push(
            "no keyring and no key file: the key lives in memory only, sessions end at restart"
                .to_owned(),
        );
        Ok(Resolved {
            key,
            previous: None,
            home: Home::Memory,
            source: KeySource::Ephemeral,
            generated: true,
        })
    }

    fn read_file(
        path: &std::path::Path,
        warnings: &mut Vec<String>,
    ) -> Result<Option<KeyPair>, SecretKeyError> {
        let io = |source| SecretKeyError::KeyFile {
            path: path.to_path_buf(),
            source,
        };
        let Some(read) = keyfile::read(path).map_err(io)? else {
            return Ok(None);
        };
        if let Some(mode) = read.tightened_from {
            warnings.push(format!(
                "key file {} had mode {mode:o}; set to 0600 (consider rotating the key)",
                path.display()
            ));
        }
        let text =
            String::from_utf8(read.contents).map_err(|_| SecretKeyError::CorruptKeyFile {
                path: path.to_path_buf(),
                reason: "not text".to_owned(),
            })?;
        let key = SecretKey::parse_text(&text).map_err(|e| SecretKeyError::CorruptKeyFile {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let prev = keyfile::read(&previous_path(path))
            .ok()
            .flatten()
            .and_then(|r| parse_previous(&r.contents));
        Ok(Some((key, prev)))
    }

    fn finish(
        config: &SecretKeyConfig,
        clock: Arc<dyn Clock>,
        events: &EventLog,
        resolved: Resolved,
        warnings: Vec<String>,
    ) -> KeyManager {
        let Resolved {
            key,
            previous,
            home,
            source,
            generated,
        } = resolved;
        let now = clock.now();
        // A previous key past its retirement no longer opens anything.
        let previous = previous.filter(|(_, t)| *t + config.retire_after > now);
        let status = KeyStatus {
            source: source.clone(),
            generated,
            fingerprint: key.fingerprint(),
            previous_fingerprint: previous.as_ref().map(|(k, _)| k.fingerprint()),
            previous_valid_until_ms: previous
                .as_ref()
                .map(|(_, t)| unix_ms(*t + config.retire_after)),
            warnings,
        };
        events.record(
            now,
            EventKind::KeyResolved,
            if status.warnings.is_empty() {
                Severity::Info
            } else {
                Severity::Warning
            },
            None,
            Some(source.label()),
            format!(
                "session key from {}{} (fingerprint {})",
                source.label(),
                if generated { ", newly generated" } else { "" },
                status.fingerprint
            ),
        );
        KeyManager {
            keys: RwLock::new(Arc::new(KeySet::new(key, previous))),
            home,
            status: RwLock::new(status),
            retire_after: config.retire_after,
            clock,
            changing: Mutex::new(()),
        }
    }

    /// A manager over a given key, stored nowhere (tests, benchmarks).
    pub fn in_memory(key: SecretKey, clock: Arc<dyn Clock>) -> KeyManager {
        Self::in_memory_with_grace(key, clock, DEFAULT_PREVIOUS_KEY_GRACE)
    }

    /// [`KeyManager::in_memory`] with a given grace period for a rotated-out key.
    pub fn in_memory_with_grace(
        key: SecretKey,
        clock: Arc<dyn Clock>,
        grace: Duration,
    ) -> KeyManager {
        let status = KeyStatus {
            source: KeySource::Ephemeral,
            generated: false,
            fingerprint: key.fingerprint(),
            previous_fingerprint: None,
            previous_valid_until_ms: None,
            warnings: Vec::new(),
        };
        KeyManager {
            keys: RwLock::new(Arc::new(KeySet::new(key, None))),
            home: Home::Memory,
            status: RwLock::new(status),
            retire_after: grace,
            clock,
            changing: Mutex::new(()),
        }
    }

    /// The status value (source, fingerprints, warnings).
    pub fn status(&self) -> KeyStatus {
        self.status
            .read()
            .map(|s| s.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    pub(crate) fn keys(&self) -> Arc<KeySet> {
        self.keys
            .read()
            .map(|k| k.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// The previous key's cookie key, if it still opens cookies now.
    pub(crate) fn previous_cookie_key(&self, keys: &KeySet) -> Option<cookie::Key> {
        let now = self.clock.now();
        keys.previous
            .as_ref()
            .filter(|(_, _, retired)| *retired + self.retire_after > now)
            .map(|(_, c, _)| c.clone())
    }

    /// Replaces the current key with a fresh one; the current one becomes
    /// the previous key. Persisted where the key lives (keyring or file);
    /// refused for a key from the environment.
    pub fn rotate(&self, events: &EventLog) -> Result<KeyStatus, SecretKeyError> {
        let _changing = self
            .changing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = self.clock.now();
        let old = self.keys();
        let new = SecretKey::generate();
        let prev_bytes = previous_record(&old.current, now);
        match &self.home {
            Home::Environment => return Err(SecretKeyError::RotationNotPersistable),
            Home::Keyring { current, previous } => {
                previous.set_secret(&prev_bytes).map_err(|e| {
                    SecretKeyError::RotationStore(KeyringProblem::classify(&e).describe())
                })?;
                current.set_secret(new.to_text().as_bytes()).map_err(|e| {
                    SecretKeyError::RotationStore(KeyringProblem::classify(&e).describe())
                })?;
            }
            Home::File(path) => {
                keyfile::replace(&previous_path(path), &prev_bytes)
                    .map_err(|e| SecretKeyError::RotationStore(e.to_string()))?;
                keyfile::replace(path, format!("{}\n", new.to_text()).as_bytes())
                    .map_err(|e| SecretKeyError::RotationStore(e.to_string()))?;
            }
            Home::Memory => {}
        }
        let set = KeySet::new(new, Some((old.current.clone(), now)));
        let status = {
            let mut s = self.status.write().unwrap_or_else(|p| p.into_inner());
            s.fingerprint = set.current.fingerprint();
            s.generated = true;
            s.previous_fingerprint = Some(old.current.fingerprint());
            s.previous_valid_until_ms = Some(unix_ms(now + self.retire_after));
            s.clone()
        };
        {
            let mut k = self
                .keys
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *k = Arc::new(set);
        }
        events.record(
            now,
            EventKind::KeyRotated,
            Severity::Info,
            None,
            None,
            format!(
                "session key rotated: {} -> {}",
                status.previous_fingerprint.as_deref().unwrap_or("-"),
                status.fingerprint
            ),
        );
        Ok(status)
    }
}

impl KeyManager {
    /// Drops the previous key now, durably (its keyring entry or file is
    /// removed first), so cookies sealed under it no longer open, even
    /// after a restart. For a key that leaked: rotate, then revoke.
    pub fn revoke_previous(&self, events: &EventLog) -> Result<KeyStatus, SecretKeyError> {
        let _changing = self
            .changing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match &self.home {
            Home::Keyring { previous, .. } => match previous.delete_credential() {
                Ok(()) | Err(keyring_core::Error::NoEntry) => {}
                Err(e) => {
                    return Err(SecretKeyError::RevokeStore(
                        KeyringProblem::classify(&e).describe(),
                    ));
                }
            },
            Home::File(path) => keyfile::remove(&previous_path(path))
                .map_err(|e| SecretKeyError::RevokeStore(e.to_string()))?,
            Home::Environment | Home::Memory => {}
        }
        let old = self.keys();
        let revoked = old.previous.as_ref().map(|(k, _, _)| k.fingerprint());
        {
            let mut k = self
                .keys
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *k = Arc::new(KeySet::new(old.current.clone(), None));
        }
        let status = {
            let mut s = self.status.write().unwrap_or_else(|p| p.into_inner());
            s.previous_fingerprint = None;
            s.previous_valid_until_ms = None;
            s.clone()
        };
        events.record(
            self.clock.now(),
            EventKind::PreviousKeyRevoked,
            Severity::Info,
            None,
            None,
            format!(
                "previous session key revoked: {}",
                revoked.as_deref().unwrap_or("none was kept")
            ),
        );
        Ok(status)
    }
}

/// What the keyring holds for the session key, as looked up without
/// creating, reading out or changing anything: the probe a diagnosis runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "detail")]
#[non_exhaustive]
pub enum KeyringState {
    /// The configuration skips the keyring.
    Disabled,
    /// No usable keyring (no session bus, no daemon, locked, no store),
    /// with the reason.
    Unavailable(String),
    /// The keyring answers and holds no session key yet (the first start
    /// puts one there).
    Empty,
    /// The keyring answers and holds the session key.
    HoldsKey,
    /// The keyring answered with another error.
    Failed(String),
}

/// The keyring probe's answer: which backend answered and what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyringProbe {
    /// The keyring store's vendor (e.g. the Secret Service store), when one
    /// could be opened.
    pub backend: Option<String>,
    /// What it holds.
    pub state: KeyringState,
}

/// Looks up the session key's keyring entry the way
/// [`KeyManager::resolve`] would, without taking the secret out of the
/// keyring and without creating or changing any entry.
pub fn probe_keyring(config: &SecretKeyConfig) -> KeyringProbe {
    if matches!(config.keyring, KeyringChoice::Disabled) {
        return KeyringProbe {
            backend: None,
            state: KeyringState::Disabled,
        };
    }
    let store = match open_store(&config.keyring) {
        Ok(store) => store,
        Err(problem) => {
            return KeyringProbe {
                backend: None,
                state: KeyringState::Unavailable(problem.describe()),
            };
        }
    };
    let backend = Some(store.vendor());
    // get_credential finds the item (the Secret Service searches by its
    // attributes) without fetching the secret.
    let state = match Entry::new_in_store(&store, &config.keyring_service, &config.keyring_user)
        .and_then(|entry| entry.get_credential())
    {
        Ok(_) => KeyringState::HoldsKey,
        Err(e) => match KeyringProblem::classify(&e) {
            KeyringProblem::NoEntry => KeyringState::Empty,
            p if p.is_unavailable() => KeyringState::Unavailable(p.describe()),
            p => KeyringState::Failed(p.describe()),
        },
    };
    KeyringProbe { backend, state }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keyring_probe_of_a_disabled_keyring_opens_nothing() {
        let probe = probe_keyring(&SecretKeyConfig::new(KeyringChoice::Disabled, None));
        assert_eq!(
            probe,
            KeyringProbe {
                backend: None,
                state: KeyringState::Disabled
            }
        );
    }

    #[test]
    fn key_text_forms() {
        let hex = "00".repeat(32);
        assert_eq!(SecretKey::parse_text(&hex).unwrap().0, [0u8; 32]);
        let b64u = URL_SAFE_NO_PAD.encode([7u8; 32]);
        assert_eq!(SecretKey::parse_text(&b64u).unwrap().0, [7u8; 32]);
        let b64 = STANDARD.encode([0xfbu8; 32]);
        assert_eq!(b64.len(), 44);
        assert_eq!(SecretKey::parse_text(&b64).unwrap().0, [0xfbu8; 32]);
        assert_eq!(
            SecretKey::parse_text("short"),
            Err(KeyFormatError::Length(5))
        );
        assert_eq!(
            SecretKey::parse_text(&"zz".repeat(32)),
            Err(KeyFormatError::Length(64))
        );
        assert_eq!(
            SecretKey::parse_text(&"!".repeat(43)),
            Err(KeyFormatError::Encoding)
        );
        assert_eq!(
            SecretKey::parse_text(&format!("{}\n", b64u)).unwrap().0,
            [7u8; 32]
        );
    }

    #[test]
    fn debug_never_shows_the_key() {
        let key = SecretKey::from_bytes([0xab; 32]);
        let shown = format!("{key:?}");
        assert!(
            !shown.contains("ab, ab") && !shown.contains(&key.to_text()),
            "{shown}"
        );
        assert_eq!(key.fingerprint().len(), 10);
        assert_ne!(
            key.fingerprint(),
            SecretKey::from_bytes([0xac; 32]).fingerprint()
        );
    }

    #[test]
    fn keyring_errors_classify() {
        use keyring_core::Error;
        let boxed = || -> Box<dyn std::error::Error + Send + Sync> { "no bus".into() };
        assert!(KeyringProblem::classify(&Error::PlatformFailure(boxed())).is_unavailable());
        assert!(KeyringProblem::classify(&Error::NoStorageAccess(boxed())).is_unavailable());
        assert!(KeyringProblem::classify(&Error::NoDefaultStore).is_unavailable());
        assert_eq!(
            KeyringProblem::classify(&Error::NoEntry),
            KeyringProblem::NoEntry
        );
        let bad = KeyringProblem::classify(&Error::BadEncoding(b"secret-bytes".to_vec()));
        assert!(!bad.is_unavailable());
        assert!(!format!("{bad:?}").contains("secret"));
    }
}
