//! The small trait every CTAPHID backend implements (send and receive one
//! 64-byte report), and the backends that need no hardware: an in-process
//! pipe and UDP on loopback (one datagram carries one report). The hidapi
//! backend for real keys lives with the CTAP client.

use crate::packet::{Command, HidErrorCode, REPORT_LEN, Report};
use std::net::{SocketAddr, UdpSocket};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

/// Why a report could not be moved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The other end is gone (key unplugged, virtual key stopped).
    #[error("the device is disconnected")]
    Disconnected,
    /// An operating-system error.
    #[error("I/O error: {0}")]
    Io(String),
}

/// Moves whole 64-byte reports to and from one device.
pub trait ReportTransport: Send {
    /// Sends one report.
    fn send(&mut self, report: &Report) -> Result<(), TransportError>;
    /// Waits at most `timeout` for one report; `Ok(None)` when none came.
    fn recv(&mut self, timeout: Duration) -> Result<Option<Report>, TransportError>;
}

impl<T: ReportTransport + ?Sized> ReportTransport for Box<T> {
    fn send(&mut self, report: &Report) -> Result<(), TransportError> {
        (**self).send(report)
    }
    fn recv(&mut self, timeout: Duration) -> Result<Option<Report>, TransportError> {
        (**self).recv(timeout)
    }
}

/// One end of an in-process report pipe.
#[derive(Debug)]
pub struct PipeEnd {
    tx: Sender<Report>,
    rx: Receiver<Report>,
}

/// Two connected pipe ends: whatever one sends, the other receives.
pub fn pipe() -> (PipeEnd, PipeEnd) {
    let (a_tx, b_rx) = mpsc::channel();
    let (b_tx, a_rx) = mpsc::channel();
    (
        PipeEnd { tx: a_tx, rx: a_rx },
        PipeEnd { tx: b_tx, rx: b_rx },
    )
}

impl ReportTransport for PipeEnd {
    fn send(&mut self, report: &Report) -> Result<(), TransportError> {
        self.tx
            .send(*report)
            .map_err(|_| TransportError::Disconnected)
    }

    fn recv(&mut self, timeout: Duration) -> Result<Option<Report>, TransportError> {
        recv_queued(&self.rx, timeout)
    }
}

/// [`ReportTransport::recv`] for backends that queue incoming reports on a
/// channel (the pipe, a reader thread): a closed queue means disconnected.
pub fn recv_queued(
    rx: &Receiver<Report>,
    timeout: Duration,
) -> Result<Option<Report>, TransportError> {
    match rx.recv_timeout(timeout) {
        Ok(r) => Ok(Some(r)),
        Err(RecvTimeoutError::Timeout) => Ok(None),
        Err(RecvTimeoutError::Disconnected) => Err(TransportError::Disconnected),
    }
}

/// Reports over UDP: each datagram is exactly one 64-byte report. Datagrams
/// of any other size are dropped, as a HID stack drops malformed reports.
///
/// The device side serves one client at a time: the first address that
/// writes is bound until nothing has passed between them for
/// [`UdpReports::client_idle`], so another local process can neither take
/// the answers meant for it nor slip requests into its session. Others are
/// answered ERR_CHANNEL_BUSY on their channel (clients retry) meanwhile.
#[derive(Debug)]
pub struct UdpReports {
    socket: UdpSocket,
    peer: Option<SocketAddr>,
    /// Device side: the bound client and when a report last passed.
    binding: Option<Binding>,
}

#[derive(Debug)]
struct Binding {
    idle: Duration,
    last: Instant,
}

/// How long a UDP device stays bound to a silent client by default: long
/// enough for one client's gaps between transactions, short enough that
/// the next client (a new `keybench` run) gets the key within the retry
/// time of its INIT.
pub const DEFAULT_CLIENT_IDLE: Duration = Duration::from_secs(2);

impl UdpReports {
    /// The client side: talks to the device at `device`.
    pub fn connect(device: SocketAddr) -> Result<Self, TransportError> {
        let bind: SocketAddr = if device.is_ipv4() {
            ([127, 0, 0, 1], 0).into()
        } else {
            (std::net::Ipv6Addr::LOCALHOST, 0).into()
        };
        let socket = UdpSocket::bind(bind).map_err(io)?;
        socket.connect(device).map_err(io)?;
        Self::from_connected(socket)
    }

