//! The keys panel, written once below Tauri: plugged USB keys (hot-plug),
//! virtual keys started for demos, and one operation per library call —
//! getInfo, wink, PIN, credential management, large blobs, reset, the WebAuthn
//! client role for ceremonies, and the key lab's probe. The shell (`shell.rs`) registers each method
//! as a Tauri command and forwards [`Notify`] events to the window; tests
//! call the methods directly.
//!
//! One operation runs on a key at a time (a CTAPHID device serves one
//! transaction at a time, and a virtual key over UDP answers whoever wrote
//! last); a second one gets `key_busy`. Cancel is the exception: it only
//! flips the running ceremony's [`CancelToken`], and the client sends
//! CTAPHID_CANCEL on the open channel.

use crate::error::CommandError;
use crate::virtual_key::VirtualKey;
use ctap_client::Recorder;
use ctap_client::webauthn::{self, ClientContext};
use ctaphid::{CancelToken, KeepaliveStatus, ReportTransport, Transaction};
use key_ops::views::{CredentialsView, InfoView, PinRetriesView};
use key_ops::virtual_key::Presence;
use key_ops::{AnyDevice, ops};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Where the panel's live events go (the shell emits them to the window).
pub trait Notify: Send + Sync + 'static {
    /// Sends `payload` as the event `name`.
    fn emit(&self, name: &'static str, payload: Value);
}

/// Event names the UI listens to.
pub mod events {
    /// The key list changed (payload: the new list).
    pub const KEYS_CHANGED: &str = "keys-changed";
    /// A ceremony's key asked for a touch (payload `{"status": "up-needed"}`).
    pub const CEREMONY_STATUS: &str = "ceremony-status";
    /// One CTAP traffic event (frame, decoded request or response, keepalive).
    pub const TRAFFIC: &str = "ctap-traffic";
    /// A virtual key with presence "ask" wants a touch (`{promptId, key, operation, rpId}`).
    pub const PRESENCE_REQUEST: &str = "presence-request";
    /// The key lab's comparison starts a round (`{algorithm, round, rounds}`).
    pub const LAB_PROGRESS: &str = "lab-progress";
    /// A probe's progress: `{key, event: "running"|"touch"|"doNotTouch"|"finished", …}`
    /// (key-lab's `ProbeEvent`, with the key it runs on).
    pub const PROBE_PROGRESS: &str = "probe-progress";
}

/// A key the panel lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyEntry {
    /// What the other commands take: `hid:PATH`, `pcsc:READER` or `udp:HOST:PORT`.
    pub id: String,
    /// "usb", "nfc" (a FIDO card on a PC/SC reader) or "virtual".
    pub kind: &'static str,
    /// For people.
    pub label: String,
    /// USB vendor id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<u16>,
    /// USB product id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_id: Option<u16>,
    /// A virtual key's algorithms.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub algorithms: Vec<String>,
    /// A virtual key's presence policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence: Option<String>,
}

#[derive(Default)]
struct Inner {
    usb: Vec<KeyEntry>,
    /// FIDO cards on smart-card / NFC readers.
    nfc: Vec<KeyEntry>,
    usb_error: Option<String>,
    virtual_keys: BTreeMap<String, VirtualKey>,
    busy: HashSet<String>,
    /// The running ceremony or reset of each key, to cancel that one only.
    ceremonies: BTreeMap<String, CancelToken>,
    /// One client socket per UDP key, kept across operations: a UDP key
    /// serves one client address at a time, so a new socket per operation
    /// would wait for the key to let the previous one go.
    udp_clients: HashMap<String, std::net::UdpSocket>,
}

/// The panel's state: one per app, shared by every command.
pub struct Keys {
    origin: String,
    data_dir: PathBuf,
    recorder: Recorder,
    notify: Arc<dyn Notify>,
    inner: Mutex<Inner>,
    /// Puts FIDO metadata installed here in force in the app's server.
    metadata: Mutex<Option<keybench_server::metadata::Reloader>>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// Marks a key busy for one operation; dropping it frees the key.
pub(crate) struct BusyGuard<'a> {
    keys: &'a Keys,
    id: String,
}

