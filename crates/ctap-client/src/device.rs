//! One FIDO2 key behind a [`Link`] (CTAPHID, or the FIDO applet over
//! PC/SC): getInfo read once at open, and the CTAP 2.1 commands (§6) as
//! typed calls, the same for every transport. Every request is checked
//! against the key's maxMsgSize before it is sent, and every exchange is
//! reported to the traffic recorder when one is attached.

use crate::error::CtapError;
use crate::link::{HidLink, Link, LinkInfo};
use crate::meter::ExchangeMetrics;
use crate::recorder::{Direction, EventKind, Recorder};
use crate::redact;
use ctaphid::{ReportTransport, Transaction};
use fido_wire::cbor::{self, Value};
use fido_wire::ctap2::{
    GetAssertionRequest, GetAssertionResponse, GetInfo, MakeCredentialRequest,
    MakeCredentialResponse, StatusCode, command, parse_response,
};
use std::collections::VecDeque;
use std::time::Duration;

/// The name of a CTAP2 command byte, for messages and the recorder.
pub fn command_name(cmd: u8) -> &'static str {
    match cmd {
        command::MAKE_CREDENTIAL => "authenticatorMakeCredential",
        command::GET_ASSERTION => "authenticatorGetAssertion",
        command::GET_INFO => "authenticatorGetInfo",
        command::CLIENT_PIN => "authenticatorClientPIN",
        command::RESET => "authenticatorReset",
        command::GET_NEXT_ASSERTION => "authenticatorGetNextAssertion",
        command::CREDENTIAL_MANAGEMENT | command::PROTOTYPE_CREDENTIAL_MANAGEMENT => {
            "authenticatorCredentialManagement"
        }
        command::SELECTION => "authenticatorSelection",
        command::LARGE_BLOBS => "authenticatorLargeBlobs",
        command::CONFIG => "authenticatorConfig",
        _ => "vendor command",
    }
}

/// A key, opened.
pub struct Device {
    link: Box<dyn Link>,
    info: GetInfo,
    recorder: Recorder,
    /// The last getAssertion asked for secret outputs, so the
    /// getNextAssertion answers that follow carry them too.
    after_secret_assertion: bool,
    /// What the latest CTAP2 exchanges cost, oldest first (a few kept).
    exchanges: VecDeque<ExchangeMetrics>,
    /// Default deadline of a call without user interaction.
    pub timeout: Duration,
}

/// How many measured exchanges a device keeps.
const KEPT_EXCHANGES: usize = 16;

