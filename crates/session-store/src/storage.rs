//! The storage trait every backend implements, its error enum and the
//! status value a UI shows.

use crate::name::{ItemName, Kind, NameError, OwnerId, Scope};
use std::fmt;
use std::time::SystemTime;

/// Largest item value accepted by default (1 MiB): sessions hold small JSON
/// records and uploaded metadata statements, credentials a few KB.
pub const DEFAULT_MAX_ITEM_BYTES: usize = 1 << 20;

/// What went wrong in a storage call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A name was refused before storage was touched.
    #[error("invalid name: {0}")]
    Name(#[from] NameError),
    /// A value exceeds the backend's item size limit.
    #[error("item of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// The value's length.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// The backend could not be reached (network, 5xx, timeout after the
    /// retries). A fallback store switches to local storage on this one.
    #[error("{backend} is unavailable: {reason}")]
    Unavailable {
        /// Which backend.
        backend: &'static str,
        /// Why, as the backend reported it.
        reason: String,
    },
    /// The backend refused access (credentials, permissions).
    #[error("{backend} refused access: {reason}")]
    Denied {
        /// Which backend.
        backend: &'static str,
        /// Why.
        reason: String,
    },
    /// The backend cannot do this operation as configured (for example an
    /// S3-compatible service without conditional writes).
    #[error("{backend} does not support this operation: {reason}")]
    Unsupported {
        /// Which backend.
        backend: &'static str,
        /// Why.
        reason: String,
    },
    /// A local file system error.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The path involved.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The storage root is unsafe to use (for example a symlink where a
    /// directory is expected).
    #[error("unsafe storage layout: {0}")]
    Unsafe(String),
    /// A scope move found nothing to move: the scope was removed meanwhile
    /// (a session's logout racing its id rotation).
    #[error("the scope was removed meanwhile; nothing was moved")]
    ScopeGone,
}

/// Owner ids shorter than this are not secrets (and replacing them would
/// garble the text), so errors show them as they are.
const REDACT_MIN_LEN: usize = 16;

/// Whether an I/O error is the file system out of space (ENOSPC, or
/// EDQUOT: out of quota).
pub fn is_out_of_space(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull
        || e.kind() == std::io::ErrorKind::QuotaExceeded
        || matches!(e.raw_os_error(), Some(28 | 122))
}

impl StoreError {
    /// Whether the storage is out of space (a disk or quota full): the
    /// write was not made, and may succeed once space returns.
    pub fn is_full(&self) -> bool {
        matches!(self, StoreError::Io { source, .. } if is_out_of_space(source))
    }

    /// This error with `scope`'s owner id replaced by its redacted tag
    /// wherever it appears (paths, keys, a service's message, the OS error's
    /// text): errors reach logs and, as internal errors, clients, and a
    /// session id is a bearer secret.
    pub(crate) fn redact(self, scope: &Scope) -> StoreError {
        let id = scope.owner.as_str();
        if id.len() < REDACT_MIN_LEN {
            return self;
        }
        let tag = scope.owner.redacted();
        let clean = |s: String| {
            if s.contains(id) {
                s.replace(id, &tag)
            } else {
                s
            }
        };
        match self {
            StoreError::Unavailable { backend, reason } => StoreError::Unavailable {
                backend,
                reason: clean(reason),
            },
            StoreError::Denied { backend, reason } => StoreError::Denied {
                backend,
                reason: clean(reason),
            },
            StoreError::Unsupported { backend, reason } => StoreError::Unsupported {
                backend,
                reason: clean(reason),
            },
            StoreError::Io { op, path, source } => {
                let text = source.to_string();
                let source = if text.contains(id) {
                    std::io::Error::new(source.kind(), clean(text))
                } else {
                    source
                };
                StoreError::Io {
                    op,
                    path: clean(path),
                    source,
                }
            }
            StoreError::Unsafe(m) => StoreError::Unsafe(clean(m)),
            other @ (StoreError::Name(_) | StoreError::TooLarge { .. } | StoreError::ScopeGone) => {
                other
            }
        }
    }
}

/// Redacts the owner id of `scope` in a call's error.
pub(crate) trait RedactErr<T> {
    /// See [`StoreError::redact`].
    fn redact(self, scope: &Scope) -> Result<T, StoreError>;
}

