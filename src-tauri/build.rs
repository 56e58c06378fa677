//! Tauri's build step: reads tauri.conf.json and capabilities/, embeds the
//! start page (dist/) and the icon, and declares the app's own commands so
//! that Tauri generates an `allow-…` permission for each. The window shows
//! a page from the app's loopback server, a *remote* origin to Tauri, which
//! may call only commands a capability with a matching `remote` URL allows:
//! the shell adds that capability at start, for this launch's port only
//! (src/shell.rs), so no capability file grants anything to any other
//! address.

const COMMANDS: &[&str] = &[
    "app_info",
    "keys_list",
    "key_info",
    "key_wink",
    "pin_retries",
    "pin_set",
    "pin_change",
    "credentials_list",
    "credential_delete",
    "large_blobs_list",
    "large_blob_write",
    "large_blob_delete",
    "key_reset",
    "virtual_key_start",
    "virtual_key_stop",
    "presence_answer",
    "ceremony_register",
    "ceremony_authenticate",
    "ceremony_cancel",
    "lab_compare",
    "lab_export",
    "key_probe",
    "system_doctor",
    "mds_install",
    "fingerprints_list",
    "fingerprint_enroll",
    "fingerprint_rename",
    "fingerprint_delete",
];

fn main() {
    if let Err(e) = tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    ) {
        eprintln!("tauri-build: {e:#}");
        std::process::exit(1);
    }
}
