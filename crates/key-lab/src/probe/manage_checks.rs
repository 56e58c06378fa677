//! What needs the PIN or manages the key's storage: UV in the flags once
//! the user is verified, the large-blob array (§6.10), credential
//! management (CTAP 2.1 §6.8) and authenticatorConfig (§6.11). Credential management only touches the probe's own
//! test credentials, so it runs whenever the PIN is known; the config check
//! toggles alwaysUv on and back off, so it runs only with `destructive`.
//! Reset and PIN blocking need the key re-plugged between steps and are
//! reported as skipped with that reason.

use super::lab::{
    DISCOVERABLE_RP_ID, Lab, PROBE_RP_ID, Step, Verdict, auth_data, fail, meta, verdict,
};
use super::result::Category;
use fido_wire::ctap2::Permissions;
use fido_wire::webauthn::Flags;

/// The PIN the probe may use: given, or set by the destructive checks.
fn known_pin(lab: &Lab<'_>) -> Option<String> {
    lab.pin.clone()
}

/// Runs the checks.
pub fn run(lab: &mut Lab<'_>) {
    lab.check(
        meta(
            "ctap2.flags.uv",
            "getAssertion with a pinUvAuthParam sets UV",
            Category::Ceremonies,
            "CTAP 2.1 §6.2.2 (pinUvAuthParam); WebAuthn L3 §6.1",
        ),
        uv_flag,
    );
    lab.check(
        meta(
            "ctap2.large_blobs.read",
            "the large-blob array reads in fragments and its checksum verifies",
            Category::Ceremonies,
            "CTAP 2.1 §6.10",
        ),
        |lab| {
            if !lab.option("largeBlobs") {
                return Ok(Verdict::Skip("the key offers no large blobs".into()));
            }
            Ok(match lab.device.large_blob_read() {
                Ok(_) => Verdict::Pass,
                Err(e) => fail("a large-blob array with a valid checksum", e.to_string()),
            })
        },
    );
    lab.check(
        meta(
            "ctap2.credential_management",
            "credential management lists the probe's discoverable credentials and deletes one",
            Category::Ceremonies,
            "CTAP 2.1 §6.8",
        ),
        credential_management,
    );
    if !lab.options.destructive {
        return;
    }
    lab.check(
        meta(
            "config.toggle_always_uv",
            "toggleAlwaysUv turns alwaysUv on in getInfo, and off again",
            Category::Destructive,
            "CTAP 2.1 §6.11.2",
        ),
        toggle_always_uv,
    );
    lab.check(
        meta(
            "reset.power_up_window",
            "reset is refused outside the power-up window and allowed within it",
            Category::Destructive,
            "CTAP 2.1 §6.6",
        ),
        |_| {
            Ok(Verdict::Skip(
                "needs the key re-plugged between requests; not automated".into(),
            ))
        },
    );
    lab.check(
        meta(
            "pin.blocking",
            "three wrong PINs in a row need a power cycle; no retries left block the PIN",
            Category::Destructive,
            "CTAP 2.1 §6.5.5.7",
        ),
        |_| {
            Ok(Verdict::Skip(
                "blocks the key's PIN (a reset to recover) or needs a re-plug; not automated"
                    .into(),
            ))
        },
    );
}

