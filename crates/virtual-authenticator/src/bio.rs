//! The virtual fingerprint sensor: built-in user verification as CTAP 2.1
//! defines it — authenticatorBioEnrollment (§6.7), clientPIN's
//! getUVRetries and getPinUvAuthTokenUsingUvWithPermissions (§6.5.5.7.3),
//! and the match makeCredential and getAssertion perform for the `uv`
//! option (performBuiltInUv, §6.1.2 step 11, §6.2.2 step 6).
//!
//! Every sample and every match is answered by the key's presence policy:
//! a touch is a good sample or a match, a refusal a poor sample or no
//! match. Like a real bio key (YubiKey Bio), getInfo's `bioEnroll` and
//! `uv` are false until a finger is enrolled. Templates and the uvRetries
//! counter are persistent ([`BioState`], in the state file); an enrolment
//! in progress is not.

use crate::authenticator::{Authenticator, CtapResult};
use crate::presence::{FingerprintRequest, PresenceRequest};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use ctaphid::serve::RequestContext;
use fido_wire::ctap2::{
    BioEnrollmentRequest, BioEnrollmentResponse, BioSubCommand, ClientPinRequest,
    ClientPinResponse, FINGERPRINT_KIND_TOUCH, GetInfo, MODALITY_FINGERPRINT, Permissions,
    PinSubCommand, SampleStatus, StatusCode, TemplateInfo,
};

/// Good samples one enrolment needs (maxCaptureSamplesRequiredForEnroll).
pub const SAMPLES_PER_ENROLLMENT: u64 = 4;
/// Fingers the sensor holds; one more is FP_DATABASE_FULL.
pub const MAX_TEMPLATES: usize = 5;
/// maxTemplateFriendlyName, in bytes of UTF-8.
pub const MAX_TEMPLATE_FRIENDLY_NAME: usize = 64;
/// maxUvRetries: failed matches before built-in UV is blocked (until a
/// correct PIN or a successful match resets the count).
pub const MAX_UV_RETRIES: u64 = 5;
/// preferredPlatformUvAttempts: a platform may try the finger this often
/// before offering the PIN. The key itself makes one attempt per request
/// (maxUvAttemptsForInternalRetries is 1: no internal retries).
pub const PREFERRED_PLATFORM_UV_ATTEMPTS: u64 = 3;
/// uvModality: USER_VERIFY_FINGERPRINT_INTERNAL (FIDO Registry §3.1).
pub const UV_MODALITY_FINGERPRINT_INTERNAL: u64 = 0x02;
/// Template ids are this many random bytes.
const TEMPLATE_ID_LEN: usize = 2;

/// One enrolled finger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// templateId.
    pub id: Vec<u8>,
    /// templateFriendlyName ("" until named).
    pub name: String,
}

/// The fingerprint sensor's part of the persistent state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BioState {
    /// Enrolled fingers, in enrolment order.
    pub templates: Vec<Template>,
    /// uvRetries: matches left before built-in UV is blocked.
    pub uv_retries: u64,
}

impl Default for BioState {
    fn default() -> Self {
        BioState {
            templates: Vec::new(),
            uv_retries: MAX_UV_RETRIES,
        }
    }
}

/// An enrolment in progress (between enrollBegin and its last sample).
#[derive(Debug)]
pub(crate) struct Enrollment {
    template_id: Vec<u8>,
    /// Which finger this is, counted from 1.
    finger: usize,
    remaining: u64,
}

impl Authenticator {
    /// Whether built-in UV is configured: the sensor is there and holds a
    /// finger (getInfo `uv`).
    pub(crate) fn built_in_uv_configured(&self) -> bool {
        self.config.fingerprint_sensor && !self.state.bio.templates.is_empty()
    }

    /// getInfo's sensor members (CTAP 2.1 §6.4): `bioEnroll` and `uv`
    /// false until a finger is enrolled, `uvBioEnroll` (a UV token may
    /// carry `be`), uvModality and preferredPlatformUvAttempts.
    pub(crate) fn add_sensor_info(&self, info: &mut GetInfo) {
        if !self.config.fingerprint_sensor {
            return;
        }
        let configured = self.built_in_uv_configured();
        info.options.extend([
            ("uv".to_owned(), configured),
            ("bioEnroll".to_owned(), configured),
            ("uvBioEnroll".to_owned(), true),
        ]);
        info.uv_modality = Some(UV_MODALITY_FINGERPRINT_INTERNAL);
        info.preferred_platform_uv_attempts = Some(PREFERRED_PLATFORM_UV_ATTEMPTS);
    }

    /// Asks the virtual user for a finger through the presence policy.
    fn ask_finger(
        &self,
        operation: &'static str,
        rp_id: Option<&str>,
        fingerprint: FingerprintRequest,
        ctx: &RequestContext,
    ) -> CtapResult<()> {
        self.config.presence.collect(
            PresenceRequest {
                operation,
                rp_id: rp_id.map(str::to_owned),
                fingerprint: Some(fingerprint),
            },
            ctx,
            self.fault() != Some(&crate::fault::Fault::IgnoreCancel),
        )
    }

