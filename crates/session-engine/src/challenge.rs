//! Challenge binding for WebAuthn ceremonies.
//!
//! A challenge is 32 random bytes bound to the session, the ceremony type,
//! the RP ID, the expected origin and (when known) the user, with a TTL. It
//! is stored server-side under `challenges/<handle>`, where the handle is
//! base64url(SHA-256(challenge)): the lookup key reveals nothing usable, and
//! a challenge presented by another session is recognised as such (rather
//! than as unknown). The session is stored as a hash too.
//!
//! The application may store its own data for the ceremony with the binding
//! (the options it chose: user handle, allowed credentials, algorithms); it
//! comes back only from a successful consumption, so no second write and no
//! session item is needed to remember a ceremony in progress.
//!
//! Consumption is single use and atomic: the first consumer creates the
//! item [`CONSUMED_ITEM`] with a conditional create (hard link locally;
//! `ifGenerationMatch=0` / `If-None-Match: *` on object storage), so of two
//! server processes sharing a bucket exactly one wins. Comparisons of the
//! challenge and the session hash are constant time. Every refusal has its
//! own [`ChallengeRejection`] variant.

use crate::clock::{from_unix_ms, unix_ms};
use crate::id::SessionId;
use crate::random;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use session_store::{BatchWrite, Created, ItemName, Kind, OwnerId, Scope, Storage, StoreError};
use std::fmt;
use std::time::{Duration, SystemTime};

/// The binding record's item name.
pub const BINDING_ITEM: &str = "binding.json";
/// The tombstone created on consumption.
pub const CONSUMED_ITEM: &str = "consumed";
/// Challenge length in bytes.
pub const CHALLENGE_LEN: usize = 32;
/// Default TTL.
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);

/// The ceremony a challenge is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ceremony {
    /// navigator.credentials.create.
    Registration,
    /// navigator.credentials.get.
    Authentication,
}

/// What a challenge is bound to, at issue and at consumption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The session.
    pub session: SessionId,
    /// The ceremony type.
    pub ceremony: Ceremony,
    /// The RP ID.
    pub rp_id: String,
    /// The expected origin (`https://example.com`).
    pub origin: String,
    /// The user (account id), if the ceremony names one.
    pub user: Option<String>,
}

/// A freshly issued challenge.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedChallenge {
    /// The 32 bytes to send in the options.
    pub bytes: [u8; CHALLENGE_LEN],
    /// When it expires.
    pub expires_at: SystemTime,
}

impl IssuedChallenge {
    /// The challenge as unpadded base64url, as the JSON options carry it.
    pub fn base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.bytes)
    }
}

impl fmt::Debug for IssuedChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedChallenge")
            .field("bytes", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A successful consumption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumed {
    /// The ceremony.
    pub ceremony: Ceremony,
    /// The user bound at issue, if any.
    pub user: Option<String>,
    /// When it was issued.
    pub issued_at: SystemTime,
    /// The application's data stored at issue, if any.
    pub context: Option<String>,
}

/// Why a presented challenge was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChallengeRejection {
    /// Not 32 bytes.
    #[error("the challenge is {0} bytes; 32 were issued")]
    Malformed(usize),
    /// Never issued (or already swept away).
    #[error("unknown challenge")]
    Unknown,
    /// Issued, but its TTL has passed.
    #[error("the challenge expired")]
    Expired,
    /// Already consumed once.
    #[error("the challenge was already used")]
    Reused,
    /// Issued to another session.
    #[error("the challenge belongs to another session")]
    OtherSession,
    /// Issued for the other ceremony type.
    #[error("the challenge was issued for {issued:?}, not {presented:?}")]
    WrongCeremony {
        /// At issue.
        issued: Ceremony,
        /// Now.
        presented: Ceremony,
    },
    /// Issued for another RP ID.
    #[error("the challenge was issued for another RP ID")]
    WrongRpId,
    /// Issued for another origin.
    #[error("the challenge was issued for another origin")]
    WrongOrigin,
    /// Issued for another user.
    #[error("the challenge was issued for another user")]
    WrongUser,
    /// Storage failed; the ceremony cannot be verified.
    #[error("challenge storage failed: {0}")]
    Storage(String),
}

impl ChallengeRejection {
    /// Every code [`ChallengeRejection::code`] answers.
    pub const CODES: &'static [&'static str] = &[
        "malformed",
        "unknown",
        "expired",
        "reused",
        "other_session",
        "wrong_ceremony",
        "wrong_rp_id",
        "wrong_origin",
        "wrong_user",
        "storage",
    ];

    /// A short reason code for events and the UI (the API prefixes it with
    /// `challenge_`).
    pub fn code(&self) -> &'static str {
        match self {
            ChallengeRejection::Malformed(_) => "malformed",
            ChallengeRejection::Unknown => "unknown",
            ChallengeRejection::Expired => "expired",
            ChallengeRejection::Reused => "reused",
            ChallengeRejection::OtherSession => "other_session",
            ChallengeRejection::WrongCeremony { .. } => "wrong_ceremony",
            ChallengeRejection::WrongRpId => "wrong_rp_id",
            ChallengeRejection::WrongOrigin => "wrong_origin",
            ChallengeRejection::WrongUser => "wrong_user",
            ChallengeRejection::Storage(_) => "storage",
        }
    }
}

