//! credentialManagement (CTAP 2.1 §6.8, and the 2.1-PRE prototype command)
//! and authenticatorConfig (§6.11), each authenticated with a [`PinToken`].

use crate::device::Device;
use crate::error::CtapError;
use crate::pin::PinToken;
use ctaphid::Transaction;
use fido_wire::cbor::Value;
use fido_wire::cose::CoseKey;
use fido_wire::ctap2::{
    ConfigRequest, ConfigSubCommand, CredMgmtParams, CredMgmtRequest, CredMgmtResponse,
    CredMgmtSubCommand, Descriptor, MinPinLengthParams, RpEntity, UserEntity, command,
};

/// A discoverable credential as the key lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCredential {
    /// The relying party.
    pub rp: RpEntity,
    /// Credential id.
    pub id: Vec<u8>,
    /// The user entity stored with it.
    pub user: UserEntity,
    /// Its public key.
    pub public_key: Option<CoseKey>,
    /// credProtect level.
    pub cred_protect: Option<u64>,
    /// Whether a largeBlobKey exists for it.
    pub has_large_blob_key: bool,
    /// Its largeBlobKey, as enumerateCredentials returned it (§6.8.3).
    pub large_blob_key: Option<crate::large_blobs::LargeBlobKey>,
    /// Whether it was made for payments (CTAP 2.2 thirdPartyPayment), when
    /// the key says.
    pub third_party_payment: Option<bool>,
}

/// getCredsMetadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialsMetadata {
    /// Discoverable credentials on the key.
    pub existing: u64,
    /// How many more fit.
    pub remaining: u64,
}

impl Device {
    fn cred_mgmt_command(&self) -> Result<u8, CtapError> {
        if self.info().option("credMgmt") == Some(true) {
            Ok(command::CREDENTIAL_MANAGEMENT)
        } else if self.info().option("credentialMgmtPreview") == Some(true) {
            Ok(command::PROTOTYPE_CREDENTIAL_MANAGEMENT)
        } else {
            Err(CtapError::Unsupported("credential management"))
        }
    }

    fn cred_mgmt(
        &mut self,
        token: Option<&PinToken>,
        sub: CredMgmtSubCommand,
        params: Option<CredMgmtParams>,
    ) -> Result<CredMgmtResponse, CtapError> {
        let cmd = self.cred_mgmt_command()?;
        let mut req = CredMgmtRequest::new(sub, params);
        if let Some(token) = token {
            req.protocol = Some(token.protocol().id());
            req.pin_uv_auth_param = Some(token.authenticate(&req.auth_message()));
        }
        let tx = Transaction::with_timeout(self.timeout);
        let body = self.call(cmd, Some(&req.to_value()), tx)?;
        CredMgmtResponse::from_value(&body.unwrap_or(Value::Map(Vec::new()))).map_err(|source| {
            CtapError::Response {
                command: "authenticatorCredentialManagement",
                source,
            }
        })
    }

    /// getCredsMetadata.
    pub fn credentials_metadata(
        &mut self,
        token: &PinToken,
    ) -> Result<CredentialsMetadata, CtapError> {
        let r = self.cred_mgmt(Some(token), CredMgmtSubCommand::GET_CREDS_METADATA, None)?;
        Ok(CredentialsMetadata {
            existing: r.existing_count.unwrap_or(0),
            remaining: r.remaining_count.unwrap_or(0),
        })
    }

    /// Every relying party with discoverable credentials, and their
    /// rpIdHash (enumerateRPsBegin, then GetNextRP).
    pub fn relying_parties(
        &mut self,
        token: &PinToken,
    ) -> Result<Vec<(RpEntity, Vec<u8>)>, CtapError> {
        let first = match self.cred_mgmt(Some(token), CredMgmtSubCommand::ENUMERATE_RPS_BEGIN, None)
        {
            Ok(r) => r,
            Err(e) if e.status() == Some(fido_wire::ctap2::StatusCode::NO_CREDENTIALS) => {
                return Ok(Vec::new());
            }
            Err(e) => return Err(e),
        };
        let total = first.total_rps.unwrap_or(1);
        let mut out = Vec::new();
        let mut next = Some(first);
        while let Some(r) = next.take() {
            if let (Some(rp), Some(hash)) = (r.rp, r.rp_id_hash) {
                out.push((rp, hash));
            }
            if (out.len() as u64) < total {
                next = Some(self.cred_mgmt(None, CredMgmtSubCommand::ENUMERATE_RPS_NEXT, None)?);
            }
        }
        Ok(out)
    }

