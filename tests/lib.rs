//! Shared helpers for the cross-crate and end-to-end tests in this directory.

use std::path::PathBuf;

/// The workspace root (the directory holding the top-level Cargo.toml).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// The `keybench` binary `cargo test` built beside this test.
pub fn keybench_binary() -> Result<PathBuf, String> {
    // target/<profile>/deps/<test>-… → target/<profile>/keybench
    let bin = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("keybench")))
        .unwrap_or_default();
    if !bin.exists() {
        return Err(format!(
            "{} is not built: run `cargo build -p keybench` (cargo test --workspace builds it)",
            bin.display()
        ));
    }
    Ok(bin)
}

pub mod hid_vm_harness;
pub mod pcsc_service;
pub mod process;
