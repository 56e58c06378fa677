//! authenticatorCredentialManagement (CTAP 2.1 §6.8) and
//! authenticatorConfig (§6.11: toggleAlwaysUv, setMinPINLength,
//! enableEnterpriseAttestation) on the virtual key: both gated by a
//! pinUvAuthToken with the `cm` or `acfg` permission.

use crate::authenticator::{Authenticator, CtapResult, Enumeration, sha256};
use crate::state::Credential;
use fido_wire::ctap2::{
    ConfigRequest, ConfigSubCommand, CredMgmtRequest, CredMgmtResponse, CredMgmtSubCommand,
    Descriptor, Permissions, RpEntity, StatusCode, UserEntity,
};

/// maxRPIDsForSetMinPINLength.
pub const MAX_MIN_PIN_LENGTH_RP_IDS: usize = 8;

fn credential_response(c: &Credential, total: Option<u64>) -> CredMgmtResponse {
    CredMgmtResponse {
        user: Some(c.user.clone()),
        credential_id: Some(Descriptor::public_key(c.id.clone())),
        public_key: Some(c.key.cose_public_key()),
        total_credentials: total,
        cred_protect: Some(u64::from(c.cred_protect)),
        large_blob_key: c.large_blob_key.map(|k| k.to_vec()),
        // CTAP 2.2 §6.8.4: thirdPartyPayment for every credential when the
        // key supports the extension.
        third_party_payment: Some(c.third_party_payment),
        ..CredMgmtResponse::default()
    }
}

impl Authenticator {
    fn rp_response(&self, rp_id: &str, total: Option<u64>) -> CredMgmtResponse {
        let name = self
            .state
            .credentials
            .iter()
            .find(|c| c.rp_id == rp_id)
            .and_then(|c| c.rp_name.clone());
        CredMgmtResponse {
            rp: Some(RpEntity {
                id: rp_id.to_owned(),
                name,
            }),
            rp_id_hash: Some(sha256(rp_id.as_bytes()).to_vec()),
            total_rps: total,
            ..CredMgmtResponse::default()
        }
    }

    /// A token bound to an RP may only manage that RP's credentials.
    fn check_token_rp(&self, rp_id: &str) -> CtapResult<()> {
        match self.pin.token_rp_id() {
            Some(bound) if bound != rp_id => Err(StatusCode::PIN_AUTH_INVALID),
            _ => Ok(()),
        }
    }

    /// authenticatorCredentialManagement: the token check, then one
    /// subcommand.
    pub(crate) fn credential_management(
        &mut self,
        req: &CredMgmtRequest,
    ) -> CtapResult<CredMgmtResponse> {
        let sub = req.sub_command;
        let continuing = sub == CredMgmtSubCommand::ENUMERATE_RPS_NEXT
            || sub == CredMgmtSubCommand::ENUMERATE_CREDENTIALS_NEXT;
        // CTAP 2.2: the read-only subcommands also take the persistent
        // token (pcmr), which needs no fresh user verification; its RP
        // binding is none, whatever the ordinary token's is.
        let read_only = sub == CredMgmtSubCommand::GET_CREDS_METADATA
            || sub == CredMgmtSubCommand::ENUMERATE_RPS_BEGIN
            || sub == CredMgmtSubCommand::ENUMERATE_CREDENTIALS_BEGIN;
        let mut persistent = false;
        if !continuing {
            // §6.8: every subcommand but the *Next ones carries a
            // pinUvAuthParam over its parameters, with the cm permission;
            // a new command ends any enumeration in progress.
            self.enumeration = None;
            let param = req
                .pin_uv_auth_param
                .as_ref()
                .ok_or(StatusCode::PUAT_REQUIRED)?;
            persistent = read_only
                && crate::pin::verify_persistent(
                    &self.state.pin,
                    req.protocol,
                    &param.0,
                    &req.auth_message(),
                )
                .is_ok();
            if !persistent {
                self.pin.verify_token(
                    req.protocol,
                    &param.0,
                    &req.auth_message(),
                    Permissions::CREDENTIAL_MANAGEMENT,
                    None,
                )?;
            }
        }
        let bound_rp = if persistent {
            None
        } else {
            self.pin.token_rp_id().map(str::to_owned)
        };
        let params = req.params.clone().unwrap_or_default();
        match sub {
            CredMgmtSubCommand::GET_CREDS_METADATA => self.creds_metadata(bound_rp.as_deref()),
            CredMgmtSubCommand::ENUMERATE_RPS_BEGIN => {
                self.enumerate_rps_begin(bound_rp.as_deref())
            }
            CredMgmtSubCommand::ENUMERATE_RPS_NEXT => self.enumerate_rps_next(),
            CredMgmtSubCommand::ENUMERATE_CREDENTIALS_BEGIN => {
                self.enumerate_credentials_begin(params.rp_id_hash, bound_rp.as_deref())
            }
            CredMgmtSubCommand::ENUMERATE_CREDENTIALS_NEXT => self.enumerate_credentials_next(),
            CredMgmtSubCommand::DELETE_CREDENTIAL => {
                let id = params
                    .credential_id
                    .ok_or(StatusCode::MISSING_PARAMETER)?
                    .id;
                self.delete_credential(&id)
            }
            CredMgmtSubCommand::UPDATE_USER_INFORMATION => {
                let id = params
                    .credential_id
                    .ok_or(StatusCode::MISSING_PARAMETER)?
                    .id;
                let user = params.user.ok_or(StatusCode::MISSING_PARAMETER)?;
                self.update_user_information(&id, user)
            }
            _ => Err(StatusCode::INVALID_SUBCOMMAND),
        }
    }

