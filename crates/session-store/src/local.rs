//! The local-directory backend, the embedded default.
//!
//! Layout: `<root>/<kind>/<owner>/<item>`, directories 0700, files 0600.
//! A write goes to a temporary file in the same directory (its name starts
//! with a dot, so it is never an item), is fsynced, then renamed over the
//! item and the directory is fsynced: a crash leaves the old value or the new
//! one, never a torn file. A conditional create hard-links the finished
//! temporary file to the item name, which the kernel refuses atomically when
//! the name exists, so concurrent creators (threads or processes) get exactly
//! one winner. Files are opened with `O_NOFOLLOW`: a symlink planted in the
//! store is not followed.
//!
//! A compare-and-swap holds an exclusive `flock` on the scope's directory
//! (across processes too) from its read to its rename; put, delete and
//! scope removal take the same lock, so nothing changes the item in
//! between, and a removed scope's directory is never written again.

use crate::name::{ItemName, Kind, OwnerId, Scope};
use crate::storage::Backend;
use crate::storage::{
    BackendState, BackendStatus, Created, DEFAULT_MAX_ITEM_BYTES, ItemMeta, Storage, StoreError,
    Swapped, check_size,
};
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Options of a [`LocalStore`].
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// Largest item accepted.
    pub max_item_bytes: usize,
    /// fsync files and directories on every write (durable across power
    /// loss). Without it writes are still atomic against process crashes.
    pub fsync: bool,
}

impl Default for LocalOptions {
    fn default() -> Self {
        LocalOptions {
            max_item_bytes: DEFAULT_MAX_ITEM_BYTES,
            fsync: true,
        }
    }
}

/// Items in a local directory.
#[derive(Debug)]
pub struct LocalStore {
    root: PathBuf,
    options: LocalOptions,
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

pub(crate) fn io_err(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StoreError {
    let path = path.display().to_string();
    move |source| StoreError::Io { op, path, source }
}

/// A name no item can have (leading dot) and no other writer uses.
fn temp_name(prefix: &str) -> String {
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(".{prefix}-{}-{n}-{nanos}", std::process::id())
}

/// Creates `dir` (0700) if needed and makes sure it is a real directory only
/// its owner can enter: a symlink is refused, looser modes are tightened
/// with a warning. Both local backends keep their data under one.
pub(crate) fn private_dir(dir: &Path) -> Result<(), StoreError> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io_err("create directory", dir))?;
    let meta = fs::symlink_metadata(dir).map_err(io_err("inspect", dir))?;
    if !meta.is_dir() {
        return Err(StoreError::Unsafe(format!(
            "{} is not a directory (a symlink?)",
            dir.display()
        )));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        tracing::warn!(dir = %dir.display(), mode = format!("{mode:o}"), "storage directory was accessible to others; setting it to 0700");
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(io_err("chmod", dir))?;
    }
    Ok(())
}

impl LocalStore {
    /// Opens (creating if needed) a store rooted at `root` with default
    /// options. An existing root readable by group or others is tightened to
    /// 0700 with a warning.
    pub fn open(root: impl Into<PathBuf>) -> Result<LocalStore, StoreError> {
        Self::open_with(root, LocalOptions::default())
    }

    /// Opens a store with explicit options.
    pub fn open_with(
        root: impl Into<PathBuf>,
        options: LocalOptions,
    ) -> Result<LocalStore, StoreError> {
        let root = root.into();
        private_dir(&root)?;
        Ok(LocalStore { root, options })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn kind_dir(&self, kind: &Kind) -> PathBuf {
        self.root.join(kind.as_str())
    }

    /// The directory of a scope. Names are validated, so this stays under
    /// the root.
    pub fn scope_dir(&self, scope: &Scope) -> PathBuf {
        self.kind_dir(&scope.kind).join(scope.owner.as_str())
    }

    fn ensure_dir(&self, dir: &Path) -> Result<(), StoreError> {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_err("create directory", dir))
    }

    /// Writes `value` to a fresh temporary file in `dir` (0600, fsynced).
    fn write_temp(&self, dir: &Path, value: &[u8]) -> Result<PathBuf, StoreError> {
        let tmp = dir.join(temp_name("tmp"));
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)
            .map_err(io_err("create", &tmp))?;
        let written = file.write_all(value).and_then(|()| {
            if self.options.fsync {
                file.sync_all()
            } else {
                Ok(())
            }
        });
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(io_err("write", &tmp)(e));
        }
        Ok(tmp)
    }

    /// Locks a scope's directory exclusively and checks that it is still
    /// the directory at its path (a scope removal renames it away);
    /// `None` when there is no such directory. The lock ends with the value.
    fn lock_scope(&self, dir: &Path) -> Result<Option<File>, StoreError> {
        // A replaced directory is relocked; more than a few replacements in
        // a row is not a real workload.
        for _ in 0..8 {
            let held = match OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_DIRECTORY)
                .open(dir)
            {
                Ok(d) => d,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(io_err("open", dir)(e)),
            };
            held.lock().map_err(io_err("lock", dir))?;
            let locked = held.metadata().map_err(io_err("inspect", dir))?;
            match fs::symlink_metadata(dir) {
                Ok(m) if m.dev() == locked.dev() && m.ino() == locked.ino() => {
                    return Ok(Some(held));
                }
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(io_err("inspect", dir)(e)),
            }
        }
        Err(StoreError::Unsafe(format!(
            "{} keeps being replaced",
            dir.display()
        )))
    }

    /// Writes `value` to `item` in the locked directory `dir`.
    fn replace_locked(&self, dir: &Path, item: &ItemName, value: &[u8]) -> Result<(), StoreError> {
        let tmp = self.write_temp(dir, value)?;
        let target = dir.join(item.as_str());
        if let Err(e) = fs::rename(&tmp, &target) {
            let _ = fs::remove_file(&tmp);
            return Err(io_err("rename", &target)(e));
        }
        self.sync_dir(dir)
    }

    fn sync_dir(&self, dir: &Path) -> Result<(), StoreError> {
        if self.options.fsync {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(io_err("fsync directory", dir))?;
        }
        Ok(())
    }
}

