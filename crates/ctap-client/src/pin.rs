//! The platform's side of authenticatorClientPIN (CTAP 2.1 §6.5): retries,
//! key agreement, setPIN, changePIN, getPinToken and
//! getPinUvAuthTokenUsingPinWithPermissions, getUVRetries,
//! getPinUvAuthTokenUsingUvWithPermissions (built-in UV) — and the
//! [`PinToken`] they yield, which authenticates later requests.

use crate::device::Device;
use crate::error::CtapError;
use ctaphid::Transaction;
use fido_wire::cbor::Value;
use fido_wire::ctap2::{
    ClientPinRequest, ClientPinResponse, Encrypted, Permissions, PinSubCommand, PinUvAuthParam,
    command,
};
use pin_uv_auth::{KeyAgreementKey, Protocol, SharedSecret, pad_pin, pin_hash};
use std::fmt;
use zeroize::Zeroizing;

/// A pinUvAuthToken: authenticates requests; never shown.
pub struct PinToken {
    protocol: Protocol,
    token: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for PinToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PinToken(protocol {}, <redacted>)", self.protocol.id())
    }
}

impl PinToken {
    /// The protocol it belongs to.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// authenticate(token, message) as a pinUvAuthParam.
    pub fn authenticate(&self, message: &[u8]) -> PinUvAuthParam {
        PinUvAuthParam(self.protocol.authenticate(&self.token, message))
    }

    /// A getInfo member sealed under this (persistent, pcmr) token —
    /// encIdentifier or encCredStoreState (CTAP 2.2) — decrypted; `None`
    /// when the key sent none. `label` is
    /// [`pin_uv_auth::persistent::ENC_IDENTIFIER`] or `ENC_CRED_STORE_STATE`.
    pub fn open_info_member(
        &self,
        label: &[u8],
        sealed: Option<&[u8]>,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, CtapError> {
        sealed
            .map(|s| pin_uv_auth::persistent::open(&self.token, label, s))
            .transpose()
            .map_err(CtapError::from)
    }
}

/// PIN retries as the key reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinRetries {
    /// Attempts left before the PIN blocks for good.
    pub retries: u64,
    /// A power cycle (re-plug) is needed before the next attempt.
    pub power_cycle_required: bool,
}

/// A clientPIN response lacking the member the subcommand must return.
fn missing(what: &'static str, key: i64, name: &'static str) -> CtapError {
    CtapError::Response {
        command: "authenticatorClientPIN",
        source: fido_wire::ctap2::Ctap2Error::Missing { what, key, name },
    }
}

impl Device {
    /// The PIN/UV auth protocol to use: the key's first that we support.
    pub fn pin_protocol(&self) -> Result<Protocol, CtapError> {
        let listed = &self.info().pin_uv_auth_protocols;
        if listed.is_empty() && self.info().option("clientPin").is_some() {
            // CTAP 2.0 keys may omit the list; protocol one is implied.
            return Ok(Protocol::One);
        }
        listed
            .iter()
            .find_map(|id| Protocol::from_id(*id).ok())
            .ok_or(CtapError::Unsupported("PIN/UV auth protocols 1 or 2"))
    }

    fn client_pin(&mut self, req: &ClientPinRequest) -> Result<ClientPinResponse, CtapError> {
        let tx = Transaction::with_timeout(self.timeout);
        self.client_pin_tx(req, tx)
    }

    fn client_pin_tx(
        &mut self,
        req: &ClientPinRequest,
        tx: Transaction<'_>,
    ) -> Result<ClientPinResponse, CtapError> {
        let body = self.call(command::CLIENT_PIN, Some(&req.to_value()), tx)?;
        ClientPinResponse::from_value(&body.unwrap_or(Value::Map(Vec::new()))).map_err(|source| {
            CtapError::Response {
                command: "authenticatorClientPIN",
                source,
            }
        })
    }

