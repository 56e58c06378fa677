//! authenticatorClientPIN (CTAP 2.1 §6.5.5): the request and response maps,
//! subcommands and pinUvAuthToken permissions, from one definition for both
//! ends. The cryptography lives in the `pin-uv-auth` crate.

use super::fields::{Ctap2Error, MapReader, bytes, int_map};
use super::requests::PinUvAuthParam;
use crate::cbor::Value;
use crate::cose::CoseKey;
use std::fmt;

/// clientPIN subcommands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PinSubCommand(pub u64);

impl PinSubCommand {
    /// getPINRetries.
    pub const GET_PIN_RETRIES: PinSubCommand = PinSubCommand(0x01);
    /// getKeyAgreement.
    pub const GET_KEY_AGREEMENT: PinSubCommand = PinSubCommand(0x02);
    /// setPIN.
    pub const SET_PIN: PinSubCommand = PinSubCommand(0x03);
    /// changePIN.
    pub const CHANGE_PIN: PinSubCommand = PinSubCommand(0x04);
    /// getPinToken (superseded, no permissions: mc and ga implied).
    pub const GET_PIN_TOKEN: PinSubCommand = PinSubCommand(0x05);
    /// getPinUvAuthTokenUsingUvWithPermissions.
    pub const GET_TOKEN_USING_UV: PinSubCommand = PinSubCommand(0x06);
    /// getUVRetries.
    pub const GET_UV_RETRIES: PinSubCommand = PinSubCommand(0x07);
    /// getPinUvAuthTokenUsingPinWithPermissions.
    pub const GET_TOKEN_USING_PIN: PinSubCommand = PinSubCommand(0x09);
}

/// pinUvAuthToken permissions (CTAP 2.1 §6.5.5.7), a bit set.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Permissions(pub u64);

impl Permissions {
    /// makeCredential.
    pub const MAKE_CREDENTIAL: u64 = 0x01;
    /// getAssertion.
    pub const GET_ASSERTION: u64 = 0x02;
    /// credentialManagement.
    pub const CREDENTIAL_MANAGEMENT: u64 = 0x04;
    /// bioEnrollment.
    pub const BIO_ENROLLMENT: u64 = 0x08;
    /// largeBlobWrite.
    pub const LARGE_BLOB_WRITE: u64 = 0x10;
    /// authenticatorConfig.
    pub const AUTHENTICATOR_CONFIG: u64 = 0x20;
    /// persistentCredentialManagementReadOnly (CTAP 2.2): a persistent
    /// token for read-only credential management.
    pub const PERSISTENT_CREDENTIAL_MANAGEMENT_READ_ONLY: u64 = 0x40;

    const NAMES: [(u64, &'static str); 7] = [
        (Self::MAKE_CREDENTIAL, "mc"),
        (Self::GET_ASSERTION, "ga"),
        (Self::CREDENTIAL_MANAGEMENT, "cm"),
        (Self::BIO_ENROLLMENT, "be"),
        (Self::LARGE_BLOB_WRITE, "lbw"),
        (Self::AUTHENTICATOR_CONFIG, "acfg"),
        (Self::PERSISTENT_CREDENTIAL_MANAGEMENT_READ_ONLY, "pcmr"),
    ];

    /// Whether every bit of `bits` is granted.
    pub fn contains(self, bits: u64) -> bool {
        self.0 & bits == bits
    }

    /// Whether an rpId must accompany the request (mc and ga are RP-scoped).
    pub fn needs_rp_id(self) -> bool {
        self.0 & (Self::MAKE_CREDENTIAL | Self::GET_ASSERTION) != 0
    }
}

impl fmt::Debug for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Self::NAMES
            .iter()
            .filter(|(bit, _)| self.0 & bit != 0)
            .map(|(_, n)| *n)
            .collect();
        write!(f, "Permissions({})", names.join("|"))
    }
}

/// Ciphertext that carries a PIN, a PIN hash or a token: shown by `Debug`
/// only as a length.
#[derive(Clone, PartialEq, Eq)]
pub struct Encrypted(pub Vec<u8>);

impl fmt::Debug for Encrypted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<encrypted, {} bytes>", self.0.len())
    }
}

/// authenticatorClientPIN parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientPinRequest {
    /// 0x01 pinUvAuthProtocol (absent for getPINRetries and getUVRetries).
    pub protocol: Option<u64>,
    /// 0x02 subCommand.
    pub sub_command: PinSubCommand,
    /// 0x03 keyAgreement: the platform's key.
    pub key_agreement: Option<CoseKey>,
    /// 0x04 pinUvAuthParam.
    pub pin_uv_auth_param: Option<PinUvAuthParam>,
    /// 0x05 newPinEnc.
    pub new_pin_enc: Option<Encrypted>,
    /// 0x06 pinHashEnc.
    pub pin_hash_enc: Option<Encrypted>,
    /// 0x09 permissions.
    pub permissions: Option<Permissions>,
    /// 0x0A rpId (the permissions RP ID).
    pub rp_id: Option<String>,
}

impl ClientPinRequest {
    /// A request with only the subcommand (and the protocol, when given).
    pub fn new(protocol: Option<u64>, sub_command: PinSubCommand) -> Self {
        ClientPinRequest {
            protocol,
            sub_command,
            key_agreement: None,
            pin_uv_auth_param: None,
            new_pin_enc: None,
            pin_hash_enc: None,
            permissions: None,
            rp_id: None,
        }
    }

