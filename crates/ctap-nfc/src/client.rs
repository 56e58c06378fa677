//! The host side of CTAP over NFC (CTAP 2.1 §11.3): selects the FIDO applet
//! (and reads which protocols it offers), sends a CTAP2 message as
//! NFCCTAP_MSG in one extended APDU when the reader takes them or as an
//! ISO 7816-4 command chain of short APDUs otherwise, follows 61xx with GET
//! RESPONSE, and polls NFCCTAP_GETRESPONSE while the key works (status
//! updates, cancel, a hard deadline). Every loop is bounded: a card that
//! answers without end gets an [`NfcError`], never a hang.

use crate::apdu::{
    ApduError, CommandApdu, EXTENDED_MAX_NE, Encoding, ResponseApdu, SHORT_MAX_DATA, SHORT_MAX_NE,
    StatusWord,
};
use crate::{FIDO_AID, P1_CANCEL, P1_GETRESPONSE_SUPPORTED, ins};
use std::time::{Duration, Instant};

/// Most response bytes assembled for one message (a CTAP response is at
/// most a few kilobytes; this bounds a card that chains without end).
pub const MAX_RESPONSE: usize = 64 * 1024;

/// Moves one command APDU to a card and returns its response APDU.
pub trait ApduTransport: Send {
    /// Sends `command` and waits for the answer (data, SW1, SW2).
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, NfcError>;
}

impl<T: ApduTransport + ?Sized> ApduTransport for Box<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, NfcError> {
        (**self).transmit(command)
    }
}

/// Why an NFC exchange failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NfcError {
    /// The reader or the PC/SC service failed (card removed, no service).
    #[error("smart-card reader: {0}")]
    Transport(String),
    /// The card answered bytes that are not a response APDU.
    #[error(transparent)]
    Apdu(#[from] ApduError),
    /// SELECT of the FIDO applet failed: not a FIDO card.
    #[error("the card has no FIDO applet (SELECT answered {0})")]
    NoFidoApplet(StatusWord),
    /// The card refused a command with this status word.
    #[error("{command} answered {sw}")]
    Status {
        /// The instruction's name.
        command: &'static str,
        /// The status word.
        sw: StatusWord,
    },
    /// The answer grew past [`MAX_RESPONSE`] or a 61xx carried no data.
    #[error("the card's answer does not end ({len} bytes so far)")]
    Runaway {
        /// Bytes assembled.
        len: usize,
    },
    /// No answer within the deadline (the message was cancelled).
    #[error("the key gave no answer within {0:?}; the request was cancelled")]
    Timeout(Duration),
    /// The caller cancelled.
    #[error("cancelled")]
    Cancelled,
}

impl NfcError {
    /// A stable code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            NfcError::Transport(_) => "nfc_transport",
            NfcError::Apdu(e) => e.code(),
            NfcError::NoFidoApplet(_) => "nfc_no_fido_applet",
            NfcError::Status { .. } => "nfc_status",
            NfcError::Runaway { .. } => "nfc_runaway",
            NfcError::Timeout(_) => "nfc_timeout",
            NfcError::Cancelled => "nfc_cancelled",
        }
    }
}

/// What SELECT said the applet speaks (CTAP 2.1 §11.3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppletVersion {
    /// "FIDO_2_0": CTAP2 only.
    Fido2,
    /// "U2F_V2": U2F/CTAP1, and CTAP2 when getInfo answers.
    U2fV2,
    /// Anything else (shown as given).
    Other(String),
}

impl AppletVersion {
    /// The version string.
    pub fn as_str(&self) -> &str {
        match self {
            AppletVersion::Fido2 => "FIDO_2_0",
            AppletVersion::U2fV2 => "U2F_V2",
            AppletVersion::Other(s) => s,
        }
    }
}

/// Whether the reader carries extended APDUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtendedSupport {
    /// Not tried yet: the next message tries one.
    Unknown,
    /// Extended APDUs worked.
    Yes,
    /// Refused: short APDUs and chaining from now on.
    No,
}

