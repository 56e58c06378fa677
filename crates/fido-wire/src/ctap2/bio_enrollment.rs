//! authenticatorBioEnrollment (CTAP 2.1 §6.7): the request and response
//! maps, subcommands, sample statuses and the exact bytes each
//! pinUvAuthParam authenticates, from one definition for both ends.

use super::fields::{Ctap2Error, MapReader, bytes, int_map};
use super::requests::PinUvAuthParam;
use crate::cbor::{self, Value};

/// modality fingerprint (the only one CTAP 2.1 defines).
pub const MODALITY_FINGERPRINT: u64 = 0x01;

/// fingerprintKind: a touch sensor (2 is a swipe sensor).
pub const FINGERPRINT_KIND_TOUCH: u64 = 0x01;

/// bioEnrollment subcommands (§6.7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BioSubCommand(pub u64);

impl BioSubCommand {
    /// enrollBegin.
    pub const ENROLL_BEGIN: Self = Self(0x01);
    /// enrollCaptureNextSample.
    pub const ENROLL_CAPTURE_NEXT_SAMPLE: Self = Self(0x02);
    /// cancelCurrentEnrollment.
    pub const CANCEL_CURRENT_ENROLLMENT: Self = Self(0x03);
    /// enumerateEnrollments.
    pub const ENUMERATE_ENROLLMENTS: Self = Self(0x04);
    /// setFriendlyName.
    pub const SET_FRIENDLY_NAME: Self = Self(0x05);
    /// removeEnrollment.
    pub const REMOVE_ENROLLMENT: Self = Self(0x06);
    /// getFingerprintSensorInfo.
    pub const GET_FINGERPRINT_SENSOR_INFO: Self = Self(0x07);
}

/// lastEnrollSampleStatus values (§6.7.4, CTAP2_ENROLL_FEEDBACK_*).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SampleStatus(pub u64);

impl SampleStatus {
    /// A good sample.
    pub const GOOD: Self = Self(0x00);
    /// The finger sat too high.
    pub const TOO_HIGH: Self = Self(0x01);
    /// The finger sat too low.
    pub const TOO_LOW: Self = Self(0x02);
    /// The finger sat too far left.
    pub const TOO_LEFT: Self = Self(0x03);
    /// The finger sat too far right.
    pub const TOO_RIGHT: Self = Self(0x04);
    /// The finger moved too fast.
    pub const TOO_FAST: Self = Self(0x05);
    /// The finger moved too slowly.
    pub const TOO_SLOW: Self = Self(0x06);
    /// The sample was of poor quality.
    pub const POOR_QUALITY: Self = Self(0x07);
    /// The finger was too skewed.
    pub const TOO_SKEWED: Self = Self(0x08);
    /// The touch was too short.
    pub const TOO_SHORT: Self = Self(0x09);
    /// The sample did not merge with the earlier ones.
    pub const MERGE_FAILURE: Self = Self(0x0a);
    /// The finger is already enrolled.
    pub const EXISTS: Self = Self(0x0b);
    /// (Unused since CTAP 2.1: the database-full case is an error status.)
    pub const DATABASE_FULL: Self = Self(0x0c);
    /// No finger was presented.
    pub const NO_USER_ACTIVITY: Self = Self(0x0d);
    /// The finger was not lifted between samples.
    pub const NO_UP_TRANSITION: Self = Self(0x0e);

    /// The status's name, as CTAP 2.1 spells it after CTAP2_ENROLL_FEEDBACK_.
    pub fn name(self) -> &'static str {
        match self.0 {
            0x00 => "FP_GOOD",
            0x01 => "FP_TOO_HIGH",
            0x02 => "FP_TOO_LOW",
            0x03 => "FP_TOO_LEFT",
            0x04 => "FP_TOO_RIGHT",
            0x05 => "FP_TOO_FAST",
            0x06 => "FP_TOO_SLOW",
            0x07 => "FP_POOR_QUALITY",
            0x08 => "FP_TOO_SKEWED",
            0x09 => "FP_TOO_SHORT",
            0x0a => "FP_MERGE_FAILURE",
            0x0b => "FP_EXISTS",
            0x0c => "FP_DATABASE_FULL",
            0x0d => "NO_USER_ACTIVITY",
            0x0e => "NO_UP_TRANSITION",
            _ => "UNKNOWN",
        }
    }
}

/// subCommandParams of bioEnrollment (§6.7).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BioParams {
    /// 0x01 templateId.
    pub template_id: Option<Vec<u8>>,
    /// 0x02 templateFriendlyName.
    pub template_friendly_name: Option<String>,
    /// 0x03 timeoutMilliseconds.
    pub timeout_milliseconds: Option<u64>,
}

impl BioParams {
    fn is_empty(&self) -> bool {
        self.template_id.is_none()
            && self.template_friendly_name.is_none()
            && self.timeout_milliseconds.is_none()
    }

    fn to_value(&self) -> Value {
        int_map(
            vec![
                (0x01, self.template_id.clone().map(Value::bytes)),
                (0x02, self.template_friendly_name.clone().map(Value::text)),
                (0x03, self.timeout_milliseconds.map(Value::int)),
            ],
            &[],
        )
    }