    /// performBuiltInUv (CTAP 2.1 §6.5.2.2): one match. uvRetries at 0 is
    /// UV_BLOCKED without asking; a refusal is no match, which costs a
    /// retry (UV_INVALID, or UV_BLOCKED for the last one); a match
    /// restores the retries. A timeout or a cancel costs nothing.
    pub(crate) fn perform_built_in_uv(
        &mut self,
        operation: &'static str,
        rp_id: Option<&str>,
        ctx: &RequestContext,
    ) -> CtapResult<()> {
        if self.state.bio.uv_retries == 0 {
            return Err(StatusCode::UV_BLOCKED);
        }
        let enrolled = self.state.bio.templates.len();
        match self.ask_finger(
            operation,
            rp_id,
            FingerprintRequest::Match { enrolled },
            ctx,
        ) {
            Ok(()) => {
                if self.state.bio.uv_retries != MAX_UV_RETRIES {
                    self.state.bio.uv_retries = MAX_UV_RETRIES;
                    self.persist()?;
                }
                Ok(())
            }
            Err(StatusCode::OPERATION_DENIED) => {
                self.state.bio.uv_retries -= 1;
                // The lower count stays in memory even if the disk fails,
                // so a failing disk never buys extra attempts.
                self.persist()?;
                Err(if self.state.bio.uv_retries == 0 {
                    StatusCode::UV_BLOCKED
                } else {
                    StatusCode::UV_INVALID
                })
            }
            Err(other) => Err(other),
        }
    }

    /// The clientPIN subcommands the sensor answers (getUVRetries,
    /// getPinUvAuthTokenUsingUvWithPermissions), and the `be` permission
    /// refused on a key without it; `None` for everything else.
    pub(crate) fn sensor_client_pin(
        &mut self,
        req: &ClientPinRequest,
        ctx: &RequestContext,
    ) -> Option<CtapResult<ClientPinResponse>> {
        let sensor = self.config.fingerprint_sensor;
        match req.sub_command {
            PinSubCommand::GET_UV_RETRIES if sensor => Some(Ok(ClientPinResponse {
                uv_retries: Some(self.state.bio.uv_retries),
                ..ClientPinResponse::default()
            })),
            PinSubCommand::GET_TOKEN_USING_UV if sensor => Some(self.token_using_uv(req, ctx)),
            PinSubCommand::GET_TOKEN_USING_PIN
                if !sensor
                    && req
                        .permissions
                        .is_some_and(|p| p.0 & Permissions::BIO_ENROLLMENT != 0) =>
            {
                Some(Err(StatusCode::UNAUTHORIZED_PERMISSION))
            }
            _ => None,
        }
    }

    /// getPinUvAuthTokenUsingUvWithPermissions (CTAP 2.1 §6.5.5.7.3).
    fn token_using_uv(
        &mut self,
        req: &ClientPinRequest,
        ctx: &RequestContext,
    ) -> CtapResult<ClientPinResponse> {
        // Steps 1-2: protocol and key agreement.
        self.pin.check_key_agreement(req)?;
        // Step 3: permissions present and not empty.
        let permissions = req.permissions.ok_or(StatusCode::MISSING_PARAMETER)?;
        if permissions.0 == 0 {
            return Err(StatusCode::INVALID_PARAMETER);
        }
        // Step 4: mc and ga need the permissions RP ID.
        if permissions.needs_rp_id() && req.rp_id.is_none() {
            return Err(StatusCode::MISSING_PARAMETER);
        }
        // Step 5: be only with uvBioEnroll (offered), acfg only with uvAcfg
        // (not offered); pcmr is issued against the PIN only.
        let by_uv = Permissions::MAKE_CREDENTIAL
            | Permissions::GET_ASSERTION
            | Permissions::CREDENTIAL_MANAGEMENT
            | Permissions::BIO_ENROLLMENT
            | Permissions::LARGE_BLOB_WRITE;
        if permissions.0 & !by_uv != 0 {
            return Err(StatusCode::UNAUTHORIZED_PERMISSION);
        }
        // Step 6: built-in UV must be configured (a finger enrolled).
        if !self.built_in_uv_configured() {
            return Err(StatusCode::NOT_ALLOWED);
        }
        // Steps 7-8: uvRetries, then the match.
        self.perform_built_in_uv(
            "getPinUvAuthTokenUsingUvWithPermissions",
            req.rp_id.as_deref(),
            ctx,
        )?;
        // Step 9: a fresh token, userPresent set.
        self.pin.grant_token_for_uv(req, permissions)
    }

    /// After a clientPIN request succeeded: a correct PIN (changePIN or a
    /// token against the PIN) resets uvRetries to its maximum (CTAP 2.1
    /// §6.5.5.5, "reset the uvRetries counter"), which unblocks the finger.
    pub(crate) fn pin_entered(&mut self, sub_command: PinSubCommand) -> CtapResult<()> {
        let verified_pin = matches!(
            sub_command,
            PinSubCommand::CHANGE_PIN
                | PinSubCommand::GET_PIN_TOKEN
                | PinSubCommand::GET_TOKEN_USING_PIN
        );
        if verified_pin
            && self.config.fingerprint_sensor
            && self.state.bio.uv_retries != MAX_UV_RETRIES
        {
            self.state.bio.uv_retries = MAX_UV_RETRIES;
            self.persist()?;
        }
        Ok(())
    }

