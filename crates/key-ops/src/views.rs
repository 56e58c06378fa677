//! What the operations answer, as values both front ends use: serialised
//! (camelCase, getInfo members named as in CTAP 2.2) for the desktop's
//! window and `--json`, and displayed for people by the CLI.

use crate::hex;
use ctap_client::StoredCredential;
use fido_wire::cose::CoseAlgorithm;
use fido_wire::ctap2::GetInfo;
use fido_wire::webauthn::base64url;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// One algorithm getInfo lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlgorithmView {
    /// Always "public-key" today.
    #[serde(rename = "type")]
    pub kind: String,
    /// The COSE number.
    pub alg: i64,
    /// Its name, when Keybench knows it.
    pub name: Option<&'static str>,
}

/// getInfo, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InfoView {
    /// versions.
    pub versions: Vec<String>,
    /// extensions.
    pub extensions: Vec<String>,
    /// The AAGUID, hex.
    pub aaguid: String,
    /// options.
    pub options: BTreeMap<String, bool>,
    /// maxMsgSize.
    pub max_msg_size: Option<u64>,
    /// pinUvAuthProtocols.
    pub pin_uv_auth_protocols: Vec<u64>,
    /// maxCredentialCountInList.
    pub max_credential_count_in_list: Option<u64>,
    /// maxCredentialIdLength.
    pub max_credential_id_length: Option<u64>,
    /// transports.
    pub transports: Vec<String>,
    /// algorithms.
    pub algorithms: Vec<AlgorithmView>,
    /// minPINLength.
    #[serde(rename = "minPINLength")]
    pub min_pin_length: Option<u64>,
    /// forcePINChange.
    #[serde(rename = "forcePINChange")]
    pub force_pin_change: Option<bool>,
    /// firmwareVersion.
    pub firmware_version: Option<u64>,
    /// maxCredBlobLength.
    pub max_cred_blob_length: Option<u64>,
    /// maxRPIDsForSetMinPINLength.
    #[serde(rename = "maxRPIDsForSetMinPINLength")]
    pub max_rpids_for_set_min_pin_length: Option<u64>,
    /// remainingDiscoverableCredentials.
    pub remaining_discoverable_credentials: Option<u64>,
    /// certifications.
    pub certifications: BTreeMap<String, u64>,
    /// What the FIDO metadata in force says about this AAGUID, when it has
    /// an entry (filled by [`InfoView::with_metadata`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<relying_party::mds::ModelInfo>,
}

impl From<&GetInfo> for InfoView {
    fn from(info: &GetInfo) -> Self {
        InfoView {
            versions: info.versions.clone(),
            extensions: info.extensions.clone(),
            aaguid: hex(&info.aaguid),
            options: info.options.iter().cloned().collect(),
            max_msg_size: info.max_msg_size,
            pin_uv_auth_protocols: info.pin_uv_auth_protocols.clone(),
            max_credential_count_in_list: info.max_credential_count_in_list,
            max_credential_id_length: info.max_credential_id_length,
            transports: info.transports.clone(),
            algorithms: info
                .algorithms
                .iter()
                .map(|a| AlgorithmView {
                    kind: a.kind.clone(),
                    alg: a.alg.0,
                    name: a.alg.name(),
                })
                .collect(),
            min_pin_length: info.min_pin_length,
            force_pin_change: info.force_pin_change,
            firmware_version: info.firmware_version,
            max_cred_blob_length: info.max_cred_blob_length,
            max_rpids_for_set_min_pin_length: info.max_rpids_for_set_min_pin_length,
            remaining_discoverable_credentials: info.remaining_discoverable_credentials,
            certifications: info.certifications.iter().cloned().collect(),
            metadata: None,
        }
    }
}

impl InfoView {
    /// The same, with the model card `metadata` has for its AAGUID.
    pub fn with_metadata(
        mut self,
        metadata: &relying_party::mds::LoadedMetadata,
        aaguid: &[u8],
    ) -> InfoView {
        self.metadata = crate::metadata::model(metadata, aaguid);
        self
    }
}

fn opt<T: fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