    fn discoverable(&self) -> impl Iterator<Item = &Credential> {
        self.state.credentials.iter().filter(|c| c.discoverable)
    }

    /// §6.8.2 getCredsMetadata (not with an RP-bound token).
    fn creds_metadata(&self, bound_rp: Option<&str>) -> CtapResult<CredMgmtResponse> {
        if bound_rp.is_some() {
            return Err(StatusCode::PIN_AUTH_INVALID);
        }
        let existing = self.discoverable().count();
        Ok(CredMgmtResponse {
            existing_count: Some(existing as u64),
            remaining_count: Some(self.config.max_discoverable.saturating_sub(existing) as u64),
            ..CredMgmtResponse::default()
        })
    }

    /// §6.8.3 enumerateRPsBegin: the first RP and the total; the rest wait
    /// for enumerateRPsGetNextRP.
    fn enumerate_rps_begin(&mut self, bound_rp: Option<&str>) -> CtapResult<CredMgmtResponse> {
        if bound_rp.is_some() {
            return Err(StatusCode::PIN_AUTH_INVALID);
        }
        let mut rps: Vec<String> = Vec::new();
        for c in self.discoverable() {
            if !rps.contains(&c.rp_id) {
                rps.push(c.rp_id.clone());
            }
        }
        let (first, rest) = rps.split_first().ok_or(StatusCode::NO_CREDENTIALS)?;
        let response = self.rp_response(first, Some(rps.len() as u64));
        self.enumeration = Some(Enumeration::Rps(rest.to_vec()));
        Ok(response)
    }

    /// §6.8.3 enumerateRPsGetNextRP: NOT_ALLOWED past the end.
    fn enumerate_rps_next(&mut self) -> CtapResult<CredMgmtResponse> {
        let Some(Enumeration::Rps(rest)) = &mut self.enumeration else {
            return Err(StatusCode::NOT_ALLOWED);
        };
        if rest.is_empty() {
            self.enumeration = None;
            return Err(StatusCode::NOT_ALLOWED);
        }
        let next = rest.remove(0);
        Ok(self.rp_response(&next, None))
    }

    /// §6.8.4 enumerateCredentialsBegin for one RP (by its ID's hash).
    fn enumerate_credentials_begin(
        &mut self,
        rp_id_hash: Option<Vec<u8>>,
        bound_rp: Option<&str>,
    ) -> CtapResult<CredMgmtResponse> {
        let hash = rp_id_hash.ok_or(StatusCode::MISSING_PARAMETER)?;
        let matching: Vec<&Credential> = self
            .discoverable()
            .filter(|c| sha256(c.rp_id.as_bytes()).as_slice() == hash.as_slice())
            .collect();
        let (first, rest) = matching.split_first().ok_or(StatusCode::NO_CREDENTIALS)?;
        if bound_rp.is_some_and(|rp| rp != first.rp_id) {
            return Err(StatusCode::PIN_AUTH_INVALID);
        }
        let response = credential_response(first, Some(matching.len() as u64));
        let rest = rest.iter().map(|c| c.id.clone()).collect();
        self.enumeration = Some(Enumeration::Credentials(rest));
        Ok(response)
    }

    /// §6.8.4 enumerateCredentialsGetNextCredential: NOT_ALLOWED past the end.
    fn enumerate_credentials_next(&mut self) -> CtapResult<CredMgmtResponse> {
        let Some(Enumeration::Credentials(rest)) = &mut self.enumeration else {
            return Err(StatusCode::NOT_ALLOWED);
        };
        if rest.is_empty() {
            self.enumeration = None;
            return Err(StatusCode::NOT_ALLOWED);
        }
        let next = rest.remove(0);
        let c = self
            .state
            .credentials
            .iter()
            .find(|c| c.id == next)
            .ok_or(StatusCode::NO_CREDENTIALS)?;
        Ok(credential_response(c, None))
    }