impl<T> RedactErr<T> for Result<T, StoreError> {
    fn redact(self, scope: &Scope) -> Result<T, StoreError> {
        self.map_err(|e| e.redact(scope))
    }
}

/// Refuses a value over a backend's item size limit (every backend checks
/// before writing, and the local ones again when reading).
pub(crate) fn check_size(len: usize, max: usize) -> Result<(), StoreError> {
    if len > max {
        return Err(StoreError::TooLarge {
            len: len as u64,
            max,
        });
    }
    Ok(())
}

/// Result of a conditional create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Created {
    /// The item did not exist and now holds the value.
    Created,
    /// The item already existed; nothing was written.
    AlreadyExists,
}

/// Result of a compare-and-swap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Swapped {
    /// The item held the expected value and now holds the new one.
    Swapped,
    /// The item holds another value; nothing was written.
    Changed,
    /// The item does not exist; nothing was written (it is never re-created).
    Missing,
}

/// One write of a [`Storage::commit_batch`], with the condition it needs.
#[derive(Debug, Clone, Copy)]
pub enum BatchWrite<'a> {
    /// Writes `value` only if `item` does not exist (a single-use
    /// consumption's mark).
    Create {
        /// The item's scope.
        scope: &'a Scope,
        /// The item.
        item: &'a ItemName,
        /// Its value.
        value: &'a [u8],
    },
    /// Replaces `item` only if it holds exactly `expected`.
    Swap {
        /// The item's scope.
        scope: &'a Scope,
        /// The item.
        item: &'a ItemName,
        /// The bytes it must hold.
        expected: &'a [u8],
        /// Its new value.
        value: &'a [u8],
    },
    /// Moves scope `from` to `to`, as [`Storage::move_scope`] does.
    MoveScope {
        /// The scope that goes.
        from: &'a Scope,
        /// Its new owner.
        to: &'a Scope,
        /// The item written to `to` with `value`.
        item: &'a ItemName,
        /// Its value.
        value: &'a [u8],
    },
}

impl BatchWrite<'_> {
    /// The scopes the write touches.
    fn scopes(&self) -> impl Iterator<Item = &Scope> {
        let (first, second) = match self {
            BatchWrite::Create { scope, .. } | BatchWrite::Swap { scope, .. } => (*scope, None),
            BatchWrite::MoveScope { from, to, .. } => (*from, Some(*to)),
        };
        std::iter::once(first).chain(second)
    }

    /// The value's length, for the size limit.
    pub(crate) fn value_len(&self) -> usize {
        match self {
            BatchWrite::Create { value, .. }
            | BatchWrite::Swap { value, .. }
            | BatchWrite::MoveScope { value, .. } => value.len(),
        }
    }
}

/// Why a batch's write could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchRefusal {
    /// A create's item, or a move's item in the new scope, exists already.
    Exists,
    /// A swap's item holds another value.
    Changed,
    /// A swap's item does not exist.
    Missing,
    /// A move's scope was removed meanwhile.
    ScopeGone,
}

/// Result of a [`Storage::commit_batch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum BatchOutcome {
    /// Every write was made.
    Committed,
    /// The write at `index` could not be made (see [`Storage::commit_batch`]
    /// for what happened to the others).
    Refused {
        /// Its position in the batch.
        index: usize,
        /// Why.
        why: BatchRefusal,
    },
}

