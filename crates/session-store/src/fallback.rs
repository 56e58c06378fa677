//! A remote store with a visible fallback to a local one.
//!
//! Every scope lives on exactly one backend, so a ceremony (a challenge's
//! binding and its consumption, a session's record and its updates) never
//! reads on one and writes on the other:
//!
//! - A scope the local store holds (it was created there during an outage)
//!   is served by the local store, during the outage and after it, until it
//!   is removed. Nothing written during an outage disappears when the remote
//!   comes back, and cleanup sees those scopes ([`Storage::owners`] lists
//!   both stores' owners while the remote is up).
//! - Any other scope lives on the remote. While the remote is unavailable,
//!   reads of it find nothing, and writes to it (puts, conditional creates,
//!   compare-and-swap, deletes, moves) are refused with
//!   [`StoreError::Unavailable`] rather than served locally: a challenge
//!   issued on the remote cannot be marked used locally (and used again once
//!   the remote is back), and no account or credential index can be claimed
//!   locally while the remote holds it.
//! - A new scope with a freshly generated owner id
//!   ([`Storage::create_new_scope`]: a new session, a new challenge) is
//!   created locally while the remote is down; no other backend can hold it.
//!
//! When the remote reports [`StoreError::Unavailable`] (after its own
//! retries), a warning is logged and [`Storage::status`] says
//! `FallbackLocal { since, reason }` until it answers again; meanwhile it is
//! probed again at most once per `retry_primary_after`. Single-use
//! consumption of scopes created during an outage is atomic within this
//! machine only.

use crate::name::{ItemName, Kind, OwnerId, Scope};
use crate::storage::{
    BackendState, BackendStatus, Created, ItemMeta, Storage, StoreError, Swapped,
};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

#[derive(Debug, Clone)]
enum Mode {
    Primary,
    Fallback {
        since: SystemTime,
        reason: String,
        probe_at: Instant,
    },
}

/// What a call does to a scope that lives on the remote, for deciding
/// whether the local store may serve it during an outage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Reads: the local store answers (with nothing).
    Read,
    /// Creates a scope with a fresh random owner: the local store may hold it.
    Fresh,
    /// Any other write: refused during an outage.
    Write,
}

/// A primary store with a local fallback.
#[derive(Debug)]
pub struct FallbackStore {
    primary: Arc<dyn Storage>,
    local: Arc<dyn Storage>,
    retry_primary_after: Duration,
    mode: Mutex<Mode>,
}

impl FallbackStore {
    /// Wraps `primary`, falling back to `local`; the primary is probed again
    /// `retry_primary_after` after a failure.
    pub fn new(
        primary: Arc<dyn Storage>,
        local: Arc<dyn Storage>,
        retry_primary_after: Duration,
    ) -> FallbackStore {
        FallbackStore {
            primary,
            local,
            retry_primary_after,
            mode: Mutex::new(Mode::Primary),
        }
    }