    /// §6.8.5 deleteCredential; undone in memory when the state file
    /// cannot be written.
    fn delete_credential(&mut self, id: &[u8]) -> CtapResult<CredMgmtResponse> {
        let index = self
            .state
            .credentials
            .iter()
            .position(|c| c.id == id)
            .ok_or(StatusCode::NO_CREDENTIALS)?;
        let rp_id = self
            .state
            .credentials
            .get(index)
            .map(|c| c.rp_id.clone())
            .unwrap_or_default();
        self.check_token_rp(&rp_id)?;
        let removed = self.state.credentials.remove(index);
        if let Err(e) = self.persist() {
            // Not deleted on disk: not deleted in memory either.
            self.state.credentials.insert(index, removed);
            return Err(e);
        }
        Ok(CredMgmtResponse::default())
    }

    /// §6.8.7 updateUserInformation: the same user id only; absent fields
    /// are removed.
    fn update_user_information(
        &mut self,
        id: &[u8],
        user: UserEntity,
    ) -> CtapResult<CredMgmtResponse> {
        let rp_id = self
            .state
            .credentials
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.rp_id.clone())
            .ok_or(StatusCode::NO_CREDENTIALS)?;
        self.check_token_rp(&rp_id)?;
        let c = self
            .state
            .credentials
            .iter_mut()
            .find(|c| c.id == id)
            .ok_or(StatusCode::NO_CREDENTIALS)?;
        if c.user.id != user.id {
            return Err(StatusCode::INVALID_PARAMETER);
        }
        let before = std::mem::replace(&mut c.user, user);
        if let Err(e) = self.persist() {
            if let Some(c) = self.state.credentials.iter_mut().find(|c| c.id == id) {
                c.user = before;
            }
            return Err(e);
        }
        Ok(CredMgmtResponse::default())
    }

    pub(crate) fn authenticator_config(&mut self, req: &ConfigRequest) -> CtapResult<()> {
        // §6.11 step 3: without a PIN (and alwaysUv off) no token is required.
        match &req.pin_uv_auth_param {
            Some(param) => {
                self.pin.verify_token(
                    req.protocol,
                    &param.0,
                    &req.auth_message(),
                    Permissions::AUTHENTICATOR_CONFIG,
                    None,
                )?;
            }
            None if self.state.pin.hash.is_some() || self.state.always_uv => {
                return Err(StatusCode::PUAT_REQUIRED);
            }
            None => {}
        }
        // What a failed save must restore: memory never claims a setting
        // the state file does not have.
        let (always_uv, pin) = (self.state.always_uv, self.state.pin.clone());
        let enterprise_enabled = self.state.enterprise.enabled;
        match req.sub_command {
            ConfigSubCommand::TOGGLE_ALWAYS_UV => {
                self.state.always_uv = !self.state.always_uv;
            }
            ConfigSubCommand::SET_MIN_PIN_LENGTH => {
                let p = req.params.clone().unwrap_or_default();
                let pin = &mut self.state.pin;
                let new_min = p.new_min_pin_length.unwrap_or(pin.min_length);
                // The minimum only ever grows (until reset).
                if new_min < pin.min_length || new_min > 63 {
                    return Err(StatusCode::PIN_POLICY_VIOLATION);
                }
                if let Some(ids) = &p.rp_ids
                    && ids.len() > MAX_MIN_PIN_LENGTH_RP_IDS
                {
                    return Err(StatusCode::PIN_POLICY_VIOLATION);
                }
                if p.force_change_pin == Some(true) && pin.hash.is_none() {
                    return Err(StatusCode::PIN_NOT_SET);
                }
                pin.min_length = new_min;
                if let Some(ids) = p.rp_ids {
                    pin.min_length_rp_ids = ids;
                }
                if p.force_change_pin == Some(true)
                    || (pin.hash.is_some() && pin.code_points < new_min)
                {
                    pin.force_change = true;
                }
            }
            // §6.11.1: ep becomes true (the device identity is made the
            // first time; it is kept even if the save below fails).
            ConfigSubCommand::ENABLE_ENTERPRISE_ATTESTATION => {
                self.state
                    .enterprise
                    .enable(self.config.aaguid)
                    .map_err(|_| StatusCode::OTHER)?;
            }
            _ => return Err(StatusCode::INVALID_SUBCOMMAND),
        }
        if let Err(e) = self.persist() {
            self.state.always_uv = always_uv;
            self.state.pin = pin;
            self.state.enterprise.enabled = enterprise_enabled;
            return Err(e);
        }
        Ok(())
    }
}
