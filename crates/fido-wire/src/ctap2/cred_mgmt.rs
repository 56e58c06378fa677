//! authenticatorCredentialManagement (CTAP 2.1 §6.8) and
//! authenticatorConfig (§6.11): request and response maps, subcommands, and
//! the exact bytes each pinUvAuthParam authenticates.

use super::fields::{Ctap2Error, MapReader, bytes, int_map};
use super::requests::{Descriptor, PinUvAuthParam};
use super::responses::UserEntity;
use crate::cbor::{self, Value};
use crate::cose::CoseKey;

/// credentialManagement subcommands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CredMgmtSubCommand(pub u64);

impl CredMgmtSubCommand {
    /// getCredsMetadata.
    pub const GET_CREDS_METADATA: Self = Self(0x01);
    /// enumerateRPsBegin.
    pub const ENUMERATE_RPS_BEGIN: Self = Self(0x02);
    /// enumerateRPsGetNextRP.
    pub const ENUMERATE_RPS_NEXT: Self = Self(0x03);
    /// enumerateCredentialsBegin.
    pub const ENUMERATE_CREDENTIALS_BEGIN: Self = Self(0x04);
    /// enumerateCredentialsGetNextCredential.
    pub const ENUMERATE_CREDENTIALS_NEXT: Self = Self(0x05);
    /// deleteCredential.
    pub const DELETE_CREDENTIAL: Self = Self(0x06);
    /// updateUserInformation.
    pub const UPDATE_USER_INFORMATION: Self = Self(0x07);
}

/// subCommandParams of credentialManagement.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CredMgmtParams {
    /// 0x01 rpIDHash.
    pub rp_id_hash: Option<Vec<u8>>,
    /// 0x02 credentialID.
    pub credential_id: Option<Descriptor>,
    /// 0x03 user.
    pub user: Option<UserEntity>,
}

impl CredMgmtParams {
    fn is_empty(&self) -> bool {
        self.rp_id_hash.is_none() && self.credential_id.is_none() && self.user.is_none()
    }

    fn to_value(&self) -> Value {
        int_map(
            vec![
                (0x01, self.rp_id_hash.clone().map(Value::bytes)),
                (0x02, self.credential_id.as_ref().map(Descriptor::to_value)),
                (0x03, self.user.as_ref().map(UserEntity::to_value)),
            ],
            &[],
        )
    }

    fn from_value(value: &Value) -> Result<Self, Ctap2Error> {
        let m = MapReader::new("credentialManagement subCommandParams", value)?;
        Ok(CredMgmtParams {
            rp_id_hash: m.opt(0x01, "rpIDHash", "a byte string", bytes)?,
            credential_id: m.opt(
                0x02,
                "credentialID",
                "a credential descriptor",
                Descriptor::from_value,
            )?,
            user: m.opt(0x03, "user", "a user entity", UserEntity::from_value)?,
        })
    }
}

/// authenticatorCredentialManagement parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredMgmtRequest {
    /// 0x01 subCommand.
    pub sub_command: CredMgmtSubCommand,
    /// 0x02 subCommandParams.
    pub params: Option<CredMgmtParams>,
    /// 0x03 pinUvAuthProtocol.
    pub protocol: Option<u64>,
    /// 0x04 pinUvAuthParam.
    pub pin_uv_auth_param: Option<PinUvAuthParam>,
    /// The subCommandParams exactly as received (what the pinUvAuthParam covers).
    pub params_bytes: Vec<u8>,
}

impl CredMgmtRequest {
    /// A request; `params_bytes` is derived from `params`.
    pub fn new(sub_command: CredMgmtSubCommand, params: Option<CredMgmtParams>) -> Self {
        let params = params.filter(|p| !p.is_empty());
        let params_bytes = params
            .as_ref()
            .map(|p| cbor::to_canonical_vec(&p.to_value()))
            .unwrap_or_default();
        CredMgmtRequest {
            sub_command,
            params,
            protocol: None,
            pin_uv_auth_param: None,
            params_bytes,
        }
    }

    /// What pinUvAuthParam authenticates: subCommand || subCommandParams.
    pub fn auth_message(&self) -> Vec<u8> {
        let mut m = vec![u8::try_from(self.sub_command.0).unwrap_or(u8::MAX)];
        m.extend_from_slice(&self.params_bytes);
        m
    }

