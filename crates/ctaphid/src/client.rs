//! The host side of CTAPHID: channel allocation (INIT with nonce check) and
//! transactions with KEEPALIVE events, CANCEL, CHANNEL_BUSY retries and hard
//! deadlines (CTAP 2.1 §11.2.9). Every wait is bounded: a device that stops
//! answering yields [`ClientError::Timeout`], never a hang.

use crate::message::{FramingError, Message, Progress, Reassembler};
use crate::packet::{BROADCAST_CID, Command, HidErrorCode, KeepaliveStatus, Packet};
use crate::transport::{ReportTransport, TransportError};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// CTAP2 status KEEPALIVE_CANCEL, the answer to a cancelled CBOR request.
pub const CTAP2_ERR_KEEPALIVE_CANCEL: u8 = 0x2d;

/// Capability flags from the INIT response.
pub mod capability {
    /// Supports WINK.
    pub const WINK: u8 = 0x01;
    /// Supports CBOR (CTAP2).
    pub const CBOR: u8 = 0x04;
    /// Does not support MSG (no CTAP1/U2F).
    pub const NMSG: u8 = 0x08;
}

/// What the device said about itself when the channel was allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitInfo {
    /// The allocated channel id.
    pub cid: u32,
    /// CTAPHID protocol version (2).
    pub protocol_version: u8,
    /// Device version: major, minor, build.
    pub device_version: (u8, u8, u8),
    /// Capability flags, see [`capability`].
    pub capabilities: u8,
}

/// Why a transaction failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The transport failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The device's packets do not form a valid message.
    #[error("framing: {0}")]
    Framing(#[from] FramingError),
    /// No complete answer within the deadline (CANCEL was sent).
    #[error("{cmd:?} got no answer within {after:?}; the request was cancelled")]
    Timeout {
        /// The request's command.
        cmd: Command,
        /// The deadline.
        after: Duration,
    },
    /// The user cancelled; the device confirmed or stopped answering.
    #[error("cancelled")]
    Cancelled,
    /// The device answered with CTAPHID_ERROR.
    #[error("device error {0}")]
    Device(HidErrorCode),
    /// The device stayed busy with another channel through every retry.
    #[error("device busy with another client after {retries} retries")]
    Busy {
        /// Retries made.
        retries: u32,
    },
    /// An answer with a command other than the request's.
    #[error("expected a {expected:?} answer, got {got:?}")]
    Unexpected {
        /// The request's command.
        expected: Command,
        /// What came.
        got: Command,
    },
    /// The INIT response is shorter than 17 bytes.
    #[error("INIT response is {len} bytes, 17 expected")]
    BadInitResponse {
        /// Its length.
        len: usize,
    },
}

/// Cancels a transaction from another thread (a UI's Cancel button).
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token not yet cancelled.
    pub fn new() -> Self {
        Self::default()
    }
    /// Requests cancellation.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    /// Whether cancellation was requested.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Timing policy of a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientConfig {
    /// Deadline for the INIT exchange.
    pub init_timeout: Duration,
    /// How often to retry a request answered with ERR_CHANNEL_BUSY.
    pub busy_retries: u32,
    /// Pause before each busy retry.
    pub busy_backoff: Duration,
    /// How long to wait for the device's answer after sending CANCEL.
    pub cancel_grace: Duration,
    /// Longest single wait on the transport, so cancellation is noticed quickly.
    pub poll_interval: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            init_timeout: Duration::from_secs(1),
            // 3 s: more than a UDP virtual key stays bound to an idle client.
            busy_retries: 60,
            busy_backoff: Duration::from_millis(50),
            cancel_grace: Duration::from_millis(500),
            poll_interval: Duration::from_millis(20),
        }
    }
}

/// Per-transaction options.
pub struct Transaction<'a> {
    /// Deadline for the complete answer; CANCEL is sent when it passes.
    pub timeout: Duration,
    /// Called for each KEEPALIVE (PROCESSING and UP_NEEDED are distinct).
    pub on_keepalive: Option<&'a mut dyn FnMut(KeepaliveStatus)>,
    /// Checked while waiting; when set, CANCEL is sent.
    pub cancel: Option<&'a CancelToken>,
}

