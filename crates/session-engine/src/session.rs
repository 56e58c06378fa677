//! Server-side session records and their life cycle in storage: create,
//! load, coalesced last-access updates, id rotation (fixation defence) and
//! destruction. A session's scope is `sessions/<id>`; the record is the item
//! [`RECORD_ITEM`], the application's own items sit beside it and are
//! reached only through [`SessionItems`], which cannot name another scope.

use crate::clock::{from_unix_ms, unix_ms};
use crate::id::SessionId;
use crate::random;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use session_store::{Created, ItemMeta, ItemName, Storage, StoreError, Swapped};
use std::fmt;
use std::time::{Duration, SystemTime};

/// The record's item name.
pub const RECORD_ITEM: &str = "session.json";

/// Record format version.
const RECORD_VERSION: u32 = 1;

/// The server-side record of one session.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// Format version.
    pub version: u32,
    /// Creation time, ms since epoch.
    pub created_ms: u64,
    /// Last access, ms since epoch (updated at most once per coalescing
    /// interval).
    pub last_access_ms: u64,
    /// The authenticated account, if any.
    pub user: Option<String>,
    /// Privileges granted (empty when unauthenticated).
    #[serde(default)]
    pub privileges: Vec<String>,
    /// When the session authenticated, ms since epoch.
    pub authenticated_ms: Option<u64>,
    /// The per-session CSRF token (base64url of 32 random bytes).
    pub csrf_token: String,
}

impl fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionRecord")
            .field("created_ms", &self.created_ms)
            .field("last_access_ms", &self.last_access_ms)
            .field("user", &self.user)
            .field("privileges", &self.privileges)
            .field("authenticated_ms", &self.authenticated_ms)
            .field("csrf_token", &"<redacted>")
            .finish()
    }
}

fn new_csrf_token() -> String {
    URL_SAFE_NO_PAD.encode(random::bytes::<32>())
}

impl SessionRecord {
    fn fresh(now: SystemTime) -> SessionRecord {
        SessionRecord {
            version: RECORD_VERSION,
            created_ms: unix_ms(now),
            last_access_ms: unix_ms(now),
            user: None,
            privileges: Vec::new(),
            authenticated_ms: None,
            csrf_token: new_csrf_token(),
        }
    }

    /// Last access as a time.
    pub fn last_access(&self) -> SystemTime {
        from_unix_ms(self.last_access_ms)
    }

    /// True if authenticated.
    pub fn is_authenticated(&self) -> bool {
        self.user.is_some()
    }
}

/// A loaded session: its id and record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The id.
    pub id: SessionId,
    /// The record.
    pub record: SessionRecord,
}

/// Why a session operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// Storage failed.
    #[error("session storage: {0}")]
    Storage(#[from] StoreError),
    /// A stored record does not parse.
    #[error("the session record is corrupt: {0}")]
    CorruptRecord(String),
    /// The application tried to use the reserved record item.
    #[error("the item name {RECORD_ITEM} is reserved")]
    ReservedItem,
}

pub(crate) fn record_item() -> ItemName {
    // A constant, valid name.
    ItemName::new(RECORD_ITEM).unwrap_or_else(|_| record_item())
}

fn encode(record: &SessionRecord) -> Result<Vec<u8>, SessionError> {
    serde_json::to_vec(record).map_err(|e| SessionError::CorruptRecord(e.to_string()))
}

/// Reads a session's record; `None` if the session does not exist.
pub fn load(store: &dyn Storage, id: &SessionId) -> Result<Option<Session>, SessionError> {
    let Some(bytes) = store.get(&id.scope(), &record_item())? else {
        return Ok(None);
    };
    let record: SessionRecord =
        serde_json::from_slice(&bytes).map_err(|e| SessionError::CorruptRecord(e.to_string()))?;
    Ok(Some(Session {
        id: id.clone(),
        record,
    }))
}

