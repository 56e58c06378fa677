//! The platform's side of authenticatorBioEnrollment (CTAP 2.1 §6.7):
//! the fingerprint sensor's description, enrolling a finger sample by
//! sample (each sample's status and the samples still needed reported
//! as they come), listing, renaming and removing enrolled fingers.
//!
//! Every call but the sensor description and the cancel is authenticated
//! by a [`PinToken`] with the `be` permission (from the PIN, or from
//! built-in UV on a key with `uvBioEnroll`).

use crate::device::Device;
use crate::error::CtapError;
use crate::pin::PinToken;
use ctaphid::{CancelToken, KeepaliveStatus, Transaction};
use fido_wire::cbor::Value;
use fido_wire::ctap2::{
    BioEnrollmentRequest, BioEnrollmentResponse, BioParams, BioSubCommand, SampleStatus,
    StatusCode, TemplateInfo, command,
};
use std::time::Duration;

/// How long one sample may take: the key waits for the finger.
const SAMPLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Poor samples tolerated per good one needed before enrolment gives up
/// (a sensor that never reads the finger must not loop forever).
const POOR_SAMPLES_PER_SAMPLE: u64 = 4;

/// The fingerprint sensor, as getFingerprintSensorInfo describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SensorInfo {
    /// fingerprintKind: 1 touch, 2 swipe.
    pub fingerprint_kind: Option<u64>,
    /// maxCaptureSamplesRequiredForEnroll.
    pub max_samples: Option<u64>,
    /// maxTemplateFriendlyName (bytes).
    pub max_name_length: Option<u64>,
}

/// One enrolled finger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// templateId.
    pub template_id: Vec<u8>,
    /// templateFriendlyName ("" or absent until named).
    pub name: Option<String>,
}

impl From<TemplateInfo> for Fingerprint {
    fn from(t: TemplateInfo) -> Self {
        Fingerprint {
            template_id: t.template_id,
            name: t.friendly_name.filter(|n| !n.is_empty()),
        }
    }
}

/// What one enrolment sample gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleReport {
    /// lastEnrollSampleStatus.
    pub status: SampleStatus,
    /// remainingSamples: good samples still needed.
    pub remaining: u64,
}

/// The transaction of one sample: the key waits for the finger.
fn sample_transaction<'a>(
    on_status: &'a mut Option<&mut dyn FnMut(KeepaliveStatus)>,
    cancel: Option<&'a CancelToken>,
) -> Transaction<'a> {
    Transaction {
        timeout: SAMPLE_TIMEOUT,
        on_keepalive: match on_status {
            Some(f) => Some(&mut **f),
            None => None,
        },
        cancel,
    }
}

fn response_error(source: fido_wire::ctap2::Ctap2Error) -> CtapError {
    CtapError::Response {
        command: "authenticatorBioEnrollment",
        source,
    }
}

fn missing(key: i64, name: &'static str) -> CtapError {
    response_error(fido_wire::ctap2::Ctap2Error::Missing {
        what: "authenticatorBioEnrollment response",
        key,
        name,
    })
}

impl Device {
    /// Whether the key offers bioEnrollment (the `bioEnroll` option is
    /// present, true or not), and the command byte to use for it (the
    /// CTAP 2.1 one, or the prototype of FIDO_2_1_PRE keys).
    fn bio_command(&self) -> Result<u8, CtapError> {
        let info = self.info();
        if info.option("bioEnroll").is_some() {
            Ok(command::BIO_ENROLLMENT)
        } else if info.option("userVerificationMgmtPreview").is_some() {
            Ok(command::PROTOTYPE_BIO_ENROLLMENT)
        } else {
            Err(CtapError::Unsupported("fingerprint enrollment (bioEnroll)"))
        }
    }

    /// Whether the key has a fingerprint sensor it lets the platform enrol.
    pub fn has_fingerprint_sensor(&self) -> bool {
        self.bio_command().is_ok()
    }

    fn bio_call(
        &mut self,
        sub: BioSubCommand,
        params: Option<BioParams>,
        token: Option<&PinToken>,
        tx: Transaction<'_>,
    ) -> Result<BioEnrollmentResponse, CtapError> {
        let cmd = self.bio_command()?;
        let mut req = BioEnrollmentRequest::fingerprint(sub, params);
        if let Some(token) = token {
            req.protocol = Some(token.protocol().id());
            req.pin_uv_auth_param = Some(token.authenticate(&req.auth_message()));
        }
        let body = self.call(cmd, Some(&req.to_value()), tx)?;
        BioEnrollmentResponse::from_value(&body.unwrap_or(Value::Map(Vec::new())))
            .map_err(response_error)
    }

    /// getFingerprintSensorInfo (§6.7.2): needs no token.
    pub fn fingerprint_sensor_info(&mut self) -> Result<SensorInfo, CtapError> {
        let tx = Transaction::with_timeout(self.timeout);
        let r = self.bio_call(BioSubCommand::GET_FINGERPRINT_SENSOR_INFO, None, None, tx)?;
        Ok(SensorInfo {
            fingerprint_kind: r.fingerprint_kind,
            max_samples: r.max_capture_samples_required_for_enroll,
            max_name_length: r.max_template_friendly_name,
        })
    }

