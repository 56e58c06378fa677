//! What getInfo promises (CTAP 2.1 §6.4): that it answers and decodes, that
//! its limits are sane, and that what it advertises answers when asked.
//! The options, extensions and algorithms it lists are then exercised by
//! the other checks.

use super::lab::{Lab, Step, Verdict, fail, meta, verdict};
use super::result::Category;

/// Runs the getInfo checks.
pub fn run(lab: &mut Lab<'_>) {
    lab.check(
        meta(
            "ctap2.getinfo.decodes",
            "getInfo answers, decodes and names a CTAP2 version",
            Category::GetInfo,
            "CTAP 2.1 §6.4",
        ),
        |lab| {
            let info = lab
                .device
                .get_info()
                .map_err(|e| fail("a getInfo answer", e.to_string()))?;
            let known = info.versions.iter().any(|v| {
                matches!(
                    v.as_str(),
                    "FIDO_2_0" | "FIDO_2_1" | "FIDO_2_1_PRE" | "FIDO_2_2"
                )
            });
            Ok(verdict(
                known,
                "versions naming FIDO_2_0, FIDO_2_1 or FIDO_2_2",
                format!("{:?}", info.versions),
            ))
        },
    );
    lab.check(
        meta(
            "ctap2.getinfo.limits",
            "maxMsgSize is at least 1,024 bytes and the list limits are non-zero",
            Category::GetInfo,
            "CTAP 2.1 §6.4",
        ),
        |lab| {
            let info = lab.device.info();
            if let Some(m) = info.max_msg_size
                && m < 1024
            {
                return Ok(fail("maxMsgSize ≥ 1024", format!("maxMsgSize {m}")));
            }
            if info.max_credential_count_in_list == Some(0) {
                return Ok(fail(
                    "maxCredentialCountInList ≥ 1",
                    "maxCredentialCountInList 0",
                ));
            }
            if info.max_credential_id_length == Some(0) {
                return Ok(fail("maxCredentialIdLength ≥ 1", "maxCredentialIdLength 0"));
            }
            Ok(Verdict::Pass)
        },
    );
    lab.check(
        meta(
            "ctap2.getinfo.pin_protocols",
            "clientPin and pinUvAuthToken come with a PIN/UV auth protocol, and getPINRetries answers",
            Category::GetInfo,
            "CTAP 2.1 §6.4, §6.5.5.1",
        ),
        |lab| pin_protocols(lab),
    );
    lab.check(
        meta(
            "ctap2.getinfo.algorithms",
            "the advertised algorithms are public-key entries",
            Category::GetInfo,
            "CTAP 2.1 §6.4 (algorithms)",
        ),
        |lab| {
            let info = lab.device.info();
            if info.algorithms.is_empty() {
                return Ok(Verdict::PassNote(
                    "no algorithms member: ES256 is assumed (CTAP 2.0)".into(),
                ));
            }
            let odd: Vec<_> = info
                .algorithms
                .iter()
                .filter(|a| a.kind != "public-key")
                .map(|a| a.kind.clone())
                .collect();
            Ok(verdict(
                odd.is_empty(),
                "every entry of type \"public-key\"",
                format!("types {odd:?}"),
            ))
        },
    );
}

fn pin_protocols(lab: &mut Lab<'_>) -> Step<Verdict> {
    let info = lab.device.info().clone();
    let pin_option = info.option("clientPin");
    let token_option = info.option("pinUvAuthToken") == Some(true);
    if pin_option.is_none() && !token_option {
        return Ok(Verdict::Skip("the key offers no clientPIN".into()));
    }
    if info.pin_uv_auth_protocols.is_empty() {
        return Ok(fail(
            "pinUvAuthProtocols listing 1 or 2",
            "no pinUvAuthProtocols",
        ));
    }
    if let Some(bad) = info
        .pin_uv_auth_protocols
        .iter()
        .find(|p| !matches!(p, 1 | 2))
    {
        return Ok(fail(
            "pinUvAuthProtocols of 1 and 2 only",
            format!("protocol {bad}"),
        ));
    }
    match lab.device.pin_retries() {
        Ok(r) if r.retries <= 8 => Ok(Verdict::Pass),
        Ok(r) => Ok(fail(
            "pinRetries of at most 8",
            format!("pinRetries {}", r.retries),
        )),
        Err(e)
            if pin_option == Some(false)
                && e.status() == Some(fido_wire::ctap2::StatusCode::PIN_NOT_SET) =>
        {
            Ok(Verdict::PassNote(
                "getPINRetries answered PIN_NOT_SET: no PIN is set".into(),
            ))
        }
        Err(e) => Ok(fail("a getPINRetries answer", e.to_string())),
    }
}
