//! The card side of the FIDO applet (CTAP 2.1 §11.3): SELECT by AID,
//! NFCCTAP_MSG with ISO 7816-4 command chaining, NFCCTAP_GETRESPONSE while
//! the authenticator works (status updates, cancel), and response chaining
//! (61xx, GET RESPONSE). The applet is one explicit state machine; the
//! authenticator behind it is a [`Processor`] that works on its own thread.
//! [`AppletOptions`] emulate a reader's limits (no extended APDUs, a small
//! response buffer) so a client's chaining paths are exercised.

use crate::apdu::{CommandApdu, EXTENDED_MAX_NE, Encoding, ResponseApdu, SHORT_MAX_NE, StatusWord};
use crate::{FIDO_AID, P1_CANCEL, P1_GETRESPONSE_SUPPORTED, ins};
use std::time::Duration;

/// Largest CTAP message a chain may assemble (twice CTAPHID's 7,609 bytes:
/// more than any authenticator takes, small enough to bound memory).
pub const MAX_CHAINED_REQUEST: usize = 16 * 1024;

/// Where the authenticator is with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll {
    /// The answer (CTAP status byte and body).
    Done(Vec<u8>),
    /// Still working; the status byte of an NFCCTAP update (processing,
    /// up-needed).
    Busy(u8),
}

/// The authenticator behind the applet, working on CTAP2 messages.
pub trait Processor {
    /// Starts work on one CTAP2 message (command byte and parameters).
    fn start(&mut self, request: Vec<u8>);
    /// Waits at most `timeout` for the answer.
    fn wait(&mut self, timeout: Duration) -> Poll;
    /// Asks the work under way to stop (its answer then comes as usual).
    fn cancel(&mut self);
}

/// What the card says it is and the reader limits it emulates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppletOptions {
    /// The SELECT answer: "FIDO_2_0" (CTAP2 only) or "U2F_V2".
    pub version: &'static str,
    /// Refuse extended APDUs (WRONG_LENGTH), as a reader without them.
    pub short_only: bool,
    /// Most response data bytes per APDU (a reader's buffer); longer
    /// answers are chained through 61xx and GET RESPONSE.
    pub max_response: usize,
    /// How long an NFCCTAP_MSG or NFCCTAP_GETRESPONSE waits for the
    /// authenticator before answering with a status update (when the client
    /// understands updates).
    pub update_after: Duration,
    /// How long an NFCCTAP_MSG from a client without update support waits.
    pub blocking_wait: Duration,
}

impl Default for AppletOptions {
    fn default() -> Self {
        AppletOptions {
            version: "FIDO_2_0",
            short_only: false,
            max_response: EXTENDED_MAX_NE,
            update_after: Duration::from_millis(50),
            blocking_wait: Duration::from_secs(60),
        }
    }
}

/// The applet's state between APDUs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// Not selected: only SELECT is answered.
    Unselected,
    /// Selected, nothing under way.
    Ready,
    /// Receiving a chained NFCCTAP_MSG.
    Receiving {
        /// P1 of the chain.
        p1: u8,
        /// Data so far.
        data: Vec<u8>,
    },
    /// The authenticator works on a message.
    Processing,
    /// Sending a long answer through GET RESPONSE.
    Sending {
        /// The whole answer.
        data: Vec<u8>,
        /// Bytes sent so far.
        sent: usize,
    },
}

/// The FIDO applet.
#[derive(Debug)]
pub struct Applet {
    options: AppletOptions,
    phase: Phase,
}

impl Applet {
    /// An applet, not yet selected.
    pub fn new(options: AppletOptions) -> Self {
        Applet {
            options,
            phase: Phase::Unselected,
        }
    }

    /// Power off or reset: forgets selection and anything under way.
    pub fn reset(&mut self, processor: &mut dyn Processor) {
        if self.phase == Phase::Processing {
            processor.cancel();
            // The answer is dropped: nobody asked for it after the reset.
            let _ = processor.wait(Duration::from_secs(1));
        }
        self.phase = Phase::Unselected;
    }

    /// Answers one command APDU (raw bytes in, raw response out).
    pub fn on_apdu(&mut self, raw: &[u8], processor: &mut dyn Processor) -> Vec<u8> {
        self.answer(raw, processor).to_bytes()
    }

