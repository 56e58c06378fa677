//! Why a USB key can be listed but not opened, per operating system, and
//! what fixes it: the one copy of this text, which the desktop's keys
//! panel, its errors and `keybench doctor` all show.
//!
//! - Linux: /dev/hidraw* is root-only unless a udev rule grants it. Keybench
//!   ships `src-tauri/linux/70-keybench-fido.rules` (matching FIDO keys by
//!   their HID usage page, as systemd's fido_id does; the desktop package
//!   installs that file) and, when opening a key fails with "permission
//!   denied", shows the exact commands to install it.
//! - Windows (10 1903 and later): FIDO HID devices are reserved for the
//!   system's WebAuthn API; a process without administrator rights cannot
//!   open them raw. Keybench says so instead of showing "access denied".
//! - macOS: keys are opened in shared mode (hidapi's `macos-shared-device`
//!   feature, set by the desktop app), so browsers keep using the key while
//!   Keybench has it open.

use serde::Serialize;
use std::path::{Path, PathBuf};

/// The udev rule Keybench ships (Linux).
pub const UDEV_RULE: &str = include_str!("../../../src-tauri/linux/70-keybench-fido.rules");
/// Its file name.
pub const UDEV_RULE_NAME: &str = "70-keybench-fido.rules";

/// Whether an OS error text means "not allowed".
pub fn is_permission_denied(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    r.contains("permission denied") || r.contains("access is denied") || r.contains("eacces")
}

/// Where the udev rule is written for the user to install (beside the
/// app's data). Written on demand, so the command shown names a real file.
pub fn udev_rule_path(data_dir: &Path) -> PathBuf {
    data_dir.join(UDEV_RULE_NAME)
}

/// Writes the rule to `data_dir` (idempotent) and returns its path.
pub fn write_udev_rule(data_dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(data_dir)?;
    let path = udev_rule_path(data_dir);
    if std::fs::read_to_string(&path).ok().as_deref() != Some(UDEV_RULE) {
        std::fs::write(&path, UDEV_RULE)?;
    }
    Ok(path)
}

/// The exact shell command that installs the rule at `rule` and applies it.
pub fn udev_install_command(rule: &Path) -> String {
    format!(
        "sudo install -m 0644 '{}' /etc/udev/rules.d/{UDEV_RULE_NAME} && sudo udevadm control --reload-rules && sudo udevadm trigger --subsystem-match=hidraw",
        rule.display()
    )
}

/// Where udev reads rules from (the packages install into the first).
pub const UDEV_RULE_DIRS: &[&str] = &["/usr/lib/udev/rules.d", "/etc/udev/rules.d"];

/// Keybench's rule as installed in one of `dirs`, if it is.
pub fn installed_udev_rule(dirs: &[&str]) -> Option<PathBuf> {
    dirs.iter()
        .map(|d| Path::new(d).join(UDEV_RULE_NAME))
        .find(|p| p.is_file())
}

/// What fixes the access: the install command, or, when the rule is
/// installed already (by a package, or by hand), applying it.
pub fn udev_fix(data_dir: &Path, dirs: &[&str]) -> String {
    match installed_udev_rule(dirs) {
        Some(installed) => format!(
            "the rule is installed ({}); apply it and re-plug the key: sudo udevadm control --reload-rules && sudo udevadm trigger --subsystem-match=hidraw",
            installed.display()
        ),
        None => udev_install_command(&udev_rule_for_command(data_dir)),
    }
}

/// The rule's path in `data_dir`, written there when possible (so the
/// command names a real file), else where it would be.
pub fn udev_rule_for_command(data_dir: &Path) -> PathBuf {
    write_udev_rule(data_dir).unwrap_or_else(|_| udev_rule_path(data_dir))
}

/// What to tell the user when `path` could not be opened for lack of
/// rights; on Linux the rule is written to `data_dir` for the command.
pub fn permission_denied_advice(path: &str, data_dir: &Path) -> String {
    if cfg!(target_os = "windows") {
        format!(
            "Windows does not let programs without administrator rights open FIDO security keys directly ({path}): \
             since Windows 10 1903 they are reserved for the system's WebAuthn API (Windows Hello). \
             Start Keybench with \"Run as administrator\" to use the keys panel, or use the key through a browser."
        )
    } else if cfg!(target_os = "linux") {
        format!(
            "permission denied opening {path}: your user may not read this hidraw device. \
             Install Keybench's udev rule for FIDO keys, then unplug and re-plug the key:\n{}",
            udev_fix(data_dir, UDEV_RULE_DIRS)
        )
    } else {
        format!(
            "permission denied opening {path}: on macOS allow Keybench under System Settings → Privacy & Security → Input Monitoring"
        )
    }
}

