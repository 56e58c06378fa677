//! CTAPHID commands, error codes and 64-byte packets (CTAP 2.1 §11.2.4).
//!
//! An initialization packet is `cid(4) | cmd|0x80 | bcnth | bcntl | data(57)`,
//! a continuation packet `cid(4) | seq(0..=127) | data(59)`.

use std::fmt;

/// Size of every HID report on the FIDO usage page.
pub const REPORT_LEN: usize = 64;
/// Payload bytes in an initialization packet.
pub const INIT_DATA_LEN: usize = REPORT_LEN - 7;
/// Payload bytes in a continuation packet.
pub const CONT_DATA_LEN: usize = REPORT_LEN - 5;
/// Highest continuation sequence number.
pub const MAX_SEQ: u8 = 0x7f;
/// The largest message: one initialization and 128 continuation packets.
pub const MAX_MESSAGE_LEN: usize = INIT_DATA_LEN + (MAX_SEQ as usize + 1) * CONT_DATA_LEN;
/// The broadcast channel, used for INIT before a channel is allocated.
pub const BROADCAST_CID: u32 = 0xffff_ffff;

/// One 64-byte report.
pub type Report = [u8; REPORT_LEN];

/// A CTAPHID command byte (without the 0x80 initialization bit).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Command(pub u8);

impl Command {
    /// Echo.
    pub const PING: Command = Command(0x01);
    /// CTAP1/U2F message.
    pub const MSG: Command = Command(0x03);
    /// Lock the device to one channel.
    pub const LOCK: Command = Command(0x04);
    /// Allocate a channel.
    pub const INIT: Command = Command(0x06);
    /// Identify the device (blink).
    pub const WINK: Command = Command(0x08);
    /// CTAP2 CBOR message.
    pub const CBOR: Command = Command(0x10);
    /// Cancel the outstanding request.
    pub const CANCEL: Command = Command(0x11);
    /// Device still processing (device to host).
    pub const KEEPALIVE: Command = Command(0x3b);
    /// Error (device to host).
    pub const ERROR: Command = Command(0x3f);

    /// The command's name, if it is a standard one.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::PING => "PING",
            Self::MSG => "MSG",
            Self::LOCK => "LOCK",
            Self::INIT => "INIT",
            Self::WINK => "WINK",
            Self::CBOR => "CBOR",
            Self::CANCEL => "CANCEL",
            Self::KEEPALIVE => "KEEPALIVE",
            Self::ERROR => "ERROR",
            Command(0x40..=0x7f) => "VENDOR",
            _ => return None,
        })
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name}(0x{:02x})", self.0),
            None => write!(f, "Command(0x{:02x})", self.0),
        }
    }
}

/// CTAPHID_ERROR codes (CTAP 2.1 §11.2.9.1.6).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct HidErrorCode(pub u8);

impl HidErrorCode {
    /// The command in the request is invalid.
    pub const INVALID_CMD: HidErrorCode = HidErrorCode(0x01);
    /// A parameter in the request is invalid.
    pub const INVALID_PAR: HidErrorCode = HidErrorCode(0x02);
    /// The length field is invalid.
    pub const INVALID_LEN: HidErrorCode = HidErrorCode(0x03);
    /// Continuation packet out of sequence.
    pub const INVALID_SEQ: HidErrorCode = HidErrorCode(0x04);
    /// The message timed out between packets.
    pub const MSG_TIMEOUT: HidErrorCode = HidErrorCode(0x05);
    /// Another channel's transaction is in progress.
    pub const CHANNEL_BUSY: HidErrorCode = HidErrorCode(0x06);
    /// The command needs a channel lock.
    pub const LOCK_REQUIRED: HidErrorCode = HidErrorCode(0x0a);
    /// The channel id is not valid.
    pub const INVALID_CHANNEL: HidErrorCode = HidErrorCode(0x0b);
    /// Unspecified error.
    pub const OTHER: HidErrorCode = HidErrorCode(0x7f);

    /// The code's name, if it is a standard one.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::INVALID_CMD => "ERR_INVALID_CMD",
            Self::INVALID_PAR => "ERR_INVALID_PAR",
            Self::INVALID_LEN => "ERR_INVALID_LEN",
            Self::INVALID_SEQ => "ERR_INVALID_SEQ",
            Self::MSG_TIMEOUT => "ERR_MSG_TIMEOUT",
            Self::CHANNEL_BUSY => "ERR_CHANNEL_BUSY",
            Self::LOCK_REQUIRED => "ERR_LOCK_REQUIRED",
            Self::INVALID_CHANNEL => "ERR_INVALID_CHANNEL",
            Self::OTHER => "ERR_OTHER",
            _ => return None,
        })
    }
}