    /// Decodes the request map (an authenticator's side).
    pub fn from_value(value: &Value) -> Result<Self, Ctap2Error> {
        let m = MapReader::new("authenticatorClientPIN request", value)?;
        let key_agreement = match m.get(0x03) {
            None => None,
            Some(v) => Some(
                CoseKey::from_value(v)
                    .map_err(|_| m.invalid(0x03, "keyAgreement", "a COSE_Key", v))?,
            ),
        };
        Ok(ClientPinRequest {
            protocol: m.opt(
                0x01,
                "pinUvAuthProtocol",
                "an unsigned integer",
                Value::as_u64,
            )?,
            sub_command: PinSubCommand(m.req(
                0x02,
                "subCommand",
                "an unsigned integer",
                Value::as_u64,
            )?),
            key_agreement,
            pin_uv_auth_param: m
                .opt(0x04, "pinUvAuthParam", "a byte string", bytes)?
                .map(PinUvAuthParam),
            new_pin_enc: m
                .opt(0x05, "newPinEnc", "a byte string", bytes)?
                .map(Encrypted),
            pin_hash_enc: m
                .opt(0x06, "pinHashEnc", "a byte string", bytes)?
                .map(Encrypted),
            permissions: m
                .opt(0x09, "permissions", "an unsigned integer", Value::as_u64)?
                .map(Permissions),
            rp_id: m.opt(0x0a, "rpId", "a text string", |v| {
                v.as_text().map(str::to_owned)
            })?,
        })
    }

    /// Encodes the request map (a client's side).
    pub fn to_value(&self) -> Value {
        int_map(
            vec![
                (0x01, self.protocol.map(Value::int)),
                (0x02, Some(Value::int(self.sub_command.0))),
                (0x03, self.key_agreement.as_ref().map(CoseKey::to_value)),
                (
                    0x04,
                    self.pin_uv_auth_param
                        .as_ref()
                        .map(|p| Value::bytes(p.0.clone())),
                ),
                (
                    0x05,
                    self.new_pin_enc.as_ref().map(|e| Value::bytes(e.0.clone())),
                ),
                (
                    0x06,
                    self.pin_hash_enc
                        .as_ref()
                        .map(|e| Value::bytes(e.0.clone())),
                ),
                (0x09, self.permissions.map(|p| Value::int(p.0))),
                (0x0a, self.rp_id.clone().map(Value::text)),
            ],
            &[],
        )
    }
}

/// authenticatorClientPIN response members.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientPinResponse {
    /// 0x01 keyAgreement: the authenticator's key.
    pub key_agreement: Option<CoseKey>,
    /// 0x02 pinUvAuthToken, encrypted with the shared secret.
    pub pin_uv_auth_token: Option<Encrypted>,
    /// 0x03 pinRetries.
    pub pin_retries: Option<u64>,
    /// 0x04 powerCycleState: a power cycle is needed before the next PIN attempt.
    pub power_cycle_state: Option<bool>,
    /// 0x05 uvRetries.
    pub uv_retries: Option<u64>,
}

impl ClientPinResponse {
    /// Decodes the response map (a client's side).
    pub fn from_value(value: &Value) -> Result<Self, Ctap2Error> {
        let m = MapReader::new("authenticatorClientPIN response", value)?;
        let key_agreement = match m.get(0x01) {
            None => None,
            Some(v) => Some(
                CoseKey::from_value(v)
                    .map_err(|_| m.invalid(0x01, "keyAgreement", "a COSE_Key", v))?,
            ),
        };
        Ok(ClientPinResponse {
            key_agreement,
            pin_uv_auth_token: m
                .opt(0x02, "pinUvAuthToken", "a byte string", bytes)?
                .map(Encrypted),
            pin_retries: m.opt(0x03, "pinRetries", "an unsigned integer", Value::as_u64)?,
            power_cycle_state: m.opt(0x04, "powerCycleState", "a boolean", Value::as_bool)?,
            uv_retries: m.opt(0x05, "uvRetries", "an unsigned integer", Value::as_u64)?,
        })
    }

    /// Encodes the response map (an authenticator's side).
    pub fn to_value(&self) -> Value {
        int_map(
            vec![
                (0x01, self.key_agreement.as_ref().map(CoseKey::to_value)),
                (
                    0x02,
                    self.pin_uv_auth_token
                        .as_ref()
                        .map(|e| Value::bytes(e.0.clone())),
                ),
                (0x03, self.pin_retries.map(Value::int)),
                (0x04, self.power_cycle_state.map(Value::Bool)),
                (0x05, self.uv_retries.map(Value::int)),
            ],
            &[],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cbor::{self, DecodeOptions};

    #[test]
    fn request_round_trips_canonically_and_hides_ciphertexts() {
        let mut req = ClientPinRequest::new(Some(2), PinSubCommand::GET_TOKEN_USING_PIN);
        req.pin_hash_enc = Some(Encrypted(vec![9; 32]));
        req.permissions = Some(Permissions(
            Permissions::MAKE_CREDENTIAL | Permissions::CREDENTIAL_MANAGEMENT,
        ));
        req.rp_id = Some("example.com".into());
        let bytes = cbor::to_canonical_vec(&req.to_value());
        let back = cbor::from_slice(&bytes, &DecodeOptions::CTAP2).unwrap();
        assert_eq!(ClientPinRequest::from_value(&back).unwrap(), req);
        let shown = format!("{req:?}");
        assert!(shown.contains("<encrypted, 32 bytes>") && shown.contains("mc|cm"));
        assert!(req.permissions.unwrap().needs_rp_id());
    }

    #[test]
    fn missing_subcommand_is_named() {
        let err = ClientPinRequest::from_value(&Value::map([(Value::int(1), Value::int(2))]))
            .unwrap_err();
        assert!(err.to_string().contains("subCommand"), "{err}");
    }
}