    fn mode(&self) -> Mode {
        self.mode
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set_mode(&self, mode: Mode) {
        *self
            .mode
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = mode;
    }

    /// True when the primary should be tried: it is up, or a probe is due.
    fn primary_due(&self) -> bool {
        match self.mode() {
            Mode::Primary => true,
            Mode::Fallback { probe_at, .. } => Instant::now() >= probe_at,
        }
    }

    fn mark_down(&self, backend: &'static str, reason: &str) {
        let since = match self.mode() {
            Mode::Fallback { since, .. } => since,
            Mode::Primary => {
                tracing::warn!(
                    backend,
                    %reason,
                    local = %self.local.status().location,
                    "remote storage unavailable: falling back to local storage"
                );
                SystemTime::now()
            }
        };
        self.set_mode(Mode::Fallback {
            since,
            reason: format!("{backend}: {reason}"),
            probe_at: Instant::now() + self.retry_primary_after,
        });
    }

    fn mark_up(&self) {
        if matches!(self.mode(), Mode::Fallback { .. }) {
            tracing::warn!(
                backend = self.primary.status().backend,
                "remote storage is back: leaving the local fallback"
            );
            self.set_mode(Mode::Primary);
        }
    }

    /// The refusal of a write to a remote scope during an outage.
    fn refused(&self) -> StoreError {
        let reason = match self.mode() {
            Mode::Fallback { reason, .. } => reason,
            Mode::Primary => "unavailable".to_owned(),
        };
        StoreError::Unavailable {
            backend: self.primary.status().backend,
            reason: format!(
                "{reason}; this item lives on the remote storage, so it is not written locally"
            ),
        }
    }

    /// True if the local store holds `scope` (it was created there during
    /// an outage), so it is served there.
    fn is_local(&self, scope: &Scope) -> Result<bool, StoreError> {
        Ok(!self.local.list(scope)?.is_empty())
    }

    /// Runs `op` on the backend `scope` lives on.
    fn scoped<T>(
        &self,
        scope: &Scope,
        access: Access,
        op: impl Fn(&dyn Storage) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.is_local(scope)? {
            return op(&*self.local);
        }
        if !self.primary_due() {
            return match access {
                Access::Read | Access::Fresh => op(&*self.local),
                Access::Write => Err(self.refused()),
            };
        }
        match op(&*self.primary) {
            Err(StoreError::Unavailable { backend, reason }) => {
                self.mark_down(backend, &reason);
                match access {
                    Access::Read | Access::Fresh => op(&*self.local),
                    Access::Write => Err(self.refused()),
                }
            }
            other => {
                self.mark_up();
                other
            }
        }
    }
}

impl Storage for FallbackStore {
    fn get(&self, scope: &Scope, item: &ItemName) -> Result<Option<Vec<u8>>, StoreError> {
        self.scoped(scope, Access::Read, |s| s.get(scope, item))
    }
    fn put(&self, scope: &Scope, item: &ItemName, value: &[u8]) -> Result<(), StoreError> {
        self.scoped(scope, Access::Write, |s| s.put(scope, item, value))
    }
    fn create(&self, scope: &Scope, item: &ItemName, value: &[u8]) -> Result<Created, StoreError> {
        self.scoped(scope, Access::Write, |s| s.create(scope, item, value))
    }
    fn create_new_scope(
        &self,
        scope: &Scope,
        item: &ItemName,
        value: &[u8],
    ) -> Result<Created, StoreError> {
        self.scoped(scope, Access::Fresh, |s| s.create(scope, item, value))
    }
    fn compare_and_swap(
        &self,
        scope: &Scope,
        item: &ItemName,
        expected: &[u8],
        value: &[u8],
    ) -> Result<Swapped, StoreError> {
        self.scoped(scope, Access::Write, |s| {
            s.compare_and_swap(scope, item, expected, value)
        })
    }
    fn delete(&self, scope: &Scope, item: &ItemName) -> Result<(), StoreError> {
        self.scoped(scope, Access::Write, |s| s.delete(scope, item))
    }
    fn list(&self, scope: &Scope) -> Result<Vec<ItemMeta>, StoreError> {
        self.scoped(scope, Access::Read, |s| s.list(scope))
    }
    /// Both stores' owners while the remote is up (scopes created during an
    /// outage live on locally); the local ones alone during an outage.
    fn owners(&self, kind: &Kind) -> Result<Vec<OwnerId>, StoreError> {
        let mut owners = self.local.owners(kind)?;
        if self.primary_due() {
            match self.primary.owners(kind) {
                Ok(remote) => {
                    self.mark_up();
                    for o in remote {
                        if !owners.contains(&o) {
                            owners.push(o);
                        }
                    }
                }
                Err(StoreError::Unavailable { backend, reason }) => {
                    self.mark_down(backend, &reason);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(owners)
    }
    fn remove_scope(&self, scope: &Scope) -> Result<usize, StoreError> {
        self.scoped(scope, Access::Write, |s| s.remove_scope(scope))
    }
    /// The move happens on the backend `from` lives on (the new owner is
    /// fresh, so it lives there too).
    fn move_scope(
        &self,
        from: &Scope,
        to: &Scope,
        item: &ItemName,
        value: &[u8],
    ) -> Result<Created, StoreError> {
        self.scoped(from, Access::Write, |s| s.move_scope(from, to, item, value))
    }
    fn status(&self) -> BackendStatus {
        let primary = self.primary.status();
        match self.mode() {
            Mode::Primary => primary,
            Mode::Fallback { since, reason, .. } => BackendStatus {
                backend: primary.backend,
                location: format!(
                    "{} (falling back to {})",
                    primary.location,
                    self.local.status().location
                ),
                state: BackendState::FallbackLocal { since, reason },
            },
        }
    }
}