impl Drop for BusyGuard<'_> {
    fn drop(&mut self) {
        self.keys.lock().busy.remove(&self.id);
    }
}

impl Keys {
    /// The panel for the relying party at `origin` (the app's own server),
    /// with notes written under `data_dir`.
    pub fn new(origin: String, data_dir: PathBuf, notify: Arc<dyn Notify>) -> Arc<Keys> {
        Arc::new(Keys {
            origin,
            data_dir,
            recorder: Recorder::default(),
            notify,
            inner: Mutex::new(Inner::default()),
            metadata: Mutex::new(None),
        })
    }

    /// The app's server, for FIDO metadata installed from the window.
    pub fn set_metadata_reloader(&self, reloader: keybench_server::metadata::Reloader) {
        *self
            .metadata
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(reloader);
    }

    /// Verifies a BLOB (the text of a file the user picked) into the data
    /// directory's metadata cache and puts it in force in the app's server.
    pub fn mds_install(&self, blob: &str) -> Result<key_ops::metadata::InstallView, CommandError> {
        let view = key_ops::metadata::install_bytes(
            &self.data_dir,
            blob.trim().as_bytes(),
            &[],
            &key_ops::metadata::SignerChoice::default(),
        )?;
        let reloader = self
            .metadata
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if let Some(reloader) = reloader {
            reloader
                .reload()
                .map_err(|e| CommandError::new("mds_reload", e))?;
        }
        Ok(view)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind; keep going.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Where live events go.
    pub(crate) fn notify(&self) -> Arc<dyn Notify> {
        self.notify.clone()
    }

    /// The origin ceremonies claim (the app's own server).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Starts the background feeds: the recorder's traffic and (with USB
    /// support) the hot-plug watcher, both pushed through [`Notify`].
    pub fn start_feeds(self: &Arc<Self>) {
        let feed = self.recorder.subscribe();
        let notify = self.notify.clone();
        std::thread::spawn(move || {
            for event in feed {
                if let Ok(v) = serde_json::to_value(&event) {
                    notify.emit(events::TRAFFIC, v);
                }
            }
        });
        self.start_usb_watch();
        self.start_pcsc_watch();
    }

    /// Follows smart-card and NFC readers: a FIDO card put on a reader is
    /// listed, taken off it is removed.
    #[cfg(feature = "pcsc")]
    fn start_pcsc_watch(self: &Arc<Self>) {
        use ctap_client::pcsc::{self, ReaderEvent};
        let rx = pcsc::watch();
        let keys = Arc::downgrade(self);
        std::thread::spawn(move || {
            for event in rx {
                let Some(keys) = keys.upgrade() else { return };
                {
                    let mut inner = keys.lock();
                    match event {
                        ReaderEvent::ReaderAdded(r) | ReaderEvent::CardInserted(r) => {
                            let entry = nfc_entry(&r);
                            inner.nfc.retain(|e| e.id != entry.id);
                            if r.fido.is_some() {
                                inner.nfc.push(entry);
                            }
                        }
                        ReaderEvent::ReaderRemoved(r) | ReaderEvent::CardRemoved(r) => {
                            let id = format!("pcsc:{}", r.reader);
                            inner.nfc.retain(|e| e.id != id);
                        }
                    }
                }
                keys.keys_changed();
            }
        });
    }

    #[cfg(not(feature = "pcsc"))]
    fn start_pcsc_watch(self: &Arc<Self>) {}

    #[cfg(feature = "hidapi")]
    fn start_usb_watch(self: &Arc<Self>) {
        use ctap_client::hid::{self, KeyEvent};
        match hid::watch() {
            Ok(rx) => {
                let keys = Arc::downgrade(self);
                std::thread::spawn(move || {
                    for event in rx {
                        let Some(keys) = keys.upgrade() else { return };
                        {
                            let mut inner = keys.lock();
                            match event {
                                KeyEvent::Added(k) => inner.usb.push(usb_entry(&k)),
                                KeyEvent::Removed(k) => {
                                    let id = format!("hid:{}", k.path);
                                    inner.usb.retain(|e| e.id != id);
                                }
                            }
                        }
                        keys.keys_changed();
                    }
                });
            }
            Err(e) => self.lock().usb_error = Some(e.to_string()),
        }
    }

    #[cfg(not(feature = "hidapi"))]
    fn start_usb_watch(self: &Arc<Self>) {
        self.lock().usb_error = Some("this build has no USB HID support".into());
    }

    fn keys_changed(&self) {
        if let Ok(v) = serde_json::to_value(self.list()) {
            self.notify.emit(events::KEYS_CHANGED, v);
        }
    }

    /// Plugged and virtual keys.
    pub fn list(&self) -> Vec<KeyEntry> {
        let inner = self.lock();
        inner
            .usb
            .iter()
            .cloned()
            .chain(inner.nfc.iter().cloned())
            .chain(inner.virtual_keys.values().map(|v| v.entry.clone()))
            .collect()
    }

    /// Why USB keys cannot be listed, if they cannot.
    pub fn usb_error(&self) -> Option<String> {
        self.lock().usb_error.clone()
    }

    /// The data directory (for platform notes).
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    fn claim(&self, id: &str) -> Result<BusyGuard<'_>, CommandError> {
        if !self.lock().busy.insert(id.to_owned()) {
            return Err(CommandError::new(
                "key_busy",
                "this key is busy with another operation; wait for it or press Cancel",
            ));
        }
        Ok(BusyGuard {
            keys: self,
            id: id.to_owned(),
        })
    }

