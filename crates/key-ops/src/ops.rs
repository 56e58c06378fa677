//! The operations on an open key. Each is one or two `ctap-client` calls
//! and answers a view from [`crate::views`].

use crate::error::KeyOpError;
use crate::views::{CredentialView, CredentialsView, InfoView, PinRetriesView};
use ctap_client::Device;
use fido_wire::ctap2::Permissions;
use fido_wire::webauthn::base64url;

/// getInfo, decoded.
pub fn info(device: &mut Device) -> Result<InfoView, KeyOpError> {
    Ok(InfoView::from(&device.get_info()?))
}

/// getInfo, with the model card the FIDO metadata in force has for its
/// AAGUID.
pub fn info_with_metadata(
    device: &mut Device,
    metadata: &relying_party::mds::LoadedMetadata,
) -> Result<InfoView, KeyOpError> {
    let info = device.get_info()?;
    Ok(InfoView::from(&info).with_metadata(metadata, &info.aaguid))
}

/// PIN retries left, and whether a re-plug is needed first.
pub fn pin_retries(device: &mut Device) -> Result<PinRetriesView, KeyOpError> {
    let r = device.pin_retries()?;
    Ok(PinRetriesView {
        retries: r.retries,
        power_cycle_required: r.power_cycle_required,
    })
}

/// Every discoverable credential on the key (needs the PIN). On keys with
/// perCredMgmtRO the listing uses a persistent read-only token (CTAP 2.2
/// pcmr), which can list but never delete or change a credential.
pub fn credentials(device: &mut Device, pin: &str) -> Result<CredentialsView, KeyOpError> {
    let token = if device.info().option("perCredMgmtRO") == Some(true) {
        device.persistent_token(pin)?
    } else {
        device.pin_token(pin, Permissions(Permissions::CREDENTIAL_MANAGEMENT), None)?
    };
    let meta = device.credentials_metadata(&token)?;
    let mut credentials = Vec::new();
    for (rp, hash) in device.relying_parties(&token)? {
        for c in device.credentials(&token, &rp, &hash)? {
            credentials.push(CredentialView::from(&c));
        }
    }
    Ok(CredentialsView {
        existing: meta.existing,
        remaining: meta.remaining,
        credentials,
    })
}

/// Deletes one discoverable credential, named by its base64url id (needs
/// the PIN).
pub fn delete_credential(
    device: &mut Device,
    pin: &str,
    credential_id: &str,
) -> Result<(), KeyOpError> {
    let id = base64url::decode(credential_id).map_err(|_| KeyOpError::BadCredentialId)?;
    let token = device.pin_token(pin, Permissions(Permissions::CREDENTIAL_MANAGEMENT), None)?;
    Ok(device.delete_credential(&token, &id)?)
}
