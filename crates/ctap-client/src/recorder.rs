//! The traffic recorder: every CTAPHID frame or APDU and every decoded CTAP2
//! request and response as structured events, for a live UI view (subscribe)
//! and a file (JSON lines).
//!
//! Secrets never enter an event. Decoded messages are shown with each secret
//! member replaced by a marker ([`crate::redact`]); frames of an exchange
//! that carries (or may answer with) a secret keep their headers and lengths
//! but not their bytes. Both are decided per exchange by the [`crate::Device`]
//! making it, so keys sharing one recorder never switch each other's
//! redaction. Record files are created owner-only (0600).

use crate::meter::ExchangeMeter;
use ctaphid::{Command, KeepaliveStatus, Report, ReportTransport, TransportError};
use serde::Serialize;
use std::collections::VecDeque;
use std::io::Write as _;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Host to key.
    Out,
    /// Key to host.
    In,
}

/// What was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum EventKind {
    /// One 64-byte report.
    Frame {
        /// Channel id, hex.
        cid: String,
        /// "INIT CBOR bcnt=1234" or "CONT seq=3".
        header: String,
        /// The report's bytes in hex, or `None` when redacted.
        bytes: Option<String>,
    },
    /// A CTAP2 request, decoded.
    Request {
        /// Command name.
        command: String,
        /// Encoded length in bytes.
        length: usize,
        /// Its members (secrets redacted).
        detail: String,
    },
    /// A CTAP2 response, decoded.
    Response {
        /// Command name.
        command: String,
        /// Status name.
        status: String,
        /// Encoded length in bytes.
        length: usize,
        /// Its members (secrets redacted).
        detail: String,
    },
    /// One APDU of an NFC or smart-card key (command or response).
    Apdu {
        /// Decoded header: "NFCCTAP_MSG chained short CLA=90 P1=80 P2=00
        /// Lc=255" or "SW=6100 (MORE_DATA) 256 bytes".
        header: String,
        /// Its length in bytes.
        length: usize,
        /// The bytes in hex, or `None` when redacted.
        bytes: Option<String>,
    },
    /// A KEEPALIVE status (or an NFC status update).
    Keepalive {
        /// "processing" or "up-needed".
        status: String,
    },
}

/// One recorded event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrafficEvent {
    /// Sequence number, from 0.
    pub seq: u64,
    /// Milliseconds since the recorder started.
    pub at_ms: u64,
    /// Direction.
    pub direction: Direction,
    /// The event.
    #[serde(flatten)]
    pub kind: EventKind,
}

struct State {
    start: Instant,
    next_seq: u64,
    capacity: usize,
    ring: VecDeque<TrafficEvent>,
    subscribers: Vec<Sender<TrafficEvent>>,
    file: Option<std::io::BufWriter<std::fs::File>>,
}

/// A shared, cloneable recorder.
#[derive(Clone)]
pub struct Recorder {
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").finish_non_exhaustive()
    }
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new(4096)
    }
}

