//! The Tauri shell: registers the keys panel's commands (each delegates to
//! one [`Keys`] method, off the UI thread), forwards [`Notify`] events to
//! the window, and opens the window on the app's own server.

use crate::error::CommandError;
use crate::keys::{KeyEntry, Keys, Notify};
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
async fn key_info(keys: Ks<'_>, key: String) -> Result<Value, CommandError> {
    blocking(&keys, move |k| k.info(&key)).await
}

#[tauri::command]
async fn key_wink(keys: Ks<'_>, key: String) -> Result<(), CommandError> {
    blocking(&keys, move |k| k.wink(&key)).await
}

#[tauri::command]
async fn pin_retries(keys: Ks<'_>, key: String) -> Result<Value, CommandError> {
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
async fn credentials_list(keys: Ks<'_>, key: String, pin: String) -> Result<Value, CommandError> {
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
async fn key_reset(keys: Ks<'_>, key: String) -> Result<(), CommandError> {
    blocking(&keys, move |k| k.reset(&key)).await
}

#[tauri::command]
async fn virtual_key_start(
    keys: Ks<'_>,
    algorithms: Vec<String>,
    presence: String,
) -> Result<KeyEntry, CommandError> {
    blocking(&keys, move |k| k.start_virtual(&algorithms, &presence)).await
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

#[tauri::command]
async fn ceremony_cancel(keys: Ks<'_>) -> Result<bool, CommandError> {
    Ok(keys.cancel())
}

/// Opens the window on `url` and runs until it is closed.
/// `on_exit` runs once when the app exits (the server's graceful shutdown).
pub fn run_window(
    url: &str,
    keys: Arc<Keys>,
    notify: Arc<TauriNotify>,
    on_exit: impl FnOnce() + Send + 'static,
) -> Result<(), anyhow::Error> {
    let url: tauri::Url = url.parse()?;
    let app = tauri::Builder::default()
        .manage(keys.clone())
        .invoke_handler(tauri::generate_handler![
            app_info,
            keys_list,
            key_info,
            key_wink,
            pin_retries,
            pin_set,
            pin_change,
            credentials_list,
            credential_delete,
            key_reset,
            virtual_key_start,
            virtual_key_stop,
            presence_answer,
            ceremony_register,
            ceremony_authenticate,
            ceremony_cancel,
        ])
        .setup(move |app| {
            let _ = notify.0.set(app.handle().clone());
            tauri::WebviewWindowBuilder::new(app, "main", tauri::WebviewUrl::External(url))
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
