//! The Tauri shell: registers the keys panel's commands (each delegates to
//! one [`Keys`] method, off the UI thread), forwards [`Notify`] events to
//! the window, and opens the window on the app's own server. The commands
//! are granted to that server's origin only (a capability made at start,
//! for this launch's port), and the window never leaves that origin.

use crate::error::CommandError;
use crate::keys::{KeyEntry, Keys, Notify};
use crate::lab::{ComparisonView, ExportedReport, Lab};
use key_ops::bio::{EnrolledView, FingerprintsView};
use key_ops::views::{CredentialsView, InfoView, PinRetriesView};
use serde_json::{Value, json};
use std::sync::{Arc, OnceLock};
use tauri::{Emitter, Manager, State};

/// Emits to the window once Tauri is up (events before that are dropped:
/// the page reads the full state when it loads).
#[derive(Default)]
pub struct TauriNotify(OnceLock<tauri::AppHandle>);

impl Notify for TauriNotify {
    fn emit(&self, name: &'static str, payload: Value) {
        if let Some(app) = self.0.get() {
            // A closed window is not an error for a background feed.
            let _ = app.emit(name, payload);
        }
    }
}

type Ks<'a> = State<'a, Arc<Keys>>;

/// Runs `f` on a blocking thread: CTAP calls wait on the key (a touch can
/// take seconds), and Tauri runs synchronous commands on the main thread.
async fn blocking<T: Send + 'static>(
    keys: &Ks<'_>,
    f: impl FnOnce(&Keys) -> Result<T, CommandError> + Send + 'static,
) -> Result<T, CommandError> {
    let keys = Arc::clone(keys.inner());
    tauri::async_runtime::spawn_blocking(move || f(&keys))
        .await
        .map_err(|e| CommandError::new("internal", e.to_string()))?
}

#[tauri::command]
async fn app_info(keys: Ks<'_>) -> Result<Value, CommandError> {
    Ok(json!({
        "origin": keys.origin(),
        "platform": crate::platform::notes(keys.data_dir()),
        "usbError": keys.usb_error(),
    }))
}

#[tauri::command]
async fn keys_list(keys: Ks<'_>) -> Result<Vec<KeyEntry>, CommandError> {
    Ok(keys.list())
}

#[tauri::command]
async fn key_info(keys: Ks<'_>, key: String) -> Result<InfoView, CommandError> {
    blocking(&keys, move |k| k.info(&key)).await
}

#[tauri::command]
async fn mds_install(
    keys: Ks<'_>,
    blob: String,
) -> Result<key_ops::metadata::InstallView, CommandError> {
    blocking(&keys, move |k| k.mds_install(&blob)).await
}

#[tauri::command]
async fn key_wink(keys: Ks<'_>, key: String) -> Result<(), CommandError> {
    blocking(&keys, move |k| k.wink(&key)).await
}

#[tauri::command]
async fn pin_retries(keys: Ks<'_>, key: String) -> Result<PinRetriesView, CommandError> {
    blocking(&keys, move |k| k.pin_retries(&key)).await
}

#[tauri::command]
async fn pin_set(keys: Ks<'_>, key: String, new_pin: String) -> Result<(), CommandError> {
    blocking(&keys, move |k| k.pin_set(&key, &new_pin)).await
}

#[tauri::command]
async fn pin_change(
    keys: Ks<'_>,
    key: String,
    current_pin: String,
    new_pin: String,
) -> Result<(), CommandError> {
    blocking(&keys, move |k| k.pin_change(&key, &current_pin, &new_pin)).await
}

#[tauri::command]
async fn credentials_list(
    keys: Ks<'_>,
    key: String,
    pin: String,
) -> Result<CredentialsView, CommandError> {
    blocking(&keys, move |k| k.credentials(&key, &pin)).await
}

#[tauri::command]
async fn credential_delete(
    keys: Ks<'_>,
    key: String,
    pin: String,
    credential_id: String,
) -> Result<(), CommandError> {
    blocking(&keys, move |k| {
        k.delete_credential(&key, &pin, &credential_id)
    })
    .await
}