    /// The client side on a socket already connected to the device: a
    /// program that keeps one socket (one address) across operations stays
    /// the client a UDP key is bound to, instead of waiting for it to let a
    /// previous socket go.
    pub fn from_connected(socket: UdpSocket) -> Result<Self, TransportError> {
        let peer = socket.peer_addr().map_err(io)?;
        Ok(UdpReports {
            socket,
            peer: Some(peer),
            binding: None,
        })
    }

    /// The device side: listens on `addr`, bound to one client at a time
    /// until it has been idle for [`DEFAULT_CLIENT_IDLE`].
    pub fn listen(addr: SocketAddr) -> Result<Self, TransportError> {
        Self::listen_with_idle(addr, DEFAULT_CLIENT_IDLE)
    }

    /// [`UdpReports::listen`] with another idle time before the bound
    /// client is let go.
    pub fn listen_with_idle(addr: SocketAddr, idle: Duration) -> Result<Self, TransportError> {
        Ok(UdpReports {
            socket: UdpSocket::bind(addr).map_err(io)?,
            peer: None,
            binding: Some(Binding {
                idle,
                last: Instant::now(),
            }),
        })
    }

    /// The local address (to learn the port chosen for `:0`).
    pub fn local_addr(&self) -> Result<SocketAddr, TransportError> {
        self.socket.local_addr().map_err(io)
    }

    /// Device side: how long the bound client may stay silent.
    pub fn client_idle(&self) -> Option<Duration> {
        self.binding.as_ref().map(|b| b.idle)
    }

    /// Device side: whether a report from `from` may be served now (and
    /// binds `from` when the key is free).
    fn admit(&mut self, from: SocketAddr) -> bool {
        let Some(binding) = &mut self.binding else {
            return true;
        };
        let free = self.peer.is_none() || binding.last.elapsed() >= binding.idle;
        if self.peer != Some(from) && !free {
            return false;
        }
        self.peer = Some(from);
        binding.last = Instant::now();
        true
    }

    /// Answers a stranger's INIT packet ERR_CHANNEL_BUSY on its channel;
    /// continuation packets get nothing. A failed reply is not the key's
    /// problem: a stranger must not be able to stop it.
    fn refuse(&self, report: &Report, to: SocketAddr) {
        let (Some(cid), Some(&b4)) = (report.get(..4), report.get(4)) else {
            return;
        };
        if b4 & 0x80 == 0 {
            return;
        }
        let mut busy = [0u8; REPORT_LEN];
        let header = [0x80 | Command::ERROR.0, 0, 1, HidErrorCode::CHANNEL_BUSY.0];
        for (slot, byte) in busy.iter_mut().zip(cid.iter().chain(header.iter())) {
            *slot = *byte;
        }
        let _ = self.socket.send_to(&busy, to);
    }
}

fn io(e: std::io::Error) -> TransportError {
    TransportError::Io(e.to_string())
}

impl ReportTransport for UdpReports {
    fn send(&mut self, report: &Report) -> Result<(), TransportError> {
        let peer = self.peer.ok_or(TransportError::Disconnected)?;
        self.socket.send_to(report, peer).map_err(io)?;
        // Answers (keepalives while the user is asked) keep the client bound.
        if let Some(binding) = &mut self.binding {
            binding.last = Instant::now();
        }
        Ok(())
    }

    fn recv(&mut self, timeout: Duration) -> Result<Option<Report>, TransportError> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            self.socket.set_read_timeout(Some(left)).map_err(io)?;
            let mut buf = [0u8; REPORT_LEN + 1];
            match self.socket.recv_from(&mut buf) {
                Ok((n, from)) => {
                    if self.peer.is_some_and(|p| p != from) && self.socket.peer_addr().is_ok() {
                        continue; // a connected client only hears its device
                    }
                    let Some(report) = buf.get(..n).and_then(|b| <Report>::try_from(b).ok()) else {
                        continue;
                    };
                    if !self.admit(from) {
                        self.refuse(&report, from);
                        continue;
                    }
                    return Ok(Some(report));
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Ok(None);
                }
                // A previous datagram bounced (nobody listening): the device is gone.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    return Err(TransportError::Disconnected);
                }
                Err(e) => return Err(io(e)),
            }
        }
    }
}