impl From<StoreError> for ChallengeRejection {
    fn from(e: StoreError) -> Self {
        ChallengeRejection::Storage(e.to_string())
    }
}

#[derive(Serialize, Deserialize)]
struct Record {
    challenge: String,
    session_hash: String,
    ceremony: Ceremony,
    rp_id: String,
    origin: String,
    user: Option<String>,
    issued_ms: u64,
    expires_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    context: Option<String>,
}

fn sha256_b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes).as_ref())
}

fn scope_of(challenge: &[u8]) -> Result<Scope, StoreError> {
    Ok(Scope::new(
        Kind::challenges(),
        OwnerId::new(&sha256_b64(challenge))?,
    ))
}

fn item(name: &str) -> Result<ItemName, StoreError> {
    Ok(ItemName::new(name)?)
}

/// Issues a challenge bound to `binding`, valid for `ttl` from `now`, with
/// the application's `context` stored beside the binding.
pub fn issue(
    store: &dyn Storage,
    binding: &Binding,
    now: SystemTime,
    ttl: Duration,
    context: Option<&str>,
) -> Result<IssuedChallenge, StoreError> {
    loop {
        let bytes = random::bytes::<CHALLENGE_LEN>();
        let expires_at = now + ttl;
        let record = Record {
            challenge: URL_SAFE_NO_PAD.encode(bytes),
            session_hash: sha256_b64(binding.session.expose().as_bytes()),
            ceremony: binding.ceremony,
            rp_id: binding.rp_id.clone(),
            origin: binding.origin.clone(),
            user: binding.user.clone(),
            issued_ms: unix_ms(now),
            expires_ms: unix_ms(expires_at),
            context: context.map(str::to_owned),
        };
        let value = serde_json::to_vec(&record).unwrap_or_default();
        if store.create_new_scope(&scope_of(&bytes)?, &item(BINDING_ITEM)?, &value)?
            == Created::Created
        {
            return Ok(IssuedChallenge { bytes, expires_at });
        }
    }
}

/// A presented challenge that matches its binding and was not consumed
/// yet: what a completion verifies the ceremony against before consuming
/// it, alone ([`consume_checked`]) or in one batch with the ceremony's other
/// writes ([`crate::SessionEngine::sign_in`]).
#[derive(Debug)]
pub struct CheckedChallenge {
    scope: Scope,
    mark_item: ItemName,
    mark: String,
    consumed: Consumed,
}

impl CheckedChallenge {
    /// What the challenge was issued with.
    pub fn consumed(&self) -> &Consumed {
        &self.consumed
    }

    /// The write that consumes it: a conditional create of the consumption
    /// mark, which exactly one consumer wins.
    pub(crate) fn consumption(&self) -> BatchWrite<'_> {
        BatchWrite::Create {
            scope: &self.scope,
            item: &self.mark_item,
            value: self.mark.as_bytes(),
        }
    }

    pub(crate) fn into_consumed(self) -> Consumed {
        self.consumed
    }
}

/// Checks a presented challenge against the expected binding without
/// consuming it. The checks run in a fixed order: format, existence,
/// session, ceremony, RP ID, origin, user, expiry, consumption. An already consumed challenge is refused here, so a replay
/// costs no verification; the consumption itself still decides (of two
/// completions racing past this check, one consumes).
pub fn check(
    store: &dyn Storage,
    presented: &[u8],
    expected: &Binding,
    now: SystemTime,
) -> Result<CheckedChallenge, ChallengeRejection> {
    if presented.len() != CHALLENGE_LEN {
        return Err(ChallengeRejection::Malformed(presented.len()));
    }
    let scope = scope_of(presented)?;
    let Some(bytes) = store.get(&scope, &item(BINDING_ITEM)?)? else {
        return Err(ChallengeRejection::Unknown);
    };
    let record: Record =
        serde_json::from_slice(&bytes).map_err(|e| ChallengeRejection::Storage(e.to_string()))?;
    let stored = URL_SAFE_NO_PAD
        .decode(&record.challenge)
        .map_err(|e| ChallengeRejection::Storage(e.to_string()))?;
    // The handle is a hash of the challenge; comparing the bytes themselves
    // (in constant time) keeps the check independent of that lookup.
    if !random::ct_eq(&stored, presented) {
        return Err(ChallengeRejection::Unknown);
    }
    let session_hash = sha256_b64(expected.session.expose().as_bytes());
    if !random::ct_eq(record.session_hash.as_bytes(), session_hash.as_bytes()) {
        return Err(ChallengeRejection::OtherSession);
    }
    if record.ceremony != expected.ceremony {
        return Err(ChallengeRejection::WrongCeremony {
            issued: record.ceremony,
            presented: expected.ceremony,
        });
    }
    if record.rp_id != expected.rp_id {
        return Err(ChallengeRejection::WrongRpId);
    }
    if record.origin != expected.origin {
        return Err(ChallengeRejection::WrongOrigin);
    }
    if let (Some(bound), Some(presented_user)) = (&record.user, &expected.user)
        && bound != presented_user
    {
        return Err(ChallengeRejection::WrongUser);
    }
    if unix_ms(now) >= record.expires_ms {
        return Err(ChallengeRejection::Expired);
    }
    let mark_item = item(CONSUMED_ITEM)?;
    if store.get(&scope, &mark_item)?.is_some() {
        return Err(ChallengeRejection::Reused);
    }
    Ok(CheckedChallenge {
        scope,
        mark_item,
        mark: unix_ms(now).to_string(),
        consumed: Consumed {
            ceremony: record.ceremony,
            user: record.user,
            issued_at: from_unix_ms(record.issued_ms),
            context: record.context,
        },
    })
}