    /// authenticatorBioEnrollment (CTAP 2.1 §6.7).
    pub(crate) fn bio_enrollment(
        &mut self,
        req: &BioEnrollmentRequest,
        ctx: &RequestContext,
    ) -> CtapResult<BioEnrollmentResponse> {
        if !self.config.fingerprint_sensor {
            return Err(StatusCode::INVALID_COMMAND);
        }
        // §6.7.1: getModality needs nothing else.
        if req.get_modality == Some(true) {
            return Ok(BioEnrollmentResponse {
                modality: Some(MODALITY_FINGERPRINT),
                ..BioEnrollmentResponse::default()
            });
        }
        let modality = req.modality.ok_or(StatusCode::MISSING_PARAMETER)?;
        if modality != MODALITY_FINGERPRINT {
            return Err(StatusCode::INVALID_PARAMETER);
        }
        let sub = req.sub_command.ok_or(StatusCode::MISSING_PARAMETER)?;
        match sub {
            // §6.7.2 and §6.7.5: neither takes a pinUvAuthParam.
            BioSubCommand::GET_FINGERPRINT_SENSOR_INFO => Ok(BioEnrollmentResponse {
                modality: Some(MODALITY_FINGERPRINT),
                fingerprint_kind: Some(FINGERPRINT_KIND_TOUCH),
                max_capture_samples_required_for_enroll: Some(SAMPLES_PER_ENROLLMENT),
                max_template_friendly_name: Some(MAX_TEMPLATE_FRIENDLY_NAME as u64),
                ..BioEnrollmentResponse::default()
            }),
            BioSubCommand::CANCEL_CURRENT_ENROLLMENT => {
                self.enrollment = None;
                Ok(BioEnrollmentResponse::default())
            }
            BioSubCommand::ENROLL_BEGIN
            | BioSubCommand::ENROLL_CAPTURE_NEXT_SAMPLE
            | BioSubCommand::ENUMERATE_ENROLLMENTS
            | BioSubCommand::SET_FRIENDLY_NAME
            | BioSubCommand::REMOVE_ENROLLMENT => {
                // The others: a pinUvAuthParam over modality || subCommand
                // || subCommandParams, by a token with the be permission.
                let param = req
                    .pin_uv_auth_param
                    .as_ref()
                    .ok_or(StatusCode::PUAT_REQUIRED)?;
                self.pin.verify_token(
                    req.protocol,
                    &param.0,
                    &req.auth_message(),
                    Permissions::BIO_ENROLLMENT,
                    None,
                )?;
                match sub {
                    BioSubCommand::ENROLL_BEGIN => self.enroll_begin(ctx),
                    BioSubCommand::ENROLL_CAPTURE_NEXT_SAMPLE => {
                        self.enroll_capture_next_sample(req, ctx)
                    }
                    BioSubCommand::ENUMERATE_ENROLLMENTS => self.enumerate_enrollments(),
                    BioSubCommand::SET_FRIENDLY_NAME => self.set_friendly_name(req),
                    _ => self.remove_enrollment(req),
                }
            }
            _ => Err(StatusCode::INVALID_SUBCOMMAND),
        }
    }

    /// One enrolment sample: a touch is FP_GOOD, a refusal FP_POOR_QUALITY;
    /// a timeout or a cancel ends the request with its status.
    fn sample(
        &self,
        finger: usize,
        remaining: u64,
        ctx: &RequestContext,
    ) -> CtapResult<SampleStatus> {
        match self.ask_finger(
            "bioEnrollment",
            None,
            FingerprintRequest::Sample { finger, remaining },
            ctx,
        ) {
            Ok(()) => Ok(SampleStatus::GOOD),
            Err(StatusCode::OPERATION_DENIED) => Ok(SampleStatus::POOR_QUALITY),
            Err(other) => Err(other),
        }
    }

    /// A template id no enrolled finger has.
    fn new_template_id(&self) -> CtapResult<Vec<u8>> {
        let rng = SystemRandom::new();
        loop {
            let mut id = vec![0u8; TEMPLATE_ID_LEN];
            rng.fill(&mut id).map_err(|_| StatusCode::OTHER)?;
            if !self.state.bio.templates.iter().any(|t| t.id == id) {
                return Ok(id);
            }
        }
    }

    /// §6.7.3 enrollBegin: a new template id and its first sample.
    fn enroll_begin(&mut self, ctx: &RequestContext) -> CtapResult<BioEnrollmentResponse> {
        self.enrollment = None;
        if self.state.bio.templates.len() >= MAX_TEMPLATES {
            return Err(StatusCode::FP_DATABASE_FULL);
        }
        let template_id = self.new_template_id()?;
        let finger = self.state.bio.templates.len() + 1;
        let status = self.sample(finger, SAMPLES_PER_ENROLLMENT, ctx)?;
        self.enrollment = Some(Enrollment {
            template_id: template_id.clone(),
            finger,
            remaining: SAMPLES_PER_ENROLLMENT,
        });
        let remaining = self.record_sample(status)?;
        Ok(BioEnrollmentResponse {
            template_id: Some(template_id),
            last_enroll_sample_status: Some(status),
            remaining_samples: Some(remaining),
            ..BioEnrollmentResponse::default()
        })
    }

    /// §6.7.4 enrollCaptureNextSample: the next sample of the enrolment
    /// in progress, which the templateId must name.
    fn enroll_capture_next_sample(
        &mut self,
        req: &BioEnrollmentRequest,
        ctx: &RequestContext,
    ) -> CtapResult<BioEnrollmentResponse> {
        let template_id = req
            .params
            .as_ref()
            .and_then(|p| p.template_id.as_ref())
            .ok_or(StatusCode::MISSING_PARAMETER)?;
        let (finger, remaining) = match &self.enrollment {
            Some(e) if e.template_id == *template_id => (e.finger, e.remaining),
            Some(_) => return Err(StatusCode::INVALID_PARAMETER),
            None => return Err(StatusCode::NOT_ALLOWED),
        };
        let status = self.sample(finger, remaining, ctx)?;
        let remaining = self.record_sample(status)?;
        Ok(BioEnrollmentResponse {
            last_enroll_sample_status: Some(status),
            remaining_samples: Some(remaining),
            ..BioEnrollmentResponse::default()
        })
    }

    /// Counts a sample into the enrolment in progress; the last good one
    /// stores the template. Returns the samples still needed.
    fn record_sample(&mut self, status: SampleStatus) -> CtapResult<u64> {
        let Some(enrollment) = self.enrollment.as_mut() else {
            return Err(StatusCode::NOT_ALLOWED);
        };
        if status == SampleStatus::GOOD {
            enrollment.remaining = enrollment.remaining.saturating_sub(1);
        }
        let remaining = enrollment.remaining;
        if remaining == 0
            && let Some(done) = self.enrollment.take()
        {
            self.state.bio.templates.push(Template {
                id: done.template_id,
                name: String::new(),
            });
            if let Err(e) = self.persist() {
                self.state.bio.templates.pop();
                return Err(e);
            }
        }
        Ok(remaining)
    }