    fn from_value(value: &Value) -> Result<Self, Ctap2Error> {
        let m = MapReader::new("bioEnrollment subCommandParams", value)?;
        Ok(BioParams {
            template_id: m.opt(0x01, "templateId", "a byte string", bytes)?,
            template_friendly_name: m.opt(0x02, "templateFriendlyName", "a text string", |v| {
                v.as_text().map(str::to_owned)
            })?,
            timeout_milliseconds: m.opt(
                0x03,
                "timeoutMilliseconds",
                "an unsigned integer",
                Value::as_u64,
            )?,
        })
    }
}

/// authenticatorBioEnrollment parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BioEnrollmentRequest {
    /// 0x01 modality.
    pub modality: Option<u64>,
    /// 0x02 subCommand.
    pub sub_command: Option<BioSubCommand>,
    /// 0x03 subCommandParams.
    pub params: Option<BioParams>,
    /// 0x04 pinUvAuthProtocol.
    pub protocol: Option<u64>,
    /// 0x05 pinUvAuthParam.
    pub pin_uv_auth_param: Option<PinUvAuthParam>,
    /// 0x06 getModality.
    pub get_modality: Option<bool>,
    /// The subCommandParams exactly as received (what the pinUvAuthParam covers).
    pub params_bytes: Vec<u8>,
}

impl BioEnrollmentRequest {
    /// A fingerprint request; `params_bytes` is derived from `params`.
    pub fn fingerprint(sub_command: BioSubCommand, params: Option<BioParams>) -> Self {
        let params = params.filter(|p| !p.is_empty());
        let params_bytes = params
            .as_ref()
            .map(|p| cbor::to_canonical_vec(&p.to_value()))
            .unwrap_or_default();
        BioEnrollmentRequest {
            modality: Some(MODALITY_FINGERPRINT),
            sub_command: Some(sub_command),
            params,
            params_bytes,
            ..BioEnrollmentRequest::default()
        }
    }

    /// The getModality request.
    pub fn get_modality() -> Self {
        BioEnrollmentRequest {
            get_modality: Some(true),
            ..BioEnrollmentRequest::default()
        }
    }

    /// What pinUvAuthParam authenticates (§6.7.2 and on):
    /// modality || subCommand || subCommandParams.
    pub fn auth_message(&self) -> Vec<u8> {
        let byte = |v: Option<u64>| u8::try_from(v.unwrap_or(0)).unwrap_or(u8::MAX);
        let mut m = vec![byte(self.modality), byte(self.sub_command.map(|s| s.0))];
        m.extend_from_slice(&self.params_bytes);
        m
    }

    /// Decodes the request map (an authenticator's side).
    pub fn from_value(value: &Value) -> Result<Self, Ctap2Error> {
        let m = MapReader::new("authenticatorBioEnrollment request", value)?;
        let uint = "an unsigned integer";
        let (params, params_bytes) = match m.get(0x03) {
            None => (None, Vec::new()),
            // The decoder is strict-canonical, so re-encoding gives the bytes received.
            Some(v) => (Some(BioParams::from_value(v)?), cbor::to_canonical_vec(v)),
        };
        Ok(BioEnrollmentRequest {
            modality: m.opt(0x01, "modality", uint, Value::as_u64)?,
            sub_command: m
                .opt(0x02, "subCommand", uint, Value::as_u64)?
                .map(BioSubCommand),
            params,
            protocol: m.opt(0x04, "pinUvAuthProtocol", uint, Value::as_u64)?,
            pin_uv_auth_param: m
                .opt(0x05, "pinUvAuthParam", "a byte string", bytes)?
                .map(PinUvAuthParam),
            get_modality: m.opt(0x06, "getModality", "a boolean", Value::as_bool)?,
            params_bytes,
        })
    }

    /// Encodes the request map (a client's side).
    pub fn to_value(&self) -> Value {
        int_map(
            vec![
                (0x01, self.modality.map(Value::int)),
                (0x02, self.sub_command.map(|s| Value::int(s.0))),
                (0x03, self.params.as_ref().map(BioParams::to_value)),
                (0x04, self.protocol.map(Value::int)),
                (
                    0x05,
                    self.pin_uv_auth_param
                        .as_ref()
                        .map(|p| Value::bytes(p.0.clone())),
                ),
                (0x06, self.get_modality.map(Value::Bool)),
            ],
            &[],
        )
    }
}

/// One enrolled template (templateInfos, §6.7.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateInfo {
    /// 0x01 templateId.
    pub template_id: Vec<u8>,
    /// 0x02 templateFriendlyName.
    pub friendly_name: Option<String>,
}

impl TemplateInfo {
    fn to_value(&self) -> Value {
        int_map(
            vec![
                (0x01, Some(Value::bytes(self.template_id.clone()))),
                (0x02, self.friendly_name.clone().map(Value::text)),
            ],
            &[],
        )
    }