    fn answer(&mut self, raw: &[u8], processor: &mut dyn Processor) -> ResponseApdu {
        let command = match CommandApdu::parse(raw) {
            Ok(c) => c,
            Err(_) => return ResponseApdu::status(StatusWord::WRONG_LENGTH),
        };
        if command.encoding == Encoding::Extended && self.options.short_only {
            return ResponseApdu::status(StatusWord::WRONG_LENGTH);
        }
        if command.base_cla() != 0x00 && command.base_cla() != 0x80 {
            return ResponseApdu::status(StatusWord::CLA_NOT_SUPPORTED);
        }
        if command.ins == ins::SELECT {
            return self.select(&command, processor);
        }
        if self.phase == Phase::Unselected {
            return ResponseApdu::status(StatusWord::CONDITIONS_NOT_SATISFIED);
        }
        match (command.base_cla(), command.ins) {
            (0x80, ins::NFCCTAP_MSG) => self.message(command, processor),
            (0x80, ins::NFCCTAP_GETRESPONSE) => self.get_update(&command, processor),
            (0x00, ins::GET_RESPONSE) => self.get_response(&command),
            _ => ResponseApdu::status(StatusWord::INS_NOT_SUPPORTED),
        }
    }

    fn select(&mut self, command: &CommandApdu, processor: &mut dyn Processor) -> ResponseApdu {
        if command.is_chained() {
            return ResponseApdu::status(StatusWord::CHAINING_NOT_SUPPORTED);
        }
        if command.p1 != 0x04 {
            return ResponseApdu::status(StatusWord::WRONG_P1P2);
        }
        self.reset(processor);
        if command.data != FIDO_AID {
            return ResponseApdu::status(StatusWord::NOT_FOUND);
        }
        self.phase = Phase::Ready;
        ResponseApdu::new(self.options.version.as_bytes().to_vec(), StatusWord::OK)
    }

    fn message(&mut self, command: CommandApdu, processor: &mut dyn Processor) -> ResponseApdu {
        let mut data = match std::mem::replace(&mut self.phase, Phase::Ready) {
            Phase::Receiving { p1, data } if p1 == command.p1 => data,
            Phase::Receiving { .. } => {
                return ResponseApdu::status(StatusWord::LAST_COMMAND_EXPECTED);
            }
            Phase::Processing => {
                // One message at a time; the one under way continues.
                self.phase = Phase::Processing;
                return ResponseApdu::status(StatusWord::CONDITIONS_NOT_SATISFIED);
            }
            _ => Vec::new(),
        };
        if data.len() + command.data.len() > MAX_CHAINED_REQUEST {
            return ResponseApdu::status(StatusWord::WRONG_LENGTH);
        }
        data.extend_from_slice(&command.data);
        if command.is_chained() {
            self.phase = Phase::Receiving {
                p1: command.p1,
                data,
            };
            return ResponseApdu::status(StatusWord::OK);
        }
        if data.is_empty() {
            return ResponseApdu::status(StatusWord::WRONG_DATA);
        }
        processor.start(data);
        self.phase = Phase::Processing;
        let updates = command.p1 & P1_GETRESPONSE_SUPPORTED != 0;
        let wait = if updates {
            self.options.update_after
        } else {
            self.options.blocking_wait
        };
        self.after_wait(processor.wait(wait), &command)
    }

    fn get_update(&mut self, command: &CommandApdu, processor: &mut dyn Processor) -> ResponseApdu {
        if self.phase != Phase::Processing {
            return ResponseApdu::status(StatusWord::CONDITIONS_NOT_SATISFIED);
        }
        if command.p1 == P1_CANCEL {
            processor.cancel();
        }
        self.after_wait(processor.wait(self.options.update_after), command)
    }

    fn after_wait(&mut self, poll: Poll, command: &CommandApdu) -> ResponseApdu {
        match poll {
            Poll::Busy(status) => ResponseApdu::new(vec![status], StatusWord::NFCCTAP_UPDATE),
            Poll::Done(answer) => {
                self.phase = Phase::Sending {
                    data: answer,
                    sent: 0,
                };
                self.next_chunk(command)
            }
        }
    }

    fn get_response(&mut self, command: &CommandApdu) -> ResponseApdu {
        if !matches!(self.phase, Phase::Sending { .. }) {
            return ResponseApdu::status(StatusWord::CONDITIONS_NOT_SATISFIED);
        }
        self.next_chunk(command)
    }