/// Creates a new session with a fresh id. The record is written with a
/// conditional create, so an (astronomically unlikely) id collision can
/// never take over an existing session.
pub fn create(store: &dyn Storage, now: SystemTime) -> Result<Session, SessionError> {
    loop {
        let id = SessionId::generate();
        let record = SessionRecord::fresh(now);
        if store.create_new_scope(&id.scope(), &record_item(), &encode(&record)?)?
            == Created::Created
        {
            return Ok(Session { id, record });
        }
    }
}

/// Writes a record.
pub fn save(store: &dyn Storage, session: &Session) -> Result<(), SessionError> {
    Ok(store.put(
        &session.id.scope(),
        &record_item(),
        &encode(&session.record)?,
    )?)
}

/// What [`touch`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Touched {
    /// Within the coalescing interval: nothing written.
    NotDue,
    /// Last access written.
    Written,
    /// The session no longer exists (logged out, rotated, swept): nothing
    /// written, so it stays gone.
    Gone,
    /// Another request changed the record since it was loaded: nothing
    /// written; the session now holds the stored record.
    Changed,
}

/// Updates last access if at least `coalesce` has passed since the stored
/// value. The write is a compare-and-swap against the record as stored, so
/// it never brings back a session that a logout or an id rotation removed
/// meanwhile, nor overwrites another request's change.
pub fn touch(
    store: &dyn Storage,
    session: &mut Session,
    now: SystemTime,
    coalesce: Duration,
) -> Result<Touched, SessionError> {
    let now_ms = unix_ms(now);
    let coalesce_ms = u64::try_from(coalesce.as_millis()).unwrap_or(u64::MAX);
    if now_ms.saturating_sub(session.record.last_access_ms) < coalesce_ms {
        return Ok(Touched::NotDue);
    }
    let scope = session.id.scope();
    // The stored bytes, not a re-encoding: the swap compares bytes.
    let Some(stored) = store.get(&scope, &record_item())? else {
        return Ok(Touched::Gone);
    };
    let current: SessionRecord =
        serde_json::from_slice(&stored).map_err(|e| SessionError::CorruptRecord(e.to_string()))?;
    if current != session.record {
        session.record = current;
        return Ok(Touched::Changed);
    }
    let mut record = current;
    record.last_access_ms = now_ms;
    match store.compare_and_swap(&scope, &record_item(), &stored, &encode(&record)?)? {
        Swapped::Swapped => {
            session.record = record;
            Ok(Touched::Written)
        }
        Swapped::Missing => Ok(Touched::Gone),
        Swapped::Changed => Ok(Touched::Changed),
    }
}

/// Moves a session to a fresh id: the application's items are copied, the
/// record is rewritten by `change` with a new CSRF token, and the old scope
/// is removed. Whatever the old id was (including one planted by an
/// attacker), it no longer opens anything afterwards.
pub fn rotate(
    store: &dyn Storage,
    old: &Session,
    now: SystemTime,
    change: impl FnOnce(&mut SessionRecord),
) -> Result<Session, SessionError> {
    let (mut rotated, value) = rotation(old, now, change)?;
    loop {
        // A fresh 256-bit id never exists; the check makes sure of it.
        if store.move_scope(&old.id.scope(), &rotated.id.scope(), &record_item(), &value)?
            == Created::Created
        {
            return Ok(rotated);
        }
        rotated.id = SessionId::generate();
    }
}

/// The session a rotation makes (a new id, the changed record with a new
/// CSRF token) and the record's bytes, before anything is written.
pub(crate) fn rotation(
    old: &Session,
    now: SystemTime,
    change: impl FnOnce(&mut SessionRecord),
) -> Result<(Session, Vec<u8>), SessionError> {
    let mut record = old.record.clone();
    change(&mut record);
    record.csrf_token = new_csrf_token();
    record.last_access_ms = unix_ms(now);
    let value = encode(&record)?;
    Ok((
        Session {
            id: SessionId::generate(),
            record,
        },
        value,
    ))
}