impl Transaction<'_> {
    /// A transaction with a deadline and nothing else.
    pub fn with_timeout(timeout: Duration) -> Transaction<'static> {
        Transaction {
            timeout,
            on_keepalive: None,
            cancel: None,
        }
    }
}

/// An allocated CTAPHID channel to one device.
pub struct HidChannel<T: ReportTransport> {
    transport: T,
    info: InitInfo,
    config: ClientConfig,
}

fn nonce() -> [u8; 8] {
    // Uniqueness, not secrecy, is what the nonce needs: it tells our INIT
    // answer from another client's on the broadcast channel.
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.finish().to_be_bytes()
}

impl<T: ReportTransport> HidChannel<T> {
    /// Allocates a channel with CTAPHID_INIT on the broadcast channel.
    pub fn open(transport: T, config: ClientConfig) -> Result<Self, ClientError> {
        let mut channel = HidChannel {
            transport,
            info: InitInfo {
                cid: BROADCAST_CID,
                protocol_version: 0,
                device_version: (0, 0, 0),
                capabilities: 0,
            },
            config,
        };
        channel.init()?;
        Ok(channel)
    }

    /// (Re-)allocates the channel, as after a device error or a lost sync.
    pub fn init(&mut self) -> Result<InitInfo, ClientError> {
        let nonce = nonce();
        let request = Message::new(BROADCAST_CID, Command::INIT, nonce.to_vec());
        self.send(&request)?;
        let mut deadline = Instant::now() + self.config.init_timeout;
        let mut reassembler = Reassembler::new();
        let mut busy_retries = 0;
        loop {
            let Some(msg) = self.next_message(&mut reassembler, BROADCAST_CID, deadline)? else {
                return Err(ClientError::Timeout {
                    cmd: Command::INIT,
                    after: self.config.init_timeout,
                });
            };
            if msg.cmd == Command::ERROR {
                let code = HidErrorCode(msg.payload.first().copied().unwrap_or(0x7f));
                // A device serving another client (a UDP virtual key bound
                // to it) lets us in once that client is done.
                if code == HidErrorCode::CHANNEL_BUSY && busy_retries < self.config.busy_retries {
                    busy_retries += 1;
                    std::thread::sleep(self.config.busy_backoff);
                    self.send(&request)?;
                    deadline = Instant::now() + self.config.init_timeout;
                    reassembler = Reassembler::new();
                    continue;
                }
                if code == HidErrorCode::CHANNEL_BUSY {
                    return Err(ClientError::Busy {
                        retries: busy_retries,
                    });
                }
                return Err(ClientError::Device(code));
            }
            // Another client's INIT answer has another nonce: not ours, keep waiting.
            if msg.cmd != Command::INIT || msg.payload.get(..8) != Some(&nonce[..]) {
                continue;
            }
            let p = &msg.payload;
            let byte = |i: usize| p.get(i).copied();
            let (
                Some(c0),
                Some(c1),
                Some(c2),
                Some(c3),
                Some(pv),
                Some(ma),
                Some(mi),
                Some(bu),
                Some(caps),
            ) = (
                byte(8),
                byte(9),
                byte(10),
                byte(11),
                byte(12),
                byte(13),
                byte(14),
                byte(15),
                byte(16),
            )
            else {
                return Err(ClientError::BadInitResponse { len: p.len() });
            };
            self.info = InitInfo {
                cid: u32::from_be_bytes([c0, c1, c2, c3]),
                protocol_version: pv,
                device_version: (ma, mi, bu),
                capabilities: caps,
            };
            return Ok(self.info);
        }
    }

    /// What INIT reported.
    pub fn info(&self) -> InitInfo {
        self.info
    }

    /// The transport, for the caller's own use.
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    fn send(&mut self, msg: &Message) -> Result<(), ClientError> {
        for report in msg.to_reports()? {
            self.transport.send(&report)?;
        }
        Ok(())
    }

