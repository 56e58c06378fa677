//! The virtual key as a real Linux HID device through /dev/uhid: the kernel
//! creates /dev/hidrawN for it, and browsers, libfido2, python-fido2 and
//! Keybench's own hidapi client see a FIDO security key.
//!
//! uhid speaks fixed-size `struct uhid_event` records (linux/uhid.h, packed):
//! a u32 type and a union whose largest member, `uhid_create2_req`, makes the
//! record 4,376 bytes. Only plain reads and writes of those records are
//! needed, so no unsafe code and no ioctl.

use ctaphid::{REPORT_LEN, Report, ReportTransport, TransportError};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

const EVENT_LEN: usize = 4 + 128 + 64 + 64 + 2 + 2 + 4 + 4 + 4 + 4 + 4096;
const UHID_OUTPUT: u32 = 6;
const UHID_CREATE2: u32 = 11;
const UHID_INPUT2: u32 = 12;
const BUS_USB: u16 = 0x03;
/// Gap between input reports. hidraw queues at most 64 reports per reader
/// (HIDRAW_BUFFER_SIZE) and drops the rest, and uhid has no flow control: a
/// 7,609-byte answer is 129 reports, so they are paced like a full-speed USB
/// interrupt endpoint (one per millisecond) would deliver them.
const REPORT_INTERVAL: Duration = Duration::from_millis(1);

/// The FIDO HID report descriptor: usage page 0xF1D0, usage 1, 64-byte input
/// and output reports (CTAP 2.1 §11.2.8.1).
pub const REPORT_DESCRIPTOR: [u8; 34] = [
    0x06, 0xd0, 0xf1, 0x09, 0x01, 0xa1, 0x01, 0x09, 0x20, 0x15, 0x00, 0x26, 0xff, 0x00, 0x75, 0x08,
    0x95, 0x40, 0x81, 0x02, 0x09, 0x21, 0x15, 0x00, 0x26, 0xff, 0x00, 0x75, 0x08, 0x95, 0x40, 0x91,
    0x02, 0xc0,
];

/// Why the uhid device could not be created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UhidError {
    /// /dev/uhid is absent (no uhid module, or not Linux).
    #[error(
        "{path} does not exist: load the uhid kernel module (modprobe uhid); this machine may not offer it"
    )]
    Missing {
        /// The path tried.
        path: String,
    },
    /// /dev/uhid exists but is not writable by this user.
    #[error(
        "{path} is not writable by this user: run as root, or grant access (for example a udev rule giving your group rw on uhid)"
    )]
    PermissionDenied {
        /// The path tried.
        path: String,
    },
    /// Another I/O failure.
    #[error("uhid: {0}")]
    Io(#[from] std::io::Error),
}

/// Identity the kernel shows for the device.
#[derive(Debug, Clone)]
pub struct UhidIdentity {
    /// Product name.
    pub name: String,
    /// USB vendor id (0x1209 is pid.codes).
    pub vendor: u32,
    /// USB product id.
    pub product: u32,
}

impl Default for UhidIdentity {
    fn default() -> Self {
        UhidIdentity {
            name: "Keybench virtual key".into(),
            vendor: 0x1209,
            product: 0x000f,
        }
    }
}

/// A created uhid FIDO device, as a report transport.
#[derive(Debug)]
pub struct UhidDevice {
    file: Arc<File>,
    reports: Receiver<Report>,
    last_input: Option<std::time::Instant>,
}

