//! The security-key operations every Keybench front end offers, written
//! once: the CLI (`keybench info`, `pin`, `credentials`, …) and the desktop
//! app's Keys page both call these and only present the result — the CLI
//! prints a view, the desktop sends it to its window as JSON. Adding an
//! operation here adds it for both.
//!
//! Modules: [`devices`] (USB keys and PC/SC readers listed and watched),
//! [`open`] (a key by the name a person gives it, over hidapi, PC/SC or
//! UDP), [`ops`] (getInfo, PIN, credential management), [`config`]
//! (authenticatorConfig), [`large_blobs`] (each credential's large blob),
//! [`bio`] (fingerprints: enrol, list, rename, delete),
//! [`views`] (the
//! serialisable results), [`options`] (ceremony options: parsing a relying
//! party's, or making Keybench's own), [`algorithms`] and
//! [`virtual_key`] (the virtual key's settings), [`error`] (one error with
//! a stable code per cause), [`doctor`] (the system checks: key access,
//! uhid, PC/SC, keyring, data directory, bucket, web view, port) and
//! [`usb_access`] (why a USB key cannot be opened, per OS, and the udev
//! rule that fixes it on Linux).

#![forbid(unsafe_code)]

pub mod algorithms;
pub mod bio;
pub mod config;
pub mod devices;
pub mod doctor;
pub mod error;
pub mod files;
pub mod large_blobs;
pub mod metadata;
pub mod open;
pub mod ops;
pub mod options;
pub mod usb_access;
pub mod views;
pub mod virtual_key;

pub use error::KeyOpError;
pub use open::AnyDevice;

/// Lower-case hex, as getInfo's AAGUID and raw bytes are shown.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
