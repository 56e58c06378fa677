//! After the checks: the probe's discoverable test credentials are deleted
//! through credential management when the key offers it and the PIN is
//! known (given, or set by the destructive checks). Otherwise they are
//! reported as left on the key. Non-discoverable test credentials live only
//! in their ids and need no cleanup.

use super::lab::{Lab, PROBE_RP_SUFFIX};
use fido_wire::ctap2::Permissions;

/// Deletes what it can; returns what is left, for the report.
pub fn run(lab: &mut Lab<'_>) -> Vec<String> {
    let discoverable: Vec<_> = lab.created.iter().filter(|c| c.discoverable).collect();
    if discoverable.is_empty() {
        return Vec::new();
    }
    let count = discoverable.len();
    let pin = lab.pin.clone();
    let leftover = |why: &str| {
        vec![format!(
            "{count} discoverable test credential(s) under *.{PROBE_RP_SUFFIX} ({why})"
        )]
    };
    if !lab.option("credMgmt") {
        return leftover("the key offers no credential management");
    }
    let Some(pin) = pin else {
        return leftover("deleting them needs the PIN; credential management lists them");
    };
    let token =
        match lab
            .device
            .pin_token(&pin, Permissions(Permissions::CREDENTIAL_MANAGEMENT), None)
        {
            Ok(t) => t,
            Err(e) => return leftover(&format!("no credential management token: {e}")),
        };
    let rps = match lab.device.relying_parties(&token) {
        Ok(rps) => rps,
        Err(e) => return leftover(&format!("listing them failed: {e}")),
    };
    let mut failed = 0usize;
    for (rp, hash) in rps {
        if !rp.id.ends_with(PROBE_RP_SUFFIX) {
            continue;
        }
        let Ok(credentials) = lab.device.credentials(&token, &rp, &hash) else {
            failed += 1;
            continue;
        };
        for c in credentials {
            if lab.device.delete_credential(&token, &c.id).is_err() {
                failed += 1;
            }
        }
    }
    if failed > 0 {
        return vec![format!(
            "{failed} deletion(s) of test credentials under *.{PROBE_RP_SUFFIX} failed"
        )];
    }
    Vec::new()
}