/// The calls as the backend makes them; [`Storage`] redacts their errors.
impl Backend for LocalStore {
    fn raw_get(&self, scope: &Scope, item: &ItemName) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.scope_dir(scope).join(item.as_str());
        let file = match OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err("open", &path)(e)),
        };
        let max = self.options.max_item_bytes;
        let mut buf = Vec::new();
        file.take(max as u64 + 1)
            .read_to_end(&mut buf)
            .map_err(io_err("read", &path))?;
        if buf.len() > max {
            return Err(StoreError::TooLarge {
                len: buf.len() as u64,
                max,
            });
        }
        Ok(Some(buf))
    }

    fn raw_put(&self, scope: &Scope, item: &ItemName, value: &[u8]) -> Result<(), StoreError> {
        check_size(value.len(), self.options.max_item_bytes)?;
        let dir = self.scope_dir(scope);
        let _lock = loop {
            self.ensure_dir(&dir)?;
            // Removed between the two calls: make it again.
            if let Some(lock) = self.lock_scope(&dir)? {
                break lock;
            }
        };
        self.replace_locked(&dir, item, value)
    }

    fn raw_compare_and_swap(
        &self,
        scope: &Scope,
        item: &ItemName,
        expected: &[u8],
        value: &[u8],
    ) -> Result<Swapped, StoreError> {
        check_size(value.len(), self.options.max_item_bytes)?;
        let dir = self.scope_dir(scope);
        // No directory: the scope is gone, and stays gone.
        let Some(_lock) = self.lock_scope(&dir)? else {
            return Ok(Swapped::Missing);
        };
        match self.get(scope, item)? {
            None => Ok(Swapped::Missing),
            Some(current) if current != expected => Ok(Swapped::Changed),
            Some(_) => {
                self.replace_locked(&dir, item, value)?;
                Ok(Swapped::Swapped)
            }
        }
    }

    fn raw_create(
        &self,
        scope: &Scope,
        item: &ItemName,
        value: &[u8],
    ) -> Result<Created, StoreError> {
        check_size(value.len(), self.options.max_item_bytes)?;
        let dir = self.scope_dir(scope);
        self.ensure_dir(&dir)?;
        let target = dir.join(item.as_str());
        // Cheap early answer; the link below is what decides.
        if fs::symlink_metadata(&target).is_ok() {
            return Ok(Created::AlreadyExists);
        }
        let tmp = self.write_temp(&dir, value)?;
        let linked = fs::hard_link(&tmp, &target);
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                self.sync_dir(&dir)?;
                Ok(Created::Created)
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(Created::AlreadyExists),
            Err(e) => Err(io_err("link", &target)(e)),
        }
    }

    fn raw_delete(&self, scope: &Scope, item: &ItemName) -> Result<(), StoreError> {
        let dir = self.scope_dir(scope);
        let Some(_lock) = self.lock_scope(&dir)? else {
            return Ok(());
        };
        let path = dir.join(item.as_str());
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err("delete", &path)(e)),
        }
    }

    fn raw_list(&self, scope: &Scope) -> Result<Vec<ItemMeta>, StoreError> {
        let dir = self.scope_dir(scope);
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("list", &dir)(e)),
        };
        let mut items = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_err("list", &dir))?;
            let Some(name) = entry
                .file_name()
                .to_str()
                .and_then(|n| ItemName::new(n).ok())
            else {
                continue; // temporary files and anything not written by us
            };
            let meta = match entry.metadata() {
                Ok(m) if m.is_file() => m,
                Ok(_) => continue,
                // Deleted between read_dir and stat.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err("stat", &entry.path())(e)),
            };
            items.push(ItemMeta {
                name,
                size: meta.len(),
                modified: meta.modified().ok(),
            });
        }
        items.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(items)
    }

    fn raw_owners(&self, kind: &Kind) -> Result<Vec<OwnerId>, StoreError> {
        let dir = self.kind_dir(kind);
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("list", &dir)(e)),
        };
        let mut owners = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_err("list", &dir))?;
            if let Some(owner) = entry
                .file_name()
                .to_str()
                .and_then(|n| OwnerId::new(n).ok())
            {
                owners.push(owner);
            }
        }
        Ok(owners)
    }

    fn raw_remove_scope(&self, scope: &Scope) -> Result<usize, StoreError> {
        let dir = self.scope_dir(scope);
        // Not in the middle of a swap; the lock is held until the rename.
        let Some(_lock) = self.lock_scope(&dir)? else {
            return Ok(0);
        };
        // Rename first, so the scope disappears in one step for readers.
        let trash = self.kind_dir(&scope.kind).join(temp_name("trash"));
        match fs::rename(&dir, &trash) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(io_err("rename", &dir)(e)),
        }
        let mut removed = 0;
        if let Ok(entries) = fs::read_dir(&trash) {
            for entry in entries.flatten() {
                if entry
                    .file_name()
                    .to_str()
                    .is_some_and(|n| !n.starts_with('.'))
                {
                    removed += 1;
                }
            }
        }
        fs::remove_dir_all(&trash).map_err(io_err("remove", &trash))?;
        Ok(removed)
    }

    fn raw_status(&self) -> BackendStatus {
        BackendStatus {
            backend: "local",
            location: self.root.display().to_string(),
            state: BackendState::Primary,
        }
    }
}
