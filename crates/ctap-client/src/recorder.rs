//! The traffic recorder: every CTAPHID frame and every decoded CTAP2
//! request and response as structured events, for a live UI view (subscribe)
//! and a file (JSON lines).
//!
//! Secrets never enter an event. Frames of a transaction that carries PIN
//! or token material (clientPIN, a pinUvAuthParam, hmac-secret salts) keep
//! their headers and lengths but not their bytes, and decoded messages are
//! described through the wire types' `Debug`, which redacts PIN ciphertexts,
//! tokens and pinUvAuthParams.

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
    /// A KEEPALIVE status.
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
    sensitive: bool,
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
                sensitive: false,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while recording must not stop the recording.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Also appends every event to `path` as one JSON line.
    pub fn write_to(&self, path: &std::path::Path) -> std::io::Result<()> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        self.lock().file = Some(std::io::BufWriter::new(file));
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

    /// Marks the current transaction as carrying secrets (frame bytes are
    /// then not recorded) or not.
    pub fn set_sensitive(&self, sensitive: bool) {
        self.lock().sensitive = sensitive;
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

    fn frame(&self, direction: Direction, report: &Report) {
        let sensitive = self.lock().sensitive;
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
        let bytes = (!sensitive).then(|| report.iter().map(|b| format!("{b:02x}")).collect());
        self.record(direction, EventKind::Frame { cid, header, bytes });
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
}

impl<T> RecordingTransport<T> {
    /// Wraps `inner`.
    pub fn new(inner: T, recorder: Recorder) -> Self {
        RecordingTransport { inner, recorder }
    }
}

impl<T: ReportTransport> ReportTransport for RecordingTransport<T> {
    fn send(&mut self, report: &Report) -> Result<(), TransportError> {
        self.recorder.frame(Direction::Out, report);
        self.inner.send(report)
    }

    fn recv(&mut self, timeout: Duration) -> Result<Option<Report>, TransportError> {
        let report = self.inner.recv(timeout)?;
        if let Some(r) = &report {
            self.recorder.frame(Direction::In, r);
        }
        Ok(report)
    }
}