    /// §6.7.6 enumerateEnrollments: INVALID_OPTION when there is none.
    fn enumerate_enrollments(&self) -> CtapResult<BioEnrollmentResponse> {
        if self.state.bio.templates.is_empty() {
            return Err(StatusCode::INVALID_OPTION);
        }
        Ok(BioEnrollmentResponse {
            template_infos: Some(
                self.state
                    .bio
                    .templates
                    .iter()
                    .map(|t| TemplateInfo {
                        template_id: t.id.clone(),
                        friendly_name: Some(t.name.clone()),
                    })
                    .collect(),
            ),
            ..BioEnrollmentResponse::default()
        })
    }

    /// The enrolled template the request names: MISSING_PARAMETER without
    /// a templateId, INVALID_OPTION for one the key does not hold.
    fn named_template(&self, req: &BioEnrollmentRequest) -> CtapResult<usize> {
        let id = req
            .params
            .as_ref()
            .and_then(|p| p.template_id.as_ref())
            .ok_or(StatusCode::MISSING_PARAMETER)?;
        self.state
            .bio
            .templates
            .iter()
            .position(|t| t.id == *id)
            .ok_or(StatusCode::INVALID_OPTION)
    }

    /// §6.7.7 setFriendlyName: at most maxTemplateFriendlyName bytes.
    fn set_friendly_name(
        &mut self,
        req: &BioEnrollmentRequest,
    ) -> CtapResult<BioEnrollmentResponse> {
        let name = req
            .params
            .as_ref()
            .and_then(|p| p.template_friendly_name.clone())
            .ok_or(StatusCode::MISSING_PARAMETER)?;
        let index = self.named_template(req)?;
        if name.len() > MAX_TEMPLATE_FRIENDLY_NAME {
            return Err(StatusCode::INVALID_PARAMETER);
        }
        let template = self
            .state
            .bio
            .templates
            .get_mut(index)
            .ok_or(StatusCode::INVALID_OPTION)?;
        let previous = std::mem::replace(&mut template.name, name);
        if let Err(e) = self.persist() {
            if let Some(t) = self.state.bio.templates.get_mut(index) {
                t.name = previous;
            }
            return Err(e);
        }
        Ok(BioEnrollmentResponse::default())
    }

