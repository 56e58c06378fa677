//! The data directory (sessions, accounts, the key file, metadata): its
//! mode (0700 expected: it holds the session key file), whether this user
//! can write in it (a probe file created and removed), and the free space
//! on its file system.
//!
//! Root may write whatever the mode bits say, so the mode is judged from
//! the bits themselves as well: a directory its owner may not write is a
//! failure even when the write probe (run as root) succeeds.

use super::{Check, Status, octal};
use std::path::Path;

/// Below this much free space the check warns (sessions, the metadata
/// cache and the embedded database's growth need room).
pub const LOW_SPACE: u64 = 100 * 1024 * 1024;
/// Below this much it fails: writes will start failing soon.
pub const NO_SPACE: u64 = 10 * 1024 * 1024;

/// The data directory at `dir`.
pub fn check(dir: &Path) -> Check {
    let title = "data directory (mode, writable, free space)";
    let shown = dir.display().to_string();
    let meta = match std::fs::metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Check::new("data_dir", title, Status::Ok).saw(format!(
                "{shown} does not exist yet: the first start creates it (0700)"
            ));
        }
        Err(e) => {
            return Check::new("data_dir", title, Status::Fail)
                .saw(format!("{shown}: {e}"))
                .fix(format!("make it reachable by this user, or choose another with --data-dir (desktop: KEYBENCH_DATA_DIR); e.g. sudo chown -R \"$(id -u):$(id -g)\" '{shown}' && chmod 700 '{shown}'"));
        }
    };
    if !meta.is_dir() {
        return Check::new("data_dir", title, Status::Fail)
            .saw(format!("{shown} is not a directory"))
            .fix("choose a directory with --data-dir (desktop: KEYBENCH_DATA_DIR)");
    }
    let mut status = Status::Ok;
    let mut check = Check::new("data_dir", title, Status::Ok);
    let mut fixes: Vec<String> = Vec::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let mode = meta.mode() & 0o7777;
        let me = rustix::process::geteuid().as_raw();
        check = check.saw(format!(
            "{shown}: mode {}, owner uid {} (this process: uid {me})",
            octal(mode),
            meta.uid()
        ));
        if mode & 0o700 != 0o700 {
            status = Status::Fail;
            check = check.saw(format!(
                "mode {}: the owner may not read, write or enter it (0700 expected)",
                octal(mode)
            ));
            fixes.push(format!("chmod 700 '{shown}'"));
        } else if mode & 0o077 != 0 {
            status = status.max(Status::Warn);
            check = check.saw(format!(
                "mode {}: other users may look inside; it holds the session key file (0700 expected)",
                octal(mode)
            ));
            fixes.push(format!("chmod 700 '{shown}'"));
        }
    }
    match write_probe(dir) {
        Ok(()) => check = check.saw("a probe file was created and removed"),
        Err(e) => {
            status = Status::Fail;
            check = check.saw(format!("cannot create a file in it: {e}"));
            // EROFS: no mode or owner change helps.
            if e.raw_os_error() == Some(30) {
                fixes.push(format!("its file system is mounted read-only: remount it read-write or choose another directory with --data-dir (desktop: KEYBENCH_DATA_DIR) than '{shown}'"));
            } else {
                fixes.push(format!(
                    "sudo chown -R \"$(id -u):$(id -g)\" '{shown}' && chmod 700 '{shown}'"
                ));
            }
        }
    }
    match free_bytes(dir) {
        Some(free) => {
            check = check.saw(format!(
                "{} MiB free on its file system",
                free / (1024 * 1024)
            ));
            if free < NO_SPACE {
                status = Status::Fail;
                fixes.push(
                    "free space on that file system, or choose another directory with --data-dir"
                        .to_owned(),
                );
            } else if free < LOW_SPACE {
                status = status.max(Status::Warn);
                fixes.push("free space on that file system (less than 100 MiB left)".to_owned());
            }
        }
        None => check = check.saw("free space unknown"),
    }
    fixes.dedup();
    check.status = status;
    if !fixes.is_empty() {
        check.fix = Some(fixes.join("; "));
    }
    check
}

/// Creates and removes a file of our own in `dir`.
fn write_probe(dir: &Path) -> std::io::Result<()> {
    let path = dir.join(format!(".keybench-doctor-{}", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"probe"));
    let removed = std::fs::remove_file(&path);
    written?;
    removed
}

/// Bytes an unprivileged user may still write on `dir`'s file system.
#[cfg(unix)]
fn free_bytes(dir: &Path) -> Option<u64> {
    let st = rustix::fs::statvfs(dir).ok()?;
    Some(st.f_bavail.saturating_mul(st.f_frsize))
}

/// Free space is not measured on this system.
#[cfg(not(unix))]
fn free_bytes(_dir: &Path) -> Option<u64> {
    None
}