    /// This app's client socket for the UDP key `id` at `addr`.
    fn udp_client(
        &self,
        id: &str,
        addr: std::net::SocketAddr,
    ) -> std::io::Result<std::net::UdpSocket> {
        let mut inner = self.lock();
        if let Some(socket) = inner.udp_clients.get(id) {
            return socket.try_clone();
        }
        let local: std::net::SocketAddr = if addr.is_ipv4() {
            ([127, 0, 0, 1], 0).into()
        } else {
            (std::net::Ipv6Addr::LOCALHOST, 0).into()
        };
        let socket = std::net::UdpSocket::bind(local)?;
        socket.connect(addr)?;
        let clone = socket.try_clone()?;
        inner.udp_clients.insert(id.to_owned(), socket);
        Ok(clone)
    }

    /// Opens `id` for one operation.
    /// Only keys this app listed (plugged-in USB keys it discovered, virtual
    /// keys it started) are opened: a command naming any other `udp:` or
    /// `hid:` address is refused before anything is sent there.
    pub(crate) fn open(&self, id: &str) -> Result<(BusyGuard<'_>, AnyDevice), CommandError> {
        self.open_with(id, self.recorder.clone())
    }

    /// [`Keys::open`] with its own recorder (the key lab's many exchanges
    /// stay out of the live traffic view).
    pub(crate) fn open_with(
        &self,
        id: &str,
        recorder: Recorder,
    ) -> Result<(BusyGuard<'_>, AnyDevice), CommandError> {
        let listed = {
            let inner = self.lock();
            inner.usb.iter().any(|e| e.id == id)
                || inner.nfc.iter().any(|e| e.id == id)
                || inner.virtual_keys.contains_key(id)
        };
        if !listed {
            return Err(CommandError::new(
                if id.starts_with("udp:") || id.starts_with("hid:") || id.starts_with("pcsc:") {
                    "unknown_key"
                } else {
                    "bad_key_id"
                },
                format!("{id:?} is not a key this app listed"),
            ));
        }
        let guard = self.claim(id)?;
        if let Some(reader) = id.strip_prefix("pcsc:") {
            let device = key_ops::open::open_pcsc(reader, self.recorder.clone())?;
            return Ok((guard, device));
        }
        let transport: Box<dyn ReportTransport> = if let Some(addr) = id.strip_prefix("udp:") {
            let addr = addr.parse().map_err(|_| {
                CommandError::new("bad_key_id", format!("{id:?}: expected udp:HOST:PORT"))
            })?;
            let socket = self
                .udp_client(id, addr)
                .map_err(|e| CommandError::new("transport", e.to_string()))?;
            Box::new(
                ctaphid::UdpReports::from_connected(socket)
                    .map_err(|e| CommandError::new("transport", e.to_string()))?,
            )
        } else if let Some(path) = id.strip_prefix("hid:") {
            key_ops::open::hid_transport(path)?
        } else {
            return Err(CommandError::new(
                "bad_key_id",
                format!("{id:?} is not a key this app listed"),
            ));
        };
        let device = key_ops::open::open_transport(transport, recorder)?;
        Ok((guard, device))
    }