    /// Enrols a finger (§6.7.3, §6.7.4): enrollBegin, then
    /// enrollCaptureNextSample until no sample remains. `on_sample` hears
    /// each sample's status and the samples still needed; `on_status` the
    /// key's keepalives while it waits for the finger; `cancel` stops the
    /// enrolment (the key is told with cancelCurrentEnrollment). Too many
    /// poor samples end it the same way. Returns the new template id.
    pub fn enroll_fingerprint(
        &mut self,
        token: &PinToken,
        on_sample: &mut dyn FnMut(SampleReport),
        mut on_status: Option<&mut dyn FnMut(KeepaliveStatus)>,
        cancel: Option<&CancelToken>,
    ) -> Result<Vec<u8>, CtapError> {
        let first = self.bio_call(
            BioSubCommand::ENROLL_BEGIN,
            None,
            Some(token),
            sample_transaction(&mut on_status, cancel),
        )?;
        let template_id = first.template_id.ok_or(missing(0x04, "templateId"))?;
        let mut report = SampleReport {
            status: first
                .last_enroll_sample_status
                .ok_or(missing(0x05, "lastEnrollSampleStatus"))?,
            remaining: first
                .remaining_samples
                .ok_or(missing(0x06, "remainingSamples"))?,
        };
        on_sample(report);
        let mut poor_left = report
            .remaining
            .saturating_add(1)
            .saturating_mul(POOR_SAMPLES_PER_SAMPLE);
        while report.remaining > 0 {
            if report.status != SampleStatus::GOOD {
                poor_left = poor_left.saturating_sub(1);
                if poor_left == 0 {
                    self.cancel_fingerprint_enrollment()?;
                    return Err(CtapError::EnrollmentAbandoned {
                        last_status: report.status.name(),
                    });
                }
            }
            let params = BioParams {
                template_id: Some(template_id.clone()),
                ..BioParams::default()
            };
            let next = self.bio_call(
                BioSubCommand::ENROLL_CAPTURE_NEXT_SAMPLE,
                Some(params),
                Some(token),
                sample_transaction(&mut on_status, cancel),
            );
            let next = match next {
                Ok(next) => next,
                Err(e) => {
                    // Leave no half-enrolled finger behind (best effort:
                    // the first error is the one to report).
                    let _ = self.cancel_fingerprint_enrollment();
                    return Err(e);
                }
            };
            report = SampleReport {
                status: next
                    .last_enroll_sample_status
                    .ok_or(missing(0x05, "lastEnrollSampleStatus"))?,
                remaining: next
                    .remaining_samples
                    .ok_or(missing(0x06, "remainingSamples"))?,
            };
            on_sample(report);
        }
        // `uv` and `bioEnroll` are true from the first finger on.
        self.get_info()?;
        Ok(template_id)
    }

    /// cancelCurrentEnrollment (§6.7.5): needs no token.
    pub fn cancel_fingerprint_enrollment(&mut self) -> Result<(), CtapError> {
        let tx = Transaction::with_timeout(self.timeout);
        self.bio_call(BioSubCommand::CANCEL_CURRENT_ENROLLMENT, None, None, tx)
            .map(|_| ())
    }

    /// enumerateEnrollments (§6.7.6): the enrolled fingers (none is the
    /// key's INVALID_OPTION, an empty list here).
    pub fn fingerprints(&mut self, token: &PinToken) -> Result<Vec<Fingerprint>, CtapError> {
        let tx = Transaction::with_timeout(self.timeout);
        match self.bio_call(BioSubCommand::ENUMERATE_ENROLLMENTS, None, Some(token), tx) {
            Ok(r) => Ok(r
                .template_infos
                .unwrap_or_default()
                .into_iter()
                .map(Fingerprint::from)
                .collect()),
            Err(e) if e.status() == Some(StatusCode::INVALID_OPTION) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// setFriendlyName (§6.7.7).
    pub fn rename_fingerprint(
        &mut self,
        token: &PinToken,
        template_id: &[u8],
        name: &str,
    ) -> Result<(), CtapError> {
        let tx = Transaction::with_timeout(self.timeout);
        let params = BioParams {
            template_id: Some(template_id.to_vec()),
            template_friendly_name: Some(name.to_owned()),
            timeout_milliseconds: None,
        };
        self.bio_call(
            BioSubCommand::SET_FRIENDLY_NAME,
            Some(params),
            Some(token),
            tx,
        )
        .map(|_| ())
    }

    /// removeEnrollment (§6.7.8).
    pub fn remove_fingerprint(
        &mut self,
        token: &PinToken,
        template_id: &[u8],
    ) -> Result<(), CtapError> {
        let tx = Transaction::with_timeout(self.timeout);
        let params = BioParams {
            template_id: Some(template_id.to_vec()),
            ..BioParams::default()
        };
        self.bio_call(
            BioSubCommand::REMOVE_ENROLLMENT,
            Some(params),
            Some(token),
            tx,
        )?;
        // `uv` and `bioEnroll` turn false with the last finger.
        self.get_info()?;
        Ok(())
    }
}