    /// Decodes the request map (an authenticator's side).
    pub fn from_value(value: &Value) -> Result<Self, Ctap2Error> {
        let m = MapReader::new("authenticatorCredentialManagement request", value)?;
        let (params, params_bytes) = match m.get(0x02) {
            None => (None, Vec::new()),
            // Our decoder is strict-canonical, so re-encoding gives the bytes received.
            Some(v) => (
                Some(CredMgmtParams::from_value(v)?),
                cbor::to_canonical_vec(v),
            ),
        };
        Ok(CredMgmtRequest {
            sub_command: CredMgmtSubCommand(m.req(
                0x01,
                "subCommand",
                "an unsigned integer",
                Value::as_u64,
            )?),
            params,
            protocol: m.opt(
                0x03,
                "pinUvAuthProtocol",
                "an unsigned integer",
                Value::as_u64,
            )?,
            pin_uv_auth_param: m
                .opt(0x04, "pinUvAuthParam", "a byte string", bytes)?
                .map(PinUvAuthParam),
            params_bytes,
        })
    }

    /// Encodes the request map (a client's side).
    pub fn to_value(&self) -> Value {
        int_map(
            vec![
                (0x01, Some(Value::int(self.sub_command.0))),
                (0x02, self.params.as_ref().map(CredMgmtParams::to_value)),
                (0x03, self.protocol.map(Value::int)),
                (
                    0x04,
                    self.pin_uv_auth_param
                        .as_ref()
                        .map(|p| Value::bytes(p.0.clone())),
                ),
            ],
            &[],
        )
    }
}

/// A relying party as credentialManagement reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpEntity {
    /// RP ID.
    pub id: String,
    /// Name, if stored.
    pub name: Option<String>,
}

/// authenticatorCredentialManagement response members.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CredMgmtResponse {
    /// 0x01 existingResidentCredentialsCount.
    pub existing_count: Option<u64>,
    /// 0x02 maxPossibleRemainingResidentCredentialsCount.
    pub remaining_count: Option<u64>,
    /// 0x03 rp.
    pub rp: Option<RpEntity>,
    /// 0x04 rpIDHash.
    pub rp_id_hash: Option<Vec<u8>>,
    /// 0x05 totalRPs.
    pub total_rps: Option<u64>,
    /// 0x06 user.
    pub user: Option<UserEntity>,
    /// 0x07 credentialID.
    pub credential_id: Option<Descriptor>,
    /// 0x08 publicKey.
    pub public_key: Option<CoseKey>,
    /// 0x09 totalCredentials.
    pub total_credentials: Option<u64>,
    /// 0x0A credProtect.
    pub cred_protect: Option<u64>,
    /// 0x0B largeBlobKey.
    pub large_blob_key: Option<Vec<u8>>,
    /// 0x0C thirdPartyPayment (CTAP 2.2): whether the credential was made
    /// for payments.
    pub third_party_payment: Option<bool>,
}

impl CredMgmtResponse {
    /// Decodes the response map (a client's side).
    pub fn from_value(value: &Value) -> Result<Self, Ctap2Error> {
        let m = MapReader::new("authenticatorCredentialManagement response", value)?;
        let public_key = match m.get(0x08) {
            None => None,
            Some(v) => Some(
                CoseKey::from_value(v)
                    .map_err(|_| m.invalid(0x08, "publicKey", "a COSE_Key", v))?,
            ),
        };
        Ok(CredMgmtResponse {
            existing_count: m.opt(
                0x01,
                "existingResidentCredentialsCount",
                "an unsigned integer",
                Value::as_u64,
            )?,
            remaining_count: m.opt(
                0x02,
                "maxPossibleRemainingResidentCredentialsCount",
                "an unsigned integer",
                Value::as_u64,
            )?,
            rp: m.opt(0x03, "rp", "an RP entity with a text id", |v| {
                Some(RpEntity {
                    id: v.get_text("id")?.as_text()?.to_owned(),
                    name: v
                        .get_text("name")
                        .and_then(Value::as_text)
                        .map(str::to_owned),
                })
            })?,
            rp_id_hash: m.opt(0x04, "rpIDHash", "a byte string", bytes)?,
            total_rps: m.opt(0x05, "totalRPs", "an unsigned integer", Value::as_u64)?,
            user: m.opt(0x06, "user", "a user entity", UserEntity::from_value)?,
            credential_id: m.opt(
                0x07,
                "credentialID",
                "a credential descriptor",
                Descriptor::from_value,
            )?,
            public_key,
            total_credentials: m.opt(
                0x09,
                "totalCredentials",
                "an unsigned integer",
                Value::as_u64,
            )?,
            cred_protect: m.opt(0x0a, "credProtect", "an unsigned integer", Value::as_u64)?,
            large_blob_key: m.opt(0x0b, "largeBlobKey", "a byte string", bytes)?,
            third_party_payment: m.opt(0x0c, "thirdPartyPayment", "a boolean", Value::as_bool)?,
        })
    }