    /// Waits for the next complete message on `cid` until `deadline`;
    /// packets of other channels are skipped (hidraw delivers every report to
    /// every reader). `Ok(None)` at the deadline.
    fn next_message(
        &mut self,
        reassembler: &mut Reassembler,
        cid: u32,
        deadline: Instant,
    ) -> Result<Option<Message>, ClientError> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let Some(report) = self.transport.recv(left.min(self.config.poll_interval))? else {
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

    /// Sends `cmd` with `payload` and returns the answer's payload.
    pub fn transact(
        &mut self,
        cmd: Command,
        payload: &[u8],
        mut tx: Transaction<'_>,
    ) -> Result<Vec<u8>, ClientError> {
        let cid = self.info.cid;
        let request = Message::new(cid, cmd, payload.to_vec());
        // Refuse oversize requests before anything goes on the wire.
        let reports = request.to_reports()?;
        let started = Instant::now();
        let deadline = started + tx.timeout;
        let mut busy_retries = 0;
        'send: loop {
            for report in &reports {
                self.transport.send(report)?;
            }
            let mut reassembler = Reassembler::new();
            let mut cancel_deadline: Option<(Instant, bool)> = None; // (grace end, timed out)
            loop {
                let now = Instant::now();
                if cancel_deadline.is_none() {
                    let user = tx.cancel.is_some_and(CancelToken::is_cancelled);
                    if user || now >= deadline {
                        self.send(&Message::new(cid, Command::CANCEL, Vec::new()))?;
                        cancel_deadline = Some((now + self.config.cancel_grace, !user));
                    }
                }
                if let Some((grace_end, timed_out)) = cancel_deadline
                    && now >= grace_end
                {
                    return Err(self.cancel_outcome(cmd, tx.timeout, timed_out));
                }
                let wait_until = cancel_deadline.map_or(deadline, |(g, _)| g);
                let Some(msg) = self.next_message(
                    &mut reassembler,
                    cid,
                    wait_until.min(now + self.config.poll_interval),
                )?
                else {
                    continue;
                };
                match msg.cmd {
                    Command::KEEPALIVE => {
                        let status =
                            KeepaliveStatus::from_byte(msg.payload.first().copied().unwrap_or(0));
                        if let Some(cb) = tx.on_keepalive.as_mut() {
                            cb(status);
                        }
                    }
                    Command::ERROR => {
                        let code = HidErrorCode(msg.payload.first().copied().unwrap_or(0x7f));
                        if code == HidErrorCode::CHANNEL_BUSY && cancel_deadline.is_none() {
                            if busy_retries >= self.config.busy_retries
                                || Instant::now() + self.config.busy_backoff >= deadline
                            {
                                return Err(ClientError::Busy {
                                    retries: busy_retries,
                                });
                            }
                            busy_retries += 1;
                            std::thread::sleep(self.config.busy_backoff);
                            continue 'send;
                        }
                        return Err(ClientError::Device(code));
                    }
                    got if got == cmd => {
                        if let Some((_, timed_out)) = cancel_deadline
                            && cmd == Command::CBOR
                            && msg.payload.first() == Some(&CTAP2_ERR_KEEPALIVE_CANCEL)
                        {
                            return Err(self.cancel_outcome(cmd, tx.timeout, timed_out));
                        }
                        return Ok(msg.payload);
                    }
                    got => return Err(ClientError::Unexpected { expected: cmd, got }),
                }
            }
        }
    }

    fn cancel_outcome(&self, cmd: Command, after: Duration, timed_out: bool) -> ClientError {
        if timed_out {
            ClientError::Timeout { cmd, after }
        } else {
            ClientError::Cancelled
        }
    }

    /// CTAPHID_PING: the device echoes `data`.
    pub fn ping(&mut self, data: &[u8], timeout: Duration) -> Result<Vec<u8>, ClientError> {
        self.transact(Command::PING, data, Transaction::with_timeout(timeout))
    }

    /// CTAPHID_WINK: the device identifies itself.
    pub fn wink(&mut self, timeout: Duration) -> Result<(), ClientError> {
        self.transact(Command::WINK, &[], Transaction::with_timeout(timeout))
            .map(|_| ())
    }

    /// CTAPHID_LOCK for `seconds` (0 releases, at most 10).
    pub fn lock(&mut self, seconds: u8, timeout: Duration) -> Result<(), ClientError> {
        self.transact(
            Command::LOCK,
            &[seconds.min(10)],
            Transaction::with_timeout(timeout),
        )
        .map(|_| ())
    }

    /// CTAPHID_CBOR: one CTAP2 request; the answer starts with the status byte.
    pub fn cbor(&mut self, request: &[u8], tx: Transaction<'_>) -> Result<Vec<u8>, ClientError> {
        self.transact(Command::CBOR, request, tx)
    }
}
