//! The client-data steps both ceremonies share: §7.1 steps 5-11 and §7.2
//! steps 8-14 (decode, type, challenge, origin, crossOrigin, topOrigin).

use super::steps::{self, Input, Location, Rule, Step, StepDetail, StepObserver, check};
use crate::error::CeremonyError;
use crate::policy::{CrossOriginPolicy, RpConfig};
use aws_lc_rs::constant_time::verify_slices_are_equal;
use fido_wire::webauthn::{CeremonyType, CollectedClientData, base64url};

/// A UTF-8 byte order mark, which UTF-8 decode strips (§7.1 step 5 note).
const BOM: &[u8] = &[0xef, 0xbb, 0xbf];

/// Where member `name`'s value is in clientDataJSON (reports only).
fn member(json: &[u8], name: &str) -> Option<Location> {
    steps::json_member_range(json, name).map(|range| Location {
        input: Input::ClientDataJson,
        path: format!("clientDataJSON.{name}"),
        range,
    })
}

/// Runs the shared steps. `None` when clientDataJSON did not decode and the
/// observer keeps going (steps 7-11 are then not checkable).
pub(super) fn check_all<O: StepObserver>(
    obs: &mut O,
    rp: &RpConfig,
    client_data_json: &[u8],
    ceremony: CeremonyType,
    expected_challenge: &[u8],
) -> Result<Option<CollectedClientData>, CeremonyError> {
    let step = |rule| match ceremony {
        CeremonyType::Create => Step::registration(rule),
        _ => Step::authentication(rule),
    };
    // Steps 5-6 (§7.2 8-9): UTF-8 decode (BOM stripped) and parse.
    let json = client_data_json
        .strip_prefix(BOM)
        .unwrap_or(client_data_json);
    let c = match CollectedClientData::parse(json) {
        Ok(c) => {
            obs.passed(step(Rule::ClientData), || {
                StepDetail::found(format!("{} bytes of JSON", client_data_json.len()))
            });
            c
        }
        Err(e) => {
            let e = CeremonyError::from(e);
            check(obs, step(Rule::ClientData), Err(e), || {
                StepDetail::default().at(Some(Location {
                    input: Input::ClientDataJson,
                    path: "clientDataJSON".into(),
                    range: 0..client_data_json.len(),
                }))
            })?;
            for rule in [
                Rule::CeremonyType,
                Rule::Challenge,
                Rule::Origin,
                Rule::CrossOrigin,
                Rule::TopOrigin,
            ] {
                obs.not_checkable(step(rule), "clientDataJSON did not decode");
            }
            return Ok(None);
        }
    };

    // Step 7 (§7.2 10): "Verify that the value of C.type is webauthn.create" (or .get).
    let expected_type = match ceremony {
        CeremonyType::Create => "webauthn.create",
        _ => "webauthn.get",
    };
    let result = if c.ceremony == ceremony {
        Ok(())
    } else {
        Err(CeremonyError::WrongCeremonyType {
            expected: expected_type,
            found: c.ceremony.as_str().to_owned(),
        })
    };
    check(obs, step(Rule::CeremonyType), result, || {
        StepDetail::compared(expected_type, c.ceremony.as_str())
            .at(member(client_data_json, "type"))
    })?;

    // Step 8 (§7.2 11): "C.challenge equals the base64url encoding of
    // options.challenge". Compared as strings (so a non-canonical encoding
    // fails too), in constant time: the challenge is the ceremony's secret.
    let expected = base64url::encode(expected_challenge);
    let result = if verify_slices_are_equal(expected.as_bytes(), c.challenge.as_bytes()).is_ok() {
        Ok(())
    } else {
        Err(CeremonyError::ChallengeMismatch)
    };
    check(obs, step(Rule::Challenge), result, || {
        StepDetail::compared(expected.as_str(), c.challenge.as_str())
            .at(member(client_data_json, "challenge"))
    })?;

    // Step 9 (§7.2 12): "C.origin is an origin expected by the Relying Party."
    let result = if rp.origin_allowed(&c.origin) {
        Ok(())
    } else {
        Err(CeremonyError::OriginNotAllowed(c.origin.clone()))
    };
    check(obs, step(Rule::Origin), result, || {
        StepDetail::compared(rp.origins().join(" or "), c.origin.as_str())
            .at(member(client_data_json, "origin"))
    })?;

    // Step 10 (§7.2 13): "If C.crossOrigin is present and set to true, verify
    // that the Relying Party expects ... an iframe that is not same-origin
    // with its ancestors."
    let framed = matches!(rp.cross_origin(), CrossOriginPolicy::EmbeddedIn { .. });
    let result = if c.cross_origin == Some(true) && !framed {
        Err(CeremonyError::CrossOriginNotAllowed)
    } else {
        Ok(())
    };
    check(obs, step(Rule::CrossOrigin), result, || {
        let expected = if framed {
            "false, absent, or true (the relying party expects to be framed)"
        } else {
            "false or absent (the relying party is not framed)"
        };
        let found = match c.cross_origin {
            Some(b) => b.to_string(),
            None => "absent".into(),
        };
        StepDetail::compared(expected, found).at(member(client_data_json, "crossOrigin"))
    })?;

    // Step 11 (§7.2 14): "If C.topOrigin is present: ... expects ... an
    // iframe ... [and] C.topOrigin matches the origin of a page that the
    // Relying Party expects to be sub-framed within."
    let result = match (&c.top_origin, rp.cross_origin()) {
        (None, _) => Ok(()),
        (Some(_), CrossOriginPolicy::SameOriginOnly) => Err(CeremonyError::TopOriginNotExpected),
        (Some(top), CrossOriginPolicy::EmbeddedIn { top_origins }) => {
            if top_origins.iter().any(|t| t == top) {
                Ok(())
            } else {
                Err(CeremonyError::TopOriginNotAllowed(top.clone()))
            }
        }
    };
    check(obs, step(Rule::TopOrigin), result, || {
        let expected = match rp.cross_origin() {
            CrossOriginPolicy::SameOriginOnly => "absent (the relying party is not framed)".into(),
            CrossOriginPolicy::EmbeddedIn { top_origins } => {
                format!("absent or one of {}", top_origins.join(", "))
            }
        };
        let found = c.top_origin.clone().unwrap_or_else(|| "absent".into());
        StepDetail::compared(expected, found).at(member(client_data_json, "topOrigin"))
    })?;
    Ok(Some(c))
}
