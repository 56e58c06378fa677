//! authenticatorConfig as front ends offer it (CTAP 2.1 §6.11): enable
//! enterprise attestation, toggle alwaysUv, raise the minimum PIN length
//! (with the RP IDs that may read it), force a PIN change — each one call,
//! answered with the settings as getInfo reports them afterwards.

use crate::error::KeyOpError;
use ctap_client::Device;
use fido_wire::ctap2::{MinPinLengthParams, Permissions};
use serde::Serialize;
use std::fmt;

/// One authenticatorConfig change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigChange {
    /// enableEnterpriseAttestation (§6.11.1).
    EnableEnterpriseAttestation,
    /// toggleAlwaysUv (§6.11.2).
    ToggleAlwaysUv,
    /// setMinPINLength (§6.11.4): a new minimum (it only grows), the RP
    /// IDs the minPinLength extension tells it to, and whether the PIN must
    /// be changed before its next use.
    SetMinPinLength {
        /// The new minimum, in Unicode code points.
        length: u64,
        /// RP IDs that may read the minimum; empty leaves the list as it is.
        rp_ids: Vec<String>,
        /// forceChangePin.
        force_change: bool,
    },
    /// setMinPINLength with only forceChangePin: the PIN must be changed
    /// before its next use.
    ForcePinChange,
}

impl ConfigChange {
    /// The stable name front ends show (`enable_enterprise_attestation`, …).
    pub fn name(&self) -> &'static str {
        match self {
            ConfigChange::EnableEnterpriseAttestation => "enable_enterprise_attestation",
            ConfigChange::ToggleAlwaysUv => "toggle_always_uv",
            ConfigChange::SetMinPinLength { .. } => "set_min_pin_length",
            ConfigChange::ForcePinChange => "force_pin_change",
        }
    }
}

/// The key's configurable settings, as getInfo reports them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigView {
    /// The change just made.
    pub changed: &'static str,
    /// getInfo `ep`: absent when the key has no enterprise attestation.
    pub enterprise_attestation: Option<bool>,
    /// alwaysUv.
    pub always_uv: Option<bool>,
    /// minPINLength.
    pub min_pin_length: Option<u64>,
    /// forcePINChange.
    pub force_pin_change: Option<bool>,
}

impl fmt::Display for ConfigView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flag = |v: Option<bool>| match v {
            Some(true) => "on",
            Some(false) => "off",
            None => "not offered",
        };
        write!(f, "done: {}", self.changed)?;
        write!(
            f,
            "\nenterprise attestation: {}",
            flag(self.enterprise_attestation)
        )?;
        write!(f, "\nalwaysUv:               {}", flag(self.always_uv))?;
        match self.min_pin_length {
            Some(n) => write!(f, "\nminimum PIN length:     {n}")?,
            None => write!(f, "\nminimum PIN length:     not reported")?,
        }
        write!(
            f,
            "\nPIN change required:    {}",
            match self.force_pin_change {
                Some(true) => "yes",
                Some(false) => "no",
                None => "not reported",
            }
        )
    }
}

/// Makes `change`. With a PIN set (or alwaysUv on) the key wants a token
/// with the authenticatorConfig permission, made from `pin`; without, none
/// is sent (§6.11 step 3).
pub fn configure(
    device: &mut Device,
    pin: Option<&str>,
    change: &ConfigChange,
) -> Result<ConfigView, KeyOpError> {
    let info = device.info();
    let needs_token =
        info.option("clientPin") == Some(true) || info.option("alwaysUv") == Some(true);
    let token = if needs_token {
        let pin = pin.ok_or(ctap_client::CtapError::PinRequired)?;
        Some(device.pin_token(pin, Permissions(Permissions::AUTHENTICATOR_CONFIG), None)?)
    } else {
        None
    };
    let token = token.as_ref();
    match change {
        ConfigChange::EnableEnterpriseAttestation => device.enable_enterprise_attestation(token)?,
        ConfigChange::ToggleAlwaysUv => device.toggle_always_uv(token)?,
        ConfigChange::SetMinPinLength {
            length,
            rp_ids,
            force_change,
        } => device.set_min_pin_length(
            token,
            MinPinLengthParams {
                new_min_pin_length: Some(*length),
                rp_ids: (!rp_ids.is_empty()).then(|| rp_ids.clone()),
                force_change_pin: force_change.then_some(true),
            },
        )?,
        ConfigChange::ForcePinChange => device.set_min_pin_length(
            token,
            MinPinLengthParams {
                force_change_pin: Some(true),
                ..MinPinLengthParams::default()
            },
        )?,
    }
    let info = device.info();
    Ok(ConfigView {
        changed: change.name(),
        enterprise_attestation: info.option("ep"),
        always_uv: info.option("alwaysUv"),
        min_pin_length: info.min_pin_length,
        force_pin_change: info.force_pin_change,
    })
}