    /// getPINRetries.
    pub fn pin_retries(&mut self) -> Result<PinRetries, CtapError> {
        let r = self.client_pin(&ClientPinRequest::new(None, PinSubCommand::GET_PIN_RETRIES))?;
        Ok(PinRetries {
            retries: r
                .pin_retries
                .ok_or(missing("getPINRetries response", 3, "pinRetries"))?,
            power_cycle_required: r.power_cycle_state.unwrap_or(false),
        })
    }

    /// getUVRetries (keys with built-in user verification).
    pub fn uv_retries(&mut self) -> Result<u64, CtapError> {
        if self.info().option("uv").is_none() {
            return Err(CtapError::Unsupported("built-in user verification"));
        }
        let r = self.client_pin(&ClientPinRequest::new(None, PinSubCommand::GET_UV_RETRIES))?;
        Ok(r.uv_retries.unwrap_or(0))
    }

    /// getKeyAgreement, then encapsulate: our public key and the shared secret.
    pub fn key_agreement(
        &mut self,
        protocol: Protocol,
    ) -> Result<(fido_wire::cose::CoseKey, SharedSecret), CtapError> {
        let r = self.client_pin(&ClientPinRequest::new(
            Some(protocol.id()),
            PinSubCommand::GET_KEY_AGREEMENT,
        ))?;
        let peer = r
            .key_agreement
            .ok_or(missing("getKeyAgreement response", 1, "keyAgreement"))?;
        let ours = KeyAgreementKey::generate()?;
        let shared = ours.shared_secret(protocol, &peer)?;
        Ok((ours.cose_public_key(), shared))
    }

    /// setPIN: the key must have no PIN yet.
    pub fn set_pin(&mut self, new_pin: &str) -> Result<(), CtapError> {
        let protocol = self.pin_protocol()?;
        let padded = pad_pin(new_pin)?;
        let (platform_key, shared) = self.key_agreement(protocol)?;
        let new_pin_enc = shared.encrypt(&padded)?;
        let mut req = ClientPinRequest::new(Some(protocol.id()), PinSubCommand::SET_PIN);
        req.pin_uv_auth_param = Some(PinUvAuthParam(shared.authenticate(&new_pin_enc)));
        req.key_agreement = Some(platform_key);
        req.new_pin_enc = Some(Encrypted(new_pin_enc));
        self.client_pin(&req)?;
        self.get_info()?;
        Ok(())
    }

    /// changePIN.
    pub fn change_pin(&mut self, current: &str, new_pin: &str) -> Result<(), CtapError> {
        let protocol = self.pin_protocol()?;
        let padded = pad_pin(new_pin)?;
        let (platform_key, shared) = self.key_agreement(protocol)?;
        let new_pin_enc = shared.encrypt(&padded)?;
        let pin_hash_enc = shared.encrypt(&pin_hash(current.as_bytes()))?;
        let mut req = ClientPinRequest::new(Some(protocol.id()), PinSubCommand::CHANGE_PIN);
        req.pin_uv_auth_param = Some(PinUvAuthParam(
            shared.authenticate(&[new_pin_enc.as_slice(), &pin_hash_enc].concat()),
        ));
        req.key_agreement = Some(platform_key);
        req.new_pin_enc = Some(Encrypted(new_pin_enc));
        req.pin_hash_enc = Some(Encrypted(pin_hash_enc));
        self.client_pin(&req)?;
        self.get_info()?;
        Ok(())
    }

    /// A pinUvAuthToken from the PIN: with `permissions` (and the RP ID the
    /// mc/ga permissions need) on CTAP 2.1 keys, through the legacy
    /// getPinToken on keys without the pinUvAuthToken option.
    pub fn pin_token(
        &mut self,
        pin: &str,
        permissions: Permissions,
        rp_id: Option<&str>,
    ) -> Result<PinToken, CtapError> {
        let with_permissions = self.info().option("pinUvAuthToken") == Some(true);
        self.pin_token_inner(pin, with_permissions.then_some((permissions, rp_id)))
    }

