//! The authenticator's side of authenticatorClientPIN (CTAP 2.1 §6.5):
//! the PIN, its retry counters and the power-cycle rule, the key agreement
//! key, and the pinUvAuthToken with its permissions and permissions RP ID.
//!
//! What survives a power cycle ([`PinRecord`]) is persisted by the caller;
//! the rest ([`PinSession`]) starts afresh at every power-up, as on a real key.

use fido_wire::ctap2::{
    ClientPinRequest, ClientPinResponse, Encrypted, Permissions, PinSubCommand, StatusCode,
};
use pin_uv_auth::{KeyAgreementKey, Protocol, SharedSecret, pin_hash, unpad_pin};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// PIN attempts before the PIN is blocked for good (until reset).
pub const MAX_PIN_RETRIES: u64 = 8;
/// Consecutive wrong PINs before a power cycle is required.
const MISMATCHES_BEFORE_POWER_CYCLE: u8 = 3;
/// The default minimum PIN length in code points.
pub const DEFAULT_MIN_PIN_LENGTH: u64 = 4;

/// The persistent PIN state.
#[derive(Clone, PartialEq, Eq)]
pub struct PinRecord {
    /// LEFT(SHA-256(PIN), 16), when a PIN is set.
    pub hash: Option<[u8; 16]>,
    /// The PIN's length in code points (to judge it against a new minimum).
    pub code_points: u64,
    /// PIN attempts left.
    pub retries: u64,
    /// minPINLength.
    pub min_length: u64,
    /// forcePINChange.
    pub force_change: bool,
    /// RP IDs allowed to read minPINLength through the extension.
    pub min_length_rp_ids: Vec<String>,
    /// The persistent pinUvAuthToken (CTAP 2.2, permission pcmr): it
    /// survives power cycles and lasts until the PIN changes, a newer one is
    /// issued, or the key is reset.
    pub persistent_token: Option<Zeroizing<[u8; 32]>>,
}

