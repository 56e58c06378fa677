//! The authenticator's CTAP2 command processing (CTAP 2.1 §6): getInfo,
//! makeCredential, getAssertion, getNextAssertion, clientPIN, selection,
//! reset, credentialManagement, authenticatorConfig,
//! authenticatorLargeBlobs and (with the fingerprint sensor)
//! authenticatorBioEnrollment, with user presence
//! through a [`PresencePolicy`] and state through a [`StateStore`].
//!
//! Requests are decoded with the strict CTAP2 profile; every failure maps to
//! its CTAP2 status. A response that would not fit the 7,609-byte CTAPHID
//! limit is refused with LIMIT_EXCEEDED and its credential is not kept.

use crate::attestation::AttestationIdentity;
use crate::extensions::{AssertionExtensions, RegistrationExtensions};
use crate::keys::{CredentialKey, SUPPORTED};
use crate::pin::PinSession;
use crate::presence::{PresencePolicy, PresenceRequest};
use crate::state::{Credential, MAX_CREDENTIALS, PersistentState, StateError, StateStore};
use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use ctaphid::serve::{RequestContext, RequestHandler};
use ctaphid::{Command, MAX_MESSAGE_LEN, Message};
use fido_wire::cbor::{self, DecodeError, DecodeOptions, Value};
use fido_wire::cose::CoseAlgorithm;
use fido_wire::ctap2::{
    AlgorithmEntry, BioEnrollmentRequest, ClientPinRequest, ConfigRequest, CredMgmtRequest,
    Ctap2Error, GetAssertionRequest, GetAssertionResponse, GetInfo, LargeBlobsRequest,
    MakeCredentialRequest, MakeCredentialResponse, Permissions, StatusCode, UserEntity, command,
};
use fido_wire::webauthn::{AttestedCredentialData, AuthenticatorData, Flags};
use std::time::{Duration, Instant};

/// Attestation the authenticator produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttestationMode {
    /// fmt "none".
    None,
    /// fmt "packed", signed with the credential's own key.
    PackedSelf,
    /// fmt "packed" with x5c: signed by an ES256 batch attestation key whose
    /// certificate (with the AAGUID extension) chains to a generated root.
    PackedBasic,
}

/// Configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The model's AAGUID.
    pub aaguid: [u8; 16],
    /// Algorithms offered, in the authenticator's preference order.
    pub algorithms: Vec<CoseAlgorithm>,
    /// Attestation produced by makeCredential.
    pub attestation: AttestationMode,
    /// User presence behaviour.
    pub presence: PresencePolicy,
    /// How long after power-up a reset is allowed.
    pub reset_window: Duration,
    /// firmwareVersion reported by getInfo.
    pub firmware_version: u64,
    /// Where credentials, the PIN and settings are kept.
    pub state: StateStore,
    /// How long a pinUvAuthToken stays usable.
    pub token_lifetime: Duration,
    /// How many discoverable credentials fit.
    pub max_discoverable: usize,
    /// maxMsgSize in getInfo (capped at CTAPHID's 7,609 bytes): longer
    /// requests are refused with REQUEST_TOO_LARGE, as a key with less
    /// memory does.
    pub max_msg_size: usize,
    /// The RP IDs vendor-facilitated enterprise attestation serves (the
    /// vendor's list): `Some` replaces the list the state file holds,
    /// `None` keeps it.
    pub enterprise_rp_ids: Option<Vec<String>>,
    /// A built-in fingerprint sensor (built-in UV and bioEnrollment, see
    /// `bio`), its samples and matches answered by the presence policy.
    pub fingerprint_sensor: bool,
    /// A deliberate fault (tests of tools that judge keys only).
    #[cfg(feature = "fault-injection")]
    pub fault: Option<crate::fault::Fault>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            // "keybench virtual" — a fixed AAGUID for this model.
            aaguid: *b"kbvirt-mldsa-v01",
            algorithms: SUPPORTED.to_vec(),
            attestation: AttestationMode::PackedSelf,
            presence: PresencePolicy::Approve,
            reset_window: Duration::from_secs(10),
            firmware_version: 1,
            state: StateStore::Memory,
            token_lifetime: Duration::from_secs(600),
            max_discoverable: 100,
            max_msg_size: MAX_MESSAGE_LEN,
            enterprise_rp_ids: None,
            fingerprint_sensor: false,
            #[cfg(feature = "fault-injection")]
            fault: None,
        }
    }
}

/// How makeCredential and getAssertion verified the user, and whether
/// that already collected the user's presence (a finger on the sensor,
/// or a token from built-in UV whose touch is unused).
#[derive(Debug, Clone, Copy)]
struct UserVerified {
    verified: bool,
    present: bool,
}

/// Assertions left for getNextAssertion (CTAP 2.1 §6.3).
struct PendingAssertions {
    rp_id: String,
    client_data_hash: Vec<u8>,
    user_present: bool,
    user_verified: bool,
    extensions: AssertionExtensions,
    remaining: Vec<Vec<u8>>,
    expires: Instant,
}

