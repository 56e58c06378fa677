//! The embedded backend: every item in one redb database file, with group
//! commit. The server's default local storage.
//!
//! Why not one file per item ([`crate::LocalStore`])? Under load every
//! ceremony creates and deletes several small files and directories, and each
//! write pays its own fsync: measured on this project's machines, ext4 inode
//! allocation and per-file fsyncs took 78% of the server's time. Here all
//! items live in one B-tree file and writes are committed in groups: a single
//! writer thread takes every write waiting at that moment, applies them in one
//! transaction and makes it durable with one fsync, then answers each caller.
//! A caller's write has returned only once it is durable, exactly as with the
//! file backend; concurrent callers share the fsync instead of queueing for
//! one each. Reads are lock-free MVCC snapshots and never wait for writers.
//!
//! Crash safety is redb's: a commit is all or nothing (checksummed pages,
//! copy-on-write), so a killed process leaves the last committed state.
//! The file is created 0600 in a 0700 directory and locked: a second process
//! opening the same store gets a clear error instead of corrupting it.
//!
//! Layout: one table, key `kind/owner/item` (names exclude `/`, so the
//! ordering groups each scope, and each kind, into one contiguous range),
//! value = 8-byte little-endian modification time (Unix ms) then the bytes.

use crate::local::{io_err, private_dir};
use crate::name::{ItemName, Kind, OwnerId, Scope};
use crate::storage::Backend;
use crate::storage::{
    BackendState, BackendStatus, BatchOutcome, BatchRefusal, BatchWrite, Created,
    DEFAULT_MAX_ITEM_BYTES, ItemMeta, Storage, StoreError, Swapped, check_batch, check_size,
};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const ITEMS: TableDefinition<&str, &[u8]> = TableDefinition::new("items");

/// Most writes one group commit takes (bounds a transaction's size and the
/// latency of the first caller in it).
const MAX_GROUP: usize = 512;

/// Value bytes after which a group takes no more writes (a soft cap: the
/// write that crosses it is still in), so a burst of large items is
/// committed in several transactions rather than one huge one.
const MAX_GROUP_BYTES: usize = 16 << 20;

/// The database file's name inside the store directory.
pub const DATABASE_FILE: &str = "store.redb";

/// Options of an [`EmbeddedStore`].
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    /// Largest item accepted.
    pub max_item_bytes: usize,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        EmbeddedOptions {
            max_item_bytes: DEFAULT_MAX_ITEM_BYTES,
        }
    }
}

/// One write waiting for its group commit.
enum Write {
    Put {
        key: String,
        value: Vec<u8>,
    },
    Create {
        key: String,
        value: Vec<u8>,
    },
    Swap {
        key: String,
        expected: Vec<u8>,
        value: Vec<u8>,
    },
    Delete {
        key: String,
    },
    RemoveScope {
        prefix: String,
    },
    RemoveScopes {
        prefixes: Vec<String>,
    },
    MoveScope {
        from: String,
        to: String,
        key: String,
        value: Vec<u8>,
    },
    /// Conditional writes (each a Create, Swap or MoveScope) made all or
    /// none.
    Batch(Vec<Write>),
}

impl Write {
    /// The bytes the write stores.
    fn value_len(&self) -> usize {
        match self {
            Write::Put { value, .. }
            | Write::Create { value, .. }
            | Write::Swap { value, .. }
            | Write::MoveScope { value, .. } => value.len(),
            Write::Delete { .. } | Write::RemoveScope { .. } | Write::RemoveScopes { .. } => 0,
            Write::Batch(writes) => writes.iter().map(Write::value_len).sum(),
        }
    }
}

enum Done {
    /// A scope move found no source item: the scope was removed meanwhile.
    Gone,
    Written,
    Created(Created),
    Swapped(Swapped),
    Removed(usize),
    RemovedEach(Vec<usize>),
    Batch(BatchOutcome),
}

struct Job {
    write: Write,
    reply: SyncSender<Result<Done, StoreError>>,
}

