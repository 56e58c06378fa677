//! Keys on smart-card readers (NFC or contact): the FIDO applet reached
//! through any APDU transport (`ctap_nfc`'s client: extended APDUs when the
//! reader takes them, command chaining otherwise, response chaining,
//! NFCCTAP_GETRESPONSE polling) as a [`Link`], every APDU recorded with its
//! header decoded. [`crate::pcsc`] supplies the transport for real readers.

use crate::error::CtapError;
use crate::link::{Link, LinkInfo};
use crate::meter::ExchangeMetrics;
use crate::recorder::{Direction, Recorder};
pub use ctap_nfc::client::{ApduTransport, NfcError};
use ctap_nfc::client::{Exchange, ExtendedSupport, NfcSession};
use ctaphid::{CancelToken, KeepaliveStatus, Transaction};
use std::time::{Duration, Instant};

/// An APDU transport that records every command and response, and
/// meters the exchange under way.
pub struct RecordingApdus<A: ApduTransport> {
    inner: A,
    recorder: Recorder,
    redact: bool,
    meter: ApduMeter,
}

impl<A: ApduTransport> ApduTransport for RecordingApdus<A> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, NfcError> {
        self.recorder.apdu(Direction::Out, command, self.redact);
        let started = Instant::now();
        let answer = self.inner.transmit(command)?;
        self.meter
            .transmitted(command, &answer, started, Instant::now());
        self.recorder.apdu(Direction::In, &answer, self.redact);
        Ok(answer)
    }
}

/// What one CTAP2 exchange over the applet cost, APDU by APDU. A card
/// answers each command APDU at once (the transport is request and
/// response), so the parts are taken by the APDUs' kind: the request's
/// chained parts are sending; the last NFCCTAP_MSG (answered after the
/// card started working) and the NFCCTAP_GETRESPONSE polls are the key
/// working, less the polls that reported UP_NEEDED (touch wait); GET
/// RESPONSE after 61xx is receiving.
#[derive(Debug, Default)]
struct ApduMeter {
    measuring: bool,
    first: Option<Instant>,
    last: Option<Instant>,
    apdus: u32,
    status_updates: u32,
    send: Duration,
    key: Duration,
    touch_wait: Duration,
    receive: Duration,
}

/// NFCCTAP_MSG, NFCCTAP_GETRESPONSE and GET RESPONSE (CTAP 2.1 §11.3;
/// ISO 7816-4).
const INS_NFCCTAP_MSG: u8 = 0x10;
const INS_NFCCTAP_GETRESPONSE: u8 = 0x11;
const INS_GET_RESPONSE: u8 = 0xc0;
/// The status word of an NFCCTAP status update (the key is working).
const SW_STATUS_UPDATE: [u8; 2] = [0x91, 0x00];
/// Its status byte while the key waits for a touch.
const STATUS_UP_NEEDED: u8 = 0x02;

impl ApduMeter {
    fn begin(&mut self) {
        *self = ApduMeter {
            measuring: true,
            ..ApduMeter::default()
        };
    }

    fn transmitted(&mut self, command: &[u8], answer: &[u8], started: Instant, ended: Instant) {
        if !self.measuring {
            return;
        }
        self.first.get_or_insert(started);
        self.last = Some(ended);
        self.apdus += 1;
        let took = ended.saturating_duration_since(started);
        let cla = command.first().copied().unwrap_or_default();
        let ins = command.get(1).copied().unwrap_or_default();
        let sw = answer
            .len()
            .checked_sub(2)
            .and_then(|at| answer.get(at..))
            .unwrap_or_default();
        let update = sw == SW_STATUS_UPDATE;
        if update {
            self.status_updates += 1;
        }
        match ins {
            // A chained part of the request: only moving bytes.
            INS_NFCCTAP_MSG if cla & 0x10 != 0 => self.send += took,
            INS_NFCCTAP_MSG | INS_NFCCTAP_GETRESPONSE => {
                if update && answer.first() == Some(&STATUS_UP_NEEDED) {
                    self.touch_wait += took;
                } else {
                    self.key += took;
                }
            }
            INS_GET_RESPONSE => self.receive += took,
            _ => self.send += took,
        }
    }

    fn finish(
        &mut self,
        command: u8,
        request_bytes: usize,
        response_bytes: usize,
    ) -> Option<ExchangeMetrics> {
        let done = std::mem::take(self);
        let (first, last) = (done.first?, done.last?);
        Some(ExchangeMetrics {
            command,
            request_bytes,
            response_bytes,
            reports_out: done.apdus,
            reports_in: done.apdus,
            keepalives: done.status_updates,
            send: done.send,
            key: done.key,
            touch_wait: done.touch_wait,
            receive: done.receive,
            total: last.saturating_duration_since(first),
        })
    }
}

/// The FIDO applet of one card, selected.
pub struct NfcLink<A: ApduTransport> {
    session: NfcSession<RecordingApdus<A>>,
    recorder: Recorder,
}

impl<A: ApduTransport> NfcLink<A> {
    /// Selects the FIDO applet on the card behind `transport`.
    pub fn select(transport: A, recorder: Recorder) -> Result<Self, CtapError> {
        let session = NfcSession::select(RecordingApdus {
            inner: transport,
            recorder: recorder.clone(),
            redact: false,
            meter: ApduMeter::default(),
        })?;
        Ok(NfcLink { session, recorder })
    }

    /// Short APDUs only from now on (a reader known to lack extended ones).
    pub fn force_short(&mut self) {
        self.session.force_short();
    }
}

impl<A: ApduTransport> Link for NfcLink<A> {
    fn cbor(
        &mut self,
        request: &[u8],
        tx: Transaction<'_>,
        redact_frames: bool,
    ) -> Result<Vec<u8>, CtapError> {
        let Transaction {
            timeout,
            mut on_keepalive,
            cancel,
        } = tx;
        let cancelled = || cancel.is_some_and(CancelToken::is_cancelled);
        let recorder = self.recorder.clone();
        let mut on_update = |status: u8| {
            let status = KeepaliveStatus::from_byte(status);
            recorder.keepalive(status);
            if let Some(cb) = on_keepalive.as_mut() {
                cb(status);
            }
        };
        self.session.transport_mut().redact = redact_frames;
        self.session.transport_mut().meter.begin();
        let result = self.session.cbor(
            request,
            Exchange {
                timeout,
                cancelled: &cancelled,
                on_update: &mut on_update,
            },
        );
        self.session.transport_mut().redact = false;
        Ok(result?)
    }

    fn exchange_metrics(
        &mut self,
        command: u8,
        request_bytes: usize,
        response_bytes: usize,
    ) -> Option<ExchangeMetrics> {
        self.session
            .transport_mut()
            .meter
            .finish(command, request_bytes, response_bytes)
    }

    fn wink(&mut self, _timeout: Duration) -> Result<(), CtapError> {
        Err(CtapError::Unsupported("wink over NFC"))
    }

    fn info(&self) -> LinkInfo {
        LinkInfo::Nfc {
            applet_version: self.session.version().as_str().to_owned(),
            extended_apdus: match self.session.extended() {
                ExtendedSupport::Unknown => None,
                ExtendedSupport::Yes => Some(true),
                ExtendedSupport::No => Some(false),
            },
        }
    }
}
