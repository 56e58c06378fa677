//! vsmartcard's virtual-reader protocol, the card's end: the reader driver
//! (`vpcd`, loaded by pcscd) listens on TCP; a virtual card connects to it
//! and is then "on the reader". Every message is a 2-byte big-endian length
//! and its payload. A 1-byte payload is a control message (power off, power
//! on, reset, ATR request; the ATR request is answered with the ATR);
//! anything longer is a command APDU, answered with the response APDU.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The port vpcd's first reader listens on (Debian's `vpcd` reader.conf).
pub const DEFAULT_PORT: u16 = 35963;

/// An ATR for a contactless ISO 14443-4 card without historical bytes:
/// T0 = 0x80 (TD1 follows), TD1 = 0x80 (TD2 follows, T=0), TD2 = 0x01
/// (T=1), TCK = 0x01. Readers and PC/SC then speak T=1 with it.
pub const CONTACTLESS_ATR: [u8; 5] = [0x3B, 0x80, 0x80, 0x01, 0x01];

/// How often a waiting card looks at its stop flag.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// A control message from the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// The reader powered the card off.
    PowerOff,
    /// The reader powered the card on.
    PowerOn,
    /// The reader reset the card.
    Reset,
    /// The reader asks for the ATR.
    GetAtr,
    /// A control byte this protocol does not define (ignored).
    Unknown(u8),
}

impl Control {
    /// The control byte's meaning.
    pub fn from_byte(b: u8) -> Control {
        match b {
            0x00 => Control::PowerOff,
            0x01 => Control::PowerOn,
            0x02 => Control::Reset,
            0x04 => Control::GetAtr,
            other => Control::Unknown(other),
        }
    }
}

/// One message from the reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A control message.
    Control(Control),
    /// A command APDU.
    Apdu(Vec<u8>),
}

/// Why serving a card on vpcd stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VpcdError {
    /// No reader listens at the address (pcscd with vpcd not running).
    #[error(
        "cannot reach the virtual reader at {addr}: {source} (is pcscd running with vsmartcard-vpcd?)"
    )]
    Connect {
        /// The reader's address.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
    /// The connection failed.
    #[error("virtual reader connection: {0}")]
    Io(#[from] io::Error),
    /// An answer longer than a vpcd message carries (65,535 bytes).
    #[error("an answer of {0} bytes does not fit one vpcd message")]
    TooLong(usize),
}

impl VpcdError {
    /// A stable code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            VpcdError::Connect { .. } => "vpcd_unreachable",
            VpcdError::Io(_) => "vpcd_io",
            VpcdError::TooLong(_) => "vpcd_too_long",
        }
    }
}

/// What a card does with the reader's messages.
pub trait Card {
    /// Answers a command APDU with a response APDU.
    fn apdu(&mut self, command: &[u8]) -> Vec<u8>;
    /// Power off or reset: back to the state after power-up.
    fn reset(&mut self);
}

/// Reads one message; `Ok(None)` when the reader closed the connection
/// between messages or `stop` was set while waiting for one.
pub fn read_frame(stream: &mut TcpStream, stop: &AtomicBool) -> Result<Option<Frame>, VpcdError> {
    let mut len = [0u8; 2];
    if !read_full(stream, &mut len, stop, true)? {
        return Ok(None);
    }
    let len = usize::from(u16::from_be_bytes(len));
    let mut payload = vec![0u8; len];
    if !read_full(stream, &mut payload, stop, false)? {
        return Ok(None);
    }
    Ok(Some(match payload.as_slice() {
        [b] => Frame::Control(Control::from_byte(*b)),
        _ => Frame::Apdu(payload),
    }))
}

/// Fills `buf`; false on a clean end (EOF before the first byte when
/// `boundary`, or `stop` set). A connection closed mid-message is an error.
fn read_full(
    stream: &mut TcpStream,
    buf: &mut [u8],
    stop: &AtomicBool,
    boundary: bool,
) -> Result<bool, VpcdError> {
    let mut filled = 0;
    while filled < buf.len() {
        if stop.load(Ordering::SeqCst) {
            return Ok(false);
        }
        let Some(rest) = buf.get_mut(filled..) else {
            break;
        };
        quick_ack(stream);
        match stream.read(rest) {
            Ok(0) if boundary && filled == 0 => return Ok(false),
            Ok(0) => return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into()),
            Ok(n) => filled += n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(true)
}

/// Acknowledges the reader's segments at once. vpcd sends a message's
/// length and its body in two writes with Nagle's algorithm on, so the body
/// waits until the length is acknowledged; a delayed ACK would add some
/// 40 ms to every APDU. Linux resets quick-ACK mode by itself, so it is set
/// before every read.
#[cfg(target_os = "linux")]
fn quick_ack(stream: &TcpStream) {
    // Only latency is at stake: a failure leaves the connection correct.
    let _ = socket2::SockRef::from(stream).set_tcp_quickack(true);
}

#[cfg(not(target_os = "linux"))]
fn quick_ack(_stream: &TcpStream) {}

/// Writes one message.
pub fn write_frame(stream: &mut impl Write, payload: &[u8]) -> Result<(), VpcdError> {
    let len = u16::try_from(payload.len()).map_err(|_| VpcdError::TooLong(payload.len()))?;
    let mut out = Vec::with_capacity(payload.len() + 2);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    stream.write_all(&out)?;
    Ok(())
}

/// Connects to the virtual reader at `addr` (the card is then inserted).
pub fn connect(addr: SocketAddr) -> Result<TcpStream, VpcdError> {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|source| VpcdError::Connect { addr, source })?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(STOP_CHECK))?;
    Ok(stream)
}

