//! CTAP over NFC and smart-card readers (CTAP 2.1 §11.3), for both ends.
//!
//! One implementation serves the Keybench client and the virtual key as a
//! contactless card: [`apdu`] parses and writes ISO 7816-4 command and
//! response APDUs (cases 1–4, short and extended) under every check,
//! [`applet`] is the FIDO applet's card side (SELECT, NFCCTAP_MSG with
//! command chaining, NFCCTAP_GETRESPONSE while the authenticator works,
//! response chaining through GET RESPONSE, reader limits emulated),
//! [`client`] runs the host's exchanges over any [`client::ApduTransport`]
//! (extended APDUs when the reader takes them, command chaining otherwise),
//! and [`vpcd`] speaks vsmartcard's virtual-reader protocol so a virtual
//! card appears in any PC/SC reader list.

#![forbid(unsafe_code)]

pub mod apdu;
pub mod applet;
pub mod client;
pub mod vpcd;

pub use apdu::{ApduError, CommandApdu, Encoding, ResponseApdu, StatusWord};
pub use applet::{Applet, AppletOptions, Poll, Processor};
pub use client::{ApduTransport, AppletVersion, NfcError, NfcSession};

/// The FIDO applet's AID (CTAP 2.1 §11.3.3).
pub const FIDO_AID: [u8; 8] = [0xA0, 0x00, 0x00, 0x06, 0x47, 0x2F, 0x00, 0x01];

/// Instruction bytes of the FIDO applet and of ISO 7816-4 it uses.
pub mod ins {
    /// ISO 7816-4 SELECT.
    pub const SELECT: u8 = 0xA4;
    /// ISO 7816-4 GET RESPONSE (response chaining).
    pub const GET_RESPONSE: u8 = 0xC0;
    /// NFCCTAP_MSG: one CTAP2 message (CLA 0x80).
    pub const NFCCTAP_MSG: u8 = 0x10;
    /// NFCCTAP_GETRESPONSE: poll a message still being processed (CLA 0x80).
    pub const NFCCTAP_GETRESPONSE: u8 = 0x11;
    /// U2F/CTAP1 register (only for keys offering U2F_V2).
    pub const U2F_REGISTER: u8 = 0x01;
}

/// NFCCTAP_MSG P1 bit: the client understands NFCCTAP_GETRESPONSE.
pub const P1_GETRESPONSE_SUPPORTED: u8 = 0x80;
/// NFCCTAP_GETRESPONSE P1: cancel the message under way.
pub const P1_CANCEL: u8 = 0x11;

/// Status byte of an NFCCTAP "still processing" update (as CTAPHID KEEPALIVE).
pub mod status {
    /// The authenticator is working.
    pub const PROCESSING: u8 = 0x01;
    /// The authenticator waits for user presence.
    pub const UP_NEEDED: u8 = 0x02;
}