#[tauri::command]
async fn large_blobs_list(
    keys: Ks<'_>,
    key: String,
    pin: String,
) -> Result<key_ops::large_blobs::CredentialBlobsView, CommandError> {
    blocking(&keys, move |k| k.large_blobs(&key, &pin)).await
}

#[tauri::command]
async fn large_blob_write(
    keys: Ks<'_>,
    key: String,
    pin: String,
    credential_id: String,
    blob: Vec<u8>,
) -> Result<(), CommandError> {
    blocking(&keys, move |k| {
        k.large_blob_write(&key, &pin, &credential_id, &blob)
    })
    .await
}

#[tauri::command]
async fn large_blob_delete(
    keys: Ks<'_>,
    key: String,
    pin: String,
    credential_id: String,
) -> Result<usize, CommandError> {
    blocking(&keys, move |k| {
        k.large_blob_delete(&key, &pin, &credential_id)
    })
    .await
}

#[tauri::command]
async fn key_reset(keys: Ks<'_>, key: String) -> Result<(), CommandError> {
    blocking(&keys, move |k| k.reset(&key)).await
}

#[tauri::command]
async fn virtual_key_start(
    keys: Ks<'_>,
    algorithms: Vec<String>,
    presence: String,
    fingerprint: Option<bool>,
) -> Result<KeyEntry, CommandError> {
    blocking(&keys, move |k| {
        k.start_virtual_key(&algorithms, &presence, fingerprint.unwrap_or(false))
    })
    .await
}

#[tauri::command]
async fn fingerprints_list(
    keys: Ks<'_>,
    key: String,
    pin: String,
) -> Result<FingerprintsView, CommandError> {
    blocking(&keys, move |k| k.fingerprints(&key, &pin)).await
}

#[tauri::command]
async fn fingerprint_enroll(
    keys: Ks<'_>,
    key: String,
    pin: String,
    name: Option<String>,
) -> Result<EnrolledView, CommandError> {
    blocking(&keys, move |k| {
        k.fingerprint_enroll(&key, &pin, name.as_deref())
    })
    .await
}

#[tauri::command]
async fn fingerprint_rename(
    keys: Ks<'_>,
    key: String,
    pin: String,
    template_id: String,
    name: String,
) -> Result<(), CommandError> {
    blocking(&keys, move |k| {
        k.fingerprint_rename(&key, &pin, &template_id, &name)
    })
    .await
}

#[tauri::command]
async fn fingerprint_delete(
    keys: Ks<'_>,
    key: String,
    pin: String,
    template_id: String,
) -> Result<(), CommandError> {
    blocking(&keys, move |k| {
        k.fingerprint_delete(&key, &pin, &template_id)
    })
    .await
}

#[tauri::command]
async fn virtual_key_stop(keys: Ks<'_>, key: String) -> Result<(), CommandError> {
    blocking(&keys, move |k| k.stop_virtual(&key)).await
}

#[tauri::command]
async fn presence_answer(
    keys: Ks<'_>,
    key: String,
    prompt_id: u64,
    touched: bool,
) -> Result<(), CommandError> {
    keys.answer_presence(&key, prompt_id, touched)
}

#[tauri::command]
async fn ceremony_register(
    keys: Ks<'_>,
    key: String,
    options: Value,
    pin: Option<String>,
) -> Result<Value, CommandError> {
    blocking(&keys, move |k| k.register(&key, &options, pin.as_deref())).await
}

#[tauri::command]
async fn ceremony_authenticate(
    keys: Ks<'_>,
    key: String,
    options: Value,
    pin: Option<String>,
) -> Result<Value, CommandError> {
    blocking(&keys, move |k| {
        k.authenticate(&key, &options, pin.as_deref())
    })
    .await
}

type Lb<'a> = State<'a, Arc<Lab>>;

/// Runs the key lab's comparison on `key` (progress as `lab-progress`
/// events; Cancel through `ceremony_cancel`).
#[tauri::command]
async fn lab_compare(
    lab: Lb<'_>,
    key: String,
    algorithms: Vec<String>,
    rounds: u32,
    pin: Option<String>,
) -> Result<ComparisonView, CommandError> {
    let lab = Arc::clone(lab.inner());
    tauri::async_runtime::spawn_blocking(move || {
        lab.compare(&key, &algorithms, rounds, pin.as_deref())
    })
    .await
    .map_err(|e| CommandError::new("internal", e.to_string()))?
}