/// Per-message options: the deadline, cancel and status updates.
pub struct Exchange<'a> {
    /// Deadline for the whole answer; the message is cancelled when it passes.
    pub timeout: Duration,
    /// Checked between polls; when true the message is cancelled.
    pub cancelled: &'a dyn Fn() -> bool,
    /// Called with each status update (processing 1, up-needed 2).
    pub on_update: &'a mut dyn FnMut(u8),
}

/// How often NFCCTAP_GETRESPONSE polls while the key works.
pub const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// A selected FIDO applet on one card.
pub struct NfcSession<A: ApduTransport> {
    transport: A,
    version: AppletVersion,
    extended: ExtendedSupport,
}

impl<A: ApduTransport> NfcSession<A> {
    /// Selects the FIDO applet.
    pub fn select(mut transport: A) -> Result<Self, NfcError> {
        let select = CommandApdu::new(
            0x00,
            ins::SELECT,
            0x04,
            0x00,
            FIDO_AID.to_vec(),
            Some(SHORT_MAX_NE),
            Encoding::Short,
        );
        let raw = transport.transmit(&select.to_bytes()?)?;
        let mut session = NfcSession {
            transport,
            version: AppletVersion::Fido2,
            extended: ExtendedSupport::Unknown,
        };
        let first = ResponseApdu::parse(&raw)?;
        let (data, sw) = session.follow_chain(first, Encoding::Short)?;
        if sw != StatusWord::OK {
            return Err(NfcError::NoFidoApplet(sw));
        }
        session.version = match data.as_slice() {
            b"FIDO_2_0" => AppletVersion::Fido2,
            b"U2F_V2" => AppletVersion::U2fV2,
            other => AppletVersion::Other(String::from_utf8_lossy(other).into_owned()),
        };
        Ok(session)
    }

    /// What SELECT answered.
    pub fn version(&self) -> &AppletVersion {
        &self.version
    }

    /// Whether the reader takes extended APDUs (as far as known).
    pub fn extended(&self) -> ExtendedSupport {
        self.extended
    }

    /// Uses short APDUs only from now on (a reader known to lack extended ones).
    pub fn force_short(&mut self) {
        self.extended = ExtendedSupport::No;
    }

    /// The transport, for the caller's own use.
    pub fn transport_mut(&mut self) -> &mut A {
        &mut self.transport
    }

    /// Sends one CTAP2 message and returns the answer (status byte and body).
    pub fn cbor(&mut self, request: &[u8], exchange: Exchange<'_>) -> Result<Vec<u8>, NfcError> {
        let started = Instant::now();
        let first = match self.extended {
            ExtendedSupport::No => self.send_chained(request)?,
            ExtendedSupport::Yes => self.send_extended(request)?,
            ExtendedSupport::Unknown => match self.send_extended(request) {
                // WRONG_LENGTH (or an unknown CLA/INS form) from the card, or
                // a transmit failure from a reader that cannot carry the
                // extended form (some refuse it instead of passing it on):
                // no extended APDUs here; chain instead. A card that is
                // really gone fails the chained try as well.
                Ok(r)
                    if !matches!(
                        r.sw,
                        StatusWord::WRONG_LENGTH
                            | StatusWord::INS_NOT_SUPPORTED
                            | StatusWord::CLA_NOT_SUPPORTED
                    ) =>
                {
                    self.extended = ExtendedSupport::Yes;
                    r
                }
                Ok(_) | Err(NfcError::Transport(_)) => {
                    self.extended = ExtendedSupport::No;
                    self.send_chained(request)?
                }
                Err(e) => return Err(e),
            },
        };
        let encoding = self.encoding();
        let (mut data, mut sw) = self.follow_chain(first, encoding)?;
        let mut cancel_sent = false;
        while sw == StatusWord::NFCCTAP_UPDATE {
            if let Some(&status) = data.first() {
                (exchange.on_update)(status);
            }
            let timed_out = started.elapsed() >= exchange.timeout;
            if cancel_sent && started.elapsed() >= exchange.timeout + Duration::from_secs(1) {
                return Err(NfcError::Timeout(exchange.timeout));
            }
            let cancel = !cancel_sent && ((exchange.cancelled)() || timed_out);
            if !cancel {
                std::thread::sleep(POLL_INTERVAL);
            }
            let p1 = if cancel { P1_CANCEL } else { 0x00 };
            cancel_sent |= cancel;
            let poll = CommandApdu::new(
                0x80,
                ins::NFCCTAP_GETRESPONSE,
                p1,
                0x00,
                Vec::new(),
                Some(self.max_ne()),
                encoding,
            );
            let r = ResponseApdu::parse(&self.transport.transmit(&poll.to_bytes()?)?)?;
            (data, sw) = self.follow_chain(r, encoding)?;
        }
        if sw != StatusWord::OK {
            return Err(NfcError::Status {
                command: "NFCCTAP_MSG",
                sw,
            });
        }
        if cancel_sent && data.first() == Some(&0x2D) {
            return Err(if started.elapsed() >= exchange.timeout {
                NfcError::Timeout(exchange.timeout)
            } else {
                NfcError::Cancelled
            });
        }
        Ok(data)
    }