impl fmt::Display for InfoView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "versions:           {}", self.versions.join(", "))?;
        writeln!(f, "AAGUID:             {}", self.aaguid)?;
        if let Some(m) = &self.metadata {
            let verdict = match &m.verdict {
                relying_party::mds::ModelVerdict::Certified { level } => level.clone(),
                relying_party::mds::ModelVerdict::Untrusted { reason } => {
                    format!("UNTRUSTED: {reason}")
                }
                _ => "not FIDO certified".to_owned(),
            };
            writeln!(f, "model (FIDO MDS):   {} ({verdict})", m.description)?;
        }
        let algorithms: Vec<String> = self
            .algorithms
            .iter()
            .map(|a| format!("{} ({})", a.name.unwrap_or("?"), a.alg))
            .collect();
        writeln!(f, "algorithms:         {}", algorithms.join(", "))?;
        writeln!(f, "extensions:         {}", self.extensions.join(", "))?;
        let options: Vec<String> = self
            .options
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        writeln!(f, "options:            {}", options.join(" "))?;
        writeln!(f, "maxMsgSize:         {}", opt(self.max_msg_size))?;
        let protocols: Vec<String> = self
            .pin_uv_auth_protocols
            .iter()
            .map(u64::to_string)
            .collect();
        writeln!(f, "pinUvAuthProtocols: {}", protocols.join(", "))?;
        writeln!(f, "minPINLength:       {}", opt(self.min_pin_length))?;
        writeln!(
            f,
            "forcePINChange:     {}",
            self.force_pin_change.unwrap_or(false)
        )?;
        writeln!(f, "firmwareVersion:    {}", opt(self.firmware_version))?;
        writeln!(f, "maxCredBlobLength:  {}", opt(self.max_cred_blob_length))?;
        writeln!(
            f,
            "maxRPIDsForSetMinPINLength: {}",
            opt(self.max_rpids_for_set_min_pin_length)
        )?;
        write!(
            f,
            "remaining discoverable credentials: {}",
            opt(self.remaining_discoverable_credentials)
        )?;
        if !self.certifications.is_empty() {
            let c: Vec<String> = self
                .certifications
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            write!(f, "\ncertifications:     {}", c.join(", "))?;
        }
        if !self.transports.is_empty() {
            write!(f, "\ntransports:         {}", self.transports.join(", "))?;
        }
        Ok(())
    }
}

/// PIN retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PinRetriesView {
    /// Tries left.
    pub retries: u64,
    /// Too many wrong PINs in a row: the key must be re-plugged first.
    pub power_cycle_required: bool,
}

impl fmt::Display for PinRetriesView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PIN retries left: {}", self.retries)?;
        if self.power_cycle_required {
            write!(
                f,
                "\ntoo many wrong PINs in a row: unplug and re-insert the key before the next try"
            )?;
        }
        Ok(())
    }
}

/// One discoverable credential on a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialView {
    /// The relying party.
    pub rp_id: String,
    /// The credential id, base64url.
    pub credential_id: String,
    /// The user handle, base64url.
    pub user_id: String,
    /// user.name.
    pub user_name: Option<String>,
    /// user.displayName.
    pub display_name: Option<String>,
    /// The COSE algorithm of its key.
    pub algorithm: Option<i64>,
    /// That algorithm's name.
    pub algorithm_name: Option<&'static str>,
    /// credProtect level.
    pub cred_protect: Option<u64>,
}

impl From<&StoredCredential> for CredentialView {
    fn from(c: &StoredCredential) -> Self {
        let alg: Option<CoseAlgorithm> = c.public_key.as_ref().and_then(|k| k.alg);
        CredentialView {
            rp_id: c.rp.id.clone(),
            credential_id: base64url::encode(&c.id),
            user_id: base64url::encode(&c.user.id),
            user_name: c.user.name.clone(),
            display_name: c.user.display_name.clone(),
            algorithm: alg.map(|a| a.0),
            algorithm_name: alg.and_then(CoseAlgorithm::name),
            cred_protect: c.cred_protect,
        }
    }
}

/// The discoverable credentials on a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialsView {
    /// How many there are.
    pub existing: u64,
    /// How many more fit.
    pub remaining: u64,
    /// Each, by relying party.
    pub credentials: Vec<CredentialView>,
}

impl fmt::Display for CredentialsView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} discoverable credentials ({} more fit)",
            self.existing, self.remaining
        )?;
        for c in &self.credentials {
            write!(
                f,
                "\n{}  {}  user {} ({})  {}  credProtect {}",
                c.rp_id,
                c.credential_id,
                c.user_name.as_deref().unwrap_or("?"),
                c.user_id,
                c.algorithm_name.unwrap_or("?"),
                c.cred_protect.unwrap_or(1)
            )?;
        }
        Ok(())
    }
}
