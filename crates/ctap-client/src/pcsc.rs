//! Smart-card readers through the system's PC/SC service (the `pcsc`
//! crate: pcsc-lite on Linux, WinSCard on Windows, CryptoTokenKit on
//! macOS): the readers and the cards on them, an [`ApduTransport`] over a
//! connected card, and a watcher that reports readers and cards coming and
//! going. A card is shown as a FIDO key when SELECT of the FIDO applet
//! succeeds on it.

use ctap_nfc::client::{ApduTransport, NfcError};
use serde::Serialize;
use std::ffi::CString;
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

/// How often the watcher looks for changes.
pub const WATCH_INTERVAL: Duration = Duration::from_millis(250);

/// A reader and what is on it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReaderDescriptor {
    /// The reader's name as PC/SC gives it ("ACS ACR122U 00 00").
    pub reader: String,
    /// Whether a card is on (or in) the reader.
    pub card_present: bool,
    /// The card's ATR in hex.
    pub atr: Option<String>,
    /// What the FIDO applet's SELECT answered ("FIDO_2_0", "U2F_V2"), or
    /// `None` when there is no card or it has no FIDO applet.
    pub fido: Option<String>,
}

/// Why PC/SC failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PcscError {
    /// No PC/SC service runs (on Linux: pcscd).
    #[error(
        "no PC/SC service: start pcscd (Debian/Ubuntu: apt install pcscd) to use smart-card and NFC readers"
    )]
    NoService,
    /// The reader is not (or no longer) there.
    #[error("no smart-card reader named {0:?} (see `keybench devices`)")]
    NoReader(String),
    /// The reader has no card on it.
    #[error("no card on the reader {0:?}; hold the key on the reader")]
    NoCard(String),
    /// Another PC/SC failure.
    #[error("PC/SC: {0}")]
    Other(String),
}

impl PcscError {
    /// A stable code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            PcscError::NoService => "pcsc_no_service",
            PcscError::NoReader(_) => "pcsc_no_reader",
            PcscError::NoCard(_) => "pcsc_no_card",
            PcscError::Other(_) => "pcsc",
        }
    }

    fn from_pcsc(e: pcsc::Error, reader: &str) -> Self {
        match e {
            pcsc::Error::NoService | pcsc::Error::ServiceStopped => PcscError::NoService,
            pcsc::Error::UnknownReader | pcsc::Error::ReaderUnavailable => {
                PcscError::NoReader(reader.to_owned())
            }
            pcsc::Error::NoSmartcard | pcsc::Error::RemovedCard => {
                PcscError::NoCard(reader.to_owned())
            }
            other => PcscError::Other(other.to_string()),
        }
    }
}