fn put(buf: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(dst) = buf.get_mut(at..at + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

impl UhidDevice {
    /// Creates the device through `path` (normally /dev/uhid).
    pub fn create(path: &Path, identity: &UhidIdentity) -> Result<Self, UhidError> {
        let shown = path.display().to_string();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => UhidError::Missing {
                    path: shown.clone(),
                },
                std::io::ErrorKind::PermissionDenied => UhidError::PermissionDenied {
                    path: shown.clone(),
                },
                _ => UhidError::Io(e),
            })?;
        let mut ev = vec![0u8; EVENT_LEN];
        put(&mut ev, 0, &UHID_CREATE2.to_ne_bytes());
        let name = identity.name.as_bytes();
        put(&mut ev, 4, name.get(..127).unwrap_or(name));
        put(&mut ev, 4 + 128, b"keybench/virtual-key");
        let mut at = 4 + 128 + 64 + 64;
        put(&mut ev, at, &(REPORT_DESCRIPTOR.len() as u16).to_ne_bytes());
        at += 2;
        put(&mut ev, at, &BUS_USB.to_ne_bytes());
        at += 2;
        put(&mut ev, at, &identity.vendor.to_ne_bytes());
        at += 4;
        put(&mut ev, at, &identity.product.to_ne_bytes());
        at += 4;
        put(&mut ev, at, &0x0100u32.to_ne_bytes()); // version
        at += 8; // version, country
        put(&mut ev, at, &REPORT_DESCRIPTOR);
        (&file).write_all(&ev)?;

        let file = Arc::new(file);
        let (tx, reports) = mpsc::channel();
        let reader = file.clone();
        std::thread::spawn(move || {
            let mut ev = vec![0u8; EVENT_LEN];
            while let Ok(n) = (&*reader).read(&mut ev) {
                if n < 4 {
                    break;
                }
                let kind = ev.first_chunk::<4>().map(|b| u32::from_ne_bytes(*b));
                if kind != Some(UHID_OUTPUT) {
                    continue; // START, OPEN, CLOSE...: nothing to do
                }
                // uhid_output_req: data[4096], size u16, rtype u8. A hidraw
                // write arrives as 65 bytes: report id 0, then the report.
                let size = ev
                    .get(4 + 4096..4 + 4098)
                    .and_then(|b| <[u8; 2]>::try_from(b).ok())
                    .map_or(0, |b| usize::from(u16::from_ne_bytes(b)));
                let data = ev.get(4..4 + size.min(4096)).unwrap_or_default();
                let data = if size == REPORT_LEN + 1 {
                    data.get(1..).unwrap_or_default()
                } else {
                    data
                };
                if let Ok(report) = <Report>::try_from(data)
                    && tx.send(report).is_err()
                {
                    break;
                }
            }
        });
        Ok(UhidDevice {
            file,
            reports,
            last_input: None,
        })
    }
}

impl ReportTransport for UhidDevice {
    fn send(&mut self, report: &Report) -> Result<(), TransportError> {
        let mut ev = vec![0u8; EVENT_LEN];
        put(&mut ev, 0, &UHID_INPUT2.to_ne_bytes());
        put(&mut ev, 4, &(REPORT_LEN as u16).to_ne_bytes());
        put(&mut ev, 6, report);
        if let Some(wait) = self
            .last_input
            .and_then(|t| REPORT_INTERVAL.checked_sub(t.elapsed()))
        {
            std::thread::sleep(wait);
        }
        self.last_input = Some(std::time::Instant::now());
        (&*self.file)
            .write_all(&ev)
            .map_err(|e| TransportError::Io(e.to_string()))
    }

    fn recv(&mut self, timeout: Duration) -> Result<Option<Report>, TransportError> {
        ctaphid::transport::recv_queued(&self.reports, timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_layout_matches_linux_uhid_h() {
        // sizeof(struct uhid_event) on Linux: 4 + sizeof(struct uhid_create2_req).
        assert_eq!(EVENT_LEN, 4376);
    }

    #[test]
    fn missing_device_gives_a_clear_error() {
        let err = UhidDevice::create(Path::new("/nonexistent/uhid"), &UhidIdentity::default())
            .unwrap_err();
        assert!(matches!(err, UhidError::Missing { .. }));
        assert!(err.to_string().contains("modprobe uhid"));
    }
}