    /// getInfo, decoded.
    pub fn info(&self, id: &str) -> Result<InfoView, CommandError> {
        let metadata =
            key_ops::metadata::load(&self.data_dir, &key_ops::metadata::SignerChoice::default())?;
        let (_busy, mut device) = self.open(id)?;
        Ok(ops::info_with_metadata(&mut device, &metadata)?)
    }

    /// Makes the key blink (CTAPHID_WINK).
    pub fn wink(&self, id: &str) -> Result<(), CommandError> {
        let (_busy, mut device) = self.open(id)?;
        Ok(device.wink()?)
    }

    /// PIN retries left, and whether a re-plug is needed first.
    pub fn pin_retries(&self, id: &str) -> Result<PinRetriesView, CommandError> {
        let (_busy, mut device) = self.open(id)?;
        Ok(ops::pin_retries(&mut device)?)
    }

    /// Sets the first PIN.
    pub fn pin_set(&self, id: &str, new_pin: &str) -> Result<(), CommandError> {
        let (_busy, mut device) = self.open(id)?;
        Ok(device.set_pin(new_pin)?)
    }

    /// Changes the PIN.
    pub fn pin_change(&self, id: &str, current: &str, new_pin: &str) -> Result<(), CommandError> {
        let (_busy, mut device) = self.open(id)?;
        Ok(device.change_pin(current, new_pin)?)
    }

    /// Discoverable credentials on the key (needs the PIN).
    pub fn credentials(&self, id: &str, pin: &str) -> Result<CredentialsView, CommandError> {
        let (_busy, mut device) = self.open(id)?;
        Ok(ops::credentials(&mut device, pin)?)
    }

    /// Deletes one discoverable credential (needs the PIN).
    pub fn delete_credential(
        &self,
        id: &str,
        pin: &str,
        credential_id: &str,
    ) -> Result<(), CommandError> {
        let (_busy, mut device) = self.open(id)?;
        Ok(ops::delete_credential(&mut device, pin, credential_id)?)
    }

    /// Every credential that can hold a large blob, with its blob
    /// decrypted (needs the PIN).
    pub fn large_blobs(
        &self,
        id: &str,
        pin: &str,
    ) -> Result<key_ops::large_blobs::CredentialBlobsView, CommandError> {
        let (_busy, mut device) = self.open(id)?;
        Ok(key_ops::large_blobs::by_credential(&mut device, pin)?)
    }

    /// Stores `blob` as the large blob of `credential_id`, replacing its
    /// old one (needs the PIN).
    pub fn large_blob_write(
        &self,
        id: &str,
        pin: &str,
        credential_id: &str,
        blob: &[u8],
    ) -> Result<(), CommandError> {
        let (_busy, mut device) = self.open(id)?;
        Ok(key_ops::large_blobs::write(
            &mut device,
            pin,
            credential_id,
            blob,
        )?)
    }

    /// Deletes the large blob of `credential_id`; answers how many entries
    /// went (0: it had none).
    pub fn large_blob_delete(
        &self,
        id: &str,
        pin: &str,
        credential_id: &str,
    ) -> Result<usize, CommandError> {
        let (_busy, mut device) = self.open(id)?;
        Ok(key_ops::large_blobs::delete(
            &mut device,
            pin,
            credential_id,
        )?)
    }