impl Recorder {
    /// A recorder keeping the last `capacity` events in memory.
    pub fn new(capacity: usize) -> Self {
        Recorder {
            state: Arc::new(Mutex::new(State {
                start: Instant::now(),
                next_seq: 0,
                capacity: capacity.max(1),
                ring: VecDeque::new(),
                subscribers: Vec::new(),
                file: None,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while recording must not stop the recording.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Also appends every event to `path` as one JSON line. The file is
    /// created readable by its owner only (0600; an existing one is narrowed
    /// to that), and a symlink at `path` is refused rather than followed.
    pub fn write_to(&self, path: &std::path::Path) -> std::io::Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
            options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
            let file = options.open(path)?;
            let mode = file.metadata()?.permissions().mode();
            if mode & 0o077 != 0 {
                file.set_permissions(std::fs::Permissions::from_mode(mode & 0o700))?;
            }
            self.lock().file = Some(std::io::BufWriter::new(file));
        }
        #[cfg(not(unix))]
        {
            let file = options.open(path)?;
            self.lock().file = Some(std::io::BufWriter::new(file));
        }
        Ok(())
    }

    /// A live feed of the events recorded from now on.
    pub fn subscribe(&self) -> Receiver<TrafficEvent> {
        let (tx, rx) = channel();
        self.lock().subscribers.push(tx);
        rx
    }

    /// The events kept in memory, oldest first.
    pub fn events(&self) -> Vec<TrafficEvent> {
        self.lock().ring.iter().cloned().collect()
    }

    /// The sequence number the next event will get.
    pub fn next_seq(&self) -> u64 {
        self.lock().next_seq
    }

    /// The events kept in memory from sequence number `seq` on, oldest first
    /// (the traffic of one step, for evidence).
    pub fn events_since(&self, seq: u64) -> Vec<TrafficEvent> {
        self.lock()
            .ring
            .iter()
            .filter(|e| e.seq >= seq)
            .cloned()
            .collect()
    }

    /// Records an event.
    pub fn record(&self, direction: Direction, kind: EventKind) {
        let mut s = self.lock();
        let event = TrafficEvent {
            seq: s.next_seq,
            at_ms: u64::try_from(s.start.elapsed().as_millis()).unwrap_or(u64::MAX),
            direction,
            kind,
        };
        s.next_seq += 1;
        if s.ring.len() == s.capacity {
            s.ring.pop_front();
        }
        s.ring.push_back(event.clone());
        s.subscribers.retain(|tx| tx.send(event.clone()).is_ok());
        if let Some(f) = &mut s.file
            && let Ok(line) = serde_json::to_string(&event)
        {
            // A full disk must not break the key's traffic; the ring still has it.
            let _ = writeln!(f, "{line}").and_then(|()| f.flush());
        }
    }

    fn frame(&self, direction: Direction, report: &Report, redact: bool) {
        let cid = report
            .get(..4)
            .map(|c| c.iter().map(|b| format!("{b:02x}")).collect())
            .unwrap_or_default();
        let b4 = report.get(4).copied().unwrap_or(0);
        let header = if b4 & 0x80 != 0 {
            let cmd = Command(b4 & 0x7f);
            let bcnt = u16::from_be_bytes([
                report.get(5).copied().unwrap_or(0),
                report.get(6).copied().unwrap_or(0),
            ]);
            let name = cmd
                .name()
                .map_or_else(|| format!("0x{:02x}", cmd.0), str::to_owned);
            if cmd == Command::KEEPALIVE {
                let status = match report.get(7).copied() {
                    Some(2) => KeepaliveStatus::UpNeeded,
                    _ => KeepaliveStatus::Processing,
                };
                self.record(
                    direction,
                    EventKind::Keepalive {
                        status: keepalive_name(status).into(),
                    },
                );
            }
            format!("INIT {name} bcnt={bcnt}")
        } else {
            format!("CONT seq={b4}")
        };
        let bytes = (!redact).then(|| report.iter().map(|b| format!("{b:02x}")).collect());
        self.record(direction, EventKind::Frame { cid, header, bytes });
    }
}

impl Recorder {
    /// Records a KEEPALIVE (or NFC status update).
    pub(crate) fn keepalive(&self, status: KeepaliveStatus) {
        self.record(
            Direction::In,
            EventKind::Keepalive {
                status: keepalive_name(status).into(),
            },
        );
    }

    /// Records one APDU, decoded, with its bytes unless `redact`.
    pub(crate) fn apdu(&self, direction: Direction, raw: &[u8], redact: bool) {
        let header = match direction {
            Direction::Out => ctap_nfc::apdu::describe_command(raw),
            Direction::In => ctap_nfc::apdu::describe_response(raw),
        };
        let bytes = (!redact).then(|| raw.iter().map(|b| format!("{b:02x}")).collect());
        self.record(
            direction,
            EventKind::Apdu {
                header,
                length: raw.len(),
                bytes,
            },
        );
    }
}

fn keepalive_name(status: KeepaliveStatus) -> &'static str {
    match status {
        KeepaliveStatus::UpNeeded => "up-needed",
        _ => "processing",
    }
}

/// A transport that records every report it moves.
pub struct RecordingTransport<T> {
    inner: T,
    recorder: Recorder,
    /// The exchange under way carries secrets: record frames without bytes.
    /// Owned by this transport (one key), never shared between keys.
    redact: bool,
    /// What the exchange under way costs (reports, bytes, time).
    meter: ExchangeMeter,
}

impl<T> RecordingTransport<T> {
    /// Wraps `inner`.
    pub fn new(inner: T, recorder: Recorder) -> Self {
        RecordingTransport {
            inner,
            recorder,
            redact: false,
            meter: ExchangeMeter::default(),
        }
    }

    /// The meter of the exchange under way.
    pub fn meter(&mut self) -> &mut ExchangeMeter {
        &mut self.meter
    }

    /// Records the frames moved from now on without their bytes (or again
    /// with them).
    pub fn redact_frames(&mut self, redact: bool) {
        self.redact = redact;
    }
}

impl<T: ReportTransport> ReportTransport for RecordingTransport<T> {
    fn send(&mut self, report: &Report) -> Result<(), TransportError> {
        self.recorder.frame(Direction::Out, report, self.redact);
        self.meter.sent(report, Instant::now());
        self.inner.send(report)
    }

    fn recv(&mut self, timeout: Duration) -> Result<Option<Report>, TransportError> {
        let report = self.inner.recv(timeout)?;
        if let Some(r) = &report {
            self.meter.received(r, Instant::now());
            self.recorder.frame(Direction::In, r, self.redact);
        }
        Ok(report)
    }
}