impl std::fmt::Debug for PinRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinRecord")
            .field("set", &self.hash.is_some())
            .field("retries", &self.retries)
            .field("min_length", &self.min_length)
            .field("force_change", &self.force_change)
            .field("persistent_token", &self.persistent_token.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for PinRecord {
    fn default() -> Self {
        PinRecord {
            hash: None,
            code_points: 0,
            retries: MAX_PIN_RETRIES,
            min_length: DEFAULT_MIN_PIN_LENGTH,
            force_change: false,
            min_length_rp_ids: Vec::new(),
            persistent_token: None,
        }
    }
}

/// A pinUvAuthToken in use.
struct Token {
    value: Zeroizing<[u8; 32]>,
    permissions: Permissions,
    rp_id: Option<String>,
    expires: Instant,
    /// userPresent (CTAP 2.1 §6.5.2.2): true when built-in UV collected
    /// presence as it issued the token; cleared once used.
    user_present: bool,
}

/// The volatile PIN state of one power-up.
pub struct PinSession {
    key_agreement: KeyAgreementKey,
    mismatches: u8,
    token: Option<Token>,
    token_lifetime: Duration,
}

/// What a verified pinUvAuthParam grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified;

type CtapResult<T> = Result<T, StatusCode>;

fn random32() -> CtapResult<Zeroizing<[u8; 32]>> {
    use aws_lc_rs::rand::{SecureRandom, SystemRandom};
    let mut v = Zeroizing::new([0u8; 32]);
    SystemRandom::new()
        .fill(v.as_mut())
        .map_err(|_| StatusCode::OTHER)?;
    Ok(v)
}

fn protocol(id: Option<u64>) -> CtapResult<Protocol> {
    Protocol::from_id(id.ok_or(StatusCode::MISSING_PARAMETER)?)
        .map_err(|_| StatusCode::INVALID_PARAMETER)
}

impl PinSession {
    /// A fresh power-up: a new key agreement key, no token, no mismatches.
    pub fn power_up(token_lifetime: Duration) -> CtapResult<Self> {
        Ok(PinSession {
            key_agreement: KeyAgreementKey::generate().map_err(|_| StatusCode::OTHER)?,
            mismatches: 0,
            token: None,
            token_lifetime,
        })
    }

    /// Whether three wrong PINs in a row now require a power cycle.
    pub fn needs_power_cycle(&self) -> bool {
        self.mismatches >= MISMATCHES_BEFORE_POWER_CYCLE
    }

    /// Invalidates the current token (PIN change, reset).
    pub fn reset_token(&mut self) {
        self.token = None;
    }

    fn shared_secret(&self, req: &ClientPinRequest) -> CtapResult<SharedSecret> {
        let protocol = protocol(req.protocol)?;
        let peer = req
            .key_agreement
            .as_ref()
            .ok_or(StatusCode::MISSING_PARAMETER)?;
        self.key_agreement
            .shared_secret(protocol, peer)
            .map_err(|_| StatusCode::INVALID_PARAMETER)
    }

    /// Processes one clientPIN request, updating `record`.
    pub fn process(
        &mut self,
        req: &ClientPinRequest,
        record: &mut PinRecord,
    ) -> CtapResult<ClientPinResponse> {
        match req.sub_command {
            PinSubCommand::GET_PIN_RETRIES => {
                // With no PIN there is no counter to report: answer
                // PIN_NOT_SET, as real keys do and python-fido2's device
                // suite expects after a factory reset (CTAP 2.1 §6.5.5.2
                // names no error; getKeyAgreement must keep working
                // without a PIN, since setPIN needs it).
                if record.hash.is_none() {
                    return Err(StatusCode::PIN_NOT_SET);
                }
                Ok(ClientPinResponse {
                    pin_retries: Some(record.retries),
                    power_cycle_state: Some(self.needs_power_cycle()),
                    ..ClientPinResponse::default()
                })
            }
            PinSubCommand::GET_KEY_AGREEMENT => {
                protocol(req.protocol)?;
                Ok(ClientPinResponse {
                    key_agreement: Some(self.key_agreement.cose_public_key()),
                    ..ClientPinResponse::default()
                })
            }
            PinSubCommand::SET_PIN => self.set_pin(req, record),
            PinSubCommand::CHANGE_PIN => self.change_pin(req, record),
            PinSubCommand::GET_PIN_TOKEN => {
                if req.permissions.is_some() || req.rp_id.is_some() {
                    return Err(StatusCode::INVALID_PARAMETER);
                }
                let legacy = Permissions(Permissions::MAKE_CREDENTIAL | Permissions::GET_ASSERTION);
                self.get_token(req, record, legacy, None)
            }
            PinSubCommand::GET_TOKEN_USING_PIN => {
                let permissions = req.permissions.ok_or(StatusCode::MISSING_PARAMETER)?;
                if permissions.0 == 0 {
                    return Err(StatusCode::INVALID_PARAMETER);
                }
                // CTAP 2.2: pcmr asks for the persistent token, and only
                // for it (a persistent token may do nothing else).
                if permissions.0 & Permissions::PERSISTENT_CREDENTIAL_MANAGEMENT_READ_ONLY != 0 {
                    if permissions.0 != Permissions::PERSISTENT_CREDENTIAL_MANAGEMENT_READ_ONLY {
                        return Err(StatusCode::UNAUTHORIZED_PERMISSION);
                    }
                    return self.get_persistent_token(req, record);
                }
                // be is refused before this on a key without the
                // fingerprint sensor (see `bio`).
                let supported = Permissions::MAKE_CREDENTIAL
                    | Permissions::GET_ASSERTION
                    | Permissions::CREDENTIAL_MANAGEMENT
                    | Permissions::BIO_ENROLLMENT
                    | Permissions::LARGE_BLOB_WRITE
                    | Permissions::AUTHENTICATOR_CONFIG;
                if permissions.0 & !supported != 0 {
                    return Err(StatusCode::UNAUTHORIZED_PERMISSION);
                }
                if permissions.needs_rp_id() && req.rp_id.is_none() {
                    return Err(StatusCode::MISSING_PARAMETER);
                }
                self.get_token(req, record, permissions, req.rp_id.clone())
            }
            // Built-in user verification is answered before this (see
            // `bio`) on a key with the fingerprint sensor.
            PinSubCommand::GET_TOKEN_USING_UV | PinSubCommand::GET_UV_RETRIES => {
                Err(StatusCode::INVALID_SUBCOMMAND)
            }
            _ => Err(StatusCode::INVALID_SUBCOMMAND),
        }
    }

    /// Decrypts and checks a new PIN (setPIN, changePIN) and stores it.
    fn store_new_pin(
        shared: &SharedSecret,
        new_pin_enc: &Encrypted,
        record: &mut PinRecord,
    ) -> CtapResult<()> {
        let padded = shared
            .decrypt(&new_pin_enc.0)
            .map_err(|_| StatusCode::PIN_POLICY_VIOLATION)?;
        let (pin, code_points) =
            unpad_pin(&padded).map_err(|_| StatusCode::PIN_POLICY_VIOLATION)?;
        if (code_points as u64) < record.min_length {
            return Err(StatusCode::PIN_POLICY_VIOLATION);
        }
        let hash = pin_hash(&pin);
        // A forced change must really change the PIN.
        if record.force_change && record.hash == Some(hash) {
            return Err(StatusCode::PIN_POLICY_VIOLATION);
        }
        record.hash = Some(hash);
        record.code_points = code_points as u64;
        record.retries = MAX_PIN_RETRIES;
        record.force_change = false;
        // A new PIN ends the persistent token too.
        record.persistent_token = None;
        Ok(())
    }

    fn set_pin(
        &mut self,
        req: &ClientPinRequest,
        record: &mut PinRecord,
    ) -> CtapResult<ClientPinResponse> {
        let new_pin_enc = req
            .new_pin_enc
            .as_ref()
            .ok_or(StatusCode::MISSING_PARAMETER)?;
        let param = req
            .pin_uv_auth_param
            .as_ref()
            .ok_or(StatusCode::MISSING_PARAMETER)?;
        let shared = self.shared_secret(req)?;
        if record.hash.is_some() {
            return Err(StatusCode::NOT_ALLOWED);
        }
        shared
            .verify(&new_pin_enc.0, &param.0)
            .map_err(|_| StatusCode::PIN_AUTH_INVALID)?;
        Self::store_new_pin(&shared, new_pin_enc, record)?;
        Ok(ClientPinResponse::default())
    }

    /// The PIN check shared by changePIN and the token subcommands (§6.5.5.5
    /// steps "decrement pinRetries" to "reset the counters").
    fn check_pin_hash(
        &mut self,
        shared: &SharedSecret,
        pin_hash_enc: &Encrypted,
        record: &mut PinRecord,
    ) -> CtapResult<()> {
        let expected = record.hash.ok_or(StatusCode::PIN_NOT_SET)?;
        if record.retries == 0 {
            return Err(StatusCode::PIN_BLOCKED);
        }
        if self.needs_power_cycle() {
            return Err(StatusCode::PIN_AUTH_BLOCKED);
        }
        record.retries -= 1;
        let matches = shared.decrypt(&pin_hash_enc.0).ok().is_some_and(|h| {
            aws_lc_rs::constant_time::verify_slices_are_equal(&h, &expected).is_ok()
        });
        if !matches {
            // A new key agreement key, so a captured exchange cannot be replayed.
            self.key_agreement = KeyAgreementKey::generate().map_err(|_| StatusCode::OTHER)?;
            self.mismatches = self.mismatches.saturating_add(1);
            return Err(if record.retries == 0 {
                StatusCode::PIN_BLOCKED
            } else if self.needs_power_cycle() {
                StatusCode::PIN_AUTH_BLOCKED
            } else {
                StatusCode::PIN_INVALID
            });
        }
        record.retries = MAX_PIN_RETRIES;
        self.mismatches = 0;
        Ok(())
    }

    fn change_pin(
        &mut self,
        req: &ClientPinRequest,
        record: &mut PinRecord,
    ) -> CtapResult<ClientPinResponse> {
        let (Some(new_pin_enc), Some(pin_hash_enc), Some(param)) =
            (&req.new_pin_enc, &req.pin_hash_enc, &req.pin_uv_auth_param)
        else {
            return Err(StatusCode::MISSING_PARAMETER);
        };
        let shared = self.shared_secret(req)?;
        if record.hash.is_none() {
            return Err(StatusCode::PIN_NOT_SET);
        }
        if record.retries == 0 {
            return Err(StatusCode::PIN_BLOCKED);
        }
        let message = [new_pin_enc.0.as_slice(), &pin_hash_enc.0].concat();
        shared
            .verify(&message, &param.0)
            .map_err(|_| StatusCode::PIN_AUTH_INVALID)?;
        self.check_pin_hash(&shared, pin_hash_enc, record)?;
        Self::store_new_pin(&shared, new_pin_enc, record)?;
        self.reset_token();
        Ok(ClientPinResponse::default())
    }

    /// The PIN checked (retries, power-cycle rule), then a fresh token
    /// value and its encryption for the platform; the caller keeps it as
    /// the ordinary or the persistent token.
    fn new_token_for_pin(
        &mut self,
        req: &ClientPinRequest,
        record: &mut PinRecord,
    ) -> CtapResult<(Zeroizing<[u8; 32]>, Vec<u8>)> {
        let pin_hash_enc = req
            .pin_hash_enc
            .as_ref()
            .ok_or(StatusCode::MISSING_PARAMETER)?;
        let shared = self.shared_secret(req)?;
        self.check_pin_hash(&shared, pin_hash_enc, record)?;
        // CTAP 2.1 §6.5.5.7.1 / §6.5.5.7.2: after a correct PIN has reset
        // the retry counter, a pending forced change refuses the token with
        // PIN_INVALID; only changePIN (which clears forcePINChange) helps.
        if record.force_change {
            return Err(StatusCode::PIN_INVALID);
        }
        let value = random32()?;
        let encrypted = shared
            .encrypt(value.as_ref())
            .map_err(|_| StatusCode::OTHER)?;
        Ok((value, encrypted))
    }

    fn get_token(
        &mut self,
        req: &ClientPinRequest,
        record: &mut PinRecord,
        permissions: Permissions,
        rp_id: Option<String>,
    ) -> CtapResult<ClientPinResponse> {
        let (value, encrypted) = self.new_token_for_pin(req, record)?;
        // Every earlier token is invalidated by a new one.
        self.token = Some(Token {
            value,
            permissions,
            rp_id,
            expires: Instant::now() + self.token_lifetime,
            user_present: false,
        });
        Ok(ClientPinResponse {
            pin_uv_auth_token: Some(Encrypted(encrypted)),
            ..ClientPinResponse::default()
        })
    }

    /// The token getPinUvAuthTokenUsingUvWithPermissions issues once
    /// built-in UV has matched (CTAP 2.1 §6.5.5.7.3): a fresh value,
    /// userPresent set (the finger on the sensor was a touch), encrypted
    /// for the platform under the request's key agreement.
    pub fn grant_token_for_uv(
        &mut self,
        req: &ClientPinRequest,
        permissions: Permissions,
    ) -> CtapResult<ClientPinResponse> {
        let shared = self.shared_secret(req)?;
        let value = random32()?;
        let encrypted = shared
            .encrypt(value.as_ref())
            .map_err(|_| StatusCode::OTHER)?;
        self.token = Some(Token {
            value,
            permissions,
            rp_id: req.rp_id.clone(),
            expires: Instant::now() + self.token_lifetime,
            user_present: true,
        });
        Ok(ClientPinResponse {
            pin_uv_auth_token: Some(Encrypted(encrypted)),
            ..ClientPinResponse::default()
        })
    }

    /// Checks what getPinUvAuthTokenUsingUvWithPermissions needs before
    /// the finger is asked for (§6.5.5.7.3 steps 1-2): a supported
    /// protocol and a usable key agreement.
    pub fn check_key_agreement(&self, req: &ClientPinRequest) -> CtapResult<()> {
        self.shared_secret(req).map(|_| ())
    }

    /// getUserPresentFlagValue (§6.5.2.2): whether the current token
    /// carries a touch not yet used.
    pub fn token_user_present(&self) -> bool {
        self.token.as_ref().is_some_and(|t| t.user_present)
    }

    /// getPinUvAuthTokenUsingPinWithPermissions with pcmr alone: the PIN
    /// checked as for any token, then a new persistent token replaces the
    /// previous one (the ordinary token is left as it is).
    fn get_persistent_token(
        &mut self,
        req: &ClientPinRequest,
        record: &mut PinRecord,
    ) -> CtapResult<ClientPinResponse> {
        let (value, encrypted) = self.new_token_for_pin(req, record)?;
        record.persistent_token = Some(value);
        Ok(ClientPinResponse {
            pin_uv_auth_token: Some(Encrypted(encrypted)),
            ..ClientPinResponse::default()
        })
    }

    /// Verifies a pinUvAuthParam over `message` against the current token,
    /// requiring `permission` and, for RP-scoped permissions, binding the
    /// token to `rp_id` on first use (CTAP 2.1 §6.1.2 step 11, §6.2.2 step 9).
    pub fn verify_token(
        &mut self,
        protocol_id: Option<u64>,
        param: &[u8],
        message: &[u8],
        permission: u64,
        rp_id: Option<&str>,
    ) -> CtapResult<Verified> {
        let protocol = protocol(protocol_id)?;
        let token = self.token.as_mut().ok_or(StatusCode::PIN_AUTH_INVALID)?;
        if Instant::now() > token.expires {
            self.token = None;
            return Err(StatusCode::PIN_AUTH_INVALID);
        }
        protocol
            .verify(token.value.as_ref(), message, param)
            .map_err(|_| StatusCode::PIN_AUTH_INVALID)?;
        if !token.permissions.contains(permission) {
            return Err(StatusCode::PIN_AUTH_INVALID);
        }
        match (&token.rp_id, rp_id) {
            (Some(bound), Some(rp)) if bound != rp => return Err(StatusCode::PIN_AUTH_INVALID),
            (None, Some(rp)) => token.rp_id = Some(rp.to_owned()),
            _ => {}
        }
        Ok(Verified)
    }

    /// clearPinUvAuthTokenPermissionsExceptLbw (CTAP 2.1 §6.1.2 step 14,
    /// §6.2.2 step 9): once makeCredential or getAssertion has collected
    /// user presence, the token cannot make or get another credential.
    pub fn clear_permissions_except_lbw(&mut self) {
        if let Some(token) = &mut self.token {
            token.permissions.0 &= Permissions::LARGE_BLOB_WRITE;
            // clearUserPresentFlag: the touch has been used.
            token.user_present = false;
        }
    }

    /// The RP ID the current token is bound to, if any.
    pub fn token_rp_id(&self) -> Option<&str> {
        self.token.as_ref().and_then(|t| t.rp_id.as_deref())
    }

    /// The key agreement key, for hmac-secret.
    pub fn key_agreement(&self) -> &KeyAgreementKey {
        &self.key_agreement
    }
}

/// Verifies a pinUvAuthParam over `message` against the persistent token
/// (CTAP 2.2 pcmr), if there is one.
pub fn verify_persistent(
    record: &PinRecord,
    protocol_id: Option<u64>,
    param: &[u8],
    message: &[u8],
) -> CtapResult<()> {
    let protocol = protocol(protocol_id)?;
    let token = record
        .persistent_token
        .as_ref()
        .ok_or(StatusCode::PIN_AUTH_INVALID)?;
    protocol
        .verify(token.as_ref(), message, param)
        .map_err(|_| StatusCode::PIN_AUTH_INVALID)
}
