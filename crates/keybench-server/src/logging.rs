//! Where logs go: one `tracing` subscriber for the CLI, the server and the
//! desktop app, as text for people or JSON lines for machines, filtered
//! the `RUST_LOG` way, on standard error or appended to a file created
//! owner-only (0600). What is logged is already redacted where it is
//! emitted (session ids as `sid:` tags, no key material, no PINs); this
//! module only chooses the format and the place.

use std::io::Write as _;
use std::path::PathBuf;

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Text for people.
    #[default]
    Pretty,
    /// One JSON object per line (`timestamp`, `level`, `target`, `fields`).
    Json,
}

/// Where logs go and which.
#[derive(Debug, Clone, Default)]
pub struct LogSettings {
    /// The format.
    pub format: LogFormat,
    /// A `RUST_LOG`-style filter (`info`, `keybench_server=debug,warn`);
    /// `None` reads `RUST_LOG`, else `default_filter`.
    pub filter: Option<String>,
    /// Appended to this file (created 0600) instead of standard error.
    pub file: Option<PathBuf>,
}

/// Installs the process's subscriber. `default_filter` applies when
/// neither the settings nor `RUST_LOG` give one. Once per process; a
/// second call is refused.
pub fn init(settings: &LogSettings, default_filter: &str) -> Result<(), String> {
    use tracing_subscriber::EnvFilter;
    let filter = match &settings.filter {
        Some(f) => EnvFilter::try_new(f).map_err(|e| format!("log filter {f:?}: {e}"))?,
        None => EnvFilter::try_from_default_env()
            .or_else(|_| EnvFilter::try_new(default_filter))
            .map_err(|e| format!("log filter: {e}"))?,
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let result = match (&settings.file, settings.format) {
        (None, LogFormat::Pretty) => builder.with_writer(std::io::stderr).try_init(),
        (None, LogFormat::Json) => builder.json().with_writer(std::io::stderr).try_init(),
        (Some(path), format) => {
            let file = open_private(path)?;
            let writer = std::sync::Mutex::new(file);
            match format {
                LogFormat::Pretty => builder.with_ansi(false).with_writer(writer).try_init(),
                LogFormat::Json => builder.json().with_writer(writer).try_init(),
            }
        }
    };
    result.map_err(|e| format!("logging: {e}"))
}

/// Opens `path` for appending, created 0600 (its directory 0700), never
/// through a symlink.
fn open_private(path: &std::path::Path) -> Result<std::fs::File, String> {
    use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
    let err = |e: std::io::Error| format!("log file {}: {e}", path.display());
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(err)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(err)?;
    // A file made earlier with wider permissions is narrowed.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(err)?;
    file.flush().map_err(err)?;
    Ok(file)
}