/// An enumeration in progress (credentialManagement).
pub(crate) enum Enumeration {
    Rps(Vec<String>),
    Credentials(Vec<Vec<u8>>),
}

/// A software CTAP 2.1 authenticator.
pub struct Authenticator {
    pub(crate) config: Config,
    pub(crate) state: PersistentState,
    pub(crate) pin: PinSession,
    pending: Option<PendingAssertions>,
    pub(crate) enumeration: Option<Enumeration>,
    pub(crate) large_blob_write: Option<crate::large_blobs::PendingWrite>,
    pub(crate) enrollment: Option<crate::bio::Enrollment>,
    powered_up: Instant,
    rng: SystemRandom,
}

pub(crate) type CtapResult<T> = Result<T, StatusCode>;

/// Why an authenticator could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The state file is unusable.
    #[error(transparent)]
    State(#[from] StateError),
    /// The attestation identity could not be generated.
    #[error(transparent)]
    Attestation(#[from] crate::attestation::AttestationError),
    /// The PIN key agreement key could not be generated.
    #[error("key agreement key generation failed")]
    KeyAgreement,
}

fn decode_error(e: &DecodeError) -> StatusCode {
    match e {
        DecodeError::InputTooLong { .. } => StatusCode::REQUEST_TOO_LARGE,
        _ => StatusCode::INVALID_CBOR,
    }
}

pub(crate) fn field_error(e: &Ctap2Error) -> StatusCode {
    match e {
        Ctap2Error::Missing { .. } => StatusCode::MISSING_PARAMETER,
        Ctap2Error::Cbor { .. } => StatusCode::INVALID_CBOR,
        _ => StatusCode::CBOR_UNEXPECTED_TYPE,
    }
}

fn random16() -> Result<[u8; 16], OpenError> {
    let mut out = [0u8; 16];
    SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| OpenError::KeyAgreement)?;
    Ok(out)
}

pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, data).as_ref());
    out
}

impl Authenticator {
    /// An authenticator, powered up now, with the state its store holds (a
    /// fresh one when there is none yet).
    pub fn new(config: Config) -> Result<Self, OpenError> {
        let mut state = config.state.load()?.unwrap_or_default();
        let mut dirty = false;
        if config.attestation == AttestationMode::PackedBasic && state.attestation.is_none() {
            state.attestation = Some(AttestationIdentity::generate(config.aaguid)?);
            dirty = true;
        }
        if state.identifier.is_none() {
            state.identifier = Some(random16()?);
            dirty = true;
        }
        if let Some(rp_ids) = &config.enterprise_rp_ids
            && *rp_ids != state.enterprise.rp_ids
        {
            state.enterprise.rp_ids = rp_ids.clone();
            dirty = true;
        }
        if dirty {
            config.state.save(&state)?;
        }
        let pin =
            PinSession::power_up(config.token_lifetime).map_err(|_| OpenError::KeyAgreement)?;
        Ok(Authenticator {
            config,
            state,
            pin,
            pending: None,
            enumeration: None,
            large_blob_write: None,
            enrollment: None,
            powered_up: Instant::now(),
            rng: SystemRandom::new(),
        })
    }

    /// The deliberate fault switched on, if any (never without the
    /// `fault-injection` feature).
    pub(crate) fn fault(&self) -> Option<&crate::fault::Fault> {
        #[cfg(feature = "fault-injection")]
        return self.config.fault.as_ref();
        #[cfg(not(feature = "fault-injection"))]
        None
    }

    /// The DER root certificate behind packed basic attestation, if any: the
    /// trust anchor a relying party installs for this key.
    pub fn attestation_root(&self) -> Option<&[u8]> {
        self.state.attestation.as_ref().map(|a| a.root.as_slice())
    }

    /// The DER root certificate behind enterprise attestation, once
    /// enterprise attestation has been enabled.
    pub fn enterprise_attestation_root(&self) -> Option<&[u8]> {
        self.state
            .enterprise
            .identity
            .as_ref()
            .map(|a| a.root.as_slice())
    }

    fn discoverable_count(&self) -> usize {
        self.state
            .credentials
            .iter()
            .filter(|c| c.discoverable)
            .count()
    }

    /// The longest request it takes: its maxMsgSize.
    pub(crate) fn max_msg_size(&self) -> usize {
        self.config.max_msg_size.min(MAX_MESSAGE_LEN)
    }