impl fmt::Debug for HidErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name}(0x{:02x})", self.0),
            None => write!(f, "HidErrorCode(0x{:02x})", self.0),
        }
    }
}

impl fmt::Display for HidErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// KEEPALIVE status bytes (CTAP 2.1 §11.2.9.1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeepaliveStatus {
    /// The authenticator is still processing.
    Processing,
    /// The authenticator waits for user presence: "touch your key".
    UpNeeded,
    /// A status value this crate does not know.
    Other(u8),
}

impl KeepaliveStatus {
    /// From the status byte.
    pub fn from_byte(b: u8) -> Self {
        match b {
            1 => KeepaliveStatus::Processing,
            2 => KeepaliveStatus::UpNeeded,
            other => KeepaliveStatus::Other(other),
        }
    }

    /// To the status byte.
    pub fn to_byte(self) -> u8 {
        match self {
            KeepaliveStatus::Processing => 1,
            KeepaliveStatus::UpNeeded => 2,
            KeepaliveStatus::Other(b) => b,
        }
    }
}

/// One parsed report, borrowing its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet<'a> {
    /// An initialization packet.
    Init {
        /// Channel id.
        cid: u32,
        /// Command.
        cmd: Command,
        /// Declared total payload length.
        len: u16,
        /// The 57 payload bytes of this packet (only `len` of them may count).
        data: &'a [u8],
    },
    /// A continuation packet.
    Cont {
        /// Channel id.
        cid: u32,
        /// Sequence number, 0 ..= 127.
        seq: u8,
        /// The 59 payload bytes of this packet.
        data: &'a [u8],
    },
}

impl<'a> Packet<'a> {
    /// Parses a report. Every 64-byte array is some packet; whether it makes
    /// sense is for the reassembler and the channel state machines to judge.
    pub fn parse(report: &'a Report) -> Packet<'a> {
        let [c0, c1, c2, c3, b4, b5, b6, ..] = *report;
        let cid = u32::from_be_bytes([c0, c1, c2, c3]);
        if b4 & 0x80 != 0 {
            Packet::Init {
                cid,
                cmd: Command(b4 & 0x7f),
                len: u16::from_be_bytes([b5, b6]),
                data: report.get(7..).unwrap_or_default(),
            }
        } else {
            Packet::Cont {
                cid,
                seq: b4,
                data: report.get(5..).unwrap_or_default(),
            }
        }
    }

    /// The channel id.
    pub fn cid(&self) -> u32 {
        match self {
            Packet::Init { cid, .. } | Packet::Cont { cid, .. } => *cid,
        }
    }
}

/// Builds an initialization report.
pub fn init_report(cid: u32, cmd: Command, total_len: u16, data: &[u8]) -> Report {
    let mut r = [0u8; REPORT_LEN];
    r[..4].copy_from_slice(&cid.to_be_bytes());
    r[4] = cmd.0 | 0x80;
    r[5..7].copy_from_slice(&total_len.to_be_bytes());
    r.iter_mut().skip(7).zip(data).for_each(|(d, s)| *d = *s);
    r
}

/// Builds a continuation report.
pub fn cont_report(cid: u32, seq: u8, data: &[u8]) -> Report {
    let mut r = [0u8; REPORT_LEN];
    r[..4].copy_from_slice(&cid.to_be_bytes());
    r[4] = seq & 0x7f;
    r.iter_mut().skip(5).zip(data).for_each(|(d, s)| *d = *s);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_message_is_7609() {
        assert_eq!(MAX_MESSAGE_LEN, 7609);
    }

    #[test]
    fn packets_parse() {
        let r = init_report(0x0102_0304, Command::CBOR, 300, &[9; 57]);
        assert_eq!(
            Packet::parse(&r),
            Packet::Init {
                cid: 0x0102_0304,
                cmd: Command::CBOR,
                len: 300,
                data: &[9; 57]
            }
        );
        let r = cont_report(7, 5, &[1, 2]);
        let Packet::Cont {
            cid: 7,
            seq: 5,
            data,
        } = Packet::parse(&r)
        else {
            panic!("not a continuation")
        };
        assert_eq!(&data[..3], &[1, 2, 0]);
    }
}