/// The platform notes the keys panel shows.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlatformNotes {
    /// "linux", "windows", "macos", ...
    pub os: &'static str,
    /// One paragraph on how this OS gives access to USB keys.
    pub usb_access: String,
    /// Linux: the command that installs the udev rule.
    pub udev_install_command: Option<String>,
    /// Linux: the rule itself.
    pub udev_rule: Option<&'static str>,
}

/// The notes for this OS.
pub fn notes(data_dir: &Path) -> PlatformNotes {
    let os = std::env::consts::OS;
    match os {
        "linux" => {
            let rule = udev_rule_path(data_dir);
            PlatformNotes {
                os,
                usb_access: "Linux: USB keys are /dev/hidraw devices, readable by root only unless a udev rule grants the \
                             logged-in user access. Keybench ships one that matches every FIDO key by its HID usage page \
                             (0xF1D0), the way systemd's fido_id does; if a key is listed but cannot be opened, install it."
                    .into(),
                udev_install_command: Some(udev_install_command(&rule)),
                udev_rule: Some(UDEV_RULE),
            }
        }
        "windows" => PlatformNotes {
            os,
            usb_access: "Windows: since Windows 10 1903, FIDO keys are reserved for the system's WebAuthn API; programs \
                         without administrator rights cannot open them directly. Run Keybench as administrator to manage \
                         USB keys here; virtual keys work either way."
                .into(),
            udev_install_command: None,
            udev_rule: None,
        },
        "macos" => PlatformNotes {
            os,
            usb_access: "macOS: Keybench opens keys in shared mode, so Safari, Chrome and other apps keep working with \
                         the key while Keybench is open. macOS may ask to allow Input Monitoring the first time."
                .into(),
            udev_install_command: None,
            udev_rule: None,
        },
        _ => PlatformNotes {
            os,
            usb_access: "USB keys are opened through hidapi.".into(),
            udev_install_command: None,
            udev_rule: None,
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_matches_by_usage_page_through_fido_id_and_grants_uaccess() {
        assert!(UDEV_RULE.contains(r#"SUBSYSTEM!="hidraw""#));
        assert!(UDEV_RULE.contains(r#"IMPORT{program}="fido_id""#));
        assert!(
            UDEV_RULE
                .contains(r#"ENV{ID_SECURITY_TOKEN}=="1", TAG+="security-device", TAG+="uaccess""#)
        );
        // No vendor lists: every FIDO key, and only FIDO keys.
        assert!(!UDEV_RULE.contains("idVendor"));
    }

    #[test]
    fn install_command_names_the_written_rule() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_udev_rule(dir.path()).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), UDEV_RULE);
        let cmd = udev_install_command(&path);
        assert!(cmd.starts_with("sudo install -m 0644 '"));
        assert!(cmd.contains(&path.display().to_string()));
        assert!(cmd.contains("/etc/udev/rules.d/70-keybench-fido.rules"));
        assert!(cmd.contains("udevadm trigger"));
    }

    #[test]
    fn permission_errors_are_recognised() {
        assert!(is_permission_denied("Permission denied (os error 13)"));
        assert!(is_permission_denied("hid_open_path: Access is denied."));
        assert!(!is_permission_denied("No such file or directory"));
    }

    /// A rule a package installed is applied, not installed a second time.
    #[test]
    fn an_installed_rule_is_applied_not_installed_again() {
        let data = tempfile::tempdir().unwrap();
        let lib = tempfile::tempdir().unwrap();
        let dirs = [lib.path().to_str().unwrap()];
        assert!(udev_fix(data.path(), &dirs).starts_with("sudo install -m 0644"));
        std::fs::write(lib.path().join(UDEV_RULE_NAME), UDEV_RULE).unwrap();
        let fix = udev_fix(data.path(), &dirs);
        assert!(fix.starts_with("the rule is installed ("), "{fix}");
        assert!(
            fix.contains("udevadm trigger --subsystem-match=hidraw"),
            "{fix}"
        );
        assert!(!fix.contains("sudo install"), "{fix}");
    }
}