    /// §6.7.8 removeEnrollment; removing the last finger turns `uv` and
    /// `bioEnroll` false again.
    fn remove_enrollment(
        &mut self,
        req: &BioEnrollmentRequest,
    ) -> CtapResult<BioEnrollmentResponse> {
        let index = self.named_template(req)?;
        let removed = self.state.bio.templates.remove(index);
        if let Err(e) = self.persist() {
            self.state.bio.templates.insert(index, removed);
            return Err(e);
        }
        Ok(BioEnrollmentResponse::default())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::authenticator::Config;
    use crate::presence::PresencePolicy;
    use crate::state::StateStore;
    use fido_wire::cbor::Value;
    use fido_wire::cose::CoseAlgorithm;
    use fido_wire::ctap2::{
        BioParams, Encrypted, MakeCredentialRequest, PinUvAuthParam, RequestOptions, command,
        encode_request, parse_response,
    };
    use fido_wire::webauthn::AuthenticatorData;
    use pin_uv_auth::{KeyAgreementKey, Protocol, SharedSecret, pad_pin, pin_hash};

    const PIN: &str = "1234";

    fn key_with(sensor: bool, state: StateStore) -> Authenticator {
        Authenticator::new(Config {
            fingerprint_sensor: sensor,
            state,
            ..Config::default()
        })
        .unwrap()
    }

    fn key() -> Authenticator {
        key_with(true, StateStore::Memory)
    }

    fn call(a: &mut Authenticator, cmd: u8, params: &Value) -> (StatusCode, Option<Value>) {
        let answer = a.process(
            &encode_request(cmd, Some(params)),
            &RequestContext::detached(),
        );
        parse_response(&answer).unwrap()
    }

    fn client_pin(
        a: &mut Authenticator,
        req: &ClientPinRequest,
    ) -> Result<ClientPinResponse, StatusCode> {
        match call(a, command::CLIENT_PIN, &req.to_value()) {
            (StatusCode::OK, body) => {
                Ok(ClientPinResponse::from_value(&body.unwrap_or(Value::Map(Vec::new()))).unwrap())
            }
            (status, _) => Err(status),
        }
    }

    /// The platform's half of a key agreement with the key.
    fn platform(a: &mut Authenticator) -> (KeyAgreementKey, SharedSecret) {
        let ka = client_pin(
            a,
            &ClientPinRequest::new(Some(2), PinSubCommand::GET_KEY_AGREEMENT),
        )
        .unwrap()
        .key_agreement
        .unwrap();
        let mine = KeyAgreementKey::generate().unwrap();
        let shared = mine.shared_secret(Protocol::Two, &ka).unwrap();
        (mine, shared)
    }

    fn set_pin(a: &mut Authenticator) {
        let (mine, shared) = platform(a);
        let new_pin_enc = shared.encrypt(&pad_pin(PIN).unwrap()).unwrap();
        let mut req = ClientPinRequest::new(Some(2), PinSubCommand::SET_PIN);
        req.key_agreement = Some(mine.cose_public_key());
        req.pin_uv_auth_param = Some(PinUvAuthParam(shared.authenticate(&new_pin_enc)));
        req.new_pin_enc = Some(Encrypted(new_pin_enc));
        client_pin(a, &req).unwrap();
    }

    fn pin_token_result(
        a: &mut Authenticator,
        pin: &str,
        permissions: u64,
        rp_id: Option<&str>,
    ) -> Result<Vec<u8>, StatusCode> {
        let (mine, shared) = platform(a);
        let mut req = ClientPinRequest::new(Some(2), PinSubCommand::GET_TOKEN_USING_PIN);
        req.key_agreement = Some(mine.cose_public_key());
        req.pin_hash_enc = Some(Encrypted(
            shared.encrypt(&pin_hash(pin.as_bytes())).unwrap(),
        ));
        req.permissions = Some(Permissions(permissions));
        req.rp_id = rp_id.map(str::to_owned);
        let enc = client_pin(a, &req)?.pin_uv_auth_token.unwrap();
        Ok(shared.decrypt(&enc.0).unwrap().to_vec())
    }

    fn be_token(a: &mut Authenticator) -> Vec<u8> {
        pin_token_result(a, PIN, Permissions::BIO_ENROLLMENT, None).unwrap()
    }

    fn uv_token(
        a: &mut Authenticator,
        permissions: u64,
        rp_id: Option<&str>,
    ) -> Result<Vec<u8>, StatusCode> {
        let (mine, shared) = platform(a);
        let mut req = ClientPinRequest::new(Some(2), PinSubCommand::GET_TOKEN_USING_UV);
        req.key_agreement = Some(mine.cose_public_key());
        req.permissions = Some(Permissions(permissions));
        req.rp_id = rp_id.map(str::to_owned);
        let enc = client_pin(a, &req)?.pin_uv_auth_token.unwrap();
        Ok(shared.decrypt(&enc.0).unwrap().to_vec())
    }

    fn uv_retries(a: &mut Authenticator) -> u64 {
        client_pin(
            a,
            &ClientPinRequest::new(None, PinSubCommand::GET_UV_RETRIES),
        )
        .unwrap()
        .uv_retries
        .unwrap()
    }

    fn bio(
        a: &mut Authenticator,
        token: Option<&[u8]>,
        sub: BioSubCommand,
        params: Option<BioParams>,
    ) -> Result<BioEnrollmentResponse, StatusCode> {
        let mut req = BioEnrollmentRequest::fingerprint(sub, params);
        if let Some(token) = token {
            req.protocol = Some(2);
            req.pin_uv_auth_param = Some(PinUvAuthParam(
                Protocol::Two.authenticate(token, &req.auth_message()),
            ));
        }
        match call(a, command::BIO_ENROLLMENT, &req.to_value()) {
            (StatusCode::OK, body) => Ok(BioEnrollmentResponse::from_value(
                &body.unwrap_or(Value::Map(Vec::new())),
            )
            .unwrap()),
            (status, _) => Err(status),
        }
    }

    fn id_param(id: &[u8]) -> Option<BioParams> {
        Some(BioParams {
            template_id: Some(id.to_vec()),
            ..BioParams::default()
        })
    }

    /// Enrols one finger (the policy approving), returning its template id.
    fn enroll(a: &mut Authenticator, token: &[u8]) -> Vec<u8> {
        let first = bio(a, Some(token), BioSubCommand::ENROLL_BEGIN, None).unwrap();
        let id = first.template_id.unwrap();
        let mut remaining = first.remaining_samples.unwrap();
        while remaining > 0 {
            remaining = bio(
                a,
                Some(token),
                BioSubCommand::ENROLL_CAPTURE_NEXT_SAMPLE,
                id_param(&id),
            )
            .unwrap()
            .remaining_samples
            .unwrap();
        }
        id
    }

    fn option(a: &Authenticator, name: &str) -> Option<bool> {
        a.info()
            .options
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }

    fn make_credential(
        a: &mut Authenticator,
        alg: CoseAlgorithm,
        uv: Option<bool>,
        token: Option<&[u8]>,
    ) -> Result<AuthenticatorData, StatusCode> {
        let client_data_hash = vec![7u8; 32];
        let req = MakeCredentialRequest {
            client_data_hash: client_data_hash.clone(),
            rp_id: "example.com".into(),
            rp_name: None,
            user_id: vec![1],
            user_name: None,
            user_display_name: None,
            pub_key_cred_params: vec![("public-key".into(), alg)],
            exclude_list: Vec::new(),
            extensions: None,
            options: RequestOptions {
                rk: Some(true),
                up: None,
                uv,
            },
            pin_uv_auth_param: token
                .map(|t| PinUvAuthParam(Protocol::Two.authenticate(t, &client_data_hash))),
            pin_uv_auth_protocol: token.map(|_| 2),
            enterprise_attestation: None,
            attestation_formats_preference: Vec::new(),
        };
        match call(a, command::MAKE_CREDENTIAL, &req.to_value()) {
            (StatusCode::OK, Some(body)) => {
                let response = fido_wire::ctap2::MakeCredentialResponse::from_value(&body).unwrap();
                Ok(AuthenticatorData::parse(&response.auth_data).unwrap())
            }
            (status, _) => Err(status),
        }
    }

    #[test]
    fn get_info_advertises_the_sensor_uv_and_bio_enroll_false_until_a_finger_is_enrolled() {
        // §6.4: without a sensor neither option is present.
        let plain = key_with(false, StateStore::Memory);
        assert_eq!(option(&plain, "bioEnroll"), None);
        assert_eq!(option(&plain, "uv"), None);
        assert_eq!(plain.info().uv_modality, None);

        let mut a = key();
        assert_eq!(option(&a, "bioEnroll"), Some(false));
        assert_eq!(option(&a, "uv"), Some(false));
        assert_eq!(option(&a, "uvBioEnroll"), Some(true));
        let info = a.info();
        assert_eq!(info.uv_modality, Some(UV_MODALITY_FINGERPRINT_INTERNAL));
        assert_eq!(
            info.preferred_platform_uv_attempts,
            Some(PREFERRED_PLATFORM_UV_ATTEMPTS)
        );
        set_pin(&mut a);
        let token = be_token(&mut a);
        let id = enroll(&mut a, &token);
        assert_eq!(option(&a, "bioEnroll"), Some(true));
        assert_eq!(option(&a, "uv"), Some(true));
        // §6.7.8: removing the last finger turns them false again.
        bio(
            &mut a,
            Some(&token),
            BioSubCommand::REMOVE_ENROLLMENT,
            id_param(&id),
        )
        .unwrap();
        assert_eq!(option(&a, "uv"), Some(false));
        assert_eq!(option(&a, "bioEnroll"), Some(false));
    }

    #[test]
    fn sensor_info_and_modality_need_no_token() {
        let mut a = key();
        // §6.7.2 getFingerprintSensorInfo.
        let info = bio(
            &mut a,
            None,
            BioSubCommand::GET_FINGERPRINT_SENSOR_INFO,
            None,
        )
        .unwrap();
        assert_eq!(info.modality, Some(MODALITY_FINGERPRINT));
        assert_eq!(info.fingerprint_kind, Some(FINGERPRINT_KIND_TOUCH));
        assert_eq!(
            info.max_capture_samples_required_for_enroll,
            Some(SAMPLES_PER_ENROLLMENT)
        );
        assert_eq!(
            info.max_template_friendly_name,
            Some(MAX_TEMPLATE_FRIENDLY_NAME as u64)
        );
        // §6.7.1 getModality.
        let (status, body) = call(
            &mut a,
            command::BIO_ENROLLMENT,
            &BioEnrollmentRequest::get_modality().to_value(),
        );
        assert_eq!(status, StatusCode::OK);
        let body = BioEnrollmentResponse::from_value(&body.unwrap()).unwrap();
        assert_eq!(body.modality, Some(MODALITY_FINGERPRINT));
    }

    #[test]
    fn enrolment_subcommands_need_a_token_with_the_be_permission() {
        let mut a = key();
        set_pin(&mut a);
        // §6.7.3 step 1: no pinUvAuthParam.
        assert_eq!(
            bio(&mut a, None, BioSubCommand::ENROLL_BEGIN, None).unwrap_err(),
            StatusCode::PUAT_REQUIRED
        );
        // A token without be (cm only) does not authenticate.
        let cm = pin_token_result(&mut a, PIN, Permissions::CREDENTIAL_MANAGEMENT, None).unwrap();
        assert_eq!(
            bio(
                &mut a,
                Some(&cm),
                BioSubCommand::ENUMERATE_ENROLLMENTS,
                None
            )
            .unwrap_err(),
            StatusCode::PIN_AUTH_INVALID
        );
        // A wrong pinUvAuthParam does not either.
        assert_eq!(
            bio(&mut a, Some(&[0u8; 32]), BioSubCommand::ENROLL_BEGIN, None).unwrap_err(),
            StatusCode::PIN_AUTH_INVALID
        );
        // §6.7.6: with be, but nothing enrolled: INVALID_OPTION.
        let token = be_token(&mut a);
        assert_eq!(
            bio(
                &mut a,
                Some(&token),
                BioSubCommand::ENUMERATE_ENROLLMENTS,
                None
            )
            .unwrap_err(),
            StatusCode::INVALID_OPTION
        );
    }

    #[test]
    fn a_key_without_the_sensor_refuses_bio_enrollment_and_the_be_permission() {
        let mut a = key_with(false, StateStore::Memory);
        set_pin(&mut a);
        assert_eq!(
            pin_token_result(&mut a, PIN, Permissions::BIO_ENROLLMENT, None).unwrap_err(),
            StatusCode::UNAUTHORIZED_PERMISSION
        );
        assert_eq!(
            bio(
                &mut a,
                None,
                BioSubCommand::GET_FINGERPRINT_SENSOR_INFO,
                None
            )
            .unwrap_err(),
            StatusCode::INVALID_COMMAND
        );
        assert_eq!(
            client_pin(
                &mut a,
                &ClientPinRequest::new(None, PinSubCommand::GET_UV_RETRIES)
            )
            .unwrap_err(),
            StatusCode::INVALID_SUBCOMMAND
        );
    }

    #[test]
    fn each_good_sample_counts_down_and_a_refused_one_is_poor_quality() {
        let mut a = key();
        set_pin(&mut a);
        let token = be_token(&mut a);
        // §6.7.3: enrollBegin answers templateId, the sample status and
        // the samples still needed.
        let first = bio(&mut a, Some(&token), BioSubCommand::ENROLL_BEGIN, None).unwrap();
        assert_eq!(first.last_enroll_sample_status, Some(SampleStatus::GOOD));
        assert_eq!(first.remaining_samples, Some(SAMPLES_PER_ENROLLMENT - 1));
        let id = first.template_id.unwrap();
        // A refused touch is a poor sample: nothing counted.
        a.config.presence = PresencePolicy::Deny;
        let poor = bio(
            &mut a,
            Some(&token),
            BioSubCommand::ENROLL_CAPTURE_NEXT_SAMPLE,
            id_param(&id),
        )
        .unwrap();
        assert_eq!(
            poor.last_enroll_sample_status,
            Some(SampleStatus::POOR_QUALITY)
        );
        assert_eq!(poor.remaining_samples, Some(SAMPLES_PER_ENROLLMENT - 1));
        a.config.presence = PresencePolicy::Approve;
        // §6.7.4: another templateId than the enrolment's is refused.
        assert_eq!(
            bio(
                &mut a,
                Some(&token),
                BioSubCommand::ENROLL_CAPTURE_NEXT_SAMPLE,
                id_param(b"no")
            )
            .unwrap_err(),
            StatusCode::INVALID_PARAMETER
        );
        let mut remaining = SAMPLES_PER_ENROLLMENT - 1;
        while remaining > 0 {
            let next = bio(
                &mut a,
                Some(&token),
                BioSubCommand::ENROLL_CAPTURE_NEXT_SAMPLE,
                id_param(&id),
            )
            .unwrap();
            assert_eq!(next.remaining_samples, Some(remaining - 1));
            remaining -= 1;
        }
        let listed = bio(
            &mut a,
            Some(&token),
            BioSubCommand::ENUMERATE_ENROLLMENTS,
            None,
        )
        .unwrap()
        .template_infos
        .unwrap();
        assert_eq!(
            listed,
            vec![TemplateInfo {
                template_id: id,
                friendly_name: Some(String::new())
            }]
        );
    }

    #[test]
    fn cancel_and_other_commands_end_an_enrolment_in_progress() {
        let mut a = key();
        set_pin(&mut a);
        let token = be_token(&mut a);
        let id = bio(&mut a, Some(&token), BioSubCommand::ENROLL_BEGIN, None)
            .unwrap()
            .template_id
            .unwrap();
        // §6.7.5 cancelCurrentEnrollment takes no token.
        bio(&mut a, None, BioSubCommand::CANCEL_CURRENT_ENROLLMENT, None).unwrap();
        let next = |a: &mut Authenticator, id: &[u8]| {
            bio(
                a,
                Some(&token),
                BioSubCommand::ENROLL_CAPTURE_NEXT_SAMPLE,
                id_param(id),
            )
        };
        assert_eq!(next(&mut a, &id).unwrap_err(), StatusCode::NOT_ALLOWED);
        let id = bio(&mut a, Some(&token), BioSubCommand::ENROLL_BEGIN, None)
            .unwrap()
            .template_id
            .unwrap();
        call(&mut a, command::GET_INFO, &Value::Map(Vec::new()));
        assert_eq!(next(&mut a, &id).unwrap_err(), StatusCode::NOT_ALLOWED);
    }

    #[test]
    fn friendly_names_are_bounded_and_unknown_templates_are_invalid_options() {
        let mut a = key();
        set_pin(&mut a);
        let token = be_token(&mut a);
        let id = enroll(&mut a, &token);
        let name = |id: &[u8], name: String| {
            Some(BioParams {
                template_id: Some(id.to_vec()),
                template_friendly_name: Some(name),
                timeout_milliseconds: None,
            })
        };
        let longest = "T".repeat(MAX_TEMPLATE_FRIENDLY_NAME);
        bio(
            &mut a,
            Some(&token),
            BioSubCommand::SET_FRIENDLY_NAME,
            name(&id, longest.clone()),
        )
        .unwrap();
        // §6.7.7: longer than maxTemplateFriendlyName.
        assert_eq!(
            bio(
                &mut a,
                Some(&token),
                BioSubCommand::SET_FRIENDLY_NAME,
                name(&id, format!("{longest}!")),
            )
            .unwrap_err(),
            StatusCode::INVALID_PARAMETER
        );
        // §6.7.7 / §6.7.8: a templateId the key does not hold.
        assert_eq!(
            bio(
                &mut a,
                Some(&token),
                BioSubCommand::SET_FRIENDLY_NAME,
                name(b"??", "x".into()),
            )
            .unwrap_err(),
            StatusCode::INVALID_OPTION
        );
        assert_eq!(
            bio(
                &mut a,
                Some(&token),
                BioSubCommand::REMOVE_ENROLLMENT,
                id_param(b"??")
            )
            .unwrap_err(),
            StatusCode::INVALID_OPTION
        );
        let listed = bio(
            &mut a,
            Some(&token),
            BioSubCommand::ENUMERATE_ENROLLMENTS,
            None,
        )
        .unwrap()
        .template_infos
        .unwrap();
        assert_eq!(listed[0].friendly_name.as_deref(), Some(longest.as_str()));
    }

    #[test]
    fn the_sensor_holds_a_bounded_number_of_fingers() {
        let mut a = key();
        set_pin(&mut a);
        let token = be_token(&mut a);
        for _ in 0..MAX_TEMPLATES {
            enroll(&mut a, &token);
        }
        // §6.7.3: no room for another template.
        assert_eq!(
            bio(&mut a, Some(&token), BioSubCommand::ENROLL_BEGIN, None).unwrap_err(),
            StatusCode::FP_DATABASE_FULL
        );
    }

    #[test]
    fn a_uv_token_needs_an_enrolled_finger_and_a_match() {
        let mut a = key();
        set_pin(&mut a);
        // §6.5.5.7.3 step 6: built-in UV not configured.
        assert_eq!(
            uv_token(&mut a, Permissions::MAKE_CREDENTIAL, Some("example.com")).unwrap_err(),
            StatusCode::NOT_ALLOWED
        );
        let token = be_token(&mut a);
        enroll(&mut a, &token);
        // Step 4: mc needs the permissions RP ID.
        assert_eq!(
            uv_token(&mut a, Permissions::MAKE_CREDENTIAL, None).unwrap_err(),
            StatusCode::MISSING_PARAMETER
        );
        // Step 5: acfg without uvAcfg.
        assert_eq!(
            uv_token(&mut a, Permissions::AUTHENTICATOR_CONFIG, None).unwrap_err(),
            StatusCode::UNAUTHORIZED_PERMISSION
        );
        // uvBioEnroll: a UV token may carry be.
        let be = uv_token(&mut a, Permissions::BIO_ENROLLMENT, None).unwrap();
        bio(
            &mut a,
            Some(&be),
            BioSubCommand::ENUMERATE_ENROLLMENTS,
            None,
        )
        .unwrap();
        // A matched finger's token makes a credential, UV set.
        let mc = uv_token(&mut a, Permissions::MAKE_CREDENTIAL, Some("example.com")).unwrap();
        let auth_data = make_credential(&mut a, CoseAlgorithm::ES256, None, Some(&mc)).unwrap();
        assert!(auth_data.flags.user_verified());
    }

    #[test]
    fn failed_matches_count_down_block_and_a_correct_pin_resets_them() {
        let mut a = key();
        set_pin(&mut a);
        let token = be_token(&mut a);
        enroll(&mut a, &token);
        assert_eq!(uv_retries(&mut a), MAX_UV_RETRIES);
        a.config.presence = PresencePolicy::Deny;
        // performBuiltInUv: every failed match costs a retry...
        for left in (1..MAX_UV_RETRIES).rev() {
            assert_eq!(
                uv_token(&mut a, Permissions::GET_ASSERTION, Some("example.com")).unwrap_err(),
                StatusCode::UV_INVALID
            );
            assert_eq!(uv_retries(&mut a), left);
        }
        // ...the last one blocks built-in UV...
        assert_eq!(
            make_credential(&mut a, CoseAlgorithm::ES256, Some(true), None).unwrap_err(),
            StatusCode::UV_BLOCKED
        );
        assert_eq!(uv_retries(&mut a), 0);
        // ...and a blocked sensor is not even asked, a match included.
        a.config.presence = PresencePolicy::Approve;
        assert_eq!(
            uv_token(&mut a, Permissions::GET_ASSERTION, Some("example.com")).unwrap_err(),
            StatusCode::UV_BLOCKED
        );
        // §6.5.5.7.2: a correct PIN resets uvRetries: the fallback unblocks it.
        pin_token_result(&mut a, PIN, Permissions::GET_ASSERTION, Some("example.com")).unwrap();
        assert_eq!(uv_retries(&mut a), MAX_UV_RETRIES);
        uv_token(&mut a, Permissions::GET_ASSERTION, Some("example.com")).unwrap();
    }

    #[test]
    fn a_wrong_pin_does_not_reset_uv_retries_and_a_match_does() {
        let mut a = key();
        set_pin(&mut a);
        let token = be_token(&mut a);
        enroll(&mut a, &token);
        a.config.presence = PresencePolicy::Deny;
        uv_token(&mut a, Permissions::GET_ASSERTION, Some("example.com")).unwrap_err();
        a.config.presence = PresencePolicy::Approve;
        assert_eq!(
            pin_token_result(&mut a, "9999", Permissions::GET_ASSERTION, Some("x")).unwrap_err(),
            StatusCode::PIN_INVALID
        );
        assert_eq!(uv_retries(&mut a), MAX_UV_RETRIES - 1);
        uv_token(&mut a, Permissions::GET_ASSERTION, Some("example.com")).unwrap();
        assert_eq!(uv_retries(&mut a), MAX_UV_RETRIES);
    }

    #[test]
    fn the_uv_option_matches_a_finger_for_every_algorithm() {
        let mut a = key();
        set_pin(&mut a);
        // §6.1.2 step 5: uv=true without a configured built-in UV.
        assert_eq!(
            make_credential(&mut a, CoseAlgorithm::ES256, Some(true), None).unwrap_err(),
            StatusCode::INVALID_OPTION
        );
        let token = be_token(&mut a);
        enroll(&mut a, &token);
        for alg in crate::keys::SUPPORTED {
            // Step 11: performBuiltInUv; its touch is the presence too.
            let auth_data = make_credential(&mut a, alg, Some(true), None).unwrap();
            assert!(auth_data.flags.user_verified(), "{alg:?}");
            assert!(auth_data.flags.user_present(), "{alg:?}");
        }
        // No match: UV_INVALID, nothing made.
        a.config.presence = PresencePolicy::Deny;
        let before = a.credential_count();
        assert_eq!(
            make_credential(&mut a, CoseAlgorithm::ML_DSA_65, Some(true), None).unwrap_err(),
            StatusCode::UV_INVALID
        );
        assert_eq!(a.credential_count(), before);
        // Step 6: a key protected by built-in UV wants UV for a discoverable credential.
        assert_eq!(
            make_credential(&mut a, CoseAlgorithm::ES256, None, None).unwrap_err(),
            StatusCode::PUAT_REQUIRED
        );
    }

    #[test]
    fn templates_and_uv_retries_survive_a_restart_and_reset_clears_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::File(dir.path().join("key.cbor"));
        let id = {
            let mut a = key_with(true, store.clone());
            set_pin(&mut a);
            let token = be_token(&mut a);
            let id = enroll(&mut a, &token);
            bio(
                &mut a,
                Some(&token),
                BioSubCommand::SET_FRIENDLY_NAME,
                Some(BioParams {
                    template_id: Some(id.clone()),
                    template_friendly_name: Some("thumb".into()),
                    timeout_milliseconds: None,
                }),
            )
            .unwrap();
            a.config.presence = PresencePolicy::Deny;
            uv_token(&mut a, Permissions::GET_ASSERTION, Some("example.com")).unwrap_err();
            id
        };
        let mut a = key_with(true, store);
        assert_eq!(option(&a, "uv"), Some(true));
        assert_eq!(uv_retries(&mut a), MAX_UV_RETRIES - 1);
        let token = be_token(&mut a);
        let listed = bio(
            &mut a,
            Some(&token),
            BioSubCommand::ENUMERATE_ENROLLMENTS,
            None,
        )
        .unwrap()
        .template_infos
        .unwrap();
        assert_eq!(listed[0].template_id, id);
        assert_eq!(listed[0].friendly_name.as_deref(), Some("thumb"));
        // authenticatorReset (§6.6) forgets the fingers too.
        a.power_cycle().unwrap();
        let answer = a.process(&[command::RESET], &RequestContext::detached());
        assert_eq!(answer, vec![StatusCode::OK.0]);
        assert_eq!(option(&a, "uv"), Some(false));
        assert_eq!(a.enrolled_fingers(), 0);
        assert_eq!(uv_retries(&mut a), MAX_UV_RETRIES);
    }
}