/// Consumes a checked challenge on its own (a completion that failed, or
/// one with no other write to make).
pub fn consume_checked(
    store: &dyn Storage,
    checked: CheckedChallenge,
) -> Result<Consumed, ChallengeRejection> {
    match store.create(&checked.scope, &checked.mark_item, checked.mark.as_bytes())? {
        Created::Created => Ok(checked.consumed),
        Created::AlreadyExists => Err(ChallengeRejection::Reused),
    }
}

/// Checks and consumes a presented challenge: single use, bound to
/// `expected`.
pub fn consume(
    store: &dyn Storage,
    presented: &[u8],
    expected: &Binding,
    now: SystemTime,
) -> Result<Consumed, ChallengeRejection> {
    consume_checked(store, check(store, presented, expected, now)?)
}

/// When a stored challenge may be swept: its expiry time, or `None` if the
/// scope holds no readable binding (an orphan, removable at once).
pub fn expiry_of(store: &dyn Storage, scope: &Scope) -> Result<Option<SystemTime>, StoreError> {
    let Some(bytes) = store.get(scope, &item(BINDING_ITEM)?)? else {
        return Ok(None);
    };
    Ok(serde_json::from_slice::<Record>(&bytes)
        .ok()
        .map(|r| from_unix_ms(r.expires_ms)))
}

/// A stored challenge as the dashboard shows it: never the challenge bytes,
/// never the session id — a short handle and the session's hash prefix
/// (the same [`crate::session::session_tag`] the session list shows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChallengeView {
    /// The first 8 characters of the challenge's storage handle.
    pub handle: String,
    /// Registration or authentication.
    pub ceremony: Ceremony,
    /// The RP ID it is bound to.
    pub rp_id: String,
    /// The origin it is bound to.
    pub origin: String,
    /// The user it is bound to, if any.
    pub user: Option<String>,
    /// The bound session's tag.
    pub session: String,
    /// Issued, ms since epoch.
    pub issued_ms: u64,
    /// Expires, ms since epoch.
    pub expires_ms: u64,
    /// Consumed, ms since epoch, if it was.
    pub consumed_ms: Option<u64>,
    /// "issued", "consumed" or "expired".
    pub state: &'static str,
}

/// Every stored challenge (until cleanup removes it), newest first.
pub fn list(store: &dyn Storage, now: SystemTime) -> Result<Vec<ChallengeView>, StoreError> {
    let now_ms = unix_ms(now);
    let mut out = Vec::new();
    for owner in store.owners(&Kind::challenges())? {
        let scope = Scope::new(Kind::challenges(), owner.clone());
        let Some(bytes) = store.get(&scope, &item(BINDING_ITEM)?)? else {
            continue;
        };
        let Ok(record) = serde_json::from_slice::<Record>(&bytes) else {
            continue;
        };
        let consumed_ms = store
            .get(&scope, &item(CONSUMED_ITEM)?)?
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.parse().ok());
        let state = match consumed_ms {
            Some(_) => "consumed",
            None if now_ms >= record.expires_ms => "expired",
            None => "issued",
        };
        out.push(ChallengeView {
            handle: owner.as_str().chars().take(8).collect(),
            ceremony: record.ceremony,
            rp_id: record.rp_id,
            origin: record.origin,
            user: record.user,
            session: record.session_hash.chars().take(8).collect(),
            issued_ms: record.issued_ms,
            expires_ms: record.expires_ms,
            consumed_ms,
            state,
        });
    }
    out.sort_by_key(|c| std::cmp::Reverse(c.issued_ms));
    Ok(out)
}
