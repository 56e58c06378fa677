//! The secret-key file: mode 0600, created atomically (temporary file,
//! fsync, then a hard link that fails if another process created the file
//! first, so two processes starting together agree on one key), replaced
//! atomically on rotation (temporary file, fsync, rename).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Largest key file read (a base64url key or a small JSON record).
const MAX_KEY_FILE: u64 = 4096;

fn temp_path(path: &Path) -> PathBuf {
    let name = format!(
        ".{}.tmp-{}-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("key"),
        std::process::id(),
        u64::from_le_bytes(crate::random::bytes::<8>())
    );
    path.with_file_name(name)
}

fn write_temp(path: &Path, contents: &[u8]) -> io::Result<PathBuf> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let tmp = temp_path(path);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)?;
    let written = f.write_all(contents).and_then(|()| f.sync_all());
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(tmp)
}

fn sync_parent(path: &Path) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    File::open(dir)?.sync_all()
}

/// Creates `path` with `contents` only if it does not exist. `Ok(true)` if
/// this call created it, `Ok(false)` if it already existed.
pub fn create_new(path: &Path, contents: &[u8]) -> io::Result<bool> {
    let tmp = write_temp(path, contents)?;
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            sync_parent(path)?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// Replaces `path` with `contents` atomically.
pub fn replace(path: &Path, contents: &[u8]) -> io::Result<()> {
    let tmp = write_temp(path, contents)?;
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_parent(path)
}

/// Removes `path` durably (the directory is synced); a missing file is fine.
pub fn remove(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Ok(()) => sync_parent(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// What reading a key file found.
#[derive(Debug)]
pub struct ReadKeyFile {
    /// The contents.
    pub contents: Vec<u8>,
    /// The file was readable by group or others and has been set to 0600.
    pub tightened_from: Option<u32>,
}

/// Reads a key file (not following symlinks), tightening its mode to 0600
/// if others could read it. `Ok(None)` if it does not exist.
pub fn read(path: &Path) -> io::Result<Option<ReadKeyFile>> {
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the key path is not a regular file",
        ));
    }
    let mode = meta.permissions().mode() & 0o777;
    let tightened_from = if mode & 0o077 != 0 {
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
        Some(mode)
    } else {
        None
    };
    let mut contents = Vec::new();
    file.take(MAX_KEY_FILE + 1).read_to_end(&mut contents)?;
    if contents.len() as u64 > MAX_KEY_FILE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the key file is too large",
        ));
    }
    Ok(Some(ReadKeyFile {
        contents,
        tightened_from,
    }))
}