    /// The persistent pinUvAuthToken (CTAP 2.2, permission pcmr) on keys
    /// with the perCredMgmtRO option: it lists credentials (read-only) and
    /// opens encIdentifier and encCredStoreState, and lasts across power
    /// cycles until the PIN changes or a newer one is made.
    pub fn persistent_token(&mut self, pin: &str) -> Result<PinToken, CtapError> {
        if self.info().option("perCredMgmtRO") != Some(true) {
            return Err(CtapError::Unsupported(
                "persistent read-only credential management",
            ));
        }
        self.pin_token(
            pin,
            Permissions(Permissions::PERSISTENT_CREDENTIAL_MANAGEMENT_READ_ONLY),
            None,
        )
    }

    /// Whether built-in user verification is configured (getInfo `uv`
    /// true: a finger enrolled) and can issue tokens (`pinUvAuthToken`).
    pub fn built_in_uv_ready(&self) -> bool {
        self.info().option("uv") == Some(true) && self.info().option("pinUvAuthToken") == Some(true)
    }

    /// getPinUvAuthTokenUsingUvWithPermissions (CTAP 2.1 §6.5.5.7.3): a
    /// token from built-in user verification. The key waits for the
    /// user's finger, so `tx` carries the keepalive callback and the
    /// cancel; UV_INVALID (no match) and UV_BLOCKED come back as statuses.
    pub fn uv_token(
        &mut self,
        permissions: Permissions,
        rp_id: Option<&str>,
        tx: Transaction<'_>,
    ) -> Result<PinToken, CtapError> {
        if !self.built_in_uv_ready() {
            return Err(CtapError::Unsupported("built-in user verification"));
        }
        let protocol = self.pin_protocol()?;
        let (platform_key, shared) = self.key_agreement(protocol)?;
        let mut req = ClientPinRequest::new(Some(protocol.id()), PinSubCommand::GET_TOKEN_USING_UV);
        req.key_agreement = Some(platform_key);
        req.permissions = Some(permissions);
        req.rp_id = rp_id.map(str::to_owned);
        let r = self.client_pin_tx(&req, tx)?;
        Self::open_token(protocol, &shared, r)
    }

    fn open_token(
        protocol: Protocol,
        shared: &SharedSecret,
        r: ClientPinResponse,
    ) -> Result<PinToken, CtapError> {
        let encrypted = r.pin_uv_auth_token.ok_or(missing(
            "getPinUvAuthToken response",
            2,
            "pinUvAuthToken",
        ))?;
        let token = shared.decrypt(&encrypted.0)?;
        Ok(PinToken {
            protocol,
            token: Zeroizing::new(token.to_vec()),
        })
    }

    /// The CTAP 2.0 getPinToken (no permissions: the token may make and get
    /// credentials for any RP). [`Device::pin_token`] uses it by itself on
    /// keys without the pinUvAuthToken option.
    pub fn legacy_pin_token(&mut self, pin: &str) -> Result<PinToken, CtapError> {
        self.pin_token_inner(pin, None)
    }

    fn pin_token_inner(
        &mut self,
        pin: &str,
        scope: Option<(Permissions, Option<&str>)>,
    ) -> Result<PinToken, CtapError> {
        let protocol = self.pin_protocol()?;
        let (platform_key, shared) = self.key_agreement(protocol)?;
        let pin_hash_enc = shared.encrypt(&pin_hash(pin.as_bytes()))?;
        let mut req = if let Some((permissions, rp_id)) = scope {
            let mut r =
                ClientPinRequest::new(Some(protocol.id()), PinSubCommand::GET_TOKEN_USING_PIN);
            r.permissions = Some(permissions);
            r.rp_id = rp_id.map(str::to_owned);
            r
        } else {
            ClientPinRequest::new(Some(protocol.id()), PinSubCommand::GET_PIN_TOKEN)
        };
        req.key_agreement = Some(platform_key);
        req.pin_hash_enc = Some(Encrypted(pin_hash_enc));
        let r = self.client_pin(&req)?;
        Self::open_token(protocol, &shared, r)
    }
}