/// Serves `card` on a connected reader until the reader closes the
/// connection (`Ok`) or `stop` is set.
pub fn serve(
    mut stream: TcpStream,
    atr: &[u8],
    card: &mut dyn Card,
    stop: &AtomicBool,
) -> Result<(), VpcdError> {
    stream.set_read_timeout(Some(STOP_CHECK))?;
    while let Some(frame) = read_frame(&mut stream, stop)? {
        match frame {
            Frame::Control(Control::GetAtr) => write_frame(&mut stream, atr)?,
            Frame::Control(Control::PowerOff | Control::Reset) => card.reset(),
            Frame::Control(Control::PowerOn | Control::Unknown(_)) => {}
            Frame::Apdu(command) => {
                let answer = card.apdu(&command);
                write_frame(&mut stream, &answer)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use std::net::TcpListener;

    struct Recording {
        apdus: Vec<Vec<u8>>,
        resets: usize,
    }

    impl Card for Recording {
        fn apdu(&mut self, command: &[u8]) -> Vec<u8> {
            self.apdus.push(command.to_vec());
            vec![0x90, 0x00]
        }
        fn reset(&mut self) {
            self.resets += 1;
        }
    }

    /// A fake reader (the vpcd side) scripted over a real TCP connection.
    #[test]
    fn control_messages_atr_and_apdus() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let reader = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            s.write_all(&[0, 1, 0x01]).unwrap(); // power on
            s.write_all(&[0, 1, 0x04]).unwrap(); // ATR?
            let mut atr = [0u8; 7];
            s.read_exact(&mut atr).unwrap();
            assert_eq!(atr, [0, 5, 0x3B, 0x80, 0x80, 0x01, 0x01]);
            s.write_all(&[0, 4, 0x00, 0xA4, 0x04, 0x00]).unwrap();
            let mut sw = [0u8; 4];
            s.read_exact(&mut sw).unwrap();
            assert_eq!(sw, [0, 2, 0x90, 0x00]);
            s.write_all(&[0, 1, 0x02]).unwrap(); // reset
            s.write_all(&[0, 1, 0x00]).unwrap(); // power off
            s.write_all(&[0, 1, 0x77]).unwrap(); // unknown: ignored
            // Close: the card's serve ends.
        });
        let stream = connect(addr).unwrap();
        let mut card = Recording {
            apdus: Vec::new(),
            resets: 0,
        };
        serve(stream, &CONTACTLESS_ATR, &mut card, &AtomicBool::new(false)).unwrap();
        reader.join().unwrap();
        assert_eq!(card.apdus, vec![vec![0x00, 0xA4, 0x04, 0x00]]);
        assert_eq!(card.resets, 2);
    }

    #[test]
    fn a_message_cut_short_is_an_error_and_stop_ends_a_wait() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let reader = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.write_all(&[0, 10, 1, 2, 3]).unwrap();
        });
        let stream = connect(addr).unwrap();
        let mut card = Recording {
            apdus: Vec::new(),
            resets: 0,
        };
        let err = serve(stream, &CONTACTLESS_ATR, &mut card, &AtomicBool::new(false)).unwrap_err();
        assert_eq!(err.code(), "vpcd_io");
        reader.join().unwrap();

        // A silent reader: stop ends the wait.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stream = connect(addr).unwrap();
        let _held = listener.accept().unwrap();
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let s2 = stop.clone();
        let t = std::thread::spawn(move || {
            let mut card = Recording {
                apdus: Vec::new(),
                resets: 0,
            };
            serve(stream, &CONTACTLESS_ATR, &mut card, &s2)
        });
        std::thread::sleep(Duration::from_millis(150));
        stop.store(true, Ordering::SeqCst);
        assert!(t.join().unwrap().is_ok());
    }

    #[test]
    fn unreachable_reader_says_what_to_start() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let err = connect(addr).unwrap_err();
        assert_eq!(err.code(), "vpcd_unreachable");
        assert!(err.to_string().contains("pcscd"));
    }

    #[test]
    fn oversized_answers_are_refused() {
        let mut out = Vec::new();
        assert_eq!(
            write_frame(&mut out, &vec![0; 70_000]).unwrap_err().code(),
            "vpcd_too_long"
        );
        write_frame(&mut out, &[1, 2]).unwrap();
        assert_eq!(out, vec![0, 2, 1, 2]);
    }
}
