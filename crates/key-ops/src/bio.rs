//! Fingerprints as front ends offer them (CTAP 2.1 §6.7): the sensor and
//! the enrolled fingers listed, a finger enrolled sample by sample (each
//! sample reported as it comes, for a progress line or a dialog), renamed
//! or deleted by its template id (hex). Every operation authenticates with
//! a PIN token carrying the `be` permission.

use crate::error::KeyOpError;
use ctap_client::{Device, Fingerprint, PinToken, SampleReport, SensorInfo};
use ctaphid::{CancelToken, KeepaliveStatus};
use fido_wire::ctap2::Permissions;
use serde::Serialize;
use std::fmt;

/// One enrolled finger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FingerprintView {
    /// Its template id, hex.
    pub template_id: String,
    /// Its friendly name, if it has one.
    pub name: Option<String>,
}

impl From<Fingerprint> for FingerprintView {
    fn from(f: Fingerprint) -> Self {
        FingerprintView {
            template_id: crate::hex(&f.template_id),
            name: f.name,
        }
    }
}

/// The sensor and its fingers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FingerprintsView {
    /// The sensor, as the key describes it.
    pub sensor: SensorInfo,
    /// Failed matches left before built-in UV blocks (getUVRetries).
    pub uv_retries: Option<u64>,
    /// The enrolled fingers, in enrolment order.
    pub fingerprints: Vec<FingerprintView>,
}

impl fmt::Display for FingerprintsView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} enrolled finger(s)", self.fingerprints.len())?;
        if let Some(retries) = self.uv_retries {
            write!(f, ", {retries} match attempts left")?;
        }
        for (n, print) in self.fingerprints.iter().enumerate() {
            write!(
                f,
                "\nfinger {}  id {}  {}",
                n + 1,
                print.template_id,
                print.name.as_deref().unwrap_or("(no name)")
            )?;
        }
        Ok(())
    }
}

/// One enrolment sample, as reported while enrolling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SampleView {
    /// The sample's status name (FP_GOOD, FP_POOR_QUALITY, …).
    pub status: &'static str,
    /// Whether it counted.
    pub good: bool,
    /// Good samples still needed.
    pub remaining: u64,
}

impl From<SampleReport> for SampleView {
    fn from(r: SampleReport) -> Self {
        SampleView {
            status: r.status.name(),
            good: r.status == fido_wire::ctap2::SampleStatus::GOOD,
            remaining: r.remaining,
        }
    }
}

/// A finished enrolment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrolledView {
    /// The new finger.
    pub fingerprint: FingerprintView,
    /// Every sample it took, in order.
    pub samples: Vec<SampleView>,
}

impl fmt::Display for EnrolledView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "enrolled finger {} in {} samples",
            self.fingerprint.template_id,
            self.samples.len()
        )?;
        if let Some(name) = &self.fingerprint.name {
            write!(f, " as {name:?}")?;
        }
        Ok(())
    }
}

fn token(device: &mut Device, pin: &str) -> Result<PinToken, KeyOpError> {
    Ok(device.pin_token(pin, Permissions(Permissions::BIO_ENROLLMENT), None)?)
}

fn parse_template_id(hex: &str) -> Result<Vec<u8>, KeyOpError> {
    if hex.is_empty() || !hex.len().is_multiple_of(2) {
        return Err(KeyOpError::BadTemplateId);
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or(KeyOpError::BadTemplateId)
        })
        .collect()
}

/// The enrolled finger `template_id` names (hex), checked against the
/// key's list so a typo is a clear error, not a CTAP status.
fn enrolled(
    device: &mut Device,
    token: &PinToken,
    template_id: &str,
) -> Result<Vec<u8>, KeyOpError> {
    let id = parse_template_id(template_id)?;
    if !device
        .fingerprints(token)?
        .iter()
        .any(|f| f.template_id == id)
    {
        return Err(KeyOpError::NoSuchFingerprint(template_id.to_owned()));
    }
    Ok(id)
}

fn check_name(device: &mut Device, name: &str) -> Result<(), KeyOpError> {
    if let Some(max) = device.fingerprint_sensor_info()?.max_name_length
        && name.len() as u64 > max
    {
        return Err(KeyOpError::FingerprintNameTooLong {
            len: name.len(),
            max,
        });
    }
    Ok(())
}

/// The sensor, the match attempts left and the enrolled fingers.
pub fn list(device: &mut Device, pin: &str) -> Result<FingerprintsView, KeyOpError> {
    let sensor = device.fingerprint_sensor_info()?;
    let token = token(device, pin)?;
    let fingerprints = device
        .fingerprints(&token)?
        .into_iter()
        .map(FingerprintView::from)
        .collect();
    Ok(FingerprintsView {
        sensor,
        uv_retries: device.uv_retries().ok(),
        fingerprints,
    })
}

/// Enrols a finger, naming it `name` when given; `on_sample` hears each
/// sample, `on_status` the key's keepalives, `cancel` stops it.
pub fn enroll(
    device: &mut Device,
    pin: &str,
    name: Option<&str>,
    on_sample: &mut dyn FnMut(&SampleView),
    on_status: Option<&mut dyn FnMut(KeepaliveStatus)>,
    cancel: Option<&CancelToken>,
) -> Result<EnrolledView, KeyOpError> {
    if let Some(name) = name {
        check_name(device, name)?;
    }
    let token = token(device, pin)?;
    let mut samples = Vec::new();
    let id = device.enroll_fingerprint(
        &token,
        &mut |report| {
            let view = SampleView::from(report);
            on_sample(&view);
            samples.push(view);
        },
        on_status,
        cancel,
    )?;
    if let Some(name) = name {
        device.rename_fingerprint(&token, &id, name)?;
    }
    Ok(EnrolledView {
        fingerprint: FingerprintView {
            template_id: crate::hex(&id),
            name: name.map(str::to_owned),
        },
        samples,
    })
}

/// Names the finger `template_id` (hex).
pub fn rename(
    device: &mut Device,
    pin: &str,
    template_id: &str,
    name: &str,
) -> Result<(), KeyOpError> {
    check_name(device, name)?;
    let token = token(device, pin)?;
    let id = enrolled(device, &token, template_id)?;
    Ok(device.rename_fingerprint(&token, &id, name)?)
}

/// Deletes the finger `template_id` (hex).
pub fn delete(device: &mut Device, pin: &str, template_id: &str) -> Result<(), KeyOpError> {
    let token = token(device, pin)?;
    let id = enrolled(device, &token, template_id)?;
    Ok(device.remove_fingerprint(&token, &id)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_ids_are_hex() {
        assert_eq!(parse_template_id("0aFf").ok(), Some(vec![0x0a, 0xff]));
        for bad in ["", "abc", "zz", "é0"] {
            assert_eq!(
                parse_template_id(bad).err().map(|e| e.code()).as_deref(),
                Some("bad_template_id"),
                "{bad:?}"
            );
        }
    }
}