fn credential_management(lab: &mut Lab<'_>) -> Step<Verdict> {
    if !lab.option("credMgmt") {
        return Ok(Verdict::Skip(
            "the key offers no credential management".into(),
        ));
    }
    let Some(pin) = known_pin(lab) else {
        return Ok(Verdict::Skip(
            "credential management needs the PIN (--pin)".into(),
        ));
    };
    let made: Vec<Vec<u8>> = lab
        .created
        .iter()
        .filter(|c| c.discoverable && c.rp_id == DISCOVERABLE_RP_ID)
        .map(|c| c.id.clone())
        .collect();
    if made.is_empty() {
        return Ok(Verdict::Skip(
            "the probe made no discoverable credentials".into(),
        ));
    }
    let token = lab
        .device
        .pin_token(&pin, Permissions(Permissions::CREDENTIAL_MANAGEMENT), None)
        .map_err(|e| fail("a credential management token", e.to_string()))?;
    let meta = lab
        .device
        .credentials_metadata(&token)
        .map_err(|e| fail("getCredsMetadata", e.to_string()))?;
    let rps = lab
        .device
        .relying_parties(&token)
        .map_err(|e| fail("enumerateRPs", e.to_string()))?;
    let Some((rp, hash)) = rps.into_iter().find(|(rp, _)| rp.id == DISCOVERABLE_RP_ID) else {
        return Ok(fail(
            format!("{DISCOVERABLE_RP_ID} among the enumerated RPs"),
            "not listed",
        ));
    };
    let listed = lab
        .device
        .credentials(&token, &rp, &hash)
        .map_err(|e| fail("enumerateCredentials", e.to_string()))?;
    // The discoverable check replaced its first credential: two remain.
    if listed.len() != 2 || meta.existing < 2 {
        return Ok(fail(
            format!("2 credentials under {DISCOVERABLE_RP_ID}"),
            format!("{} listed, {} existing in all", listed.len(), meta.existing),
        ));
    }
    let Some(victim) = listed.first().map(|c| c.id.clone()) else {
        return Ok(fail("a credential to delete", "none"));
    };
    lab.device
        .delete_credential(&token, &victim)
        .map_err(|e| fail("deleteCredential", e.to_string()))?;
    let after = lab
        .device
        .credentials(&token, &rp, &hash)
        .map_err(|e| fail("enumerateCredentials after the deletion", e.to_string()))?;
    Ok(verdict(
        after.len() == 1 && after.iter().all(|c| c.id != victim),
        "one credential left, not the deleted one",
        format!("{} listed", after.len()),
    ))
}

fn toggle_always_uv(lab: &mut Lab<'_>) -> Step<Verdict> {
    if !lab.option("authnrCfg") {
        return Ok(Verdict::Skip(
            "the key offers no authenticatorConfig".into(),
        ));
    }
    let Some(before) = lab.device.info().option("alwaysUv") else {
        return Ok(Verdict::Skip("the key does not offer alwaysUv".into()));
    };
    let Some(pin) = known_pin(lab) else {
        return Ok(Verdict::Skip(
            "authenticatorConfig needs the PIN (--pin)".into(),
        ));
    };
    let toggle = |lab: &mut Lab<'_>| -> Step<Option<bool>> {
        let token = lab
            .device
            .pin_token(&pin, Permissions(Permissions::AUTHENTICATOR_CONFIG), None)
            .map_err(|e| fail("an authenticatorConfig token", e.to_string()))?;
        lab.device
            .toggle_always_uv(Some(&token))
            .map_err(|e| fail("toggleAlwaysUv", e.to_string()))?;
        Ok(lab.device.info().option("alwaysUv"))
    };
    let flipped = toggle(lab)?;
    let back = toggle(lab)?;
    if flipped != Some(!before) {
        return Ok(fail(
            format!("alwaysUv {} after the toggle", !before),
            format!("alwaysUv {flipped:?}"),
        ));
    }
    Ok(verdict(
        back == Some(before),
        format!("alwaysUv {before} after the second toggle"),
        format!("alwaysUv {back:?}"),
    ))
}

fn uv_flag(lab: &mut Lab<'_>) -> Step<Verdict> {
    let Some(pin) = known_pin(lab) else {
        return Ok(Verdict::Skip(
            "user verification needs the PIN (--pin)".into(),
        ));
    };
    let pin = pin.as_str();
    let id = lab.test_credential()?;
    let token = lab
        .device
        .pin_token(
            pin,
            Permissions(Permissions::GET_ASSERTION),
            Some(PROBE_RP_ID),
        )
        .map_err(|e| fail("a pinUvAuthToken", e.to_string()))?;
    let mut req = lab.get_assertion_request(PROBE_RP_ID, &[&id])?;
    req.pin_uv_auth_param = Some(token.authenticate(&req.client_data_hash));
    req.pin_uv_auth_protocol = Some(token.protocol().id());
    let response = lab
        .get_assertion(&req)
        .map_err(|e| fail("an assertion with user verification", e.to_string()))?;
    let flags = auth_data(&response.auth_data)?.flags;
    Ok(verdict(
        flags.has(Flags::UV) && flags.has(Flags::UP),
        "UP and UV set",
        format!("flags {:?}", flags.names()),
    ))
}