    /// The discoverable credentials of one relying party.
    pub fn credentials(
        &mut self,
        token: &PinToken,
        rp: &RpEntity,
        rp_id_hash: &[u8],
    ) -> Result<Vec<StoredCredential>, CtapError> {
        let params = CredMgmtParams {
            rp_id_hash: Some(rp_id_hash.to_vec()),
            ..CredMgmtParams::default()
        };
        let first = self.cred_mgmt(
            Some(token),
            CredMgmtSubCommand::ENUMERATE_CREDENTIALS_BEGIN,
            Some(params),
        )?;
        let total = first.total_credentials.unwrap_or(1);
        let mut out = Vec::new();
        let mut next = Some(first);
        while let Some(r) = next.take() {
            if let (Some(user), Some(id)) = (r.user, r.credential_id) {
                out.push(StoredCredential {
                    rp: rp.clone(),
                    id: id.id,
                    user,
                    public_key: r.public_key,
                    cred_protect: r.cred_protect,
                    has_large_blob_key: r.large_blob_key.is_some(),
                    large_blob_key: r.large_blob_key.map(crate::large_blobs::LargeBlobKey::new),
                    third_party_payment: r.third_party_payment,
                });
            }
            if (out.len() as u64) < total {
                next = Some(self.cred_mgmt(
                    None,
                    CredMgmtSubCommand::ENUMERATE_CREDENTIALS_NEXT,
                    None,
                )?);
            }
        }
        Ok(out)
    }

    /// deleteCredential.
    pub fn delete_credential(&mut self, token: &PinToken, id: &[u8]) -> Result<(), CtapError> {
        self.cred_mgmt(
            Some(token),
            CredMgmtSubCommand::DELETE_CREDENTIAL,
            Some(CredMgmtParams {
                credential_id: Some(Descriptor::public_key(id.to_vec())),
                ..CredMgmtParams::default()
            }),
        )?;
        Ok(())
    }

    /// updateUserInformation: `user.id` must be the stored one.
    pub fn update_user(
        &mut self,
        token: &PinToken,
        id: &[u8],
        user: UserEntity,
    ) -> Result<(), CtapError> {
        self.cred_mgmt(
            Some(token),
            CredMgmtSubCommand::UPDATE_USER_INFORMATION,
            Some(CredMgmtParams {
                credential_id: Some(Descriptor::public_key(id.to_vec())),
                user: Some(user),
                ..CredMgmtParams::default()
            }),
        )?;
        Ok(())
    }

    fn config(
        &mut self,
        token: Option<&PinToken>,
        sub: ConfigSubCommand,
        params: Option<MinPinLengthParams>,
    ) -> Result<(), CtapError> {
        if self.info().option("authnrCfg") != Some(true) {
            return Err(CtapError::Unsupported("authenticatorConfig"));
        }
        let mut req = ConfigRequest::new(sub, params);
        if let Some(token) = token {
            req.protocol = Some(token.protocol().id());
            req.pin_uv_auth_param = Some(token.authenticate(&req.auth_message()));
        }
        let tx = Transaction::with_timeout(self.timeout);
        self.call(command::CONFIG, Some(&req.to_value()), tx)?;
        self.get_info()?;
        Ok(())
    }

    /// toggleAlwaysUv (`token` may be `None` on a key without a PIN).
    pub fn toggle_always_uv(&mut self, token: Option<&PinToken>) -> Result<(), CtapError> {
        self.config(token, ConfigSubCommand::TOGGLE_ALWAYS_UV, None)
    }

    /// enableEnterpriseAttestation (CTAP 2.1 §6.11.1): getInfo's `ep`
    /// becomes true. Refused before sending on a key without `ep`.
    pub fn enable_enterprise_attestation(
        &mut self,
        token: Option<&PinToken>,
    ) -> Result<(), CtapError> {
        if self.info().option("ep").is_none() {
            return Err(CtapError::Unsupported("enterprise attestation"));
        }
        self.config(token, ConfigSubCommand::ENABLE_ENTERPRISE_ATTESTATION, None)
    }

    /// setMinPINLength.
    pub fn set_min_pin_length(
        &mut self,
        token: Option<&PinToken>,
        params: MinPinLengthParams,
    ) -> Result<(), CtapError> {
        if self.info().option("setMinPINLength") != Some(true) {
            return Err(CtapError::Unsupported("setMinPINLength"));
        }
        self.config(token, ConfigSubCommand::SET_MIN_PIN_LENGTH, Some(params))
    }
}