    /// The getInfo this authenticator reports.
    pub fn info(&self) -> GetInfo {
        let pin_set = self.state.pin.hash.is_some();
        let (enc_identifier, enc_cred_store_state) = self.sealed_info_members();
        let mut info = GetInfo {
            versions: vec!["FIDO_2_0".into(), "FIDO_2_1".into()],
            extensions: crate::extensions::SUPPORTED
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            aaguid: self.config.aaguid,
            options: vec![
                ("rk".into(), true),
                ("up".into(), true),
                ("plat".into(), false),
                ("alwaysUv".into(), self.state.always_uv),
                ("credMgmt".into(), true),
                ("authnrCfg".into(), true),
                ("clientPin".into(), pin_set),
                ("pinUvAuthToken".into(), true),
                ("largeBlobs".into(), true),
                ("setMinPINLength".into(), true),
                ("makeCredUvNotRqd".into(), !self.state.always_uv),
                // Enterprise attestation capable; true once enabled.
                ("ep".into(), self.state.enterprise.enabled),
                // Read-only credential management with a persistent token.
                ("perCredMgmtRO".into(), true),
            ],
            max_msg_size: Some(self.max_msg_size() as u64),
            pin_uv_auth_protocols: vec![2, 1],
            max_credential_count_in_list: Some(16),
            max_credential_id_length: Some(32),
            // Served over CTAPHID (UDP, uhid) and as a contactless card (vpcd).
            transports: vec!["nfc".into(), "usb".into()],
            algorithms: self
                .config
                .algorithms
                .iter()
                .map(|alg| AlgorithmEntry {
                    kind: "public-key".into(),
                    alg: *alg,
                })
                .collect(),
            max_serialized_large_blob_array: Some(
                crate::large_blobs::MAX_SERIALIZED_LARGE_BLOB_ARRAY as u64,
            ),
            force_pin_change: Some(self.state.pin.force_change),
            min_pin_length: Some(self.state.pin.min_length),
            firmware_version: Some(self.config.firmware_version),
            max_cred_blob_length: Some(crate::extensions::MAX_CRED_BLOB_LEN as u64),
            max_rpids_for_set_min_pin_length: Some(
                crate::cred_mgmt::MAX_MIN_PIN_LENGTH_RP_IDS as u64,
            ),
            enc_identifier,
            enc_cred_store_state,
            remaining_discoverable_credentials: Some(
                self.config
                    .max_discoverable
                    .saturating_sub(self.discoverable_count()) as u64,
            ),
            ..GetInfo::default()
        };
        self.add_sensor_info(&mut info);
        info
    }

    /// What changes whenever the discoverable credentials do (CTAP 2.2
    /// encCredStoreState): a digest of each one's id, RP and user.
    fn cred_store_state(&self) -> [u8; 16] {
        let mut all = Vec::new();
        for c in self.state.credentials.iter().filter(|c| c.discoverable) {
            all.extend_from_slice(&sha256(&c.id));
            all.extend_from_slice(&sha256(c.rp_id.as_bytes()));
            all.extend_from_slice(&sha256(&cbor::to_canonical_vec(&c.user.to_value())));
        }
        let mut out = [0u8; 16];
        out.copy_from_slice(sha256(&all).get(..16).unwrap_or(&[0u8; 16]));
        out
    }