/// Refuses a batch whose writes share a scope (their conditions are checked
/// against the state before the batch, which is only sound when no write
/// changes what another checks), or holding a value over `max`.
pub(crate) fn check_batch(writes: &[BatchWrite<'_>], max: usize) -> Result<(), StoreError> {
    let mut seen: Vec<&Scope> = Vec::new();
    for w in writes {
        check_size(w.value_len(), max)?;
        for scope in w.scopes() {
            if seen.contains(&scope) {
                return Err(StoreError::Unsupported {
                    backend: "batch",
                    reason: "the writes of one batch must touch distinct scopes".to_owned(),
                });
            }
            seen.push(scope);
        }
    }
    Ok(())
}

/// [`Storage::commit_batch`] one write at a time, for backends without
/// transactions: stops at the first refused write, the earlier ones stay.
fn commit_batch_in_steps<S: Storage + ?Sized>(
    store: &S,
    writes: &[BatchWrite<'_>],
) -> Result<BatchOutcome, StoreError> {
    check_batch(writes, usize::MAX)?;
    for (index, write) in writes.iter().enumerate() {
        let refused = match *write {
            BatchWrite::Create { scope, item, value } => (store.create(scope, item, value)?
                == Created::AlreadyExists)
                .then_some(BatchRefusal::Exists),
            BatchWrite::Swap {
                scope,
                item,
                expected,
                value,
            } => match store.compare_and_swap(scope, item, expected, value)? {
                Swapped::Swapped => None,
                Swapped::Changed => Some(BatchRefusal::Changed),
                Swapped::Missing => Some(BatchRefusal::Missing),
            },
            BatchWrite::MoveScope {
                from,
                to,
                item,
                value,
            } => match store.move_scope(from, to, item, value) {
                Ok(Created::Created) => None,
                Ok(Created::AlreadyExists) => Some(BatchRefusal::Exists),
                Err(StoreError::ScopeGone) => Some(BatchRefusal::ScopeGone),
                Err(e) => return Err(e),
            },
        };
        if let Some(why) = refused {
            return Ok(BatchOutcome::Refused { index, why });
        }
    }
    Ok(BatchOutcome::Committed)
}

/// One item as a listing reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemMeta {
    /// The item's name.
    pub name: ItemName,
    /// Its size in bytes.
    pub size: u64,
    /// When the backend last wrote it, if it says.
    pub modified: Option<SystemTime>,
}

/// Where items live right now, for a status display.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendState {
    /// The configured backend serves every call.
    Primary,
    /// The remote backend failed; calls go to the local fallback.
    FallbackLocal {
        /// When the fallback began.
        since: SystemTime,
        /// The error that caused it.
        reason: String,
    },
}

/// A storage backend's status value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendStatus {
    /// Backend name: `local`, `gcs`, `s3`.
    pub backend: &'static str,
    /// Where it stores (a directory or `gs://bucket/prefix`).
    pub location: String,
    /// Primary or falling back.
    pub state: BackendState,
}

/// The one storage abstraction: namespaced items per owner (session, account,
/// challenge). Every call names its [`Scope`], so no scope can reach
/// another's items. Implementations are blocking; async servers call them
/// from a blocking thread pool.
pub trait Storage: Send + Sync + fmt::Debug {
    /// Reads an item; `None` if it does not exist.
    fn get(&self, scope: &Scope, item: &ItemName) -> Result<Option<Vec<u8>>, StoreError>;

    /// Writes an item, replacing any previous value atomically: a reader sees
    /// the old value or the new one, never a mix.
    fn put(&self, scope: &Scope, item: &ItemName, value: &[u8]) -> Result<(), StoreError>;

    /// Writes an item only if it does not exist. Atomic across processes
    /// sharing the backend: of concurrent creates, exactly one gets
    /// [`Created::Created`]. This is the primitive for single-use consumption.
    fn create(&self, scope: &Scope, item: &ItemName, value: &[u8]) -> Result<Created, StoreError>;

    /// Creates the first item of a scope whose owner id the caller has just
    /// generated at random (a new session, a new challenge), so no other
    /// backend can hold that scope. Same result as [`Storage::create`]; a
    /// [`crate::FallbackStore`] may serve it locally while its remote is
    /// down, which it never does for a scope that may live on the remote.
    fn create_new_scope(
        &self,
        scope: &Scope,
        item: &ItemName,
        value: &[u8],
    ) -> Result<Created, StoreError> {
        self.create(scope, item, value)
    }

    /// Replaces an item only if it still holds exactly `expected`. Atomic
    /// across processes sharing the backend: of concurrent swaps from the
    /// same value, one gets [`Swapped::Swapped`]. A missing item stays
    /// missing, so an update cannot bring back what a delete, a scope
    /// removal or a scope move just removed.
    fn compare_and_swap(
        &self,
        scope: &Scope,
        item: &ItemName,
        expected: &[u8],
        value: &[u8],
    ) -> Result<Swapped, StoreError>;