    /// Encodes the response map (an authenticator's side).
    pub fn to_value(&self) -> Value {
        let rp = self.rp.as_ref().map(|rp| {
            let mut m = vec![(Value::text("id"), Value::text(rp.id.clone()))];
            if let Some(name) = &rp.name {
                m.push((Value::text("name"), Value::text(name.clone())));
            }
            Value::Map(m)
        });
        int_map(
            vec![
                (0x01, self.existing_count.map(Value::int)),
                (0x02, self.remaining_count.map(Value::int)),
                (0x03, rp),
                (0x04, self.rp_id_hash.clone().map(Value::bytes)),
                (0x05, self.total_rps.map(Value::int)),
                (0x06, self.user.as_ref().map(UserEntity::to_value)),
                (0x07, self.credential_id.as_ref().map(Descriptor::to_value)),
                (0x08, self.public_key.as_ref().map(CoseKey::to_value)),
                (0x09, self.total_credentials.map(Value::int)),
                (0x0a, self.cred_protect.map(Value::int)),
                (0x0b, self.large_blob_key.clone().map(Value::bytes)),
                (0x0c, self.third_party_payment.map(Value::Bool)),
            ],
            &[],
        )
    }
}

/// authenticatorConfig subcommands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConfigSubCommand(pub u64);

impl ConfigSubCommand {
    /// enableEnterpriseAttestation.
    pub const ENABLE_ENTERPRISE_ATTESTATION: Self = Self(0x01);
    /// toggleAlwaysUv.
    pub const TOGGLE_ALWAYS_UV: Self = Self(0x02);
    /// setMinPINLength.
    pub const SET_MIN_PIN_LENGTH: Self = Self(0x03);
}

/// setMinPINLength's subCommandParams.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MinPinLengthParams {
    /// 0x01 newMinPINLength.
    pub new_min_pin_length: Option<u64>,
    /// 0x02 minPinLengthRPIDs.
    pub rp_ids: Option<Vec<String>>,
    /// 0x03 forceChangePin.
    pub force_change_pin: Option<bool>,
}

/// authenticatorConfig parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigRequest {
    /// 0x01 subCommand.
    pub sub_command: ConfigSubCommand,
    /// 0x02 subCommandParams (setMinPINLength only).
    pub params: Option<MinPinLengthParams>,
    /// 0x03 pinUvAuthProtocol.
    pub protocol: Option<u64>,
    /// 0x04 pinUvAuthParam.
    pub pin_uv_auth_param: Option<PinUvAuthParam>,
    /// The subCommandParams as encoded (what the pinUvAuthParam covers).
    pub params_bytes: Vec<u8>,
}

impl ConfigRequest {
    /// A request; `params_bytes` is derived from `params`.
    pub fn new(sub_command: ConfigSubCommand, params: Option<MinPinLengthParams>) -> Self {
        let params_bytes = params
            .as_ref()
            .map(|p| cbor::to_canonical_vec(&Self::params_value(p)))
            .unwrap_or_default();
        ConfigRequest {
            sub_command,
            params,
            protocol: None,
            pin_uv_auth_param: None,
            params_bytes,
        }
    }

    fn params_value(p: &MinPinLengthParams) -> Value {
        int_map(
            vec![
                (0x01, p.new_min_pin_length.map(Value::int)),
                (
                    0x02,
                    p.rp_ids.as_ref().map(|ids| {
                        Value::Array(ids.iter().map(|s| Value::text(s.clone())).collect())
                    }),
                ),
                (0x03, p.force_change_pin.map(Value::Bool)),
            ],
            &[],
        )
    }

