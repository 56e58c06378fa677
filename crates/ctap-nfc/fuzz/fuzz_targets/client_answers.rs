//! A card answering with arbitrary bytes: the client's SELECT and message
//! exchange return an answer or an error, never panic, never loop without
//! end (the answers run out: every further transmit fails), and never
//! assemble more than MAX_RESPONSE bytes.
#![no_main]
use ctap_nfc::client::{ApduTransport, Exchange, MAX_RESPONSE, NfcError, NfcSession};
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

/// Answers from the fuzz input, each prefixed by a 2-byte length.
struct Scripted<'a> {
    rest: &'a [u8],
    sent: usize,
}

impl ApduTransport for Scripted<'_> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, NfcError> {
        self.sent += 1;
        assert!(command.len() <= 4 + 3 + 65_535 + 2);
        let [hi, lo, tail @ ..] = self.rest else {
            return Err(NfcError::Transport("no more answers".into()));
        };
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (answer, next) = tail.split_at(len);
        self.rest = next;
        Ok(answer.to_vec())
    }
}

fuzz_target!(|data: &[u8]| {
    let (request, answers) = data.split_at(data.len().min(300));
    let card = Scripted { rest: answers, sent: 0 };
    let Ok(mut session) = NfcSession::select(card) else { return };
    let mut on_update = |_status: u8| {};
    let result = session.cbor(
        request,
        Exchange {
            timeout: Duration::from_millis(50),
            cancelled: &|| false,
            on_update: &mut on_update,
        },
    );
    if let Ok(answer) = result {
        assert!(answer.len() <= MAX_RESPONSE + 65_536);
    }
});