    /// encIdentifier and encCredStoreState (CTAP 2.2), sealed under the
    /// persistent token; absent while there is none.
    fn sealed_info_members(&self) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
        use pin_uv_auth::persistent::{ENC_CRED_STORE_STATE, ENC_IDENTIFIER, seal};
        let Some(token) = self.state.pin.persistent_token.as_ref() else {
            return (None, None);
        };
        let identifier = self
            .state
            .identifier
            .and_then(|id| seal(token.as_ref(), ENC_IDENTIFIER, &id).ok());
        let store = seal(
            token.as_ref(),
            ENC_CRED_STORE_STATE,
            &self.cred_store_state(),
        )
        .ok();
        (identifier, store)
    }

    /// Processes one CTAP2 request (command byte and CBOR parameters) and
    /// returns the response (status byte and CBOR body).
    pub fn process(&mut self, request: &[u8], ctx: &RequestContext) -> Vec<u8> {
        let result = match request.split_first() {
            None => Err(StatusCode::INVALID_LENGTH),
            Some(_) if request.len() > self.max_msg_size() => Err(StatusCode::REQUEST_TOO_LARGE),
            Some((&cmd, params)) => self.dispatch(cmd, params, ctx),
        };
        let result = match result {
            Err(StatusCode::MISSING_PARAMETER)
                if self.fault() == Some(&crate::fault::Fault::WrongStatusCode) =>
            {
                Err(StatusCode::INVALID_CBOR)
            }
            other => other,
        };
        result.unwrap_or_else(|status| vec![status.0])
    }

    /// A successful response: status OK and the body in canonical CBOR, or
    /// LIMIT_EXCEEDED when that would not fit one CTAPHID message.
    pub(crate) fn encode_ok(body: Option<&Value>) -> CtapResult<Vec<u8>> {
        let mut out = vec![StatusCode::OK.0];
        if let Some(body) = body {
            cbor::write(&mut out, body, true);
        }
        if out.len() > MAX_MESSAGE_LEN {
            return Err(StatusCode::LIMIT_EXCEEDED);
        }
        Ok(out)
    }

    fn params(params: &[u8]) -> CtapResult<Value> {
        if params.is_empty() {
            return Err(StatusCode::MISSING_PARAMETER);
        }
        cbor::from_slice(params, &DecodeOptions::CTAP2).map_err(|e| decode_error(&e))
    }

    /// Writes the state through the store; a failure is reported to the
    /// client rather than pretending the change will survive.
    pub(crate) fn persist(&self) -> CtapResult<()> {
        self.config
            .state
            .save(&self.state)
            .map_err(|_| StatusCode::OTHER)
    }

    fn dispatch(&mut self, cmd: u8, params: &[u8], ctx: &RequestContext) -> CtapResult<Vec<u8>> {
        if cmd != command::GET_NEXT_ASSERTION {
            self.pending = None;
        }
        if cmd != command::CREDENTIAL_MANAGEMENT && cmd != command::PROTOTYPE_CREDENTIAL_MANAGEMENT
        {
            self.enumeration = None;
        }
        if cmd != command::BIO_ENROLLMENT && cmd != command::PROTOTYPE_BIO_ENROLLMENT {
            self.enrollment = None;
        }
        match cmd {
            command::GET_INFO => Self::encode_ok(Some(&self.info().to_value())),
            command::MAKE_CREDENTIAL => {
                let mut req = MakeCredentialRequest::from_value(&Self::params(params)?)
                    .map_err(|e| field_error(&e))?;
                self.drop_ignored_extension(&mut req.extensions);
                self.make_credential(&req, ctx)
            }
            command::GET_ASSERTION => {
                let mut req = GetAssertionRequest::from_value(&Self::params(params)?)
                    .map_err(|e| field_error(&e))?;
                self.drop_ignored_extension(&mut req.extensions);
                let response = self.get_assertion(req, ctx)?;
                Self::encode_ok(Some(&response))
            }
            command::GET_NEXT_ASSERTION => {
                let response = self.get_next_assertion()?;
                Self::encode_ok(Some(&response))
            }
            command::CLIENT_PIN => {
                let req = ClientPinRequest::from_value(&Self::params(params)?)
                    .map_err(|e| field_error(&e))?;
                if let Some(result) = self.sensor_client_pin(&req, ctx) {
                    return Self::encode_ok(Some(&result?.to_value()));
                }
                let before = self.state.pin.clone();
                let result = self.pin.process(&req, &mut self.state.pin);
                if self.fault() == Some(&crate::fault::Fault::PinRetriesNotDecremented)
                    && self.state.pin.retries < before.retries
                {
                    self.state.pin.retries = before.retries;
                }
                // Retry counters change on failures too, and must survive them.
                if self.state.pin != before
                    && let Err(e) = self.persist()
                {
                    // A new PIN (or a token) the file does not back is undone;
                    // a failed attempt's lower retry count stays in memory, so
                    // a failing disk never buys extra guesses.
                    if result.is_ok() {
                        self.state.pin = before;
                        self.pin.reset_token();
                    }
                    return Err(e);
                }
                let result = result?;
                self.pin_entered(req.sub_command)?;
                Self::encode_ok(Some(&result.to_value()))
            }
            command::CREDENTIAL_MANAGEMENT | command::PROTOTYPE_CREDENTIAL_MANAGEMENT => {
                let req = CredMgmtRequest::from_value(&Self::params(params)?)
                    .map_err(|e| field_error(&e))?;
                let response = self.credential_management(&req)?;
                Self::encode_ok(Some(&response.to_value()))
            }
            command::CONFIG => {
                let req = ConfigRequest::from_value(&Self::params(params)?)
                    .map_err(|e| field_error(&e))?;
                self.authenticator_config(&req)?;
                Self::encode_ok(None)
            }
            command::LARGE_BLOBS => {
                let req = LargeBlobsRequest::from_value(&Self::params(params)?)
                    .map_err(|e| field_error(&e))?;
                let response = self.large_blobs(&req)?;
                Self::encode_ok(response.map(|r| r.to_value()).as_ref())
            }
            command::BIO_ENROLLMENT | command::PROTOTYPE_BIO_ENROLLMENT => {
                let req = BioEnrollmentRequest::from_value(&Self::params(params)?)
                    .map_err(|e| field_error(&e))?;
                let response = self.bio_enrollment(&req, ctx)?;
                Self::encode_ok(Some(&response.to_value()))
            }
            command::SELECTION => self
                .presence("selection", None, ctx)
                .and_then(|()| Self::encode_ok(None)),
            command::RESET => self.reset(ctx).and_then(|()| Self::encode_ok(None)),
            _ => Err(StatusCode::INVALID_COMMAND),
        }
    }

    /// Waits for the virtual user's touch according to the policy.
    fn presence(
        &self,
        operation: &'static str,
        rp_id: Option<&str>,
        ctx: &RequestContext,
    ) -> CtapResult<()> {
        self.config.presence.collect(
            PresenceRequest {
                operation,
                rp_id: rp_id.map(str::to_owned),
                fingerprint: None,
            },
            ctx,
            self.fault() != Some(&crate::fault::Fault::IgnoreCancel),
        )
    }

    /// With [`crate::fault::Fault::IgnoredExtension`], removes that
    /// extension's input from a request, as a key that only claims it would.
    fn drop_ignored_extension(&self, extensions: &mut Option<Value>) {
        let Some(crate::fault::Fault::IgnoredExtension(name)) = self.fault() else {
            return;
        };
        if let Some(Value::Map(entries)) = extensions {
            entries.retain(|(k, _)| k.as_text() != Some(name.as_str()));
        }
    }

    /// CTAP 2.1 §6.1.2 step 1 / §6.2.2 step 1: a zero-length pinUvAuthParam
    /// asks for a touch, to pick this key among several.
    /// Returns the status to answer with.
    fn selection_probe(&self, operation: &'static str, ctx: &RequestContext) -> StatusCode {
        if let Err(status) = self.presence(operation, None, ctx) {
            return status;
        }
        if self.state.pin.hash.is_some() {
            StatusCode::PIN_INVALID
        } else {
            StatusCode::PIN_NOT_SET
        }
    }

    /// The UV decision for makeCredential and getAssertion: verifies a
    /// pinUvAuthParam over the clientDataHash, matches a finger for the
    /// `uv` option, or decides whether going without either is allowed.
    // The arguments are the request members both commands share, by name.
    #[allow(clippy::too_many_arguments)]
    fn user_verification(
        &mut self,
        operation: &'static str,
        param: Option<&[u8]>,
        protocol: Option<u64>,
        client_data_hash: &[u8],
        uv_option: Option<bool>,
        permission: u64,
        rp_id: &str,
        uv_optional: bool,
        ctx: &RequestContext,
    ) -> CtapResult<UserVerified> {
        match param {
            Some(param) => {
                self.pin.verify_token(
                    protocol,
                    param,
                    client_data_hash,
                    permission,
                    Some(rp_id),
                )?;
                Ok(UserVerified {
                    verified: true,
                    // getUserPresentFlagValue: a token from built-in UV
                    // carries the touch that matched.
                    present: self.pin.token_user_present(),
                })
            }
            None => {
                if uv_option == Some(true) {
                    // §6.1.2 step 5 / §6.2.2 step 5: no built-in UV, or
                    // none configured, is INVALID_OPTION; otherwise the
                    // finger is matched (step 11 / step 6), and that touch
                    // is the user's presence too.
                    if !self.built_in_uv_configured() {
                        return Err(StatusCode::INVALID_OPTION);
                    }
                    self.perform_built_in_uv(operation, Some(rp_id), ctx)?;
                    return Ok(UserVerified {
                        verified: true,
                        present: true,
                    });
                }
                // Protected by some form of UV: a PIN or an enrolled finger.
                let protected = self.state.pin.hash.is_some() || self.built_in_uv_configured();
                if self.state.always_uv || (protected && !uv_optional) {
                    return Err(StatusCode::PUAT_REQUIRED);
                }
                Ok(UserVerified {
                    verified: false,
                    present: false,
                })
            }
        }
    }

    fn make_credential(
        &mut self,
        req: &MakeCredentialRequest,
        ctx: &RequestContext,
    ) -> CtapResult<Vec<u8>> {
        if req
            .pin_uv_auth_param
            .as_ref()
            .is_some_and(|p| p.0.is_empty())
        {
            return Err(self.selection_probe("makeCredential", ctx));
        }
        // Step 3: the first supported algorithm in the RP's order.
        let alg = req
            .pub_key_cred_params
            .iter()
            .filter(|(kind, _)| kind == "public-key")
            .map(|(_, alg)| *alg)
            .find(|alg| self.config.algorithms.contains(alg))
            .ok_or(StatusCode::UNSUPPORTED_ALGORITHM)?;
        if req.options.up == Some(false) {
            return Err(StatusCode::INVALID_OPTION);
        }
        // Step 9: enterprise attestation, decided before UV and the touch.
        let enterprise = self
            .state
            .enterprise
            .decide(req.enterprise_attestation, &req.rp_id)?;
        let discoverable = req.options.rk == Some(true);
        // Step 6 (makeCredUvNotRqd): non-discoverable credentials need no UV.
        let verified = self.user_verification(
            "makeCredential",
            req.pin_uv_auth_param.as_ref().map(|p| p.0.as_slice()),
            req.pin_uv_auth_protocol,
            &req.client_data_hash,
            req.options.uv,
            Permissions::MAKE_CREDENTIAL,
            &req.rp_id,
            !discoverable,
            ctx,
        )?;
        let uv = verified.verified;
        let extensions =
            RegistrationExtensions::parse(req.extensions.as_ref(), discoverable, &self.pin)?;
        // Step 12: an excluded credential still needs a touch before the
        // error, so a page cannot probe silently; credProtect 3 hides it
        // without UV.
        let excluded = req.exclude_list.iter().any(|d| {
            self.state
                .credentials
                .iter()
                .any(|c| c.rp_id == req.rp_id && c.id == d.id && (c.cred_protect < 3 || uv))
        });
        if excluded {
            if !verified.present {
                self.presence("makeCredential", Some(&req.rp_id), ctx)?;
            }
            return Err(StatusCode::CREDENTIAL_EXCLUDED);
        }
        if self.state.credentials.len() >= MAX_CREDENTIALS
            || (discoverable && self.discoverable_count() >= self.config.max_discoverable)
        {
            return Err(StatusCode::KEY_STORE_FULL);
        }
        if !verified.present {
            self.presence("makeCredential", Some(&req.rp_id), ctx)?;
        }
        self.pin.clear_permissions_except_lbw();

        let key = CredentialKey::generate(alg)
            .ok_or(StatusCode::UNSUPPORTED_ALGORITHM)?
            .map_err(|_| StatusCode::OTHER)?;
        let mut id = vec![0u8; 32];
        self.rng.fill(&mut id).map_err(|_| StatusCode::OTHER)?;
        let mut credential = Credential {
            id: id.clone(),
            rp_id: req.rp_id.clone(),
            rp_name: req.rp_name.clone(),
            user: UserEntity {
                id: req.user_id.clone(),
                name: req.user_name.clone(),
                display_name: req.user_display_name.clone(),
            },
            discoverable,
            key,
            sign_count: 0,
            cred_protect: 1,
            cred_random: None,
            cred_blob: None,
            large_blob_key: None,
            third_party_payment: false,
            sign_key: None,
        };
        let outputs = extensions.apply(&mut credential, &self.state.pin, &self.rng, uv)?;
        let flags = Flags(Flags::UP | if uv { Flags::UV } else { 0 });
        let auth_data = AuthenticatorData {
            rp_id_hash: sha256(req.rp_id.as_bytes()),
            flags,
            sign_count: 0,
            attested_credential: Some(AttestedCredentialData::new(
                self.config.aaguid,
                id,
                credential.key.cose_public_key(),
            )),
            extensions: outputs,
        }
        .to_bytes();
        let signed = [auth_data.as_slice(), &req.client_data_hash].concat();
        // Step 19: an enterprise attestation is signed by the device's own
        // certificate, whatever the key's ordinary attestation is.
        let enterprise_identity = self
            .state
            .enterprise
            .identity
            .as_ref()
            .filter(|_| enterprise);
        if enterprise && enterprise_identity.is_none() {
            return Err(StatusCode::OTHER);
        }
        let (fmt, att_stmt) = match (
            enterprise_identity,
            self.config.attestation,
            &self.state.attestation,
        ) {
            (Some(identity), ..) | (None, AttestationMode::PackedBasic, Some(identity)) => {
                let sig = identity.sign(&signed).ok_or(StatusCode::OTHER)?;
                (
                    "packed",
                    Value::map([
                        (Value::text("alg"), Value::int(CoseAlgorithm::ES256.0)),
                        (Value::text("sig"), Value::bytes(sig)),
                        (
                            Value::text("x5c"),
                            Value::Array(vec![Value::bytes(identity.certificate.clone())]),
                        ),
                    ]),
                )
            }
            (None, AttestationMode::None, _) => ("none", Value::Map(Vec::new())),
            (None, AttestationMode::PackedSelf | AttestationMode::PackedBasic, _) => {
                let sig = credential
                    .key
                    .sign(&signed)
                    .map_err(|_| StatusCode::OTHER)?;
                (
                    "packed",
                    Value::map([
                        (Value::text("alg"), Value::int(alg.0)),
                        (Value::text("sig"), Value::bytes(sig)),
                    ]),
                )
            }
        };
        let response = MakeCredentialResponse {
            fmt: fmt.into(),
            auth_data,
            att_stmt,
            enterprise_attestation: enterprise.then_some(true),
            large_blob_key: credential.large_blob_key.map(|k| k.to_vec()),
            // previewSign's key attestation (only a new credential has a key).
            unsigned_extension_outputs: credential
                .sign_key
                .as_ref()
                .map(|key| {
                    crate::sign_extension::KeyAttestation {
                        aaguid: self.config.aaguid,
                        rp_id_hash: sha256(req.rp_id.as_bytes()),
                        flags,
                        client_data_hash: &req.client_data_hash,
                        identity: match self.config.attestation {
                            AttestationMode::PackedBasic => self.state.attestation.as_ref(),
                            _ => None,
                        },
                    }
                    .unsigned_outputs(key)
                })
                .transpose()?,
        }
        .to_value();
        // Encoded (and refused if too large) before the credential is kept.
        let response = Self::encode_ok(Some(&response))?;
        // §6.1.2 step 16: a discoverable credential replaces the one the key
        // holds for the same RP ID and user id.
        let (replaced, kept): (Vec<Credential>, Vec<Credential>) =
            std::mem::take(&mut self.state.credentials)
                .into_iter()
                .partition(|c| {
                    credential.discoverable
                        && c.discoverable
                        && c.rp_id == credential.rp_id
                        && c.user.id == credential.user.id
                });
        self.state.credentials = kept;
        self.state.credentials.push(credential);
        if let Err(e) = self.persist() {
            self.state.credentials.pop();
            self.state.credentials.extend(replaced);
            return Err(e);
        }
        Ok(response)
    }

    fn get_assertion(
        &mut self,
        req: GetAssertionRequest,
        ctx: &RequestContext,
    ) -> CtapResult<Value> {
        if req
            .pin_uv_auth_param
            .as_ref()
            .is_some_and(|p| p.0.is_empty())
        {
            return Err(self.selection_probe("getAssertion", ctx));
        }
        let verified = self.user_verification(
            "getAssertion",
            req.pin_uv_auth_param.as_ref().map(|p| p.0.as_slice()),
            req.pin_uv_auth_protocol,
            &req.client_data_hash,
            req.options.uv,
            Permissions::GET_ASSERTION,
            &req.rp_id,
            true,
            ctx,
        )?;
        let uv = verified.verified;
        let by_allow_list = !req.allow_list.is_empty();
        let found: Vec<Vec<u8>> = self
            .state
            .credentials
            .iter()
            .filter(|c| c.rp_id == req.rp_id)
            .filter(|c| {
                if by_allow_list {
                    req.allow_list.iter().any(|d| d.id == c.id)
                } else {
                    c.discoverable
                }
            })
            // credProtect (CTAP 2.1 §12.1): level 3 needs UV, level 2 needs
            // UV or an allow list naming the credential.
            .filter(|c| match c.cred_protect {
                3 => uv,
                2 => uv || by_allow_list,
                _ => true,
            })
            .map(|c| c.id.clone())
            // Most recently created first, as CTAP 2.1 §6.2.2 step 12 orders them.
            .rev()
            .collect();
        let mut extensions = AssertionExtensions::parse(req.extensions.as_ref(), &self.pin)?;
        extensions.sign =
            crate::sign_extension::SignRequest::parse(req.extensions.as_ref(), by_allow_list)?;
        let up = req.options.up != Some(false);
        // previewSign's key policy is checked before the touch.
        if let (Some(sign), Some(first)) = (&extensions.sign, found.first()) {
            let key = self
                .state
                .credentials
                .iter()
                .find(|c| &c.id == first)
                .and_then(|c| c.sign_key.as_ref());
            sign.authorize(key, up, uv)?;
        }
        if up {
            if !verified.present {
                self.presence("getAssertion", Some(&req.rp_id), ctx)?;
            }
            self.pin.clear_permissions_except_lbw();
        }
        let (first, rest) = found.split_first().ok_or(StatusCode::NO_CREDENTIALS)?;
        let number = (!by_allow_list && found.len() > 1).then_some(found.len() as u64);
        let response = self.assert(
            first,
            &req.rp_id,
            &req.client_data_hash,
            up,
            uv,
            &extensions,
            !by_allow_list,
            number,
        )?;
        if number.is_some() {
            self.pending = Some(PendingAssertions {
                rp_id: req.rp_id,
                client_data_hash: req.client_data_hash,
                user_present: up,
                user_verified: uv,
                extensions,
                remaining: rest.to_vec(),
                expires: Instant::now() + Duration::from_secs(30),
            });
        }
        Ok(response)
    }

    fn get_next_assertion(&mut self) -> CtapResult<Value> {
        let mut pending = self.pending.take().ok_or(StatusCode::NOT_ALLOWED)?;
        if Instant::now() > pending.expires || pending.remaining.is_empty() {
            return Err(StatusCode::NOT_ALLOWED);
        }
        let next = pending.remaining.remove(0);
        let result = self.assert(
            &next,
            &pending.rp_id,
            &pending.client_data_hash,
            pending.user_present,
            pending.user_verified,
            &pending.extensions,
            true,
            None,
        );
        self.pending = Some(pending);
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn assert(
        &mut self,
        credential_id: &[u8],
        rp_id: &str,
        client_data_hash: &[u8],
        user_present: bool,
        user_verified: bool,
        extensions: &AssertionExtensions,
        include_user: bool,
        number_of_credentials: Option<u64>,
    ) -> CtapResult<Value> {
        let fault = self.fault().cloned();
        let cred = self
            .state
            .credentials
            .iter_mut()
            .find(|c| c.id == credential_id)
            .ok_or(StatusCode::NO_CREDENTIALS)?;
        cred.sign_count = cred.sign_count.wrapping_add(1);
        let stuck_counter = fault == Some(crate::fault::Fault::StuckSignCount);
        let corrupt_signature = matches!(
            &fault,
            Some(crate::fault::Fault::CorruptSignature(alg)) if *alg == cred.key.algorithm()
        );
        if stuck_counter {
            cred.sign_count = 1;
        }
        let outputs = extensions.outputs(cred, user_present, user_verified)?;
        let mut flags = 0;
        if user_present {
            flags |= Flags::UP;
        }
        if user_verified {
            flags |= Flags::UV;
        }
        let auth_data = AuthenticatorData {
            rp_id_hash: sha256(rp_id.as_bytes()),
            flags: Flags(flags),
            sign_count: cred.sign_count,
            attested_credential: None,
            extensions: outputs,
        }
        .to_bytes();
        let signed = [auth_data.as_slice(), client_data_hash].concat();
        let mut signature = cred.key.sign(&signed).map_err(|_| StatusCode::OTHER)?;
        if corrupt_signature && let Some(byte) = signature.last_mut() {
            *byte ^= 0x01;
        }
        let response = GetAssertionResponse {
            credential_id: Some(cred.id.clone()),
            auth_data,
            signature,
            // Without user verification only the user id may be returned (§6.2.2 step 12).
            user: (include_user && cred.discoverable).then(|| {
                if user_verified {
                    cred.user.clone()
                } else {
                    UserEntity {
                        id: cred.user.id.clone(),
                        name: None,
                        display_name: None,
                    }
                }
            }),
            number_of_credentials,
            user_selected: None,
            large_blob_key: extensions
                .large_blob_key
                .then_some(cred.large_blob_key)
                .flatten()
                .map(|k| k.to_vec()),
        }
        .to_value();
        self.persist()?;
        Ok(response)
    }

    fn reset(&mut self, ctx: &RequestContext) -> CtapResult<()> {
        if self.powered_up.elapsed() > self.config.reset_window {
            return Err(StatusCode::NOT_ALLOWED);
        }
        self.presence("reset", None, ctx)?;
        // The batch attestation identity belongs to the model, not the
        // user; the enterprise identity and RP IDs to the device, but
        // enterprise attestation is disabled again (CTAP 2.1 §7.1).
        let fresh = PersistentState {
            attestation: self.state.attestation.take(),
            enterprise: crate::enterprise::EnterpriseState {
                enabled: false,
                rp_ids: std::mem::take(&mut self.state.enterprise.rp_ids),
                identity: self.state.enterprise.identity.take(),
            },
            // A new device identifier: the old one no longer links to it.
            identifier: Some(random16().map_err(|_| StatusCode::OTHER)?),
            ..PersistentState::default()
        };
        let previous = std::mem::replace(&mut self.state, fresh);
        if let Err(e) = self.persist() {
            // Not saved: the key stays as it was (its PIN and credentials),
            // in memory as on disk.
            let attestation = self.state.attestation.take();
            let enterprise = std::mem::take(&mut self.state.enterprise);
            self.state = previous;
            self.state.attestation = attestation;
            self.state.enterprise.rp_ids = enterprise.rp_ids;
            self.state.enterprise.identity = enterprise.identity;
            return Err(e);
        }
        self.pin = PinSession::power_up(self.config.token_lifetime)?;
        self.pending = None;
        self.large_blob_write = None;
        self.enrollment = None;
        Ok(())
    }

    /// Simulates unplugging and re-inserting the key: a new key agreement
    /// key, no token, the wrong-PIN power-cycle block lifted, and the reset
    /// window restarted.
    pub fn power_cycle(&mut self) -> CtapResult<()> {
        self.powered_up = Instant::now();
        self.pending = None;
        self.enumeration = None;
        self.large_blob_write = None;
        self.enrollment = None;
        self.pin = PinSession::power_up(self.config.token_lifetime)?;
        Ok(())
    }

    /// How many credentials the authenticator holds.
    pub fn credential_count(&self) -> usize {
        self.state.credentials.len()
    }

    /// Whether a PIN is set.
    pub fn has_pin(&self) -> bool {
        self.state.pin.hash.is_some()
    }

    /// Adds or removes the fingerprint sensor (as [`Config::fingerprint_sensor`]).
    pub fn set_fingerprint_sensor(&mut self, present: bool) {
        self.config.fingerprint_sensor = present;
        self.enrollment = None;
    }

    /// Changes how the virtual user answers presence (and the sensor).
    pub fn set_presence(&mut self, policy: PresencePolicy) {
        self.config.presence = policy;
    }

    /// How many fingers are enrolled.
    pub fn enrolled_fingers(&self) -> usize {
        self.state.bio.templates.len()
    }
}

