//! USB keys and virtual keys: whether this user may open each FIDO key's
//! /dev/hidraw node (hidapi lists them; the node is opened for reading and
//! writing, as a key is used, and closed), and whether /dev/uhid is there
//! and writable for a virtual key that becomes a real HID device.

use super::{Check, Status};
use std::path::Path;

const HIDRAW_TITLE: &str = "USB security key access (hidraw)";

/// One check per FIDO key plugged in (a skip when there is none).
#[cfg(feature = "hidapi")]
pub fn hidraw(data_dir: &Path) -> Vec<Check> {
    let keys = match ctap_client::hid::discover() {
        Ok((_, keys)) => keys,
        Err(e) => {
            return vec![
                Check::new("hidraw", HIDRAW_TITLE, Status::Warn)
                    .saw(format!("hidapi could not list HID devices: {e}"))
                    .fix("check that /sys/class/hidraw is readable and the hid and hidraw kernel modules are loaded"),
            ];
        }
    };
    if keys.is_empty() {
        return vec![
            Check::new("hidraw", HIDRAW_TITLE, Status::Skip)
                .saw("no FIDO key on the HID bus (usage page 0xF1D0)"),
        ];
    }
    keys.iter()
        .map(|k| {
            let mut check = open_node(&k.path, data_dir);
            check.subject = Some(k.path.clone());
            check.evidence.insert(0, crate::open::usb_label(k));
            check
        })
        .collect()
}

/// One check per FIDO key plugged in: this build has no USB support.
#[cfg(not(feature = "hidapi"))]
pub fn hidraw(_data_dir: &Path) -> Vec<Check> {
    vec![
        Check::new("hidraw", HIDRAW_TITLE, Status::Skip)
            .saw("this build has no USB (hidapi) support"),
    ]
}

/// Opens `path` for reading and writing and says what stood in the way.
#[cfg(feature = "hidapi")]
fn open_node(path: &str, data_dir: &Path) -> Check {
    let title = HIDRAW_TITLE;
    let described = describe_node(Path::new(path));
    match std::fs::OpenOptions::new().read(true).write(true).open(path) {
        Ok(_) => Check::new("hidraw", title, Status::Ok)
            .saw(format!("{described}: opened for reading and writing")),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            Check::new("hidraw", title, Status::Fail)
                .saw(format!("{described}: {e}"))
                .fix(crate::usb_access::permission_denied_advice(path, data_dir))
        }
        Err(e) => Check::new("hidraw", title, Status::Warn)
            .saw(format!("{described}: {e}"))
            .fix("the key may be busy or gone: close other programs using it, then unplug and re-plug it"),
    }
}

/// `/dev/hidraw0 (mode 0600, owner uid 0 gid 0; this process runs as uid 1000)`.
#[cfg(unix)]
fn describe_node(path: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let me = rustix::process::geteuid().as_raw();
    match std::fs::metadata(path) {
        Ok(m) => format!(
            "{} (mode {}, owner uid {} gid {}; this process runs as uid {me})",
            path.display(),
            super::octal(m.mode()),
            m.uid(),
            m.gid()
        ),
        Err(e) => format!("{}: {e}", path.display()),
    }
}

/// The node's path (no modes elsewhere).
#[cfg(not(unix))]
fn describe_node(path: &Path) -> String {
    path.display().to_string()
}

/// Where a virtual key made through uhid comes from.
const UHID: &str = "/dev/uhid";

/// /dev/uhid present and writable (Linux; a skip elsewhere).
pub fn uhid() -> Check {
    let title = "virtual keys as HID devices (/dev/uhid)";
    if !cfg!(target_os = "linux") {
        return Check::new("uhid", title, Status::Skip)
            .saw("uhid is Linux's; virtual keys serve over UDP here");
    }
    let path = Path::new(UHID);
    if !path.exists() {
        return Check::new("uhid", title, Status::Warn)
            .saw(format!("{UHID} does not exist (the uhid kernel module is not loaded)"))
            .fix("sudo modprobe uhid (and add uhid to /etc/modules-load.d/uhid.conf to keep it); virtual keys over UDP work without it");
    }
    let described = describe_node(path);
    match std::fs::OpenOptions::new().read(true).write(true).open(path) {
        // Opening creates nothing: a device appears only after UHID_CREATE2.
        Ok(_) => Check::new("uhid", title, Status::Ok)
            .saw(format!("{described}: opened for reading and writing")),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            Check::new("uhid", title, Status::Warn)
                .saw(format!("{described}: {e}"))
                .fix("run `keybench virtual-key serve --uhid` as root, or grant a group: echo 'KERNEL==\"uhid\", GROUP=\"plugdev\", MODE=\"0660\"' | sudo tee /etc/udev/rules.d/71-keybench-uhid.rules && sudo udevadm control --reload-rules && sudo udevadm trigger /dev/uhid; virtual keys over UDP work without it")
        }
        Err(e) => Check::new("uhid", title, Status::Warn).saw(format!("{described}: {e}")),
    }
}