    /// The next piece of the answer being sent: as much as the command's Ne
    /// and the emulated reader allow, then 61xx while more remains.
    fn next_chunk(&mut self, command: &CommandApdu) -> ResponseApdu {
        let Phase::Sending { data, sent } = &mut self.phase else {
            return ResponseApdu::status(StatusWord::CONDITIONS_NOT_SATISFIED);
        };
        // No Le: answer as much as the encoding could have asked for.
        let ne = command.ne.unwrap_or(match command.encoding {
            Encoding::Short => SHORT_MAX_NE,
            Encoding::Extended => EXTENDED_MAX_NE,
        });
        let take = ne.min(self.options.max_response).max(1);
        let rest = data.get(*sent..).unwrap_or_default();
        let chunk = rest
            .get(..take.min(rest.len()))
            .unwrap_or_default()
            .to_vec();
        *sent += chunk.len();
        let remaining = data.len().saturating_sub(*sent);
        if remaining == 0 {
            self.phase = Phase::Ready;
            ResponseApdu::new(chunk, StatusWord::OK)
        } else {
            ResponseApdu::new(chunk, StatusWord::more_data(remaining))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    /// Answers each message with `len` bytes after `busy_polls` updates.
    struct Scripted {
        len: usize,
        busy_polls: usize,
        started: Vec<Vec<u8>>,
        cancelled: bool,
    }

    impl Processor for Scripted {
        fn start(&mut self, request: Vec<u8>) {
            self.started.push(request);
        }
        fn wait(&mut self, _timeout: Duration) -> Poll {
            if self.cancelled {
                return Poll::Done(vec![0x2D]);
            }
            if self.busy_polls > 0 {
                self.busy_polls -= 1;
                return Poll::Busy(crate::status::UP_NEEDED);
            }
            Poll::Done((0..self.len).map(|i| i as u8).collect())
        }
        fn cancel(&mut self) {
            self.cancelled = true;
        }
    }

    fn scripted(len: usize, busy_polls: usize) -> Scripted {
        Scripted {
            len,
            busy_polls,
            started: Vec::new(),
            cancelled: false,
        }
    }

    fn send(applet: &mut Applet, p: &mut Scripted, apdu: CommandApdu) -> ResponseApdu {
        ResponseApdu::parse(&applet.on_apdu(&apdu.to_bytes().unwrap(), p)).unwrap()
    }

    fn select() -> CommandApdu {
        CommandApdu::new(0, 0xA4, 4, 0, FIDO_AID.to_vec(), None, Encoding::Short)
    }

    fn msg(cla: u8, data: &[u8], ne: Option<usize>, enc: Encoding) -> CommandApdu {
        CommandApdu::new(cla, 0x10, 0x80, 0, data.to_vec(), ne, enc)
    }

    #[test]
    fn select_answers_the_version_and_other_aids_are_not_found() {
        let mut a = Applet::new(AppletOptions::default());
        let mut p = scripted(1, 0);
        let r = send(&mut a, &mut p, msg(0x80, &[4], Some(256), Encoding::Short));
        assert_eq!(
            r.sw,
            StatusWord::CONDITIONS_NOT_SATISFIED,
            "not selected yet"
        );
        let r = send(&mut a, &mut p, select());
        assert_eq!(
            (r.data.as_slice(), r.sw),
            (&b"FIDO_2_0"[..], StatusWord::OK)
        );
        let mut other = select();
        other.data = vec![0xA0, 0, 0, 0, 3];
        assert_eq!(send(&mut a, &mut p, other).sw, StatusWord::NOT_FOUND);
        let r = send(&mut a, &mut p, msg(0x80, &[4], Some(256), Encoding::Short));
        assert_eq!(r.sw, StatusWord::CONDITIONS_NOT_SATISFIED, "deselected");
    }

    #[test]
    fn command_chaining_assembles_one_message() {
        let mut a = Applet::new(AppletOptions::default());
        let mut p = scripted(3, 0);
        send(&mut a, &mut p, select());
        let request: Vec<u8> = (0..600u16).map(|i| i as u8).collect();
        for part in request.chunks(250).take(2) {
            let r = send(&mut a, &mut p, msg(0x90, part, None, Encoding::Short));
            assert_eq!(r.sw, StatusWord::OK);
        }
        let r = send(
            &mut a,
            &mut p,
            msg(0x80, &request[500..], Some(256), Encoding::Short),
        );
        assert_eq!((r.data, r.sw), (vec![0, 1, 2], StatusWord::OK));
        assert_eq!(p.started, vec![request]);
    }

    #[test]
    fn a_chain_with_another_p1_is_refused() {
        let mut a = Applet::new(AppletOptions::default());
        let mut p = scripted(3, 0);
        send(&mut a, &mut p, select());
        send(&mut a, &mut p, msg(0x90, &[1], None, Encoding::Short));
        let mut last = msg(0x80, &[2], Some(256), Encoding::Short);
        last.p1 = 0;
        assert_eq!(
            send(&mut a, &mut p, last).sw,
            StatusWord::LAST_COMMAND_EXPECTED
        );
        assert!(p.started.is_empty());
    }

    #[test]
    fn chains_are_bounded() {
        let mut a = Applet::new(AppletOptions::default());
        let mut p = scripted(3, 0);
        send(&mut a, &mut p, select());
        let part = vec![0u8; 255];
        let mut last = StatusWord::OK;
        for _ in 0..100 {
            last = send(&mut a, &mut p, msg(0x90, &part, None, Encoding::Short)).sw;
            if last != StatusWord::OK {
                break;
            }
        }
        assert_eq!(last, StatusWord::WRONG_LENGTH);
    }

    #[test]
    fn response_chaining_through_get_response() {
        let mut a = Applet::new(AppletOptions::default());
        let mut p = scripted(600, 0);
        send(&mut a, &mut p, select());
        let r = send(&mut a, &mut p, msg(0x80, &[1], Some(256), Encoding::Short));
        assert_eq!((r.data.len(), r.sw), (256, StatusWord(0x6100)));
        let get = |le| CommandApdu::new(0, 0xC0, 0, 0, vec![], Some(le), Encoding::Short);
        let r2 = send(&mut a, &mut p, get(256));
        assert_eq!((r2.data.len(), r2.sw), (256, StatusWord(0x6158)));
        let r3 = send(&mut a, &mut p, get(0x58));
        assert_eq!((r3.data.len(), r3.sw), (88, StatusWord::OK));
        let all: Vec<u8> = [r.data, r2.data, r3.data].concat();
        assert_eq!(all, (0..600).map(|i| i as u8).collect::<Vec<_>>());
        assert_eq!(
            send(&mut a, &mut p, get(256)).sw,
            StatusWord::CONDITIONS_NOT_SATISFIED
        );
    }

    #[test]
    fn extended_apdus_get_everything_unless_the_reader_is_limited() {
        let mut a = Applet::new(AppletOptions::default());
        let mut p = scripted(7400, 0);
        send(&mut a, &mut p, select());
        let r = send(
            &mut a,
            &mut p,
            msg(0x80, &[1], Some(65536), Encoding::Extended),
        );
        assert_eq!((r.data.len(), r.sw), (7400, StatusWord::OK));

        let mut a = Applet::new(AppletOptions {
            max_response: 1000,
            ..AppletOptions::default()
        });
        send(&mut a, &mut p, select());
        let r = send(
            &mut a,
            &mut p,
            msg(0x80, &[1], Some(65536), Encoding::Extended),
        );
        assert_eq!((r.data.len(), r.sw), (1000, StatusWord(0x6100)));

        let mut a = Applet::new(AppletOptions {
            short_only: true,
            ..AppletOptions::default()
        });
        send(&mut a, &mut p, select());
        let r = send(
            &mut a,
            &mut p,
            msg(0x80, &[1], Some(65536), Encoding::Extended),
        );
        assert_eq!(r.sw, StatusWord::WRONG_LENGTH);
    }

    #[test]
    fn updates_while_processing_then_the_answer() {
        let mut a = Applet::new(AppletOptions::default());
        let mut p = scripted(2, 2);
        send(&mut a, &mut p, select());
        let r = send(&mut a, &mut p, msg(0x80, &[1], Some(256), Encoding::Short));
        assert_eq!(
            (r.data.as_slice(), r.sw),
            (&[2u8][..], StatusWord::NFCCTAP_UPDATE)
        );
        let poll = CommandApdu::new(0x80, 0x11, 0, 0, vec![], Some(256), Encoding::Short);
        // A second message while one is under way is refused.
        let busy = send(&mut a, &mut p, msg(0x80, &[1], Some(256), Encoding::Short));
        assert_eq!(busy.sw, StatusWord::CONDITIONS_NOT_SATISFIED);
        assert_eq!(
            send(&mut a, &mut p, poll.clone()).sw,
            StatusWord::NFCCTAP_UPDATE
        );
        let r = send(&mut a, &mut p, poll.clone());
        assert_eq!((r.data, r.sw), (vec![0, 1], StatusWord::OK));
        assert_eq!(
            send(&mut a, &mut p, poll).sw,
            StatusWord::CONDITIONS_NOT_SATISFIED
        );
    }

    #[test]
    fn cancel_through_getresponse() {
        let mut a = Applet::new(AppletOptions::default());
        let mut p = scripted(2, 5);
        send(&mut a, &mut p, select());
        send(&mut a, &mut p, msg(0x80, &[1], Some(256), Encoding::Short));
        let cancel = CommandApdu::new(0x80, 0x11, 0x11, 0, vec![], Some(256), Encoding::Short);
        let r = send(&mut a, &mut p, cancel);
        assert_eq!((r.data, r.sw), (vec![0x2D], StatusWord::OK));
    }

    #[test]
    fn bad_input_gets_status_words() {
        let mut a = Applet::new(AppletOptions::default());
        let mut p = scripted(2, 0);
        assert_eq!(a.on_apdu(&[0, 0xA4], &mut p), vec![0x67, 0]);
        assert_eq!(a.on_apdu(&[0x40, 0xA4, 4, 0], &mut p), vec![0x6E, 0]);
        send(&mut a, &mut p, select());
        assert_eq!(a.on_apdu(&[0x80, 0x55, 0, 0], &mut p), vec![0x6D, 0]);
        // An empty NFCCTAP_MSG carries no CTAP command.
        assert_eq!(a.on_apdu(&[0x80, 0x10, 0x80, 0], &mut p), vec![0x6A, 0x80]);
    }
}