/// Writes the last report (HTML, and JSON beside it) to `path`.
#[tauri::command]
async fn lab_export(lab: Lb<'_>, path: String) -> Result<ExportedReport, CommandError> {
    lab.export(&path)
}

/// Probes `key` (key-lab), with progress as `probe-progress` events.
#[tauri::command]
async fn key_probe(
    keys: Ks<'_>,
    key: String,
    destructive: bool,
    pin: Option<String>,
) -> Result<Value, CommandError> {
    blocking(&keys, move |k| k.probe(&key, destructive, pin.as_deref())).await
}

/// The System page: every `keybench doctor` check for this app.
#[tauri::command]
async fn system_doctor(keys: Ks<'_>) -> Result<key_ops::doctor::DoctorReport, CommandError> {
    blocking(&keys, |k| {
        Ok(crate::system::doctor(k.origin(), k.data_dir()))
    })
    .await
}

/// Cancels `key`'s ceremony, or every one when no key is named.
#[tauri::command]
async fn ceremony_cancel(keys: Ks<'_>, key: Option<String>) -> Result<bool, CommandError> {
    Ok(keys.cancel(key.as_deref()))
}

/// What the window's page may use: the app's events and each of its
/// commands (build.rs makes an `allow-…` permission per command).
const PERMISSIONS: &[&str] = &[
    "core:event:default",
    "allow-app-info",
    "allow-keys-list",
    "allow-key-info",
    "allow-key-wink",
    "allow-pin-retries",
    "allow-pin-set",
    "allow-pin-change",
    "allow-credentials-list",
    "allow-credential-delete",
    "allow-large-blobs-list",
    "allow-large-blob-write",
    "allow-large-blob-delete",
    "allow-key-reset",
    "allow-virtual-key-start",
    "allow-virtual-key-stop",
    "allow-presence-answer",
    "allow-ceremony-register",
    "allow-ceremony-authenticate",
    "allow-ceremony-cancel",
    "allow-lab-compare",
    "allow-lab-export",
    "allow-key-probe",
    "allow-system-doctor",
    "allow-mds-install",
    "allow-fingerprints-list",
    "allow-fingerprint-enroll",
    "allow-fingerprint-rename",
    "allow-fingerprint-delete",
];

/// The page's origin (`http://localhost:PORT`) as Tauri matches remote
/// URLs: this launch's scheme, host and port exactly, any path.
pub fn own_origin_pattern(url: &tauri::Url) -> String {
    url.origin().ascii_serialization()
}

/// The one capability of the app, made at start for this launch's server:
/// pages of any other origin (another local port, 127.0.0.1 instead of
/// localhost, anything remote) and any other window get no command.
fn own_origin_capability(url: &tauri::Url) -> tauri::ipc::CapabilityBuilder {
    PERMISSIONS.iter().fold(
        tauri::ipc::CapabilityBuilder::new("own-origin")
            .local(false)
            .remote(own_origin_pattern(url))
            .window("main"),
        |c, p| c.permission(*p),
    )
}

/// Whether the window may go to `to`: only pages of its own origin. Any
/// other http(s) address opens in the system browser instead; other
/// schemes go nowhere.
fn allow_navigation(own: &tauri::Url, to: &tauri::Url) -> bool {
    if to.origin() == own.origin() {
        return true;
    }
    if matches!(to.scheme(), "http" | "https")
        && let Err(e) = tauri_plugin_opener::open_url(to.as_str(), None::<&str>)
    {
        eprintln!("keybench-desktop: could not open {to} in the browser: {e}");
    }
    false
}