    /// Deletes an item; deleting a missing item is not an error.
    fn delete(&self, scope: &Scope, item: &ItemName) -> Result<(), StoreError>;

    /// Lists a scope's items (empty if the scope does not exist).
    fn list(&self, scope: &Scope) -> Result<Vec<ItemMeta>, StoreError>;

    /// Lists the owners that have a scope of `kind`.
    fn owners(&self, kind: &Kind) -> Result<Vec<OwnerId>, StoreError>;

    /// Removes a scope and every item in it; returns how many items went.
    fn remove_scope(&self, scope: &Scope) -> Result<usize, StoreError>;

    /// The backend's status for a UI.
    fn status(&self) -> BackendStatus;

    /// Removes many scopes (a cleanup sweep's batch); one result per scope,
    /// in order. This default removes them one by one; backends with
    /// transactions remove them all in one.
    fn remove_scopes(&self, scopes: &[Scope]) -> Vec<Result<usize, StoreError>> {
        scopes.iter().map(|s| self.remove_scope(s)).collect()
    }

    /// Moves a scope to a new owner (a session's id rotation): `item` is
    /// written to `to` with `value` unless it exists there already (then
    /// nothing changes and [`Created::AlreadyExists`] is returned), every
    /// other item of `from` is copied to `to`, and `from` is removed. When
    /// `from` no longer holds `item` (it was removed meanwhile) nothing is
    /// written and the answer is [`StoreError::ScopeGone`]: a move never
    /// brings back a removed scope under a new owner.
    ///
    /// This default does it in steps, ordered so that the new scope is
    /// complete before the old one goes; backends with transactions do it
    /// in one.
    fn move_scope(
        &self,
        from: &Scope,
        to: &Scope,
        item: &ItemName,
        value: &[u8],
    ) -> Result<Created, StoreError> {
        move_scope_in_steps(self, from, to, item, value)
    }

    /// Makes several conditional writes as one: a completed ceremony's
    /// challenge consumption, counter update and session rotation. The
    /// writes must touch distinct scopes (else [`StoreError::Unsupported`]).
    ///
    /// Backends with transactions (the embedded store) check every write's
    /// condition and make all of them, or none, in one durable commit; the
    /// answer then names the first write whose condition failed. This
    /// default makes them one by one, in order, and stops at the first
    /// refused one: the writes before it stay. Either way a refused write
    /// was not made, so putting the deciding write first (a single-use
    /// consumption) keeps it decisive on every backend.
    fn commit_batch(&self, writes: &[BatchWrite<'_>]) -> Result<BatchOutcome, StoreError> {
        commit_batch_in_steps(self, writes)
    }
}

/// [`Storage::move_scope`] in steps, for backends without transactions.
fn move_scope_in_steps<S: Storage + ?Sized>(
    store: &S,
    from: &Scope,
    to: &Scope,
    item: &ItemName,
    value: &[u8],
) -> Result<Created, StoreError> {
    if store.get(to, item)?.is_some() {
        return Ok(Created::AlreadyExists);
    }
    // Without a transaction this check and the create are two steps; the
    // embedded store (the default) makes them one.
    if store.get(from, item)?.is_none() {
        return Err(StoreError::ScopeGone);
    }
    if store.create(to, item, value)? == Created::AlreadyExists {
        return Ok(Created::AlreadyExists);
    }
    for meta in store.list(from)? {
        if meta.name == *item {
            continue;
        }
        if let Some(v) = store.get(from, &meta.name)? {
            store.put(to, &meta.name, &v)?;
        }
    }
    store.remove_scope(from)?;
    Ok(Created::Created)
}

/// What a storage backend implements: [`Storage`]'s operations as the
/// backend makes them, whose errors may name an owner id in full (a path,
/// a database key, an object URL). [`Storage`] is implemented once, for
/// every backend, on top of these: the same calls with those ids redacted.
pub(crate) trait Backend: Send + Sync + fmt::Debug {
    fn raw_get(&self, scope: &Scope, item: &ItemName) -> Result<Option<Vec<u8>>, StoreError>;
    fn raw_put(&self, scope: &Scope, item: &ItemName, value: &[u8]) -> Result<(), StoreError>;
    fn raw_create(
        &self,
        scope: &Scope,
        item: &ItemName,
        value: &[u8],
    ) -> Result<Created, StoreError>;
    fn raw_compare_and_swap(
        &self,
        scope: &Scope,
        item: &ItemName,
        expected: &[u8],
        value: &[u8],
    ) -> Result<Swapped, StoreError>;
    fn raw_delete(&self, scope: &Scope, item: &ItemName) -> Result<(), StoreError>;
    fn raw_list(&self, scope: &Scope) -> Result<Vec<ItemMeta>, StoreError>;
    fn raw_owners(&self, kind: &Kind) -> Result<Vec<OwnerId>, StoreError>;
    fn raw_remove_scope(&self, scope: &Scope) -> Result<usize, StoreError>;
    fn raw_status(&self) -> BackendStatus;

