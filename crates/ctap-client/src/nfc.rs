//! Keys on smart-card readers (NFC or contact): the FIDO applet reached
//! through any APDU transport (`ctap_nfc`'s client: extended APDUs when the
//! reader takes them, command chaining otherwise, response chaining,
//! NFCCTAP_GETRESPONSE polling) as a [`Link`], every APDU recorded with its
//! header decoded. [`crate::pcsc`] supplies the transport for real readers.

use crate::error::CtapError;
use crate::link::{Link, LinkInfo};
use crate::recorder::{Direction, Recorder};
pub use ctap_nfc::client::{ApduTransport, NfcError};
use ctap_nfc::client::{Exchange, ExtendedSupport, NfcSession};
use ctaphid::{CancelToken, KeepaliveStatus, Transaction};
use std::time::Duration;

/// An APDU transport that records every command and response.
pub struct RecordingApdus<A: ApduTransport> {
    inner: A,
    recorder: Recorder,
    redact: bool,
}

impl<A: ApduTransport> ApduTransport for RecordingApdus<A> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, NfcError> {
        self.recorder.apdu(Direction::Out, command, self.redact);
        let answer = self.inner.transmit(command)?;
        self.recorder.apdu(Direction::In, &answer, self.redact);
        Ok(answer)
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