impl Device {
    /// A key speaking CTAPHID on `transport`: allocates a channel (INIT)
    /// and reads getInfo.
    pub fn open<T: ReportTransport + 'static>(
        transport: T,
        recorder: Recorder,
    ) -> Result<Self, CtapError> {
        let link = HidLink::open(transport, recorder.clone())?;
        Self::open_link(Box::new(link), recorder)
    }

    /// A key on any link (an NFC card's applet, a CTAPHID channel): reads getInfo.
    pub fn open_link(link: Box<dyn Link>, recorder: Recorder) -> Result<Self, CtapError> {
        let mut device = Device {
            link,
            info: GetInfo::default(),
            recorder,
            after_secret_assertion: false,
            exchanges: VecDeque::new(),
            timeout: Duration::from_secs(5),
        };
        device.info = device.get_info()?;
        Ok(device)
    }

    /// The getInfo read at open (or refreshed by [`Device::get_info`]).
    pub fn info(&self) -> &GetInfo {
        &self.info
    }

    /// The transport under the key: CTAPHID's INIT answer, or the NFC
    /// applet's version and the reader's APDU forms.
    pub fn link_info(&self) -> LinkInfo {
        self.link.info()
    }

    /// The CTAPHID reports under this key, for raw CTAPHID checks (the key
    /// lab's probe); `None` for keys on other transports (NFC).
    pub fn hid_reports(&mut self) -> Option<&mut dyn ReportTransport> {
        self.link.hid_reports()
    }

    /// Sends a CTAP2 message exactly as given (command byte and
    /// parameters, canonical or not) and returns the raw answer (status
    /// byte and body), without the client's checks (maxMsgSize): for
    /// conformance checks that must send what a client never would.
    pub fn raw_message(
        &mut self,
        request: &[u8],
        tx: Transaction<'_>,
    ) -> Result<Vec<u8>, CtapError> {
        self.link.cbor(request, tx, false)
    }

    /// The recorder this device reports to.
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    /// What the CTAP2 exchanges since the last call cost, oldest first
    /// (the latest few; exchanges that got no answer are not kept; links
    /// that do not measure keep none).
    pub fn take_exchanges(&mut self) -> Vec<ExchangeMetrics> {
        self.exchanges.drain(..).collect()
    }

    /// Sends one CTAP2 command and returns its response body. The recorder
    /// gets the request and response decoded with their secret members
    /// replaced by markers, and the frames of an exchange that carries (or
    /// may answer with) a secret without their bytes. Both are decided for
    /// this exchange alone: other keys sharing the recorder are unaffected.
    pub fn call(
        &mut self,
        cmd: u8,
        params: Option<&Value>,
        tx: Transaction<'_>,
    ) -> Result<Option<Value>, CtapError> {
        let name = command_name(cmd);
        let request = fido_wire::ctap2::encode_request(cmd, params);
        let max = self.info.effective_max_msg_size();
        if request.len() as u64 > max {
            return Err(CtapError::RequestTooLarge {
                command: name,
                len: request.len(),
                max,
            });
        }
        let secret_frames = redact::frames_are_secret(cmd, params, self.after_secret_assertion);
        if cmd == command::GET_ASSERTION {
            self.after_secret_assertion = secret_frames;
        }
        self.recorder.record(
            Direction::Out,
            EventKind::Request {
                command: name.into(),
                length: request.len(),
                detail: params
                    .map(|_| redact::request(cmd, params).value.to_string())
                    .unwrap_or_default(),
            },
        );
        let result = self.link.cbor(&request, tx, secret_frames);
        let metrics =
            self.link
                .exchange_metrics(cmd, request.len(), result.as_ref().map_or(0, Vec::len));
        let response = result?;
        if let Some(m) = metrics {
            if self.exchanges.len() == KEPT_EXCHANGES {
                self.exchanges.pop_front();
            }
            self.exchanges.push_back(m);
        }
        let (status, body) = parse_response(&response).map_err(|source| CtapError::Response {
            command: name,
            source,
        })?;
        self.recorder.record(
            Direction::In,
            EventKind::Response {
                command: name.into(),
                status: status.to_string(),
                length: response.len(),
                detail: body
                    .as_ref()
                    .map(|b| redact::response(cmd, Some(b)).value.to_string())
                    .unwrap_or_default(),
            },
        );
        if status != StatusCode::OK {
            return Err(CtapError::Status {
                command: name,
                status,
            });
        }
        Ok(body)
    }

    fn quick(&self) -> Transaction<'static> {
        Transaction::with_timeout(self.timeout)
    }

    /// authenticatorGetInfo (and refreshes the cached copy).
    pub fn get_info(&mut self) -> Result<GetInfo, CtapError> {
        let tx = self.quick();
        let body = self.call(command::GET_INFO, None, tx)?;
        let info = GetInfo::from_value(&body.unwrap_or(Value::Null)).map_err(|source| {
            CtapError::Response {
                command: command_name(command::GET_INFO),
                source,
            }
        })?;
        self.info = info.clone();
        Ok(info)
    }

    /// authenticatorMakeCredential.
    pub fn make_credential(
        &mut self,
        req: &MakeCredentialRequest,
        tx: Transaction<'_>,
    ) -> Result<MakeCredentialResponse, CtapError> {
        let body = self.call(command::MAKE_CREDENTIAL, Some(&req.to_value()), tx)?;
        MakeCredentialResponse::from_value(&body.unwrap_or(Value::Null)).map_err(|source| {
            CtapError::Response {
                command: command_name(command::MAKE_CREDENTIAL),
                source,
            }
        })
    }

    /// authenticatorGetAssertion.
    pub fn get_assertion(
        &mut self,
        req: &GetAssertionRequest,
        tx: Transaction<'_>,
    ) -> Result<GetAssertionResponse, CtapError> {
        let body = self.call(command::GET_ASSERTION, Some(&req.to_value()), tx)?;
        Self::assertion(command::GET_ASSERTION, body)
    }

    /// authenticatorGetNextAssertion.
    pub fn get_next_assertion(&mut self) -> Result<GetAssertionResponse, CtapError> {
        let tx = self.quick();
        let body = self.call(command::GET_NEXT_ASSERTION, None, tx)?;
        Self::assertion(command::GET_NEXT_ASSERTION, body)
    }

    fn assertion(cmd: u8, body: Option<Value>) -> Result<GetAssertionResponse, CtapError> {
        GetAssertionResponse::from_value(&body.unwrap_or(Value::Null)).map_err(|source| {
            CtapError::Response {
                command: command_name(cmd),
                source,
            }
        })
    }

    /// authenticatorReset. Keys allow it only shortly after power-up (10 s
    /// on most) and need a touch; NOT_ALLOWED means re-plug and retry at once.
    pub fn reset(&mut self, tx: Transaction<'_>) -> Result<(), CtapError> {
        self.call(command::RESET, None, tx)?;
        self.info = self.get_info()?;
        Ok(())
    }

    /// authenticatorSelection: waits for a touch (to pick among several keys).
    pub fn selection(&mut self, tx: Transaction<'_>) -> Result<(), CtapError> {
        if !self
            .info
            .versions
            .iter()
            .any(|v| v == "FIDO_2_1" || v == "FIDO_2_1_PRE")
        {
            return Err(CtapError::Unsupported("authenticatorSelection (CTAP 2.1)"));
        }
        self.call(command::SELECTION, None, tx)?;
        Ok(())
    }

    /// CTAPHID_WINK: makes the key blink (USB keys that offer it).
    pub fn wink(&mut self) -> Result<(), CtapError> {
        self.link.wink(self.timeout)
    }

    /// Encodes a value the way requests are (for callers that build
    /// pinUvAuthParams over encoded parameters).
    pub fn encode(value: &Value) -> Vec<u8> {
        cbor::to_canonical_vec(value)
    }
}
