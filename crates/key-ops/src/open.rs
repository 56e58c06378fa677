//! Opening a key by the name a person gives it: `udp:HOST:PORT` (a virtual
//! key), `pcsc:READER` (a card on a smart-card or NFC reader, by its
//! reader's name or a unique part of it), an OS path (`/dev/hidraw3`), a
//! number from `keybench devices`, or nothing (the one key plugged in). Front ends that keep their own list of
//! keys (the desktop) build the transport themselves and use
//! [`open_transport`] and [`hid_transport`].

use crate::error::KeyOpError;
use ctap_client::{Device, Recorder};
use ctaphid::ReportTransport;
use std::net::SocketAddr;

/// A key on any transport.
pub type AnyDevice = Device;

/// Where a key is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyName {
    /// A virtual key (or any CTAPHID-over-UDP key).
    Udp(SocketAddr),
    /// A card on a PC/SC reader, by the reader's name.
    Pcsc(String),
    /// A USB key by OS path.
    Path(String),
    /// A USB key by its number in the discovery list.
    Number(usize),
    /// The only USB key plugged in.
    OnlyOne,
}

impl KeyName {
    /// Reads a name as a person gives it.
    pub fn parse(spec: Option<&str>) -> Result<KeyName, KeyOpError> {
        Ok(match spec {
            None => KeyName::OnlyOne,
            Some(s) if s.starts_with("pcsc:") => match s.strip_prefix("pcsc:") {
                Some(reader) if !reader.is_empty() => KeyName::Pcsc(reader.to_owned()),
                _ => return Err(KeyOpError::BadKeyName(s.to_owned())),
            },
            Some(s) => match s.strip_prefix("udp:") {
                Some(addr) => KeyName::Udp(
                    addr.parse()
                        .map_err(|_| KeyOpError::BadKeyName(s.to_owned()))?,
                ),
                None => match s.parse::<usize>() {
                    Ok(n) => KeyName::Number(n),
                    Err(_) if !s.is_empty() => KeyName::Path(s.to_owned()),
                    Err(_) => return Err(KeyOpError::BadKeyName(s.to_owned())),
                },
            },
        })
    }
}

/// Opens the key `spec` names and runs CTAPHID INIT.
pub fn open(spec: Option<&str>, recorder: Recorder) -> Result<AnyDevice, KeyOpError> {
    let transport: Box<dyn ReportTransport> = match KeyName::parse(spec)? {
        KeyName::Pcsc(reader) => return open_pcsc(&reader, recorder),
        KeyName::Udp(addr) => Box::new(
            ctaphid::UdpReports::connect(addr).map_err(|e| KeyOpError::Udp(e.to_string()))?,
        ),
        KeyName::Path(path) => hid_transport(&path)?,
        KeyName::Number(n) => hid_transport(&discovered_path(Some(n))?)?,
        KeyName::OnlyOne => hid_transport(&discovered_path(None)?)?,
    };
    open_transport(transport, recorder)
}

/// Runs CTAPHID INIT and getInfo on a transport.
pub fn open_transport(
    transport: Box<dyn ReportTransport>,
    recorder: Recorder,
) -> Result<AnyDevice, KeyOpError> {
    Device::open(transport, recorder).map_err(|e| KeyOpError::NoAnswer(e.to_string()))
}

/// Opens the card on the PC/SC reader `reader` (its name or a unique part
/// of it): SELECT of the FIDO applet, then getInfo.
#[cfg(feature = "pcsc")]
pub fn open_pcsc(reader: &str, recorder: Recorder) -> Result<AnyDevice, KeyOpError> {
    let card = ctap_client::pcsc::PcscCard::connect(reader)?;
    let link = ctap_client::nfc::NfcLink::select(card, recorder.clone())?;
    Ok(Device::open_link(Box::new(link), recorder)?)
}

/// Opens a card on a PC/SC reader (this build has no PC/SC).
#[cfg(not(feature = "pcsc"))]
pub fn open_pcsc(_reader: &str, _recorder: Recorder) -> Result<AnyDevice, KeyOpError> {
    Err(KeyOpError::NoPcscSupport)
}

/// The path of the `number`th USB key, or of the only one.
#[cfg(feature = "hidapi")]
fn discovered_path(number: Option<usize>) -> Result<String, KeyOpError> {
    let (_, keys) = ctap_client::hid::discover()?;
    match (number, keys.as_slice()) {
        (Some(n), keys) => keys
            .get(n)
            .map(|k| k.path.clone())
            .ok_or(KeyOpError::NoSuchKeyNumber {
                number: n,
                count: keys.len(),
            }),
        (None, [only]) => Ok(only.path.clone()),
        (None, []) => Err(KeyOpError::NoKey),
        (None, keys) => Err(KeyOpError::ManyKeys(keys.len())),
    }
}

#[cfg(not(feature = "hidapi"))]
fn discovered_path(_number: Option<usize>) -> Result<String, KeyOpError> {
    Err(KeyOpError::NoHidSupport)
}

/// A USB key's transport by OS path.
#[cfg(feature = "hidapi")]
pub fn hid_transport(path: &str) -> Result<Box<dyn ReportTransport>, KeyOpError> {
    use ctap_client::hid;
    let (api, _) = hid::discover()?;
    Ok(Box::new(hid::HidapiTransport::open(&api, path)?))
}

/// A USB key's transport by OS path (this build has none).
#[cfg(not(feature = "hidapi"))]
pub fn hid_transport(_path: &str) -> Result<Box<dyn ReportTransport>, KeyOpError> {
    Err(KeyOpError::NoHidSupport)
}

/// How a USB key is named for people: manufacturer and product, or its
/// vendor and product ids when it reports neither.
#[cfg(feature = "hidapi")]
pub fn usb_label(k: &ctap_client::hid::KeyDescriptor) -> String {
    match (&k.manufacturer, &k.product) {
        (Some(m), Some(p)) => format!("{m} {p}"),
        (None, Some(p)) => p.clone(),
        (Some(m), None) => m.clone(),
        (None, None) => format!("USB key {:04x}:{:04x}", k.vendor_id, k.product_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names() {
        assert_eq!(KeyName::parse(None).unwrap(), KeyName::OnlyOne);
        assert_eq!(
            KeyName::parse(Some("udp:127.0.0.1:8111")).unwrap(),
            KeyName::Udp(([127, 0, 0, 1], 8111).into())
        );
        assert_eq!(KeyName::parse(Some("2")).unwrap(), KeyName::Number(2));
        assert_eq!(
            KeyName::parse(Some("/dev/hidraw3")).unwrap(),
            KeyName::Path("/dev/hidraw3".into())
        );
        assert_eq!(
            KeyName::parse(Some("udp:nowhere")).unwrap_err().code(),
            "bad_key_id"
        );
        assert_eq!(KeyName::parse(Some("")).unwrap_err().code(), "bad_key_id");
        assert_eq!(
            KeyName::parse(Some("pcsc:Virtual PCD 00 00")).unwrap(),
            KeyName::Pcsc("Virtual PCD 00 00".into())
        );
        assert_eq!(
            KeyName::parse(Some("pcsc:")).unwrap_err().code(),
            "bad_key_id"
        );
    }
}