    fn encoding(&self) -> Encoding {
        if self.extended == ExtendedSupport::Yes {
            Encoding::Extended
        } else {
            Encoding::Short
        }
    }

    fn max_ne(&self) -> usize {
        match self.encoding() {
            Encoding::Short => SHORT_MAX_NE,
            Encoding::Extended => EXTENDED_MAX_NE,
        }
    }

    fn send_extended(&mut self, request: &[u8]) -> Result<ResponseApdu, NfcError> {
        let apdu = CommandApdu::new(
            0x80,
            ins::NFCCTAP_MSG,
            P1_GETRESPONSE_SUPPORTED,
            0x00,
            request.to_vec(),
            Some(EXTENDED_MAX_NE),
            Encoding::Extended,
        );
        Ok(ResponseApdu::parse(
            &self.transport.transmit(&apdu.to_bytes()?)?,
        )?)
    }

    /// ISO 7816-4 command chaining: CLA 0x90 on every part but the last.
    fn send_chained(&mut self, request: &[u8]) -> Result<ResponseApdu, NfcError> {
        let mut parts = request.chunks(SHORT_MAX_DATA).peekable();
        loop {
            let part = parts.next().unwrap_or_default();
            let last = parts.peek().is_none();
            let apdu = CommandApdu::new(
                if last { 0x80 } else { 0x90 },
                ins::NFCCTAP_MSG,
                P1_GETRESPONSE_SUPPORTED,
                0x00,
                part.to_vec(),
                last.then_some(SHORT_MAX_NE),
                Encoding::Short,
            );
            let r = ResponseApdu::parse(&self.transport.transmit(&apdu.to_bytes()?)?)?;
            if last {
                return Ok(r);
            }
            if r.sw != StatusWord::OK {
                return Err(NfcError::Status {
                    command: "NFCCTAP_MSG (chained)",
                    sw: r.sw,
                });
            }
        }
    }