    /// What pinUvAuthParam authenticates: 32×0xff || 0x0d || subCommand || subCommandParams.
    pub fn auth_message(&self) -> Vec<u8> {
        let mut m = vec![0xff; 32];
        m.push(super::command::CONFIG);
        m.push(u8::try_from(self.sub_command.0).unwrap_or(u8::MAX));
        m.extend_from_slice(&self.params_bytes);
        m
    }

    /// Decodes the request map (an authenticator's side).
    pub fn from_value(value: &Value) -> Result<Self, Ctap2Error> {
        let m = MapReader::new("authenticatorConfig request", value)?;
        let (params, params_bytes) = match m.get(0x02) {
            None => (None, Vec::new()),
            Some(v) => {
                let p = MapReader::new("authenticatorConfig subCommandParams", v)?;
                (
                    Some(MinPinLengthParams {
                        new_min_pin_length: p.opt(
                            0x01,
                            "newMinPINLength",
                            "an unsigned integer",
                            Value::as_u64,
                        )?,
                        rp_ids: p.opt(
                            0x02,
                            "minPinLengthRPIDs",
                            "an array of text strings",
                            super::fields::text_list,
                        )?,
                        force_change_pin: p.opt(
                            0x03,
                            "forceChangePin",
                            "a boolean",
                            Value::as_bool,
                        )?,
                    }),
                    cbor::to_canonical_vec(v),
                )
            }
        };
        Ok(ConfigRequest {
            sub_command: ConfigSubCommand(m.req(
                0x01,
                "subCommand",
                "an unsigned integer",
                Value::as_u64,
            )?),
            params,
            protocol: m.opt(
                0x03,
                "pinUvAuthProtocol",
                "an unsigned integer",
                Value::as_u64,
            )?,
            pin_uv_auth_param: m
                .opt(0x04, "pinUvAuthParam", "a byte string", bytes)?
                .map(PinUvAuthParam),
            params_bytes,
        })
    }

    /// Encodes the request map (a client's side).
    pub fn to_value(&self) -> Value {
        int_map(
            vec![
                (0x01, Some(Value::int(self.sub_command.0))),
                (0x02, self.params.as_ref().map(Self::params_value)),
                (0x03, self.protocol.map(Value::int)),
                (
                    0x04,
                    self.pin_uv_auth_param
                        .as_ref()
                        .map(|p| Value::bytes(p.0.clone())),
                ),
            ],
            &[],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cbor::DecodeOptions;

    #[test]
    fn cred_mgmt_request_round_trips_with_the_authenticated_bytes() {
        let mut req = CredMgmtRequest::new(
            CredMgmtSubCommand::DELETE_CREDENTIAL,
            Some(CredMgmtParams {
                credential_id: Some(Descriptor::public_key(vec![1, 2, 3])),
                ..CredMgmtParams::default()
            }),
        );
        req.protocol = Some(2);
        req.pin_uv_auth_param = Some(PinUvAuthParam(vec![0; 32]));
        let bytes = cbor::to_canonical_vec(&req.to_value());
        let back =
            CredMgmtRequest::from_value(&cbor::from_slice(&bytes, &DecodeOptions::CTAP2).unwrap())
                .unwrap();
        assert_eq!(back, req);
        assert_eq!(back.auth_message()[0], 0x06);
        assert_eq!(&back.auth_message()[1..], req.params_bytes.as_slice());
    }

    #[test]
    fn config_auth_message_has_the_ff_prefix() {
        let req = ConfigRequest::new(
            ConfigSubCommand::SET_MIN_PIN_LENGTH,
            Some(MinPinLengthParams {
                new_min_pin_length: Some(6),
                ..MinPinLengthParams::default()
            }),
        );
        let m = req.auth_message();
        assert_eq!(&m[..32], &[0xff; 32]);
        assert_eq!(&m[32..], &[0x0d, 0x03, 0xa1, 0x01, 0x06]);
        let back = ConfigRequest::from_value(&req.to_value()).unwrap();
        assert_eq!(back, req);
    }
}
