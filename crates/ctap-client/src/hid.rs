//! Real USB keys through the hidapi crate: discovery by the FIDO usage page
//! (0xF1D0, usage 0x01), a [`ReportTransport`] over an open key, and a
//! watcher that reports keys plugged in or pulled out within a second.

use ctaphid::{REPORT_LEN, Report, ReportTransport, TransportError};
use hidapi::{HidApi, HidDevice};
use serde::Serialize;
use std::ffi::CString;
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

/// The FIDO Alliance HID usage page.
pub const FIDO_USAGE_PAGE: u16 = 0xF1D0;
/// The CTAPHID usage on that page.
pub const FIDO_USAGE: u16 = 0x01;
/// How often the watcher looks for changes.
pub const WATCH_INTERVAL: Duration = Duration::from_millis(250);

/// A FIDO key found on the HID bus.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct KeyDescriptor {
    /// The OS path (on Linux /dev/hidrawN).
    pub path: String,
    /// USB vendor id.
    pub vendor_id: u16,
    /// USB product id.
    pub product_id: u16,
    /// Manufacturer string.
    pub manufacturer: Option<String>,
    /// Product string.
    pub product: Option<String>,
}

/// Why the HID layer failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HidapiError {
    /// hidapi itself failed to start or enumerate.
    #[error("HID enumeration failed: {0}")]
    Enumerate(String),
    /// The key could not be opened.
    #[error("cannot open {path}: {reason}{}", hint(reason))]
    Open {
        /// The path.
        path: String,
        /// hidapi's reason.
        reason: String,
    },
}

fn hint(reason: &str) -> &'static str {
    if reason.contains("ermission") || reason.contains("EACCES") {
        " — on Linux your user may not read hidraw devices: install a udev rule for FIDO keys \
         (see `keybench devices --help`), then re-plug the key"
    } else {
        ""
    }
}

/// Lists the FIDO keys now present.
pub fn list_keys(api: &HidApi) -> Vec<KeyDescriptor> {
    let mut keys: Vec<KeyDescriptor> = api
        .device_list()
        .filter(|d| d.usage_page() == FIDO_USAGE_PAGE && d.usage() == FIDO_USAGE)
        .map(|d| KeyDescriptor {
            path: d.path().to_string_lossy().into_owned(),
            vendor_id: d.vendor_id(),
            product_id: d.product_id(),
            manufacturer: d.manufacturer_string().map(str::to_owned),
            product: d.product_string().map(str::to_owned),
        })
        .collect();
    keys.sort_by(|a, b| a.path.cmp(&b.path));
    keys.dedup();
    keys
}

/// Starts hidapi and lists the keys.
pub fn discover() -> Result<(HidApi, Vec<KeyDescriptor>), HidapiError> {
    let api = HidApi::new().map_err(|e| HidapiError::Enumerate(e.to_string()))?;
    let keys = list_keys(&api);
    Ok((api, keys))
}

/// The shortest time between two reports written to a key. A USB key
/// takes at most one report per interrupt interval (1 ms at best), and a
/// write blocks until it has, so this costs a real key nothing; a key made
/// of /dev/uhid (the virtual key in a VM) has no such back-pressure and a
/// 32-event kernel queue, which a burst of 129 reports (one 7,609-byte
/// message) overruns.
pub const REPORT_INTERVAL: Duration = Duration::from_millis(1);

/// An open key.
pub struct HidapiTransport {
    device: HidDevice,
    last_write: Option<std::time::Instant>,
}

impl HidapiTransport {
    /// Opens the key at `path`.
    pub fn open(api: &HidApi, path: &str) -> Result<Self, HidapiError> {
        let open_error = |reason: String| HidapiError::Open {
            path: path.to_owned(),
            reason,
        };
        let c_path = CString::new(path).map_err(|_| open_error("path contains NUL".into()))?;
        let device = api
            .open_path(&c_path)
            .map_err(|e| open_error(e.to_string()))?;
        Ok(HidapiTransport {
            device,
            last_write: None,
        })
    }
}

impl ReportTransport for HidapiTransport {
    fn send(&mut self, report: &Report) -> Result<(), TransportError> {
        // Report id 0, then the 64 bytes.
        let mut out = [0u8; REPORT_LEN + 1];
        if let Some(body) = out.get_mut(1..) {
            body.copy_from_slice(report);
        }
        if let Some(wait) = self
            .last_write
            .and_then(|t| REPORT_INTERVAL.checked_sub(t.elapsed()))
        {
            std::thread::sleep(wait);
        }
        self.last_write = Some(std::time::Instant::now());
        self.device
            .write(&out)
            .map(|_| ())
            .map_err(|e| TransportError::Io(e.to_string()))
    }

    fn recv(&mut self, timeout: Duration) -> Result<Option<Report>, TransportError> {
        let mut buf = [0u8; REPORT_LEN];
        let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        match self.device.read_timeout(&mut buf, ms) {
            Ok(0) => Ok(None),
            Ok(REPORT_LEN) => Ok(Some(buf)),
            Ok(n) => Err(TransportError::Io(format!("short HID report of {n} bytes"))),
            Err(e) => Err(TransportError::Io(e.to_string())),
        }
    }
}

/// A key appearing or disappearing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "camelCase")]
pub enum KeyEvent {
    /// Plugged in (or present when watching began).
    Added(KeyDescriptor),
    /// Pulled out.
    Removed(KeyDescriptor),
}

/// Watches the HID bus on a thread; events arrive on the receiver. The
/// thread ends when the receiver is dropped.
pub fn watch() -> Result<Receiver<KeyEvent>, HidapiError> {
    let mut api = HidApi::new().map_err(|e| HidapiError::Enumerate(e.to_string()))?;
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let mut known: Vec<KeyDescriptor> = Vec::new();
        loop {
            let now = match api.refresh_devices() {
                Ok(()) => list_keys(&api),
                // A transient enumeration failure: keep the last view.
                Err(_) => known.clone(),
            };
            let events = known
                .iter()
                .filter(|k| !now.contains(k))
                .cloned()
                .map(KeyEvent::Removed)
                .chain(
                    now.iter()
                        .filter(|k| !known.contains(k))
                        .cloned()
                        .map(KeyEvent::Added),
                );
            for event in events {
                if tx.send(event).is_err() {
                    return;
                }
            }
            known = now;
            std::thread::sleep(WATCH_INTERVAL);
        }
    });
    Ok(rx)
}