    /// Follows 61xx with GET RESPONSE until the last piece; returns all
    /// data and the final status word.
    fn follow_chain(
        &mut self,
        first: ResponseApdu,
        encoding: Encoding,
    ) -> Result<(Vec<u8>, StatusWord), NfcError> {
        let ResponseApdu { mut data, mut sw } = first;
        while let Some(announced) = sw.more_data_len() {
            let ne = match encoding {
                Encoding::Short => announced,
                Encoding::Extended => EXTENDED_MAX_NE,
            };
            let get = CommandApdu::new(
                0x00,
                ins::GET_RESPONSE,
                0,
                0,
                Vec::new(),
                Some(ne),
                encoding,
            );
            let r = ResponseApdu::parse(&self.transport.transmit(&get.to_bytes()?)?)?;
            if r.data.is_empty() && r.sw.more_data_len().is_some() {
                return Err(NfcError::Runaway { len: data.len() });
            }
            data.extend_from_slice(&r.data);
            if data.len() > MAX_RESPONSE {
                return Err(NfcError::Runaway { len: data.len() });
            }
            sw = r.sw;
        }
        Ok((data, sw))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::applet::{Applet, AppletOptions, Poll, Processor};

    /// An echo authenticator: answers status OK and the request reversed,
    /// after `busy` updates.
    struct Echo {
        pending: Option<Vec<u8>>,
        busy: usize,
        cancelled: bool,
    }

    impl Processor for Echo {
        fn start(&mut self, request: Vec<u8>) {
            self.pending = Some(request);
        }
        fn wait(&mut self, _timeout: Duration) -> Poll {
            if self.cancelled {
                self.pending = None;
                return Poll::Done(vec![0x2D]);
            }
            if self.busy > 0 {
                self.busy -= 1;
                return Poll::Busy(crate::status::UP_NEEDED);
            }
            let mut r = self.pending.take().unwrap_or_default();
            r.reverse();
            r.insert(0, 0);
            Poll::Done(r)
        }
        fn cancel(&mut self) {
            self.cancelled = true;
        }
    }

    /// The applet on the other end of an in-process "reader"; keeps the
    /// APDUs it saw.
    struct Card {
        applet: Applet,
        echo: Echo,
        seen: Vec<Vec<u8>>,
        busy_per_message: usize,
    }

    impl ApduTransport for Card {
        fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, NfcError> {
            self.seen.push(command.to_vec());
            if command.get(1) == Some(&ins::NFCCTAP_MSG) && command[0] & 0x10 == 0 {
                self.echo.busy = self.busy_per_message;
            }
            Ok(self.applet.on_apdu(command, &mut self.echo))
        }
    }

    fn card(options: AppletOptions, busy: usize) -> Card {
        Card {
            applet: Applet::new(options),
            echo: Echo {
                pending: None,
                busy: 0,
                cancelled: false,
            },
            seen: Vec::new(),
            busy_per_message: busy,
        }
    }

    /// Runs one message; returns the answer and the status updates seen.
    fn run<A: ApduTransport>(
        s: &mut NfcSession<A>,
        req: &[u8],
        cancel: bool,
    ) -> (Result<Vec<u8>, NfcError>, Vec<u8>) {
        let mut updates = Vec::new();
        let mut on_update = |status| updates.push(status);
        let cancelled = move || cancel;
        let result = s.cbor(
            req,
            Exchange {
                timeout: Duration::from_secs(5),
                cancelled: &cancelled,
                on_update: &mut on_update,
            },
        );
        (result, updates)
    }

    fn request(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7) as u8).collect()
    }

    fn expected(req: &[u8]) -> Vec<u8> {
        let mut r = req.to_vec();
        r.reverse();
        r.insert(0, 0);
        r
    }

    #[test]
    fn extended_when_the_reader_takes_them() {
        let mut s = NfcSession::select(card(AppletOptions::default(), 0)).unwrap();
        assert_eq!(s.version(), &AppletVersion::Fido2);
        let req = request(7000);
        let answer = run(&mut s, &req, false).0.unwrap();
        assert_eq!(answer, expected(&req));
        assert_eq!(s.extended(), ExtendedSupport::Yes);
        // SELECT and one extended NFCCTAP_MSG.
        assert_eq!(s.transport_mut().seen.len(), 2);
    }

    #[test]
    fn chaining_both_ways_on_a_short_only_reader() {
        let options = AppletOptions {
            short_only: true,
            ..AppletOptions::default()
        };
        let mut s = NfcSession::select(card(options, 0)).unwrap();
        let req = request(7000);
        let answer = run(&mut s, &req, false).0.unwrap();
        assert_eq!(answer, expected(&req));
        assert_eq!(s.extended(), ExtendedSupport::No);
        let seen = &s.transport_mut().seen;
        // SELECT, the refused extended try, 28 chained parts, 27 GET RESPONSEs.
        let chained = seen.iter().filter(|a| a[0] == 0x90).count();
        let gets = seen.iter().filter(|a| a[1] == 0xC0).count();
        assert_eq!((chained, gets), (27, 27));
        // After the refused extended try, every APDU is short.
        assert!(seen.iter().skip(2).all(|a| a.len() <= 5 + 255 + 1));
    }

    #[test]
    fn a_limited_response_buffer_chains_extended_answers() {
        let options = AppletOptions {
            max_response: 512,
            ..AppletOptions::default()
        };
        let mut s = NfcSession::select(card(options, 0)).unwrap();
        let req = request(3000);
        assert_eq!(run(&mut s, &req, false).0.unwrap(), expected(&req));
        let gets = s
            .transport_mut()
            .seen
            .iter()
            .filter(|a| a[1] == 0xC0)
            .count();
        assert_eq!(gets, 5, "3001 bytes in pieces of 512");
    }

    #[test]
    fn updates_are_reported_until_the_answer() {
        let mut s = NfcSession::select(card(AppletOptions::default(), 3)).unwrap();
        let (answer, updates) = run(&mut s, &[4], false);
        assert_eq!(answer.unwrap(), vec![0, 4]);
        assert_eq!(updates, vec![2, 2, 2]);
    }

    #[test]
    fn cancel_is_sent_with_getresponse() {
        let mut s = NfcSession::select(card(AppletOptions::default(), 1000)).unwrap();
        let err = run(&mut s, &[4], true).0.unwrap_err();
        assert_eq!(err, NfcError::Cancelled);
        let last = s.transport_mut().seen.last().unwrap().clone();
        assert_eq!(&last[..3], &[0x80, 0x11, 0x11]);
    }

    struct Liar;
    impl ApduTransport for Liar {
        fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, NfcError> {
            Ok(match command[1] {
                ins::SELECT => b"FIDO_2_0\x90\x00".to_vec(),
                // Always "more data", never any.
                _ => vec![0x61, 0x00],
            })
        }
    }

    #[test]
    fn a_card_that_never_ends_is_an_error() {
        let mut s = NfcSession::select(Liar).unwrap();
        let err = run(&mut s, &[4], false).0.unwrap_err();
        assert_eq!(err.code(), "nfc_runaway");
    }

    /// A reader that fails every extended APDU at the transport level.
    struct ShortReader(Card);

    impl ApduTransport for ShortReader {
        fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, NfcError> {
            if command.len() > 5 && command[4] == 0 {
                return Err(NfcError::Transport("SCARD_E_NOT_TRANSACTED".into()));
            }
            self.0.transmit(command)
        }
    }

    #[test]
    fn a_reader_refusing_extended_apdus_falls_back_to_chaining() {
        let mut s = NfcSession::select(ShortReader(card(AppletOptions::default(), 0))).unwrap();
        let req = request(1000);
        assert_eq!(run(&mut s, &req, false).0.unwrap(), expected(&req));
        assert_eq!(s.extended(), ExtendedSupport::No);
        // Decided once: the next message goes short at once.
        assert_eq!(run(&mut s, &[4], false).0.unwrap(), vec![0, 4]);
    }

    struct NotFido;
    impl ApduTransport for NotFido {
        fn transmit(&mut self, _: &[u8]) -> Result<Vec<u8>, NfcError> {
            Ok(vec![0x6A, 0x82])
        }
    }

    #[test]
    fn a_card_without_the_applet() {
        let err = NfcSession::select(NotFido).err().unwrap();
        assert_eq!(err.code(), "nfc_no_fido_applet");
    }
}
