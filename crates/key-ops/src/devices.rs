//! The keys a person can pick: USB keys (hidapi) and cards on smart-card
//! and NFC readers (PC/SC), each with its transport named and the name to
//! open it by, and one watcher for both that reports keys, readers and
//! cards coming and going.

use crate::error::KeyOpError;
use serde::Serialize;
use std::sync::mpsc::{Receiver, channel};

/// One key, or one reader (with or without a card), as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "transport",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum DeviceView {
    /// A USB (HID) key.
    Usb {
        /// Its description (path, ids, strings).
        #[serde(flatten)]
        key: UsbKey,
        /// What to pass as `--key`.
        open_as: String,
        /// Manufacturer and product, for people.
        label: String,
    },
    /// A smart-card or NFC reader, through PC/SC.
    Pcsc {
        /// The reader and its card.
        #[serde(flatten)]
        reader: PcscReader,
        /// What to pass as `--key`.
        open_as: String,
    },
}

/// A USB key's description.
#[cfg(feature = "hidapi")]
pub type UsbKey = ctap_client::hid::KeyDescriptor;
/// A USB key's description (this build has no USB).
#[cfg(not(feature = "hidapi"))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsbKey {}

/// A reader's description.
#[cfg(feature = "pcsc")]
pub type PcscReader = ctap_client::pcsc::ReaderDescriptor;
/// A reader's description (this build has no PC/SC).
#[cfg(not(feature = "pcsc"))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PcscReader {}

/// What the listing found, and why a source is missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DevicesView {
    /// USB keys first (numbered as `--key N` takes them), then readers.
    pub devices: Vec<DeviceView>,
    /// Sources that could not be listed (no PC/SC service, no HID access).
    pub notes: Vec<String>,
}

/// Lists USB keys and PC/SC readers. A missing source (no pcscd) is a
/// note, not an error: the other still lists.
pub fn list() -> DevicesView {
    // Filled by whichever of the two sources this build has.
    #[cfg_attr(not(any(feature = "hidapi", feature = "pcsc")), allow(unused_mut))]
    let mut view = DevicesView {
        devices: Vec::new(),
        notes: Vec::new(),
    };
    #[cfg(feature = "hidapi")]
    match ctap_client::hid::discover() {
        Ok((_, keys)) => view
            .devices
            .extend(keys.into_iter().enumerate().map(|(i, k)| DeviceView::Usb {
                open_as: i.to_string(),
                label: crate::open::usb_label(&k),
                key: k,
            })),
        Err(e) => view.notes.push(KeyOpError::from(e).to_string()),
    }
    #[cfg(feature = "pcsc")]
    match ctap_client::pcsc::list_readers() {
        Ok(readers) => view
            .devices
            .extend(readers.into_iter().map(|r| DeviceView::Pcsc {
                open_as: format!("pcsc:{}", r.reader),
                reader: r,
            })),
        Err(e) => view.notes.push(e.to_string()),
    }
    view
}

/// A key, reader or card event, as JSON: USB keys `{"event": "added" |
/// "removed", …}`, readers `{"event": "readerAdded" | "readerRemoved" |
/// "cardInserted" | "cardRemoved", …}`.
pub type DeviceEvent = serde_json::Value;

/// Watches USB keys and PC/SC readers on threads; events arrive on one
/// receiver (the threads end when it is dropped).
pub fn watch() -> Result<Receiver<DeviceEvent>, KeyOpError> {
    let (tx, rx) = channel();
    #[cfg(feature = "hidapi")]
    {
        let usb = ctap_client::hid::watch()?;
        let tx = tx.clone();
        std::thread::spawn(move || {
            for event in usb {
                if tx
                    .send(serde_json::to_value(&event).unwrap_or_default())
                    .is_err()
                {
                    return;
                }
            }
        });
    }
    #[cfg(feature = "pcsc")]
    {
        let readers = ctap_client::pcsc::watch();
        std::thread::spawn(move || {
            for event in readers {
                if tx
                    .send(serde_json::to_value(&event).unwrap_or_default())
                    .is_err()
                {
                    return;
                }
            }
        });
    }
    #[cfg(not(feature = "pcsc"))]
    drop(tx);
    Ok(rx)
}