fn context() -> Result<pcsc::Context, PcscError> {
    pcsc::Context::establish(pcsc::Scope::User).map_err(|e| PcscError::from_pcsc(e, ""))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The readers now present and their cards. SELECT of the FIDO applet is
/// tried on each card (shared mode, as every FIDO client does).
pub fn list_readers() -> Result<Vec<ReaderDescriptor>, PcscError> {
    let ctx = context()?;
    list_with(&ctx)
}

fn list_with(ctx: &pcsc::Context) -> Result<Vec<ReaderDescriptor>, PcscError> {
    let mut readers = states(ctx)?;
    for r in readers.iter_mut().filter(|r| r.card_present) {
        r.fido = probe(ctx, &r.reader);
    }
    Ok(readers)
}

/// The readers and whether a card is on each, without touching the cards.
fn states(ctx: &pcsc::Context) -> Result<Vec<ReaderDescriptor>, PcscError> {
    let names = match ctx.list_readers_owned() {
        Ok(names) => names,
        Err(pcsc::Error::NoReadersAvailable) => return Ok(Vec::new()),
        Err(e) => return Err(PcscError::from_pcsc(e, "")),
    };
    let mut states: Vec<pcsc::ReaderState> = names
        .iter()
        .map(|n| pcsc::ReaderState::new(n.clone(), pcsc::State::UNAWARE))
        .collect();
    ctx.get_status_change(Duration::ZERO, &mut states)
        .map_err(|e| PcscError::from_pcsc(e, ""))?;
    let mut readers: Vec<ReaderDescriptor> = states
        .iter()
        .map(|s| {
            let present = s.event_state().contains(pcsc::State::PRESENT);
            ReaderDescriptor {
                reader: s.name().to_string_lossy().into_owned(),
                card_present: present,
                atr: present.then(|| hex(s.atr())),
                fido: None,
            }
        })
        .collect();
    readers.sort_by(|a, b| a.reader.cmp(&b.reader));
    Ok(readers)
}

/// SELECT of the FIDO applet on the card in `reader`: its version string.
fn probe(ctx: &pcsc::Context, reader: &str) -> Option<String> {
    let name = CString::new(reader).ok()?;
    let card = ctx
        .connect(&name, pcsc::ShareMode::Shared, pcsc::Protocols::ANY)
        .ok()?;
    let mut transport = PcscCard {
        card,
        reader: reader.to_owned(),
    };
    ctap_nfc::NfcSession::select(&mut transport)
        .ok()
        .map(|s| s.version().as_str().to_owned())
}

/// A card on a reader, connected.
pub struct PcscCard {
    card: pcsc::Card,
    reader: String,
}

impl PcscCard {
    /// Connects to the card on `reader` (the exact name, or a part of it that
    /// names one reader).
    pub fn connect(reader: &str) -> Result<Self, PcscError> {
        let ctx = context()?;
        let names = match ctx.list_readers_owned() {
            Ok(names) => names,
            Err(pcsc::Error::NoReadersAvailable) => Vec::new(),
            Err(e) => return Err(PcscError::from_pcsc(e, reader)),
        };
        let exact = names.iter().find(|n| n.to_string_lossy() == reader);
        let partial: Vec<&CString> = names
            .iter()
            .filter(|n| n.to_string_lossy().contains(reader))
            .collect();
        let name = match (exact, partial.as_slice()) {
            (Some(n), _) => n.clone(),
            (None, [n]) => (*n).clone(),
            _ => return Err(PcscError::NoReader(reader.to_owned())),
        };
        let card = ctx
            .connect(&name, pcsc::ShareMode::Shared, pcsc::Protocols::ANY)
            .map_err(|e| PcscError::from_pcsc(e, reader))?;
        Ok(PcscCard {
            card,
            reader: name.to_string_lossy().into_owned(),
        })
    }

    /// The reader's full name.
    pub fn reader(&self) -> &str {
        &self.reader
    }
}

impl ApduTransport for PcscCard {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, NfcError> {
        let mut buf = vec![0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED];
        let answer = self
            .card
            .transmit(command, &mut buf)
            .map_err(|e| NfcError::Transport(PcscError::from_pcsc(e, &self.reader).to_string()))?;
        Ok(answer.to_vec())
    }
}

impl ApduTransport for &mut PcscCard {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, NfcError> {
        (**self).transmit(command)
    }
}

/// A reader or card appearing or disappearing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "camelCase")]
pub enum ReaderEvent {
    /// A reader was connected (or was present when watching began).
    ReaderAdded(ReaderDescriptor),
    /// A reader was disconnected.
    ReaderRemoved(ReaderDescriptor),
    /// A card was put on a reader.
    CardInserted(ReaderDescriptor),
    /// A card was taken off a reader.
    CardRemoved(ReaderDescriptor),
}

/// The events that lead from `before` to `now`.
pub fn diff(before: &[ReaderDescriptor], now: &[ReaderDescriptor]) -> Vec<ReaderEvent> {
    let mut events = Vec::new();
    for old in before {
        match now.iter().find(|n| n.reader == old.reader) {
            None => events.push(ReaderEvent::ReaderRemoved(old.clone())),
            Some(new) if old.card_present && (!new.card_present || new.atr != old.atr) => {
                events.push(ReaderEvent::CardRemoved(old.clone()));
            }
            Some(_) => {}
        }
    }
    for new in now {
        match before.iter().find(|o| o.reader == new.reader) {
            None => {
                events.push(ReaderEvent::ReaderAdded(new.clone()));
                if new.card_present {
                    events.push(ReaderEvent::CardInserted(new.clone()));
                }
            }
            Some(old) if new.card_present && (!old.card_present || new.atr != old.atr) => {
                events.push(ReaderEvent::CardInserted(new.clone()));
            }
            Some(_) => {}
        }
    }
    events
}

/// Watches the readers on a thread; events arrive on the receiver. The
/// thread ends when the receiver is dropped. A stopped PC/SC service is
/// seen as every reader gone, and its return as readers added. A card is
/// probed (SELECT) once, when it appears, never while it stays: a probe
/// would reset the applet under another program's ceremony.
pub fn watch() -> Receiver<ReaderEvent> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let mut known: Vec<ReaderDescriptor> = Vec::new();
        let mut ctx: Option<pcsc::Context> = None;
        loop {
            if ctx.as_ref().is_none_or(|c| c.is_valid().is_err()) {
                ctx = context().ok();
            }
            let mut now = ctx
                .as_ref()
                .map(|c| states(c).unwrap_or_default())
                .unwrap_or_default();
            for r in now.iter_mut().filter(|r| r.card_present) {
                let same = known
                    .iter()
                    .find(|k| k.reader == r.reader && k.card_present && k.atr == r.atr);
                r.fido = match (same, ctx.as_ref()) {
                    (Some(k), _) => k.fido.clone(),
                    (None, Some(c)) => probe(c, &r.reader),
                    (None, None) => None,
                };
            }
            for event in diff(&known, &now) {
                if tx.send(event).is_err() {
                    return;
                }
            }
            known = now;
            std::thread::sleep(WATCH_INTERVAL);
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn reader(name: &str, atr: Option<&str>) -> ReaderDescriptor {
        ReaderDescriptor {
            reader: name.into(),
            card_present: atr.is_some(),
            atr: atr.map(str::to_owned),
            fido: atr.map(|_| "FIDO_2_0".to_owned()),
        }
    }

    #[test]
    fn hot_plug_events() {
        let empty = reader("R1", None);
        let with = reader("R1", Some("3b80800101"));
        assert_eq!(
            diff(&[], std::slice::from_ref(&with)),
            vec![
                ReaderEvent::ReaderAdded(with.clone()),
                ReaderEvent::CardInserted(with.clone())
            ]
        );
        assert_eq!(
            diff(std::slice::from_ref(&empty), std::slice::from_ref(&with)),
            vec![ReaderEvent::CardInserted(with.clone())]
        );
        assert_eq!(
            diff(std::slice::from_ref(&with), std::slice::from_ref(&empty)),
            vec![ReaderEvent::CardRemoved(with.clone())]
        );
        assert_eq!(
            diff(std::slice::from_ref(&with), &[]),
            vec![ReaderEvent::ReaderRemoved(with.clone())]
        );
        // Another card swapped in between two looks.
        let other = reader("R1", Some("3b8f8001"));
        assert_eq!(
            diff(std::slice::from_ref(&with), std::slice::from_ref(&other)),
            vec![
                ReaderEvent::CardRemoved(with),
                ReaderEvent::CardInserted(other)
            ]
        );
        assert!(diff(std::slice::from_ref(&empty), std::slice::from_ref(&empty)).is_empty());
    }
}