/// Removes a session and its items.
pub fn destroy(store: &dyn Storage, id: &SessionId) -> Result<usize, SessionError> {
    Ok(store.remove_scope(&id.scope())?)
}

/// The application's items of one session. The handle holds one session's
/// scope, so nothing reachable through it belongs to another session.
#[derive(Debug)]
pub struct SessionItems<'a> {
    store: &'a dyn Storage,
    id: SessionId,
}

impl<'a> SessionItems<'a> {
    pub(crate) fn new(store: &'a dyn Storage, id: SessionId) -> SessionItems<'a> {
        SessionItems { store, id }
    }

    fn name(name: &str) -> Result<ItemName, SessionError> {
        if name == RECORD_ITEM {
            return Err(SessionError::ReservedItem);
        }
        ItemName::new(name).map_err(|e| SessionError::Storage(StoreError::Name(e)))
    }

    /// Reads an item.
    pub fn get(&self, name: &str) -> Result<Option<Vec<u8>>, SessionError> {
        Ok(self.store.get(&self.id.scope(), &Self::name(name)?)?)
    }

    /// Writes an item.
    pub fn put(&self, name: &str, value: &[u8]) -> Result<(), SessionError> {
        Ok(self
            .store
            .put(&self.id.scope(), &Self::name(name)?, value)?)
    }

    /// Deletes an item.
    pub fn delete(&self, name: &str) -> Result<(), SessionError> {
        Ok(self.store.delete(&self.id.scope(), &Self::name(name)?)?)
    }

    /// Lists the application's items (the record is not listed).
    pub fn list(&self) -> Result<Vec<ItemMeta>, SessionError> {
        Ok(self
            .store
            .list(&self.id.scope())?
            .into_iter()
            .filter(|m| m.name.as_str() != RECORD_ITEM)
            .collect())
    }
}

/// A session's short public tag: the first 8 characters of the base64url
/// SHA-256 of its id. Challenges name their session by the same tag, so the
/// dashboard can join them without ever showing an id.
pub fn session_tag(id: &SessionId) -> String {
    URL_SAFE_NO_PAD
        .encode(
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, id.expose().as_bytes()).as_ref(),
        )
        .chars()
        .take(8)
        .collect()
}

/// A session as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    /// The redacted id.
    pub id: String,
    /// The tag challenges refer to it by.
    pub tag: String,
    /// Created, ms since epoch.
    pub created_ms: u64,
    /// Last access, ms since epoch.
    pub last_access_ms: u64,
    /// When the idle limit removes it, ms since epoch.
    pub expires_ms: u64,
    /// The signed-in user, if any.
    pub user: Option<String>,
    /// Signed in?
    pub authenticated: bool,
    /// Application items stored (the record not counted).
    pub items: usize,
    /// Bytes stored, the record included.
    pub bytes: u64,
}

/// Every stored session, most recently used first.
pub fn list_sessions(
    store: &dyn Storage,
    idle_limit: Duration,
) -> Result<Vec<SessionView>, SessionError> {
    let mut out = Vec::new();
    for owner in store.owners(&session_store::Kind::sessions())? {
        let Ok(id) = SessionId::parse(owner.as_str()) else {
            continue;
        };
        let Some(session) = load(store, &id)? else {
            continue;
        };
        let items = store.list(&id.scope())?;
        out.push(SessionView {
            id: id.redacted(),
            tag: session_tag(&id),
            created_ms: session.record.created_ms,
            last_access_ms: session.record.last_access_ms,
            expires_ms: session
                .record
                .last_access_ms
                .saturating_add(u64::try_from(idle_limit.as_millis()).unwrap_or(u64::MAX)),
            user: session.record.user.clone(),
            authenticated: session.record.is_authenticated(),
            items: items
                .iter()
                .filter(|m| m.name.as_str() != RECORD_ITEM)
                .count(),
            bytes: items.iter().map(|m| m.size).sum(),
        });
    }
    out.sort_by_key(|s| std::cmp::Reverse(s.last_access_ms));
    Ok(out)
}
