//! The virtual key as a contactless FIDO card: the same [`Authenticator`]
//! behind the FIDO applet of `ctap_nfc`, on a virtual reader of vsmartcard's
//! `vpcd` (loaded by pcscd), so any PC/SC client sees a FIDO card. The
//! authenticator works on its own thread, so the applet answers
//! NFCCTAP_GETRESPONSE with "processing" or "up-needed" while it waits for
//! a touch; power-off and reset from the reader are power cycles.

use crate::authenticator::SharedAuthenticator;
/// The applet's settings (the reader limits a front end may emulate).
pub use ctap_nfc::AppletOptions;
/// The largest response an extended APDU asks for (no reader limit).
pub use ctap_nfc::apdu::EXTENDED_MAX_NE;
use ctap_nfc::applet::{Applet, Poll, Processor};
use ctap_nfc::client::{ApduTransport, NfcError};
use ctap_nfc::vpcd::{self, VpcdError};
use ctaphid::serve::RequestContext;
use fido_wire::ctap2::StatusCode;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

/// The authenticator on a worker thread, as the applet's [`Processor`].
/// Answers carry the number of their request, so an answer that arrives
/// after a reset gave up on it is never taken for the next one's.
pub struct AuthenticatorWorker {
    requests: Sender<(u64, Vec<u8>, RequestContext)>,
    answers: Receiver<(u64, Vec<u8>)>,
    current: Option<(u64, RequestContext)>,
    next: u64,
}

impl AuthenticatorWorker {
    /// Starts the worker thread for `key`; it ends when the worker is dropped.
    pub fn start(key: SharedAuthenticator) -> Self {
        let (requests, work) = mpsc::channel::<(u64, Vec<u8>, RequestContext)>();
        let (done, answers) = mpsc::channel();
        std::thread::spawn(move || {
            for (n, request, ctx) in work {
                let answer = key.with(|a| a.process(&request, &ctx));
                if done.send((n, answer)).is_err() {
                    break;
                }
            }
        });
        AuthenticatorWorker {
            requests,
            answers,
            current: None,
            next: 0,
        }
    }
}

impl Processor for AuthenticatorWorker {
    fn start(&mut self, request: Vec<u8>) {
        let ctx = RequestContext::detached();
        self.next += 1;
        // A gone worker shows in `wait` as a disconnected queue.
        let _ = self.requests.send((self.next, request, ctx.clone()));
        self.current = Some((self.next, ctx));
    }

    fn wait(&mut self, timeout: Duration) -> Poll {
        let Some((number, ctx)) = &self.current else {
            return Poll::Done(vec![StatusCode::OTHER.0]);
        };
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.answers.recv_timeout(left) {
                Ok((n, answer)) if n == *number => {
                    self.current = None;
                    return Poll::Done(answer);
                }
                // A stale answer of a request given up on.
                Ok(_) => continue,
                Err(RecvTimeoutError::Timeout) => return Poll::Busy(ctx.status().to_byte()),
                Err(RecvTimeoutError::Disconnected) => {
                    self.current = None;
                    return Poll::Done(vec![StatusCode::OTHER.0]);
                }
            }
        }
    }

    fn cancel(&mut self) {
        if let Some((_, ctx)) = &self.current {
            ctx.cancel();
        }
    }
}

/// The authenticator behind the FIDO applet: vpcd's card, or (as an
/// [`ApduTransport`]) a card held right at the client, in process, the way
/// `ctaphid::pipe` is for HID.
pub struct FidoCard {
    applet: Applet,
    worker: AuthenticatorWorker,
    key: SharedAuthenticator,
}

impl FidoCard {
    /// `key` as a card with the reader limits in `options`.
    pub fn new(key: SharedAuthenticator, options: AppletOptions) -> Self {
        FidoCard {
            applet: Applet::new(options),
            worker: AuthenticatorWorker::start(key.clone()),
            key,
        }
    }
}

impl ApduTransport for FidoCard {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, NfcError> {
        Ok(vpcd::Card::apdu(self, command))
    }
}

impl vpcd::Card for FidoCard {
    fn apdu(&mut self, command: &[u8]) -> Vec<u8> {
        self.applet.on_apdu(command, &mut self.worker)
    }

    fn reset(&mut self) {
        self.applet.reset(&mut self.worker);
        // Out of the field and back: the authenticator's power cycle
        // (PIN attempts per power-up, pending getNextAssertion).
        let _ = self.key.with(|a| a.power_cycle());
    }
}

/// Serves `key` as a contactless card on the virtual reader at `reader`
/// (vpcd's port) until `stop` is set. When pcscd closes the connection
/// (restart, card removed by the driver) the card reconnects; a reader that
/// cannot be reached at the start is an error at once.
pub fn serve_vpcd(
    reader: SocketAddr,
    key: SharedAuthenticator,
    options: AppletOptions,
    stop: Arc<AtomicBool>,
) -> Result<(), VpcdError> {
    let mut stream = vpcd::connect(reader)?;
    let mut card = FidoCard::new(key, options);
    loop {
        vpcd::serve(stream, &vpcd::CONTACTLESS_ATR, &mut card, &stop)?;
        vpcd::Card::reset(&mut card);
        stream = loop {
            if stop.load(Ordering::SeqCst) {
                return Ok(());
            }
            match vpcd::connect(reader) {
                Ok(s) => break s,
                Err(_) => std::thread::sleep(Duration::from_millis(250)),
            }
        };
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::{Authenticator, Config};
    use ctap_nfc::client::{Exchange, NfcSession};
    use fido_wire::ctap2::GetInfo;

    #[test]
    fn get_info_through_the_applet_on_a_short_only_reader() {
        let key = SharedAuthenticator::new(Authenticator::new(Config::default()).unwrap());
        let card = FidoCard::new(
            key,
            AppletOptions {
                short_only: true,
                max_response: 64,
                ..AppletOptions::default()
            },
        );
        let mut session = NfcSession::select(card).unwrap();
        let mut on_update = |_| {};
        let answer = session
            .cbor(
                &[0x04],
                Exchange {
                    timeout: Duration::from_secs(5),
                    cancelled: &|| false,
                    on_update: &mut on_update,
                },
            )
            .unwrap();
        assert_eq!(answer[0], 0);
        let info = GetInfo::from_value(
            &fido_wire::cbor::from_slice(&answer[1..], &fido_wire::cbor::DecodeOptions::CTAP2)
                .unwrap(),
        )
        .unwrap();
        assert!(info.transports.iter().any(|t| t == "nfc"));
    }
}