    /// Resets the key. Keys accept it only within about 10 seconds of
    /// power-up (a re-plug; for a virtual key, its start) and ask for a
    /// touch; the UI says so before calling this.
    pub fn reset(&self, id: &str) -> Result<(), CommandError> {
        let (_busy, mut device) = self.open(id)?;
        let cancel = self.begin_ceremony(id);
        let notify = self.notify.clone();
        let mut prompt = touch_prompt(notify);
        let result = device.reset(Transaction {
            timeout: Duration::from_secs(30),
            on_keepalive: Some(&mut prompt),
            cancel: Some(&cancel),
        });
        self.end_ceremony(id);
        Ok(result?)
    }

    /// Runs the key lab's probe on `id`, telling the window of each check
    /// as it starts and finishes ([`events::PROBE_PROGRESS`]); returns the
    /// whole report. `destructive` is asked for by the page only after the
    /// person confirmed it.
    pub fn probe(
        &self,
        id: &str,
        destructive: bool,
        pin: Option<&str>,
    ) -> Result<Value, CommandError> {
        let (_busy, mut device) = self.open(id)?;
        // Cancel (ceremony_cancel) stops the probe: the touch it waits for
        // is cancelled and the checks not run yet are skipped.
        let cancel = self.begin_ceremony(id);
        let options = key_lab::probe::ProbeOptions {
            destructive,
            pin: pin.map(str::to_owned),
            cancel,
        };
        let notify = self.notify.clone();
        let key = id.to_owned();
        let report = key_lab::probe::run(&mut device, &options, &mut |event| {
            if let Ok(Value::Object(mut payload)) = serde_json::to_value(&event) {
                payload.insert("key".into(), Value::String(key.clone()));
                notify.emit(events::PROBE_PROGRESS, Value::Object(payload));
            }
        });
        self.end_ceremony(id);
        serde_json::to_value(&report).map_err(|e| CommandError::new("internal", e.to_string()))
    }

    /// Where events for the window go.
    pub(crate) fn notifier(&self) -> Arc<dyn Notify> {
        self.notify.clone()
    }

    pub(crate) fn begin_ceremony(&self, id: &str) -> CancelToken {
        let token = CancelToken::new();
        self.lock().ceremonies.insert(id.to_owned(), token.clone());
        token
    }

    pub(crate) fn end_ceremony(&self, id: &str) {
        self.lock().ceremonies.remove(id);
    }

    /// Cancels the running ceremony or reset of `key`, or, with no key,
    /// every one (the page is going away); false when none was running.
    pub fn cancel(&self, key: Option<&str>) -> bool {
        let tokens: Vec<CancelToken> = {
            let mut inner = self.lock();
            match key {
                Some(id) => inner.ceremonies.remove(id).into_iter().collect(),
                None => std::mem::take(&mut inner.ceremonies)
                    .into_values()
                    .collect(),
            }
        };
        for token in &tokens {
            token.cancel();
        }
        !tokens.is_empty()
    }

    /// Runs the WebAuthn client's registration for `options`
    /// (PublicKeyCredentialCreationOptionsJSON, bare or as `{"publicKey": …}`)
    /// and returns `PublicKeyCredential.toJSON()` for the relying party.
    pub fn register(
        &self,
        id: &str,
        options: &Value,
        pin: Option<&str>,
    ) -> Result<Value, CommandError> {
        let options = key_ops::options::parse(options)?;
        self.ceremony(id, pin, |device, ctx| {
            webauthn::register(device, &options, ctx).map(|r| serde_json::to_value(&r))
        })
    }

    /// The same for authentication (PublicKeyCredentialRequestOptionsJSON).
    pub fn authenticate(
        &self,
        id: &str,
        options: &Value,
        pin: Option<&str>,
    ) -> Result<Value, CommandError> {
        let options = key_ops::options::parse(options)?;
        self.ceremony(id, pin, |device, ctx| {
            webauthn::authenticate(device, &options, ctx).map(|r| serde_json::to_value(&r))
        })
    }

