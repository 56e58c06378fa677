//! Shared helpers for the cross-crate and end-to-end tests in this directory.

use std::path::PathBuf;

/// The workspace root (the directory holding the top-level Cargo.toml).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

pub mod hid_vm_harness;
pub mod pcsc_service;
pub mod process;
