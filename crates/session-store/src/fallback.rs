//! A remote store with a visible fallback to a local one.
//!
//! Every call goes to the primary (object storage). When it reports
//! [`StoreError::Unavailable`] (after its own retries), the call is served by
//! the local store instead, a warning is logged, and [`Storage::status`]
//! says `FallbackLocal { since, reason }` until the primary answers again.
//! While falling back, the primary is probed again at most once per
//! `retry_primary_after`.
//!
//! What a fallback means: items written during it live only in the local
//! directory and are not copied back; single-use consumption is atomic only
//! within this machine meanwhile. The status value makes that visible.

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
        self.mode.lock().map(|m| m.clone()).unwrap_or(Mode::Primary)
    }

    fn set_mode(&self, mode: Mode) {
        if let Ok(mut m) = self.mode.lock() {
            *m = mode;
        }
    }

    fn call<T>(&self, op: impl Fn(&dyn Storage) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let mode = self.mode();
        let try_primary = match &mode {
            Mode::Primary => true,
            Mode::Fallback { probe_at, .. } => Instant::now() >= *probe_at,
        };
        if !try_primary {
            return op(&*self.local);
        }
        match op(&*self.primary) {
            Err(StoreError::Unavailable { backend, reason }) => {
                let since = match mode {
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
                op(&*self.local)
            }
            other => {
                if matches!(mode, Mode::Fallback { .. }) {
                    tracing::warn!(
                        backend = self.primary.status().backend,
                        "remote storage is back: leaving the local fallback"
                    );
                    self.set_mode(Mode::Primary);
                }
                other
            }
        }
    }
}

impl Storage for FallbackStore {
    fn get(&self, scope: &Scope, item: &ItemName) -> Result<Option<Vec<u8>>, StoreError> {
        self.call(|s| s.get(scope, item))
    }
    fn put(&self, scope: &Scope, item: &ItemName, value: &[u8]) -> Result<(), StoreError> {
        self.call(|s| s.put(scope, item, value))
    }
    fn create(&self, scope: &Scope, item: &ItemName, value: &[u8]) -> Result<Created, StoreError> {
        self.call(|s| s.create(scope, item, value))
    }
    fn compare_and_swap(
        &self,
        scope: &Scope,
        item: &ItemName,
        expected: &[u8],
        value: &[u8],
    ) -> Result<Swapped, StoreError> {
        self.call(|s| s.compare_and_swap(scope, item, expected, value))
    }
    fn delete(&self, scope: &Scope, item: &ItemName) -> Result<(), StoreError> {
        self.call(|s| s.delete(scope, item))
    }
    fn list(&self, scope: &Scope) -> Result<Vec<ItemMeta>, StoreError> {
        self.call(|s| s.list(scope))
    }
    fn owners(&self, kind: &Kind) -> Result<Vec<OwnerId>, StoreError> {
        self.call(|s| s.owners(kind))
    }
    fn remove_scope(&self, scope: &Scope) -> Result<usize, StoreError> {
        self.call(|s| s.remove_scope(scope))
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
