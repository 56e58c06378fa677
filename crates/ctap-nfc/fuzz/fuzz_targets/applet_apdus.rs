//! Any sequence of command APDUs (each prefixed by a 2-byte length) to the
//! FIDO applet, with reader limits chosen by the first byte: every APDU gets
//! a response with a status word, never a panic; parsed APDUs write back to
//! the same bytes; a chained message never grows past its bound.
#![no_main]
use ctap_nfc::applet::{Applet, AppletOptions, MAX_CHAINED_REQUEST, Poll, Processor};
use ctap_nfc::apdu::{CommandApdu, ResponseApdu};
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

/// Echoes each message after a byte-chosen number of busy polls.
struct Echo {
    pending: Option<Vec<u8>>,
    busy: u8,
}

impl Processor for Echo {
    fn start(&mut self, request: Vec<u8>) {
        assert!(request.len() <= MAX_CHAINED_REQUEST);
        self.busy = request.first().copied().unwrap_or(0) % 4;
        self.pending = Some(request);
    }
    fn wait(&mut self, _timeout: Duration) -> Poll {
        if self.busy > 0 {
            self.busy -= 1;
            return Poll::Busy(1);
        }
        Poll::Done(self.pending.take().unwrap_or_default())
    }
    fn cancel(&mut self) {
        self.busy = 0;
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&limits, mut rest)) = data.split_first() else { return };
    let mut applet = Applet::new(AppletOptions {
        short_only: limits & 1 != 0,
        max_response: 16 + usize::from(limits >> 1) * 64,
        update_after: Duration::ZERO,
        blocking_wait: Duration::ZERO,
        ..AppletOptions::default()
    });
    let mut echo = Echo { pending: None, busy: 0 };
    while let [hi, lo, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (apdu, next) = tail.split_at(len);
        rest = next;
        if let Ok(c) = CommandApdu::parse(apdu) {
            assert_eq!(c.to_bytes().expect("parsed APDUs encode"), apdu);
        }
        let answer = applet.on_apdu(apdu, &mut echo);
        let r = ResponseApdu::parse(&answer).expect("every answer ends with a status word");
        assert!(r.data.len() <= 65_536);
    }
});
