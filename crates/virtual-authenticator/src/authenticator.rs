//! The authenticator's CTAP2 command processing (CTAP 2.1 §6): getInfo,
//! makeCredential, getAssertion, getNextAssertion, selection and reset,
//! with user presence through a [`PresencePolicy`].
//!
//! Requests are decoded with the strict CTAP2 profile; every failure maps to
//! its CTAP2 status. A response that would not fit the 7,609-byte CTAPHID
//! limit is refused with LIMIT_EXCEEDED and its credential is not kept.

use crate::keys::{CredentialKey, SUPPORTED};
use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use ctaphid::serve::{RequestContext, RequestHandler};
use ctaphid::{Command, KeepaliveStatus, MAX_MESSAGE_LEN, Message};
use fido_wire::cbor::{self, DecodeError, DecodeOptions, Value};
use fido_wire::cose::CoseAlgorithm;
use fido_wire::ctap2::{
    AlgorithmEntry, Ctap2Error, GetAssertionRequest, GetAssertionResponse, GetInfo,
    MakeCredentialRequest, MakeCredentialResponse, StatusCode, UserEntity, command,
};
use fido_wire::webauthn::{AttestedCredentialData, AuthenticatorData, Flags};
use std::time::{Duration, Instant};

/// How the virtual user answers a request for presence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresencePolicy {
    /// Touch at once.
    Approve,
    /// Never touch: presence is refused (OPERATION_DENIED).
    Deny,
    /// Touch after this long, reporting UP_NEEDED meanwhile; CANCEL ends the wait.
    Delay(Duration),
}

/// Attestation the authenticator produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttestationMode {
    /// fmt "none".
    None,
    /// fmt "packed", signed with the credential's own key.
    PackedSelf,
}

/// Configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
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
        }
    }
}

#[derive(Debug)]
struct Credential {
    id: Vec<u8>,
    rp_id: String,
    user: UserEntity,
    discoverable: bool,
    key: CredentialKey,
    sign_count: u32,
}

/// Assertions left for getNextAssertion (CTAP 2.1 §6.3).
struct PendingAssertions {
    rp_id: String,
    client_data_hash: Vec<u8>,
    user_present: bool,
    remaining: Vec<usize>,
    expires: Instant,
}

/// A software CTAP 2.1 authenticator holding its credentials in memory.
pub struct Authenticator {
    config: Config,
    credentials: Vec<Credential>,
    pending: Option<PendingAssertions>,
    powered_up: Instant,
    rng: SystemRandom,
}

type CtapResult<T> = Result<T, StatusCode>;

fn decode_error(e: &DecodeError) -> StatusCode {
    match e {
        DecodeError::InputTooLong { .. } => StatusCode::REQUEST_TOO_LARGE,
        _ => StatusCode::INVALID_CBOR,
    }
}

fn field_error(e: &Ctap2Error) -> StatusCode {
    match e {
        Ctap2Error::Missing { .. } => StatusCode::MISSING_PARAMETER,
        Ctap2Error::Cbor { .. } => StatusCode::INVALID_CBOR,
        _ => StatusCode::CBOR_UNEXPECTED_TYPE,
    }
}

fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, data).as_ref());
    out
}

impl Authenticator {
    /// A fresh authenticator, powered up now.
    pub fn new(config: Config) -> Self {
        Authenticator {
            config,
            credentials: Vec::new(),
            pending: None,
            powered_up: Instant::now(),
            rng: SystemRandom::new(),
        }
    }

    /// The getInfo this authenticator reports.
    pub fn info(&self) -> GetInfo {
        GetInfo {
            versions: vec!["FIDO_2_0".into(), "FIDO_2_1".into()],
            aaguid: self.config.aaguid,
            options: vec![
                ("rk".into(), true),
                ("up".into(), true),
                ("plat".into(), false),
            ],
            max_msg_size: Some(MAX_MESSAGE_LEN as u64),
            max_credential_id_length: Some(32),
            transports: vec!["usb".into()],
            algorithms: self
                .config
                .algorithms
                .iter()
                .map(|alg| AlgorithmEntry {
                    kind: "public-key".into(),
                    alg: *alg,
                })
                .collect(),
            firmware_version: Some(self.config.firmware_version),
            ..GetInfo::default()
        }
    }

    /// Processes one CTAP2 request (command byte and CBOR parameters) and
    /// returns the response (status byte and CBOR body).
    pub fn process(&mut self, request: &[u8], ctx: &RequestContext) -> Vec<u8> {
        let result = match request.split_first() {
            None => Err(StatusCode::INVALID_LENGTH),
            Some(_) if request.len() > MAX_MESSAGE_LEN => Err(StatusCode::REQUEST_TOO_LARGE),
            Some((&cmd, params)) => self.dispatch(cmd, params, ctx),
        };
        result.unwrap_or_else(|status| vec![status.0])
    }

