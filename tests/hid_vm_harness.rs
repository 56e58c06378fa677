//! The HID VM harness (tests/hid-vm) as the tests use it: where it is
//! prepared, the keybench binary the guest runs, and one run of a guest
//! script in its own work directory.
//!
//! Each test runs in a subdirectory of the prepared harness (its own
//! `guest.env`, `out/` and copies of what the guest runs), so two tests
//! never share files; the kernel and initramfs are the harness's.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A prepared harness and the Python the guest runs.
pub struct Harness {
    /// The directory tests/hid-vm/setup.sh prepared (`KEYBENCH_HID_VM`).
    pub root: PathBuf,
    /// A Python with python-fido2 2.2.1 (`KEYBENCH_PYTHON`), outside /tmp and /run.
    pub python: String,
}

/// The guest's console and the harness's log of one run.
pub struct GuestRun {
    /// The guest's serial console (everything its script printed).
    pub console: String,
    /// run-harness.sh's own lines (accelerator, wall time, exit code).
    pub log: String,
    /// Whether the guest script exited 0.
    pub success: bool,
}

impl Harness {
    /// The harness from `KEYBENCH_HID_VM` and `KEYBENCH_PYTHON`; `Ok(None)`
    /// when `KEYBENCH_SKIP_VM=1` asks to skip and they are not set; an error
    /// saying what to do when they are missing otherwise.
    pub fn from_env() -> Result<Option<Harness>, String> {
        let (Ok(root), Ok(python)) = (
            std::env::var("KEYBENCH_HID_VM"),
            std::env::var("KEYBENCH_PYTHON"),
        ) else {
            if std::env::var("KEYBENCH_SKIP_VM").as_deref() == Ok("1") {
                eprintln!("skipped on request (KEYBENCH_SKIP_VM=1)");
                return Ok(None);
            }
            return Err(
                "set KEYBENCH_HID_VM (a work dir prepared by tests/hid-vm/setup.sh) and KEYBENCH_PYTHON (python with fido2==2.2.1); scripts/test does both. KEYBENCH_SKIP_VM=1 skips."
                    .into(),
            );
        };
        // The guest sees the host's root read-only, but with fresh tmpfs over
        // /tmp and /run: what it runs is copied into the shared work
        // directory, and the Python (a virtualenv, which cannot move) must
        // live elsewhere.
        if python.starts_with("/tmp/") || python.starts_with("/run/") {
            return Err(format!(
                "KEYBENCH_PYTHON={python} is under /tmp or /run, which the VM guest cannot see"
            ));
        }
        Ok(Some(Harness {
            root: PathBuf::from(root),
            python,
        }))
    }

    /// A fresh work directory `name` inside the harness (emptied first).
    pub fn work_dir(&self, name: &str) -> Result<PathBuf, String> {
        let work = self.root.join(name);
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(work.join("out"))
            .map_err(|e| format!("creating {}: {e}", work.display()))?;
        Ok(work)
    }

    /// Boots the VM on `work` (a directory from [`Harness::work_dir`]) and
    /// runs `script` there (a path inside `work`), killed after `timeout`.
    pub fn run(&self, work: &Path, script: &Path, timeout: Duration) -> Result<GuestRun, String> {
        let root = crate::workspace_root();
        let output = crate::process::output_within(
            Command::new("bash")
                .arg(root.join("tests/hid-vm/run-harness.sh"))
                .arg(script)
                .arg(timeout.as_secs().to_string())
                .env("HARNESS_WORK", work)
                .env("KERNEL", self.root.join("kernel/vmlinux"))
                .env("INITRD", self.root.join("initramfs.cpio.gz")),
            // run-harness.sh stops qemu at `timeout`; this bounds the rest.
            timeout + Duration::from_secs(30),
        )?;
        Ok(GuestRun {
            console: String::from_utf8_lossy(&output.stdout).into_owned(),
            log: String::from_utf8_lossy(&output.stderr).into_owned(),
            success: output.status.success(),
        })
    }
}

pub use crate::keybench_binary;
