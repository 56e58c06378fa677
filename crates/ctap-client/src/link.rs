//! What carries CTAP2 messages to a key: the [`Link`] trait, one CTAP2
//! message in and its answer out, whatever the transport. [`Device`]
//! (crate::Device) runs every command over a link, so USB HID and NFC
//! (PC/SC) keys share one CTAP implementation. [`HidLink`] is CTAPHID over
//! any report transport; `nfc::NfcLink` is the FIDO applet over any APDU
//! transport.

use crate::error::CtapError;
use crate::meter::ExchangeMetrics;
use crate::recorder::{Recorder, RecordingTransport};
use ctaphid::{ClientConfig, HidChannel, InitInfo, ReportTransport, Transaction};
use serde::Serialize;
use std::time::Duration;

/// What a link says about the transport under it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "transport", rename_all = "camelCase")]
pub enum LinkInfo {
    /// CTAPHID (USB HID, or a virtual key over UDP or in process).
    Hid {
        /// Channel id.
        cid: u32,
        /// Device version (major, minor, build).
        device_version: (u8, u8, u8),
        /// CTAPHID capability flags.
        capabilities: u8,
    },
    /// The FIDO applet on a smart card (NFC reader or contact reader).
    Nfc {
        /// What SELECT answered ("FIDO_2_0", "U2F_V2").
        applet_version: String,
        /// Whether the reader carries extended APDUs, when known.
        extended_apdus: Option<bool>,
    },
}

impl LinkInfo {
    /// The transport's short name: "usb" or "nfc" (as getInfo's transports).
    pub fn transport(&self) -> &'static str {
        match self {
            LinkInfo::Hid { .. } => "usb",
            LinkInfo::Nfc { .. } => "nfc",
        }
    }
}

/// Moves CTAP2 messages to one key.
pub trait Link: Send {
    /// Sends one CTAP2 message (command byte and CBOR) and returns the
    /// answer (status byte and CBOR). `redact_frames`: the exchange carries
    /// (or may answer with) a secret, so its frames or APDUs are recorded
    /// without their bytes.
    fn cbor(
        &mut self,
        request: &[u8],
        tx: Transaction<'_>,
        redact_frames: bool,
    ) -> Result<Vec<u8>, CtapError>;

    /// What the exchange [`Link::cbor`] just made cost (reports, bytes,
    /// time on the wire, on the key and waiting for a touch), when the
    /// link measures it; `None` otherwise or when no answer came.
    fn exchange_metrics(
        &mut self,
        _command: u8,
        _request_bytes: usize,
        _response_bytes: usize,
    ) -> Option<ExchangeMetrics> {
        None
    }

    /// The CTAPHID reports under this link, for checks that speak raw
    /// CTAPHID (the key lab's probe); `None` on other transports.
    fn hid_reports(&mut self) -> Option<&mut dyn ReportTransport> {
        None
    }

    /// Makes the key identify itself (CTAPHID_WINK); not every transport can.
    fn wink(&mut self, timeout: Duration) -> Result<(), CtapError>;

    /// The transport under the link.
    fn info(&self) -> LinkInfo;
}

/// CTAPHID over a report transport, every report recorded.
pub struct HidLink<T: ReportTransport> {
    channel: HidChannel<RecordingTransport<T>>,
}

impl<T: ReportTransport> HidLink<T> {
    /// Allocates a channel (CTAPHID INIT).
    pub fn open(transport: T, recorder: Recorder) -> Result<Self, CtapError> {
        Ok(HidLink {
            channel: HidChannel::open(
                RecordingTransport::new(transport, recorder),
                ClientConfig::default(),
            )?,
        })
    }

    /// The CTAPHID INIT answer.
    pub fn init_info(&self) -> InitInfo {
        self.channel.info()
    }
}

impl<T: ReportTransport> Link for HidLink<T> {
    fn cbor(
        &mut self,
        request: &[u8],
        tx: Transaction<'_>,
        redact_frames: bool,
    ) -> Result<Vec<u8>, CtapError> {
        self.channel.transport_mut().redact_frames(redact_frames);
        self.channel.transport_mut().meter().begin();
        let result = self.channel.cbor(request, tx);
        self.channel.transport_mut().redact_frames(false);
        Ok(result?)
    }

    fn hid_reports(&mut self) -> Option<&mut dyn ReportTransport> {
        Some(self.channel.transport_mut())
    }

    fn exchange_metrics(
        &mut self,
        command: u8,
        request_bytes: usize,
        response_bytes: usize,
    ) -> Option<ExchangeMetrics> {
        self.channel
            .transport_mut()
            .meter()
            .finish(command, request_bytes, response_bytes)
    }

    fn wink(&mut self, timeout: Duration) -> Result<(), CtapError> {
        if self.channel.info().capabilities & ctaphid::client::capability::WINK == 0 {
            return Err(CtapError::Unsupported("CTAPHID_WINK"));
        }
        self.channel.wink(timeout)?;
        Ok(())
    }

    fn info(&self) -> LinkInfo {
        let i = self.channel.info();
        LinkInfo::Hid {
            cid: i.cid,
            device_version: i.device_version,
            capabilities: i.capabilities,
        }
    }
}