    /// A successful response: status OK and the body in canonical CBOR, or
    /// LIMIT_EXCEEDED when that would not fit one CTAPHID message.
    fn encode_ok(body: Option<&Value>) -> CtapResult<Vec<u8>> {
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

    fn dispatch(&mut self, cmd: u8, params: &[u8], ctx: &RequestContext) -> CtapResult<Vec<u8>> {
        if cmd != command::GET_NEXT_ASSERTION {
            self.pending = None;
        }
        match cmd {
            command::GET_INFO => Self::encode_ok(Some(&self.info().to_value())),
            command::MAKE_CREDENTIAL => {
                let req = MakeCredentialRequest::from_value(&Self::params(params)?)
                    .map_err(|e| field_error(&e))?;
                self.make_credential(&req, ctx)
            }
            command::GET_ASSERTION => {
                let req = GetAssertionRequest::from_value(&Self::params(params)?)
                    .map_err(|e| field_error(&e))?;
                Self::encode_ok(Some(&self.get_assertion(&req, ctx)?))
            }
            command::GET_NEXT_ASSERTION => Self::encode_ok(Some(&self.get_next_assertion()?)),
            command::SELECTION => self.user_presence(ctx).and_then(|()| Self::encode_ok(None)),
            command::RESET => self.reset(ctx).and_then(|()| Self::encode_ok(None)),
            _ => Err(StatusCode::INVALID_COMMAND),
        }
    }

    /// Waits for the virtual user's touch according to the policy.
    fn user_presence(&self, ctx: &RequestContext) -> CtapResult<()> {
        match self.config.presence {
            PresencePolicy::Approve => Ok(()),
            PresencePolicy::Deny => Err(StatusCode::OPERATION_DENIED),
            PresencePolicy::Delay(wait) => {
                ctx.set_status(KeepaliveStatus::UpNeeded);
                let until = Instant::now() + wait;
                while Instant::now() < until {
                    if ctx.is_cancelled() {
                        return Err(StatusCode::KEEPALIVE_CANCEL);
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                ctx.set_status(KeepaliveStatus::Processing);
                Ok(())
            }
        }
    }

    fn make_credential(
        &mut self,
        req: &MakeCredentialRequest,
        ctx: &RequestContext,
    ) -> CtapResult<Vec<u8>> {
        // §6.1.2 step 3: the first supported algorithm in the RP's order.
        let alg = req
            .pub_key_cred_params
            .iter()
            .filter(|(kind, _)| kind == "public-key")
            .map(|(_, alg)| *alg)
            .find(|alg| self.config.algorithms.contains(alg))
            .ok_or(StatusCode::UNSUPPORTED_ALGORITHM)?;
        // Step 5: this authenticator has no built-in UV and no PIN yet.
        if req.options.uv == Some(true) || req.pin_uv_auth_param.is_some() {
            return Err(StatusCode::UNSUPPORTED_OPTION);
        }
        if req.options.up == Some(false) {
            return Err(StatusCode::INVALID_OPTION);
        }
        // Step 7: an excluded credential still needs a touch before the error,
        // so a page cannot probe silently.
        let excluded = req.exclude_list.iter().any(|d| {
            self.credentials
                .iter()
                .any(|c| c.rp_id == req.rp_id && c.id == d.id)
        });
        self.user_presence(ctx)?;
        if excluded {
            return Err(StatusCode::CREDENTIAL_EXCLUDED);
        }

        let key = CredentialKey::generate(alg)
            .ok_or(StatusCode::UNSUPPORTED_ALGORITHM)?
            .map_err(|_| StatusCode::OTHER)?;
        let mut id = vec![0u8; 32];
        self.rng.fill(&mut id).map_err(|_| StatusCode::OTHER)?;
        let auth_data = AuthenticatorData {
            rp_id_hash: sha256(req.rp_id.as_bytes()),
            flags: Flags(Flags::UP),
            sign_count: 0,
            attested_credential: Some(AttestedCredentialData::new(
                self.config.aaguid,
                id.clone(),
                key.cose_public_key(),
            )),
            extensions: None,
        }
        .to_bytes();
        let (fmt, att_stmt) = match self.config.attestation {
            AttestationMode::None => ("none", Value::Map(Vec::new())),
            AttestationMode::PackedSelf => {
                let signed = [auth_data.as_slice(), &req.client_data_hash].concat();
                let sig = key.sign(&signed).map_err(|_| StatusCode::OTHER)?;
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
            enterprise_attestation: None,
            large_blob_key: None,
            unsigned_extension_outputs: None,
        }
        .to_value();
        // Encoded (and refused if too large) before the credential is kept.
        let response = Self::encode_ok(Some(&response))?;
        self.credentials.push(Credential {
            id,
            rp_id: req.rp_id.clone(),
            user: UserEntity {
                id: req.user_id.clone(),
                name: req.user_name.clone(),
                display_name: req.user_display_name.clone(),
            },
            discoverable: req.options.rk == Some(true),
            key,
            sign_count: 0,
        });
        Ok(response)
    }

    fn get_assertion(
        &mut self,
        req: &GetAssertionRequest,
        ctx: &RequestContext,
    ) -> CtapResult<Value> {
        if req.options.uv == Some(true) || req.pin_uv_auth_param.is_some() {
            return Err(StatusCode::UNSUPPORTED_OPTION);
        }
        let by_allow_list = !req.allow_list.is_empty();
        let found: Vec<usize> = self
            .credentials
            .iter()
            .enumerate()
            .filter(|(_, c)| c.rp_id == req.rp_id)
            .filter(|(_, c)| {
                if by_allow_list {
                    req.allow_list.iter().any(|d| d.id == c.id)
                } else {
                    c.discoverable
                }
            })
            .map(|(i, _)| i)
            // Most recently created first, as CTAP 2.1 §6.2.2 step 12 orders them.
            .rev()
            .collect();
        let up = req.options.up != Some(false);
        if up {
            self.user_presence(ctx)?;
        }
        let (&first, rest) = found.split_first().ok_or(StatusCode::NO_CREDENTIALS)?;
        let number = (!by_allow_list && found.len() > 1).then_some(found.len() as u64);
        if number.is_some() {
            self.pending = Some(PendingAssertions {
                rp_id: req.rp_id.clone(),
                client_data_hash: req.client_data_hash.clone(),
                user_present: up,
                remaining: rest.to_vec(),
                expires: Instant::now() + Duration::from_secs(30),
            });
        }
        self.assert(
            first,
            &req.rp_id,
            &req.client_data_hash,
            up,
            !by_allow_list,
            number,
        )
    }

    fn get_next_assertion(&mut self) -> CtapResult<Value> {
        let mut pending = self.pending.take().ok_or(StatusCode::NOT_ALLOWED)?;
        if Instant::now() > pending.expires || pending.remaining.is_empty() {
            return Err(StatusCode::NOT_ALLOWED);
        }
        let next = pending.remaining.remove(0);
        let result = self.assert(
            next,
            &pending.rp_id.clone(),
            &pending.client_data_hash.clone(),
            pending.user_present,
            true,
            None,
        );
        self.pending = Some(pending);
        result
    }

    fn assert(
        &mut self,
        index: usize,
        rp_id: &str,
        client_data_hash: &[u8],
        user_present: bool,
        include_user: bool,
        number_of_credentials: Option<u64>,
    ) -> CtapResult<Value> {
        let cred = self.credentials.get_mut(index).ok_or(StatusCode::OTHER)?;
        cred.sign_count = cred.sign_count.wrapping_add(1);
        let auth_data = AuthenticatorData {
            rp_id_hash: sha256(rp_id.as_bytes()),
            flags: Flags(if user_present { Flags::UP } else { 0 }),
            sign_count: cred.sign_count,
            attested_credential: None,
            extensions: None,
        }
        .to_bytes();
        let signed = [auth_data.as_slice(), client_data_hash].concat();
        let signature = cred.key.sign(&signed).map_err(|_| StatusCode::OTHER)?;
        Ok(GetAssertionResponse {
            credential_id: Some(cred.id.clone()),
            auth_data,
            signature,
            // Without user verification only the user id may be returned (§6.2.2 step 12).
            user: (include_user && cred.discoverable).then(|| UserEntity {
                id: cred.user.id.clone(),
                name: None,
                display_name: None,
            }),
            number_of_credentials,
            user_selected: None,
            large_blob_key: None,
        }
        .to_value())
    }

    fn reset(&mut self, ctx: &RequestContext) -> CtapResult<()> {
        if self.powered_up.elapsed() > self.config.reset_window {
            return Err(StatusCode::NOT_ALLOWED);
        }
        self.user_presence(ctx)?;
        self.credentials.clear();
        self.pending = None;
        Ok(())
    }

    /// Simulates unplugging and re-inserting the key (restarts the reset window).
    pub fn power_cycle(&mut self) {
        self.powered_up = Instant::now();
        self.pending = None;
    }

    /// How many credentials the authenticator holds.
    pub fn credential_count(&self) -> usize {
        self.credentials.len()
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