/// Items in one redb file, written by group commit.
pub struct EmbeddedStore {
    path: PathBuf,
    options: EmbeddedOptions,
    db: Arc<DbSlot>,
    // In a Mutex so that `close(&self)` can drop the sender (which ends the
    // writer thread); held for one send at a time.
    writer: Mutex<Option<Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn db_err(op: &'static str, path: &Path) -> impl Fn(String) -> StoreError {
    let path = path.display().to_string();
    move |reason| StoreError::Io {
        op,
        path: path.clone(),
        source: std::io::Error::other(reason),
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn scope_prefix(scope: &Scope) -> String {
    format!("{}/{}/", scope.kind.as_str(), scope.owner.as_str())
}

fn key(scope: &Scope, item: &ItemName) -> String {
    format!("{}{}", scope_prefix(scope), item.as_str())
}

/// The exclusive upper bound of every key starting with `prefix` (which
/// ends in `/`): `/` + 1 is `0`.
fn prefix_end(prefix: &str) -> String {
    let mut end = prefix.to_owned();
    end.pop();
    end.push('0');
    end
}

fn stamped(value: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + value.len());
    v.extend_from_slice(&now_ms().to_le_bytes());
    v.extend_from_slice(value);
    v
}

/// Splits a stored value into its modification time and the item's bytes.
fn unstamp(stored: &[u8]) -> Option<(u64, &[u8])> {
    let (time, value) = stored.split_first_chunk::<8>()?;
    Some((u64::from_le_bytes(*time), value))
}

impl EmbeddedStore {
    /// Opens (creating if needed) the store in directory `dir` with default
    /// options.
    pub fn open(dir: impl Into<PathBuf>) -> Result<EmbeddedStore, StoreError> {
        Self::open_with(dir, EmbeddedOptions::default())
    }

    /// Opens the store in `dir` with explicit options.
    pub fn open_with(
        dir: impl Into<PathBuf>,
        options: EmbeddedOptions,
    ) -> Result<EmbeddedStore, StoreError> {
        let dir = dir.into();
        private_dir(&dir)?;
        let path = dir.join(DATABASE_FILE);
        // Create it 0600 ourselves (redb would use the umask), never through
        // a planted symlink.
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(io_err("create", &path))?;
        // The file's directory entry must survive a power loss too.
        std::fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err("fsync directory", &dir))?;
        let db = Database::create(&path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Unsafe(format!(
                "{} is in use by another process: one Keybench server at a time can use a data directory (stop the other one, or give this one another data directory)",
                path.display()
            )),
            other => db_err("open", &path)(other.to_string()),
        })?;
        let db = Arc::new(db);
        // The table exists from the start, so readers never see it missing.
        let txn = db
            .begin_write()
            .map_err(|e| db_err("open", &path)(e.to_string()))?;
        txn.open_table(ITEMS)
            .map_err(|e| db_err("open", &path)(e.to_string()))?;
        txn.commit()
            .map_err(|e| db_err("open", &path)(e.to_string()))?;

        let db = Arc::new(DbSlot {
            path: path.clone(),
            db: RwLock::new(Some(db)),
            failed_full: AtomicBool::new(false),
        });
        let (tx, rx) = mpsc::channel();
        let writer_db = Arc::clone(&db);
        let writer_path = path.clone();
        let thread = std::thread::Builder::new()
            .name("store-writer".to_owned())
            .spawn(move || group_commit_loop(&writer_db, &writer_path, &rx))
            .map_err(io_err("start the writer thread", &path))?;
        Ok(EmbeddedStore {
            path,
            options,
            db,
            writer: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Imports what a one-file-per-item store ([`crate::LocalStore`], the
    /// server's local layout before this store) left in this store's
    /// directory: every `<kind>/<owner>/<item>` is created here unless an
    /// item of that name exists already, then each imported kind's directory
    /// is renamed to `.imported-<time>-<kind>` (kept, never deleted; the
    /// leading dot keeps it out of any store). Returns how many items were
    /// imported; a directory without that layout imports nothing.
    pub fn adopt_file_layout(&self) -> Result<usize, StoreError> {
        let Some(dir) = self.path.parent() else {
            return Ok(0);
        };
        let mut kinds = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io_err("list", dir))? {
            let entry = entry.map_err(io_err("list", dir))?;
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if let (true, Some(kind)) = (
                is_dir,
                entry.file_name().to_str().and_then(|n| Kind::new(n).ok()),
            ) {
                kinds.push(kind);
            }
        }
        if kinds.is_empty() {
            return Ok(0);
        }
        let files = crate::LocalStore::open(dir)?;
        let mut imported = 0;
        for kind in &kinds {
            for owner in files.owners(kind)? {
                let scope = Scope::new(kind.clone(), owner);
                for meta in files.list(&scope)? {
                    if let Some(value) = files.get(&scope, &meta.name)?
                        && self.create(&scope, &meta.name, &value)? == Created::Created
                    {
                        imported += 1;
                    }
                }
            }
            let from = dir.join(kind.as_str());
            let to = dir.join(format!(".imported-{}-{}", now_ms(), kind.as_str()));
            std::fs::rename(&from, &to).map_err(io_err("rename", &from))?;
        }
        tracing::info!(dir = %dir.display(), imported, "imported the items of the one-file-per-item layout");
        Ok(imported)
    }

    /// The writer answered with another operation's result: a bug, reported
    /// as an error rather than guessed at (a guessed "created" would break
    /// single-use consumption).
    fn mismatched(&self) -> StoreError {
        db_err("write", &self.path)("the store's writer gave a mismatched answer".to_owned())
    }

    fn closed(&self) -> StoreError {
        db_err("write", &self.path)("the store is closed".to_owned())
    }

    /// Hands a write to the writer thread and waits until it is durable.
    fn write(&self, write: Write) -> Result<Done, StoreError> {
        let (reply, answer) = mpsc::sync_channel(1);
        {
            let guard = self.writer.lock().map_err(|_| self.closed())?;
            let sender = guard.as_ref().ok_or_else(|| self.closed())?;
            sender
                .send(Job { write, reply })
                .map_err(|_| self.closed())?;
        }
        answer.recv().map_err(|_| self.closed())?
    }

    fn read<T>(
        &self,
        f: impl FnOnce(
            &redb::ReadOnlyTable<&'static str, &'static [u8]>,
        ) -> Result<T, redb::StorageError>,
    ) -> Result<T, StoreError> {
        let err = db_err("read", &self.path);
        let db = self.db.current().map_err(&err)?;
        let txn = db.begin_read().map_err(|e| err(e.to_string()))?;
        let table = txn.open_table(ITEMS).map_err(|e| err(e.to_string()))?;
        f(&table).map_err(|e| err(e.to_string()))
    }

    /// Stops the writer after the writes already handed to it are committed.
    /// Later writes fail; reads keep working. Also done on drop.
    pub fn close(&self) {
        {
            let mut w = self
                .writer
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            w.take();
        }
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(t) = thread {
            let _ = t.join();
        }
    }
}

impl Drop for EmbeddedStore {
    fn drop(&mut self) {
        self.close();
    }
}

/// The writer thread: waits for a write, takes every other one already
/// queued (up to [`MAX_GROUP`]), commits them as one durable transaction and
/// answers each. Ends when the store is closed and the queue is empty.
fn group_commit_loop(db: &DbSlot, path: &Path, rx: &Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut bytes = first.write.value_len();
        let mut group = vec![first];
        while group.len() < MAX_GROUP && bytes < MAX_GROUP_BYTES {
            match rx.try_recv() {
                Ok(job) => {
                    bytes += job.write.value_len();
                    group.push(job);
                }
                Err(_) => break,
            }
        }
        let outcome = match db.current() {
            Ok(handle) => commit_group(&handle, &group),
            // Closed after an I/O failure that a reopen could not mend yet.
            Err(reason) => Err(CommitFailure {
                reason,
                full: db.failed_full.load(Ordering::Relaxed),
                io: true,
            }),
        };
        match outcome {
            Ok(results) => {
                for (job, result) in group.into_iter().zip(results) {
                    let _ = job.reply.send(Ok(result));
                }
            }
            Err(failure) => {
                tracing::error!(path = %path.display(), reason = %failure.reason, full = failure.full, writes = group.len(), "store commit failed");
                for job in group {
                    let failure = CommitFailure {
                        reason: failure.reason.clone(),
                        full: failure.full,
                        io: failure.io,
                    };
                    let _ = job.reply.send(Err(failure.into_error(path)));
                }
                // redb refuses every transaction after an I/O error until
                // the database is opened again (its recovery then brings
                // the file back to the last durable commit): reopen now,
                // so that service returns by itself once the cause (a full
                // disk) is gone.
                if failure.io {
                    db.failed_full.store(failure.full, Ordering::Relaxed);
                    db.reopen();
                }
            }
        }
    }
}

/// The open database, replaced whole by a reopen after an I/O failure.
struct DbSlot {
    path: PathBuf,
    db: RwLock<Option<Arc<Database>>>,
    /// Whether the last I/O failure was the disk being full (what writes
    /// are told while the database stays closed).
    failed_full: AtomicBool,
}

impl DbSlot {
    /// The database, or why there is none (a reopen that failed).
    fn current(&self) -> Result<Arc<Database>, String> {
        self.db
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .ok_or_else(|| {
                "the store is closed after an I/O error; it reopens with the next write".to_owned()
            })
    }

    /// Closes the database (waiting briefly for readers in flight to let go
    /// of it: redb allows one open per file) and opens it again.
    fn reopen(&self) {
        let mut slot = self
            .db
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(mut old) = slot.take() {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            loop {
                match Arc::try_unwrap(old) {
                    Ok(db) => {
                        drop(db);
                        break;
                    }
                    Err(shared) if std::time::Instant::now() < deadline => {
                        old = shared;
                        std::thread::sleep(std::time::Duration::from_millis(2));
                    }
                    Err(shared) => {
                        // A reader holds it still: keep it and try again at
                        // the next failure.
                        *slot = Some(shared);
                        return;
                    }
                }
            }
        }
        match Database::create(&self.path) {
            Ok(db) => {
                tracing::info!(path = %self.path.display(), "store reopened after an I/O error");
                *slot = Some(Arc::new(db));
            }
            Err(e) => {
                tracing::error!(path = %self.path.display(), error = %e, "store reopen failed; retried with the next write");
            }
        }
    }
}

/// Why a commit failed: redb's account of it, and whether the disk (or
/// quota) is full, which callers are told as such (an out-of-space I/O
/// error) so the server can answer 503 rather than an internal error.
#[derive(Debug)]
struct CommitFailure {
    reason: String,
    full: bool,
    /// An I/O failure (redb then refuses all until reopened).
    io: bool,
}

fn fail(e: impl Into<redb::Error>) -> CommitFailure {
    let e: redb::Error = e.into();
    let full = matches!(&e, redb::Error::Io(io) if crate::storage::is_out_of_space(io));
    let io = matches!(&e, redb::Error::Io(_) | redb::Error::PreviousIo);
    CommitFailure {
        reason: e.to_string(),
        full,
        io,
    }
}

impl CommitFailure {
    fn into_error(self, path: &Path) -> StoreError {
        let kind = if self.full {
            std::io::ErrorKind::StorageFull
        } else {
            std::io::ErrorKind::Other
        };
        StoreError::Io {
            op: "commit",
            path: path.display().to_string(),
            source: std::io::Error::new(kind, self.reason),
        }
    }
}

/// Removes every key under `prefix` (a scope); returns how many went.
fn remove_prefix(
    table: &mut redb::Table<&str, &[u8]>,
    prefix: &str,
) -> Result<usize, CommitFailure> {
    let end = prefix_end(prefix);
    let mut removed = 0;
    table
        .retain_in(prefix..end.as_str(), |_, _| {
            removed += 1;
            false
        })
        .map_err(fail)?;
    Ok(removed)
}

fn commit_group(db: &Database, group: &[Job]) -> Result<Vec<Done>, CommitFailure> {
    let txn = db.begin_write().map_err(fail)?;
    let mut results = Vec::with_capacity(group.len());
    {
        let mut table = txn.open_table(ITEMS).map_err(fail)?;
        for job in group {
            results.push(apply(&mut table, &job.write)?);
        }
    }
    txn.commit().map_err(fail)?;
    Ok(results)
}

/// The key a scope move reads its item from: `key` (in `to`) moved to `from`.
fn move_source(from: &str, to: &str, key: &str) -> String {
    key.strip_prefix(to)
        .map(|name| format!("{from}{name}"))
        .unwrap_or_default()
}

/// Why a batch's conditional write would be refused now, if it would.
fn refusal(
    table: &redb::Table<&str, &[u8]>,
    write: &Write,
) -> Result<Option<BatchRefusal>, CommitFailure> {
    let exists =
        |key: &str| -> Result<bool, CommitFailure> { Ok(table.get(key).map_err(fail)?.is_some()) };
    Ok(match write {
        Write::Create { key, .. } => exists(key)?.then_some(BatchRefusal::Exists),
        Write::Swap { key, expected, .. } => match table.get(key.as_str()).map_err(fail)? {
            None => Some(BatchRefusal::Missing),
            Some(v) => match unstamp(v.value()) {
                Some((_, bytes)) if bytes == expected.as_slice() => None,
                _ => Some(BatchRefusal::Changed),
            },
        },
        Write::MoveScope { from, to, key, .. } => {
            if exists(key)? {
                Some(BatchRefusal::Exists)
            } else if !exists(&move_source(from, to, key))? {
                Some(BatchRefusal::ScopeGone)
            } else {
                None
            }
        }
        // Not conditional: never in a batch (see `raw_commit_batch`).
        Write::Put { .. }
        | Write::Delete { .. }
        | Write::RemoveScope { .. }
        | Write::RemoveScopes { .. }
        | Write::Batch(_) => None,
    })
}

/// Makes one write inside the group's transaction.
fn apply(table: &mut redb::Table<&str, &[u8]>, write: &Write) -> Result<Done, CommitFailure> {
    Ok(match write {
        Write::Put { key, value } => {
            table.insert(key.as_str(), value.as_slice()).map_err(fail)?;
            Done::Written
        }
        Write::Create { key, value } => {
            let exists = table.get(key.as_str()).map_err(fail)?.is_some();
            if exists {
                Done::Created(Created::AlreadyExists)
            } else {
                table.insert(key.as_str(), value.as_slice()).map_err(fail)?;
                Done::Created(Created::Created)
            }
        }
        Write::Swap {
            key,
            expected,
            value,
        } => {
            // Compared and written in the same transaction.
            let current = table
                .get(key.as_str())
                .map_err(fail)?
                .map(|v| unstamp(v.value()).map(|(_, b)| b == expected.as_slice()));
            let swapped = match current {
                None => Swapped::Missing,
                Some(Some(true)) => Swapped::Swapped,
                Some(_) => Swapped::Changed,
            };
            if swapped == Swapped::Swapped {
                table.insert(key.as_str(), value.as_slice()).map_err(fail)?;
            }
            Done::Swapped(swapped)
        }
        Write::Delete { key } => {
            table.remove(key.as_str()).map_err(fail)?;
            Done::Written
        }
        Write::RemoveScope { prefix } => Done::Removed(remove_prefix(table, prefix)?),
        Write::RemoveScopes { prefixes } => Done::RemovedEach(
            prefixes
                .iter()
                .map(|p| remove_prefix(table, p))
                .collect::<Result<_, _>>()?,
        ),
        Write::MoveScope {
            from,
            to,
            key,
            value,
        } => {
            // The item moves from `from` to `to` under the same name.
            let source = move_source(from, to, key);
            if table.get(key.as_str()).map_err(fail)?.is_some() {
                Done::Created(Created::AlreadyExists)
            } else if table.get(source.as_str()).map_err(fail)?.is_none() {
                Done::Gone
            } else {
                let end = prefix_end(from);
                let mut moved = Vec::new();
                table
                    .retain_in(from.as_str()..end.as_str(), |k, v| {
                        if let Some(name) = k.strip_prefix(from.as_str()) {
                            moved.push((format!("{to}{name}"), v.to_vec()));
                        }
                        false
                    })
                    .map_err(fail)?;
                for (k, v) in &moved {
                    if *k != *key {
                        table.insert(k.as_str(), v.as_slice()).map_err(fail)?;
                    }
                }
                table.insert(key.as_str(), value.as_slice()).map_err(fail)?;
                Done::Created(Created::Created)
            }
        }
        Write::Batch(writes) => {
            // Every condition is checked before anything is written, so a
            // refused batch leaves the transaction (shared with the rest of
            // the group) untouched. Sound because the writes touch distinct
            // scopes (`check_batch`): none changes what another checks.
            for (index, write) in writes.iter().enumerate() {
                if let Some(why) = refusal(table, write)? {
                    return Ok(Done::Batch(BatchOutcome::Refused { index, why }));
                }
            }
            for write in writes {
                apply(table, write)?;
            }
            Done::Batch(BatchOutcome::Committed)
        }
    })
}

/// The calls as the backend makes them; [`Storage`] redacts their errors.
impl Backend for EmbeddedStore {
    fn raw_get(&self, scope: &Scope, item: &ItemName) -> Result<Option<Vec<u8>>, StoreError> {
        let key = key(scope, item);
        let stored = self.read(|t| Ok(t.get(key.as_str())?.map(|v| v.value().to_vec())))?;
        let Some(stored) = stored else {
            return Ok(None);
        };
        let (_, value) = unstamp(&stored)
            .ok_or_else(|| db_err("read", &self.path)(format!("item {key} has no header")))?;
        check_size(value.len(), self.options.max_item_bytes)?;
        Ok(Some(value.to_vec()))
    }

    fn raw_put(&self, scope: &Scope, item: &ItemName, value: &[u8]) -> Result<(), StoreError> {
        check_size(value.len(), self.options.max_item_bytes)?;
        self.write(Write::Put {
            key: key(scope, item),
            value: stamped(value),
        })
        .map(|_| ())
    }

    fn raw_create(
        &self,
        scope: &Scope,
        item: &ItemName,
        value: &[u8],
    ) -> Result<Created, StoreError> {
        check_size(value.len(), self.options.max_item_bytes)?;
        match self.write(Write::Create {
            key: key(scope, item),
            value: stamped(value),
        })? {
            Done::Created(c) => Ok(c),
            Done::Gone
            | Done::Written
            | Done::Swapped(_)
            | Done::Removed(_)
            | Done::RemovedEach(_)
            | Done::Batch(_) => Err(self.mismatched()),
        }
    }

    fn raw_compare_and_swap(
        &self,
        scope: &Scope,
        item: &ItemName,
        expected: &[u8],
        value: &[u8],
    ) -> Result<Swapped, StoreError> {
        check_size(value.len(), self.options.max_item_bytes)?;
        match self.write(Write::Swap {
            key: key(scope, item),
            expected: expected.to_vec(),
            value: stamped(value),
        })? {
            Done::Swapped(s) => Ok(s),
            Done::Gone
            | Done::Written
            | Done::Created(_)
            | Done::Removed(_)
            | Done::RemovedEach(_)
            | Done::Batch(_) => Err(self.mismatched()),
        }
    }

    fn raw_delete(&self, scope: &Scope, item: &ItemName) -> Result<(), StoreError> {
        self.write(Write::Delete {
            key: key(scope, item),
        })
        .map(|_| ())
    }

    fn raw_list(&self, scope: &Scope) -> Result<Vec<ItemMeta>, StoreError> {
        let prefix = scope_prefix(scope);
        let end = prefix_end(&prefix);
        self.read(|t| {
            let mut items = Vec::new();
            for entry in t.range(prefix.as_str()..end.as_str())? {
                let (k, v) = entry?;
                let Some(name) = k
                    .value()
                    .strip_prefix(prefix.as_str())
                    .and_then(|n| ItemName::new(n).ok())
                else {
                    continue;
                };
                let (modified, size) = unstamp(v.value()).map_or((None, 0), |(ms, bytes)| {
                    (
                        Some(UNIX_EPOCH + Duration::from_millis(ms)),
                        bytes.len() as u64,
                    )
                });
                items.push(ItemMeta {
                    name,
                    size,
                    modified,
                });
            }
            Ok(items)
        })
    }

    fn raw_owners(&self, kind: &Kind) -> Result<Vec<OwnerId>, StoreError> {
        let prefix = format!("{}/", kind.as_str());
        let end = prefix_end(&prefix);
        self.read(|t| {
            let mut owners: Vec<OwnerId> = Vec::new();
            for entry in t.range(prefix.as_str()..end.as_str())? {
                let (k, _) = entry?;
                let Some(owner) = k
                    .value()
                    .strip_prefix(prefix.as_str())
                    .and_then(|rest| rest.split_once('/'))
                    .and_then(|(owner, _)| OwnerId::new(owner).ok())
                else {
                    continue;
                };
                // Keys are sorted, so one owner's items are adjacent.
                if owners.last() != Some(&owner) {
                    owners.push(owner);
                }
            }
            Ok(owners)
        })
    }

    fn raw_remove_scope(&self, scope: &Scope) -> Result<usize, StoreError> {
        match self.write(Write::RemoveScope {
            prefix: scope_prefix(scope),
        })? {
            Done::Removed(n) => Ok(n),
            Done::Gone
            | Done::Written
            | Done::Created(_)
            | Done::Swapped(_)
            | Done::RemovedEach(_)
            | Done::Batch(_) => Err(self.mismatched()),
        }
    }

    /// One transaction for the whole batch.
    fn raw_remove_scopes(&self, scopes: &[Scope]) -> Option<Vec<Result<usize, StoreError>>> {
        Some(
            match self.write(Write::RemoveScopes {
                prefixes: scopes.iter().map(scope_prefix).collect(),
            }) {
                Ok(Done::RemovedEach(counts)) => counts.into_iter().map(Ok).collect(),
                Ok(_) => scopes.iter().map(|_| Err(self.mismatched())).collect(),
                Err(e) => {
                    let reason = e.to_string();
                    scopes
                        .iter()
                        .map(|_| Err(db_err("remove", &self.path)(reason.clone())))
                        .collect()
                }
            },
        )
    }

    /// One transaction: the rotation is all or nothing.
    fn raw_move_scope(
        &self,
        from: &Scope,
        to: &Scope,
        item: &ItemName,
        value: &[u8],
    ) -> Option<Result<Created, StoreError>> {
        let in_one = || -> Result<Created, StoreError> {
            check_size(value.len(), self.options.max_item_bytes)?;
            match self.write(Write::MoveScope {
                from: scope_prefix(from),
                to: scope_prefix(to),
                key: key(to, item),
                value: stamped(value),
            })? {
                Done::Created(c) => Ok(c),
                Done::Gone => Err(StoreError::ScopeGone),
                Done::Written
                | Done::Swapped(_)
                | Done::Removed(_)
                | Done::RemovedEach(_)
                | Done::Batch(_) => Err(self.mismatched()),
            }
        };
        Some(in_one())
    }

    fn raw_commit_batch(
        &self,
        writes: &[BatchWrite<'_>],
    ) -> Option<Result<BatchOutcome, StoreError>> {
        let in_one = || -> Result<BatchOutcome, StoreError> {
            check_batch(writes, self.options.max_item_bytes)?;
            let writes = writes
                .iter()
                .map(|w| match *w {
                    BatchWrite::Create { scope, item, value } => Write::Create {
                        key: key(scope, item),
                        value: stamped(value),
                    },
                    BatchWrite::Swap {
                        scope,
                        item,
                        expected,
                        value,
                    } => Write::Swap {
                        key: key(scope, item),
                        expected: expected.to_vec(),
                        value: stamped(value),
                    },
                    BatchWrite::MoveScope {
                        from,
                        to,
                        item,
                        value,
                    } => Write::MoveScope {
                        from: scope_prefix(from),
                        to: scope_prefix(to),
                        key: key(to, item),
                        value: stamped(value),
                    },
                })
                .collect();
            match self.write(Write::Batch(writes))? {
                Done::Batch(outcome) => Ok(outcome),
                Done::Gone
                | Done::Written
                | Done::Created(_)
                | Done::Swapped(_)
                | Done::Removed(_)
                | Done::RemovedEach(_) => Err(self.mismatched()),
            }
        };
        Some(in_one())
    }

    fn raw_status(&self) -> BackendStatus {
        BackendStatus {
            backend: "embedded",
            location: self.path.display().to_string(),
            state: BackendState::Primary,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_ranges_hold_exactly_one_scope() {
        assert_eq!(prefix_end("sessions/abc/"), "sessions/abc0");
        // "abc-x" and "abc0" sort outside "abc/".."abc0"; "abc/x" inside.
        let (start, end) = ("sessions/abc/", "sessions/abc0");
        assert!(("sessions/abc/x" >= start) && ("sessions/abc/x" < end));
        assert!(!(("sessions/abc-x/y" >= start) && ("sessions/abc-x/y" < end)));
        assert!(!(("sessions/abcd/y" >= start) && ("sessions/abcd/y" < end)));
    }
}
