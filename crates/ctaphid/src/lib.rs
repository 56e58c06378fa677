//! CTAPHID (CTAP 2.1 §11.2): the USB HID framing of FIDO, for both ends.
//!
//! One implementation serves the Keybench CTAP client and the virtual
//! authenticator: [`packet`] reads and writes 64-byte reports, [`message`]
//! cuts messages into reports and reassembles them under every check,
//! [`client`] runs the host's transactions and [`device`] the device's
//! channels. [`transport`] is the small trait that moves reports, with the
//! backends that need no hardware.

#![forbid(unsafe_code)]

pub mod client;
pub mod device;
pub mod message;
pub mod packet;
pub mod serve;
pub mod transport;

pub use client::{CancelToken, ClientConfig, ClientError, HidChannel, InitInfo, Transaction};
pub use device::{DeviceAction, DeviceFraming, DeviceIdentity};
pub use message::{FramingError, Message, Progress, Reassembler};
pub use packet::{
    BROADCAST_CID, Command, HidErrorCode, KeepaliveStatus, MAX_MESSAGE_LEN, Packet, REPORT_LEN,
    Report,
};
pub use transport::{ReportTransport, TransportError, UdpReports, pipe};