    fn from_value(value: &Value) -> Option<Self> {
        Some(TemplateInfo {
            template_id: value.get_int(0x01)?.as_bytes()?.to_vec(),
            friendly_name: match value.get_int(0x02) {
                None => None,
                Some(v) => Some(v.as_text()?.to_owned()),
            },
        })
    }
}

/// authenticatorBioEnrollment response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BioEnrollmentResponse {
    /// 0x01 modality.
    pub modality: Option<u64>,
    /// 0x02 fingerprintKind.
    pub fingerprint_kind: Option<u64>,
    /// 0x03 maxCaptureSamplesRequiredForEnroll.
    pub max_capture_samples_required_for_enroll: Option<u64>,
    /// 0x04 templateId.
    pub template_id: Option<Vec<u8>>,
    /// 0x05 lastEnrollSampleStatus.
    pub last_enroll_sample_status: Option<SampleStatus>,
    /// 0x06 remainingSamples.
    pub remaining_samples: Option<u64>,
    /// 0x07 templateInfos.
    pub template_infos: Option<Vec<TemplateInfo>>,
    /// 0x08 maxTemplateFriendlyName.
    pub max_template_friendly_name: Option<u64>,
}

impl BioEnrollmentResponse {
    /// Decodes the response map (a client's side).
    pub fn from_value(value: &Value) -> Result<Self, Ctap2Error> {
        let m = MapReader::new("authenticatorBioEnrollment response", value)?;
        let uint = "an unsigned integer";
        Ok(BioEnrollmentResponse {
            modality: m.opt(0x01, "modality", uint, Value::as_u64)?,
            fingerprint_kind: m.opt(0x02, "fingerprintKind", uint, Value::as_u64)?,
            max_capture_samples_required_for_enroll: m.opt(
                0x03,
                "maxCaptureSamplesRequiredForEnroll",
                uint,
                Value::as_u64,
            )?,
            template_id: m.opt(0x04, "templateId", "a byte string", bytes)?,
            last_enroll_sample_status: m
                .opt(0x05, "lastEnrollSampleStatus", uint, Value::as_u64)?
                .map(SampleStatus),
            remaining_samples: m.opt(0x06, "remainingSamples", uint, Value::as_u64)?,
            template_infos: m.opt(0x07, "templateInfos", "an array of template infos", |v| {
                v.as_array()?.iter().map(TemplateInfo::from_value).collect()
            })?,
            max_template_friendly_name: m.opt(
                0x08,
                "maxTemplateFriendlyName",
                uint,
                Value::as_u64,
            )?,
        })
    }

    /// Encodes the response map (an authenticator's side).
    pub fn to_value(&self) -> Value {
        int_map(
            vec![
                (0x01, self.modality.map(Value::int)),
                (0x02, self.fingerprint_kind.map(Value::int)),
                (
                    0x03,
                    self.max_capture_samples_required_for_enroll.map(Value::int),
                ),
                (0x04, self.template_id.clone().map(Value::bytes)),
                (
                    0x05,
                    self.last_enroll_sample_status.map(|s| Value::int(s.0)),
                ),
                (0x06, self.remaining_samples.map(Value::int)),
                (
                    0x07,
                    self.template_infos
                        .as_ref()
                        .map(|t| Value::Array(t.iter().map(TemplateInfo::to_value).collect())),
                ),
                (0x08, self.max_template_friendly_name.map(Value::int)),
            ],
            &[],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_round_trips_and_auth_message_covers_modality_subcommand_params() {
        let req = BioEnrollmentRequest::fingerprint(
            BioSubCommand::SET_FRIENDLY_NAME,
            Some(BioParams {
                template_id: Some(vec![1, 2]),
                template_friendly_name: Some("thumb".into()),
                timeout_milliseconds: None,
            }),
        );
        let decoded = BioEnrollmentRequest::from_value(&req.to_value()).expect("decodes");
        assert_eq!(decoded, req);
        // §6.7.7: fingerprint (0x01) || setFriendlyName (0x05) || params.
        let msg = req.auth_message();
        assert_eq!(msg.get(..2), Some(&[0x01, 0x05][..]));
        assert_eq!(msg.get(2..), Some(req.params_bytes.as_slice()));
    }

    #[test]
    fn response_round_trips() {
        let resp = BioEnrollmentResponse {
            template_id: Some(vec![7]),
            last_enroll_sample_status: Some(SampleStatus::GOOD),
            remaining_samples: Some(3),
            template_infos: Some(vec![TemplateInfo {
                template_id: vec![7],
                friendly_name: None,
            }]),
            ..BioEnrollmentResponse::default()
        };
        assert_eq!(
            BioEnrollmentResponse::from_value(&resp.to_value()).expect("decodes"),
            resp
        );
    }

    #[test]
    fn a_template_info_without_an_id_is_refused() {
        let bad = Value::map([(
            Value::int(0x07),
            Value::Array(vec![Value::map([(Value::int(0x02), Value::text("x"))])]),
        )]);
        assert!(BioEnrollmentResponse::from_value(&bad).is_err());
    }
}
