//! Raw CTAPHID for the checks that must send what a well-behaved client
//! never would (a skipped sequence number, a stray continuation packet, a
//! second channel mid-message). Reports are built and reassembled with
//! `ctaphid`'s one framing implementation and go through the key's own
//! recording transport, so every frame is in the evidence.

use ctaphid::packet::{cont_report, init_report};
use ctaphid::{
    BROADCAST_CID, Command, HidErrorCode, Message, Packet, Progress, Reassembler, Report,
    ReportTransport, TransportError,
};
use std::time::{Duration, Instant};

/// How long a raw exchange waits for the key's answer.
pub const ANSWER_WAIT: Duration = Duration::from_secs(2);
/// How long the line must stay quiet to count as drained.
const QUIET: Duration = Duration::from_millis(100);

/// Why a raw exchange failed before any verdict.
#[derive(Debug)]
pub enum RawError {
    /// The transport failed.
    Transport(TransportError),
    /// The key's packets did not form a message.
    Framing(ctaphid::FramingError),
}

impl std::fmt::Display for RawError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RawError::Transport(e) => write!(f, "transport: {e}"),
            RawError::Framing(e) => write!(f, "framing: {e}"),
        }
    }
}

impl From<TransportError> for RawError {
    fn from(e: TransportError) -> Self {
        RawError::Transport(e)
    }
}

impl From<ctaphid::FramingError> for RawError {
    fn from(e: ctaphid::FramingError) -> Self {
        RawError::Framing(e)
    }
}

/// Sends whole reports.
pub fn send_reports<T: ReportTransport + ?Sized>(
    t: &mut T,
    reports: &[Report],
) -> Result<(), RawError> {
    for r in reports {
        t.send(r)?;
    }
    Ok(())
}

/// Sends one message, cut by `ctaphid`.
pub fn send_message<T: ReportTransport + ?Sized>(t: &mut T, msg: &Message) -> Result<(), RawError> {
    send_reports(t, &msg.to_reports()?)
}

/// The initialization packet alone (the rest of the message is the caller's).
pub fn init_packet(cid: u32, cmd: Command, total_len: u16, data: &[u8]) -> Report {
    init_report(cid, cmd, total_len, data)
}

/// One continuation packet.
pub fn cont_packet(cid: u32, seq: u8, data: &[u8]) -> Report {
    cont_report(cid, seq, data)
}

/// The next complete message on `cid` (KEEPALIVEs included), or `None` at
/// the deadline. Packets of other channels are skipped.
pub fn read_message<T: ReportTransport + ?Sized>(
    t: &mut T,
    cid: u32,
    wait: Duration,
) -> Result<Option<Message>, RawError> {
    let deadline = Instant::now() + wait;
    let mut reassembler = Reassembler::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        let Some(report) = t.recv(left.min(Duration::from_millis(20)))? else {
            continue;
        };
        let packet = Packet::parse(&report);
        if packet.cid() != cid {
            continue;
        }
        if let Progress::Complete(msg) = reassembler.push(packet)? {
            return Ok(Some(msg));
        }
    }
}

/// The next message on `cid` that is not a KEEPALIVE.
pub fn read_answer<T: ReportTransport + ?Sized>(
    t: &mut T,
    cid: u32,
    wait: Duration,
) -> Result<Option<Message>, RawError> {
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match read_message(t, cid, left)? {
            Some(m) if m.cmd == Command::KEEPALIVE => continue,
            other => return Ok(other),
        }
    }
}

/// Reads and drops reports until none came for a short while (at most
/// `limit`), so a check leaves nothing behind for the next one.
pub fn drain<T: ReportTransport + ?Sized>(t: &mut T, limit: Duration) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        match t.recv(QUIET) {
            Ok(Some(_)) => continue,
            _ => return,
        }
    }
}

/// What an INIT on the broadcast channel answered.
#[derive(Debug, Clone, Copy)]
pub struct Allocation {
    /// The nonce echoed.
    pub nonce_echoed: bool,
    /// The channel allocated.
    pub cid: u32,
    /// CTAPHID protocol version.
    pub protocol_version: u8,
}

/// Sends INIT with `nonce` on `cid` (broadcast to allocate) and reads the
/// answer whose nonce matches.
pub fn init<T: ReportTransport + ?Sized>(
    t: &mut T,
    cid: u32,
    nonce: [u8; 8],
) -> Result<Option<Allocation>, RawError> {
    send_message(t, &Message::new(cid, Command::INIT, nonce.to_vec()))?;
    let deadline = Instant::now() + ANSWER_WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(msg) = read_answer(t, cid, left)? else {
            return Ok(None);
        };
        if msg.cmd != Command::INIT {
            return Ok(None);
        }
        let p = &msg.payload;
        if p.get(..8) != Some(&nonce[..]) && cid == BROADCAST_CID {
            continue; // another client's answer
        }
        let (Some(c), Some(&pv)) = (p.get(8..12), p.get(12)) else {
            return Ok(None);
        };
        let mut id = [0u8; 4];
        id.copy_from_slice(c);
        return Ok(Some(Allocation {
            nonce_echoed: p.get(..8) == Some(&nonce[..]),
            cid: u32::from_be_bytes(id),
            protocol_version: pv,
        }));
    }
}

/// Allocates a fresh channel for a check.
pub fn allocate<T: ReportTransport + ?Sized>(t: &mut T, nonce: [u8; 8]) -> Result<u32, RawError> {
    match init(t, BROADCAST_CID, nonce)? {
        Some(a) => Ok(a.cid),
        None => Err(RawError::Transport(TransportError::Io(
            "no answer to CTAPHID INIT".into(),
        ))),
    }
}

/// How an answer looks to a person: the command and its error code or length.
pub fn describe(msg: Option<&Message>) -> String {
    match msg {
        None => "no answer".into(),
        Some(m) if m.cmd == Command::ERROR => {
            let code = HidErrorCode(m.payload.first().copied().unwrap_or(0));
            format!("ERROR {code}")
        }
        Some(m) => format!("{:?} with {} bytes", m.cmd, m.payload.len()),
    }
}

/// Whether `msg` is CTAPHID_ERROR with `code`.
pub fn is_error(msg: Option<&Message>, code: HidErrorCode) -> bool {
    msg.is_some_and(|m| m.cmd == Command::ERROR && m.payload.first() == Some(&code.0))
}