/// Opens the window on `url` and runs until it is closed.
/// `on_exit` runs once when the app exits (the server's graceful shutdown).
pub fn run_window(
    url: &str,
    keys: Arc<Keys>,
    lab: Arc<Lab>,
    notify: Arc<TauriNotify>,
    on_exit: impl FnOnce() + Send + 'static,
) -> Result<(), anyhow::Error> {
    let url: tauri::Url = url.parse()?;
    let own = url.clone();
    let app = tauri::Builder::default()
        .plugin(tauri_plugin_opener::init())
        .manage(keys.clone())
        .manage(lab)
        .invoke_handler(tauri::generate_handler![
            app_info,
            keys_list,
            key_info,
            mds_install,
            key_wink,
            pin_retries,
            pin_set,
            pin_change,
            credentials_list,
            credential_delete,
            large_blobs_list,
            large_blob_write,
            large_blob_delete,
            key_reset,
            virtual_key_start,
            virtual_key_stop,
            presence_answer,
            ceremony_register,
            ceremony_authenticate,
            ceremony_cancel,
            lab_compare,
            lab_export,
            key_probe,
            system_doctor,
            fingerprints_list,
            fingerprint_enroll,
            fingerprint_rename,
            fingerprint_delete,
        ])
        .setup(move |app| {
            let _ = notify.0.set(app.handle().clone());
            app.add_capability(own_origin_capability(&url))?;
            tauri::WebviewWindowBuilder::new(app, "main", tauri::WebviewUrl::External(url))
                .on_navigation(move |to| allow_navigation(&own, to))
                .title("Keybench")
                .inner_size(1200.0, 820.0)
                .min_inner_size(1024.0, 700.0)
                .build()?;
            app.state::<Arc<Keys>>().start_feeds();
            Ok(())
        })
        .build(tauri::generate_context!())?;
    let mut on_exit = Some(on_exit);
    app.run(move |_, event| {
        if let tauri::RunEvent::Exit = event {
            keys.shutdown();
            if let Some(f) = on_exit.take() {
                f();
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tauri::utils::acl::RemoteUrlPattern;

    /// Every command the window can call is in build.rs's list (so an
    /// `allow-…` permission exists) and granted to the app's own origin;
    /// a command registered without both is refused at run time.
    #[test]
    fn every_registered_command_is_built_and_granted() {
        let source = include_str!("shell.rs");
        let start = source.find("generate_handler![").unwrap();
        let end = start + source[start..].find("])").unwrap();
        let registered: Vec<&str> = source[start + "generate_handler![".len()..end]
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        assert!(registered.len() > 10, "{registered:?}");
        let build = include_str!("../build.rs");
        for command in registered {
            assert!(
                build.contains(&format!("\"{command}\"")),
                "{command} is not in build.rs's COMMANDS"
            );
            let permission = format!("allow-{}", command.replace('_', "-"));
            assert!(
                PERMISSIONS.contains(&permission.as_str()),
                "{permission} is not granted in PERMISSIONS"
            );
        }
    }

    #[test]
    fn the_capability_matches_this_launchs_origin_only() {
        let own: tauri::Url = "http://localhost:41234/#launch=secret".parse().unwrap();
        let pattern: RemoteUrlPattern = own_origin_pattern(&own).parse().unwrap();
        for ok in [
            "http://localhost:41234/",
            "http://localhost:41234/#/keys",
            "http://localhost:41234/index.html?x=1",
        ] {
            assert!(pattern.test(&ok.parse().unwrap()), "{ok}");
        }
        for other in [
            "http://localhost:41235/",
            "http://localhost:8080/#/keys",
            "http://127.0.0.1:41234/",
            "https://localhost:41234/",
            "http://localhost.evil.example:41234/",
            "http://evil.example/",
        ] {
            assert!(!pattern.test(&other.parse().unwrap()), "{other}");
        }
    }

    #[test]
    fn the_window_stays_on_its_own_origin() {
        let own: tauri::Url = "http://localhost:41234/".parse().unwrap();
        assert!(allow_navigation(
            &own,
            &"http://localhost:41234/#/dashboard".parse().unwrap()
        ));
        for other in [
            "http://localhost:41235/",
            "http://127.0.0.1:41234/",
            "file:///etc/passwd",
            "data:text/html,hi",
        ] {
            assert!(!allow_navigation(&own, &other.parse().unwrap()), "{other}");
        }
    }
}
