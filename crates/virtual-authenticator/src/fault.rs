//! Deliberate faults, for testing tools that judge keys (the key lab's
//! probe): each [`Fault`] makes the virtual key break one rule of CTAP 2.1
//! in one observable way. A fault can only be switched on with the
//! `fault-injection` feature, which no front end enables, so a key a person
//! runs never carries one.
//!
//! Faults in CTAP2 processing are set through [`crate::Config::fault`];
//! the CTAPHID-level one is a wrapper around the device's report transport
//! ([`FaultyReports`]), since the framing itself lives in `ctaphid`.

#[cfg(feature = "fault-injection")]
use ctaphid::{Command, Packet, Report, ReportTransport, TransportError};
use fido_wire::cose::CoseAlgorithm;
#[cfg(feature = "fault-injection")]
use std::collections::HashMap;
#[cfg(feature = "fault-injection")]
use std::time::Duration;

/// One way the virtual key misbehaves.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// A request missing a required parameter is answered
    /// CTAP2_ERR_INVALID_CBOR instead of CTAP2_ERR_MISSING_PARAMETER.
    WrongStatusCode,
    /// CTAPHID_CANCEL while waiting for a touch is ignored: the request goes
    /// on as if the user had touched the key.
    IgnoreCancel,
    /// The last continuation packet of every PING answer longer than
    /// [`TRUNCATED_PING_OVER`] bytes is never sent (see [`FaultyReports`]).
    TruncatedContinuation,
    /// Every assertion reports signCount 1: the counter never advances.
    StuckSignCount,
    /// Assertion signatures of credentials of this algorithm have one bit
    /// flipped.
    CorruptSignature(CoseAlgorithm),
    /// getInfo lists this extension, but requests asking for it are
    /// processed as if they had not.
    IgnoredExtension(String),
    /// A wrong PIN does not decrement pinRetries.
    PinRetriesNotDecremented,
}

/// PING answers longer than this lose their last continuation packet
/// under [`Fault::TruncatedContinuation`] (shorter ones, as other checks
/// use, stay whole, so one check sees the fault).
pub const TRUNCATED_PING_OVER: usize = 1024;

/// The device side of a transport with [`Fault::TruncatedContinuation`]:
/// the last continuation packet of each long PING answer is dropped, so the
/// host waits for a message that never completes.
#[cfg(feature = "fault-injection")]
pub struct FaultyReports<T> {
    inner: T,
    /// Per channel: the sequence number of the packet to drop.
    drop_seq: HashMap<u32, u8>,
}

#[cfg(feature = "fault-injection")]
impl<T> FaultyReports<T> {
    /// Wraps the device's transport.
    pub fn new(inner: T) -> Self {
        FaultyReports {
            inner,
            drop_seq: HashMap::new(),
        }
    }
}

#[cfg(feature = "fault-injection")]
impl<T: ReportTransport> ReportTransport for FaultyReports<T> {
    fn send(&mut self, report: &Report) -> Result<(), TransportError> {
        match Packet::parse(report) {
            Packet::Init { cid, cmd, len, .. } => {
                let rest = usize::from(len).saturating_sub(ctaphid::packet::INIT_DATA_LEN);
                if cmd == Command::PING && usize::from(len) > TRUNCATED_PING_OVER {
                    let last = rest.div_ceil(ctaphid::packet::CONT_DATA_LEN) - 1;
                    self.drop_seq
                        .insert(cid, u8::try_from(last).unwrap_or(u8::MAX));
                } else {
                    self.drop_seq.remove(&cid);
                }
            }
            Packet::Cont { cid, seq, .. } => {
                if self.drop_seq.get(&cid) == Some(&seq) {
                    self.drop_seq.remove(&cid);
                    return Ok(());
                }
            }
        }
        self.inner.send(report)
    }

    fn recv(&mut self, timeout: Duration) -> Result<Option<Report>, TransportError> {
        self.inner.recv(timeout)
    }
}