    /// Many scopes at once, when the backend has a transaction for it.
    fn raw_remove_scopes(&self, _scopes: &[Scope]) -> Option<Vec<Result<usize, StoreError>>> {
        None
    }

    /// A batch in one transaction, when the backend has one.
    fn raw_commit_batch(
        &self,
        _writes: &[BatchWrite<'_>],
    ) -> Option<Result<BatchOutcome, StoreError>> {
        None
    }

    /// A scope move in one step, when the backend has a transaction for it.
    fn raw_move_scope(
        &self,
        _from: &Scope,
        _to: &Scope,
        _item: &ItemName,
        _value: &[u8],
    ) -> Option<Result<Created, StoreError>> {
        None
    }
}

impl<B: Backend> Storage for B {
    fn get(&self, scope: &Scope, item: &ItemName) -> Result<Option<Vec<u8>>, StoreError> {
        self.raw_get(scope, item).redact(scope)
    }

    fn put(&self, scope: &Scope, item: &ItemName, value: &[u8]) -> Result<(), StoreError> {
        self.raw_put(scope, item, value).redact(scope)
    }

    fn create(&self, scope: &Scope, item: &ItemName, value: &[u8]) -> Result<Created, StoreError> {
        self.raw_create(scope, item, value).redact(scope)
    }

    fn compare_and_swap(
        &self,
        scope: &Scope,
        item: &ItemName,
        expected: &[u8],
        value: &[u8],
    ) -> Result<Swapped, StoreError> {
        self.raw_compare_and_swap(scope, item, expected, value)
            .redact(scope)
    }

    fn delete(&self, scope: &Scope, item: &ItemName) -> Result<(), StoreError> {
        self.raw_delete(scope, item).redact(scope)
    }

    fn list(&self, scope: &Scope) -> Result<Vec<ItemMeta>, StoreError> {
        self.raw_list(scope).redact(scope)
    }

    fn owners(&self, kind: &Kind) -> Result<Vec<OwnerId>, StoreError> {
        self.raw_owners(kind)
    }

    fn remove_scope(&self, scope: &Scope) -> Result<usize, StoreError> {
        self.raw_remove_scope(scope).redact(scope)
    }

    fn status(&self) -> BackendStatus {
        self.raw_status()
    }

    fn remove_scopes(&self, scopes: &[Scope]) -> Vec<Result<usize, StoreError>> {
        match self.raw_remove_scopes(scopes) {
            Some(results) => results
                .into_iter()
                .zip(scopes)
                .map(|(r, s)| r.redact(s))
                .collect(),
            None => scopes.iter().map(|s| self.remove_scope(s)).collect(),
        }
    }

    fn move_scope(
        &self,
        from: &Scope,
        to: &Scope,
        item: &ItemName,
        value: &[u8],
    ) -> Result<Created, StoreError> {
        match self.raw_move_scope(from, to, item, value) {
            Some(r) => r.redact(from).redact(to),
            None => move_scope_in_steps(self, from, to, item, value),
        }
    }

    fn commit_batch(&self, writes: &[BatchWrite<'_>]) -> Result<BatchOutcome, StoreError> {
        match self.raw_commit_batch(writes) {
            Some(r) => writes
                .iter()
                .flat_map(BatchWrite::scopes)
                .fold(r, |r, scope| r.redact(scope)),
            None => commit_batch_in_steps(self, writes),
        }
    }
}