impl RequestHandler for Authenticator {
    fn handle(&mut self, request: &Message, ctx: &RequestContext) -> Vec<u8> {
        match request.cmd {
            Command::CBOR => self.process(&request.payload, ctx),
            // WINK: the UI shows it; nothing to answer but an empty message.
            Command::WINK => Vec::new(),
            // CTAP1/U2F is not offered (the NMSG capability is set).
            _ => vec![StatusCode::INVALID_COMMAND.0],
        }
    }
}

/// An authenticator shared between the thread serving it and whoever
/// controls it (a UI, a test): power cycles and state queries go through
/// the same lock that requests do.
#[derive(Clone)]
pub struct SharedAuthenticator(pub std::sync::Arc<std::sync::Mutex<Authenticator>>);

impl SharedAuthenticator {
    /// Shares `authenticator`.
    pub fn new(authenticator: Authenticator) -> Self {
        SharedAuthenticator(std::sync::Arc::new(std::sync::Mutex::new(authenticator)))
    }

    /// Runs `f` with the authenticator locked.
    pub fn with<R>(&self, f: impl FnOnce(&mut Authenticator) -> R) -> R {
        // A panic while locked must not take the key down with it.
        let mut guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }
}

impl RequestHandler for SharedAuthenticator {
    fn handle(&mut self, request: &Message, ctx: &RequestContext) -> Vec<u8> {
        self.with(|a| a.handle(request, ctx))
    }
}