    fn ceremony(
        &self,
        id: &str,
        pin: Option<&str>,
        run: impl FnOnce(
            &mut AnyDevice,
            &mut ClientContext<'_>,
        ) -> Result<serde_json::Result<Value>, ctap_client::CtapError>,
    ) -> Result<Value, CommandError> {
        let (_busy, mut device) = self.open(id)?;
        let cancel = self.begin_ceremony(id);
        let mut prompt = touch_prompt(self.notify.clone());
        let mut ctx = ClientContext {
            pin,
            on_status: Some(&mut prompt),
            cancel: Some(&cancel),
            ..ClientContext::new(self.origin.clone())
        };
        let result = run(&mut device, &mut ctx);
        self.end_ceremony(id);
        result?.map_err(|e| CommandError::new("internal", e.to_string()))
    }

    /// Starts a virtual key on a loopback UDP port and lists it.
    pub fn start_virtual(
        &self,
        algorithms: &[String],
        presence: &str,
    ) -> Result<KeyEntry, CommandError> {
        self.start_virtual_key(algorithms, presence, false)
    }

    /// [`Keys::start_virtual`], with a fingerprint sensor when `fingerprint`
    /// (its samples and matches answered by the presence policy).
    pub fn start_virtual_key(
        &self,
        algorithms: &[String],
        presence: &str,
        fingerprint: bool,
    ) -> Result<KeyEntry, CommandError> {
        let algorithms = algorithms
            .iter()
            .map(|a| key_ops::algorithms::virtual_key_algorithm(a))
            .collect::<Result<Vec<_>, _>>()?;
        let presence: Presence = presence.parse()?;
        let key = VirtualKey::start(algorithms, presence, fingerprint, self.notify.clone())?;
        let entry = key.entry.clone();
        self.lock().virtual_keys.insert(entry.id.clone(), key);
        self.keys_changed();
        Ok(entry)
    }

    /// Stops a virtual key.
    pub fn stop_virtual(&self, id: &str) -> Result<(), CommandError> {
        self.lock().udp_clients.remove(id);
        let key = self.lock().virtual_keys.remove(id).ok_or_else(|| {
            CommandError::new("no_such_key", format!("{id} is not a running virtual key"))
        })?;
        key.stop();
        self.keys_changed();
        Ok(())
    }

    /// Answers a virtual key's "ask" presence prompt.
    pub fn answer_presence(
        &self,
        key: &str,
        prompt_id: u64,
        touched: bool,
    ) -> Result<(), CommandError> {
        let inner = self.lock();
        let vk = inner.virtual_keys.get(key).ok_or_else(|| {
            CommandError::new("no_such_key", format!("{key} is not a running virtual key"))
        })?;
        if vk.answer(prompt_id, touched) {
            Ok(())
        } else {
            Err(CommandError::new(
                "no_such_prompt",
                "that touch request is over (answered, cancelled or timed out)",
            ))
        }
    }

    /// Stops every virtual key (at exit).
    pub fn shutdown(&self) {
        let keys = std::mem::take(&mut self.lock().virtual_keys);
        for (_, key) in keys {
            key.stop();
        }
    }
}

#[cfg(feature = "pcsc")]
fn nfc_entry(r: &ctap_client::pcsc::ReaderDescriptor) -> KeyEntry {
    KeyEntry {
        id: format!("pcsc:{}", r.reader),
        kind: "nfc",
        label: format!("FIDO card on {}", r.reader),
        vendor_id: None,
        product_id: None,
        algorithms: Vec::new(),
        presence: None,
    }
}

#[cfg(feature = "hidapi")]
fn usb_entry(k: &ctap_client::hid::KeyDescriptor) -> KeyEntry {
    KeyEntry {
        id: format!("hid:{}", k.path),
        kind: "usb",
        label: key_ops::open::usb_label(k),
        vendor_id: Some(k.vendor_id),
        product_id: Some(k.product_id),
        algorithms: Vec::new(),
        presence: None,
    }
}

/// Emits "up-needed" once per operation — and only when the key asks for a
/// touch, never for "processing".
pub(crate) fn touch_prompt(notify: Arc<dyn Notify>) -> impl FnMut(KeepaliveStatus) {
    let mut shown = false;
    move |status| {
        if status == KeepaliveStatus::UpNeeded && !shown {
            shown = true;
            notify.emit(events::CEREMONY_STATUS, json!({"status": "up-needed"}));
        }
    }
}
