//! What differs between operating systems for the app: whether there is a
//! display to open a window on, where its data and log file go, and (from
//! `key_ops::usb_access`, the one copy of that text) the reasons a USB key
//! can be seen but not opened, with what to do about each.
//!
//! - Linux: /dev/hidraw* is root-only unless a udev rule grants it. Keybench
//!   ships `linux/70-keybench-fido.rules` (matching FIDO keys by their HID
//!   usage page, as systemd's fido_id does) and, when opening a key fails
//!   with "permission denied", shows the exact commands to install it.
//! - Windows (10 1903 and later): FIDO HID devices are reserved for the
//!   system's WebAuthn API; a process without administrator rights cannot
//!   open them raw. Keybench says so instead of showing "access denied".
//! - macOS: keys are opened in shared mode (hidapi's `macos-shared-device`
//!   feature, set in Cargo.toml), so browsers keep using the key while
//!   Keybench has it open.

use std::path::PathBuf;

pub use key_ops::usb_access::{is_permission_denied, notes};

/// Whether a window can be opened: on Linux and the BSDs there must be an
/// X11 or Wayland display; elsewhere there always is one.
pub fn display_available() -> bool {
    if cfg!(any(
        target_os = "linux",
        target_os = "freebsd",
        target_os = "openbsd",
        target_os = "netbsd"
    )) {
        ["DISPLAY", "WAYLAND_DISPLAY"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
    } else {
        true
    }
}

/// What to tell the user when `path` could not be opened for lack of rights
/// (the rule written beside the app's data for the command it shows).
pub fn permission_denied_advice(path: &str) -> String {
    key_ops::usb_access::permission_denied_advice(path, &default_data_dir())
}

/// The app's data directory: `$XDG_DATA_HOME/keybench` (or the platform's
/// equivalent), `KEYBENCH_DATA_DIR` when set.
pub fn default_data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("KEYBENCH_DATA_DIR") {
        return PathBuf::from(d);
    }
    let base = if cfg!(target_os = "windows") {
        std::env::var_os("LOCALAPPDATA").map(PathBuf::from)
    } else if cfg!(target_os = "macos") {
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join("Library/Application Support"))
    } else {
        std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
    };
    base.unwrap_or_else(std::env::temp_dir).join("keybench")
}

/// The app's log file, in the platform's place for logs:
/// `$XDG_STATE_HOME/keybench/keybench.log` (`~/.local/state/…`) on Linux,
/// `~/Library/Logs/Keybench/keybench.log` on macOS,
/// `%LOCALAPPDATA%\\Keybench\\logs\\keybench.log` on Windows;
/// `KEYBENCH_LOG_FILE` when set.
pub fn log_file() -> PathBuf {
    if let Some(f) = std::env::var_os("KEYBENCH_LOG_FILE") {
        return PathBuf::from(f);
    }
    let dir = if cfg!(target_os = "windows") {
        std::env::var_os("LOCALAPPDATA").map(|d| PathBuf::from(d).join("Keybench").join("logs"))
    } else if cfg!(target_os = "macos") {
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join("Library/Logs/Keybench"))
    } else {
        std::env::var_os("XDG_STATE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
            .map(|d| d.join("keybench"))
    };
    dir.unwrap_or_else(std::env::temp_dir).join("keybench.log")
}
