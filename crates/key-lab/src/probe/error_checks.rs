//! Requests a key must refuse, and the status each must be refused with:
//! malformed and non-canonical CBOR, a missing parameter, a wrong type, an
//! unsupported algorithm, an unknown command, a request over maxMsgSize.
//! Each is a makeCredential (or a bare command byte) sent raw, past the
//! client's own checks.

use super::lab::{Lab, PROBE_RP_ID, Step, Verdict, meta};
use super::result::Category;
use fido_wire::cbor::{self, Value};
use fido_wire::cose::CoseAlgorithm;
use fido_wire::ctap2::{StatusCode, command};

/// A makeCredential request's parameters as a list of members, to break.
fn members(lab: &Lab<'_>) -> Step<Vec<(Value, Value)>> {
    let user = lab.random(16)?;
    let req = lab.make_credential_request(PROBE_RP_ID, &user, false)?;
    Ok(match req.to_value() {
        Value::Map(entries) => entries,
        _ => Vec::new(),
    })
}

/// `members` encoded after the makeCredential command byte.
fn encode(entries: Vec<(Value, Value)>, canonical: bool) -> Vec<u8> {
    let mut out = vec![command::MAKE_CREDENTIAL];
    cbor::write(&mut out, &Value::Map(entries), canonical);
    out
}

fn key_is(k: &Value, n: i64) -> bool {
    k.as_i64() == Some(n)
}

/// Runs the error-code checks.
pub fn run(lab: &mut Lab<'_>) {
    lab.check(
        meta(
            "ctap2.error.invalid_cbor",
            "truncated CBOR is answered CTAP2_ERR_INVALID_CBOR",
            Category::Errors,
            "CTAP 2.1 §8 (status codes), §6.1.2",
        ),
        |lab| {
            // A map announcing one member whose value never comes.
            lab.expect_status(
                &[command::MAKE_CREDENTIAL, 0xa1, 0x01],
                StatusCode::INVALID_CBOR,
            )
        },
    );
    lab.check(
        meta(
            "ctap2.error.non_canonical_cbor",
            "map keys out of canonical order are answered CTAP2_ERR_INVALID_CBOR",
            Category::Errors,
            "CTAP 2.1 §8 (CTAP2 canonical CBOR encoding form)",
        ),
        |lab| {
            let mut entries = members(lab)?;
            entries.reverse();
            lab.expect_status(&encode(entries, false), StatusCode::INVALID_CBOR)
        },
    );
    lab.check(
        meta(
            "ctap2.error.missing_parameter",
            "makeCredential without clientDataHash is answered CTAP2_ERR_MISSING_PARAMETER",
            Category::Errors,
            "CTAP 2.1 §6.1.2, §8 (status codes)",
        ),
        |lab| {
            let mut entries = members(lab)?;
            entries.retain(|(k, _)| !key_is(k, 1));
            lab.expect_status(&encode(entries, true), StatusCode::MISSING_PARAMETER)
        },
    );
    lab.check(
        meta(
            "ctap2.error.wrong_type",
            "makeCredential with rp as a text string is answered CTAP2_ERR_CBOR_UNEXPECTED_TYPE",
            Category::Errors,
            "CTAP 2.1 §6.1.2, §8 (status codes)",
        ),
        |lab| {
            let mut entries = members(lab)?;
            for (k, v) in &mut entries {
                if key_is(k, 2) {
                    *v = Value::text(PROBE_RP_ID);
                }
            }
            lab.expect_status(&encode(entries, true), StatusCode::CBOR_UNEXPECTED_TYPE)
        },
    );
    lab.check(
        meta(
            "ctap2.error.unsupported_algorithm",
            "makeCredential offering only an unknown algorithm is answered CTAP2_ERR_UNSUPPORTED_ALGORITHM",
            Category::Errors,
            "CTAP 2.1 §6.1.2 (pubKeyCredParams)",
        ),
        |lab| {
            let user = lab.random(16)?;
            let mut req = lab.make_credential_request(PROBE_RP_ID, &user, false)?;
            // No COSE algorithm has this number.
            req.pub_key_cred_params = vec![("public-key".into(), CoseAlgorithm(-65_000))];
            let request =
                fido_wire::ctap2::encode_request(command::MAKE_CREDENTIAL, Some(&req.to_value()));
            lab.expect_status(&request, StatusCode::UNSUPPORTED_ALGORITHM)
        },
    );
    lab.check(
        meta(
            "ctap2.error.invalid_command",
            "an unassigned command byte is answered CTAP1_ERR_INVALID_COMMAND",
            Category::Errors,
            "CTAP 2.1 §8 (status codes)",
        ),
        |lab| lab.expect_status(&[0x3f], StatusCode::INVALID_COMMAND),
    );
    lab.check(
        meta(
            "ctap2.error.request_too_large",
            "a request over maxMsgSize is answered CTAP2_ERR_REQUEST_TOO_LARGE",
            Category::Errors,
            "CTAP 2.1 §6.4 (maxMsgSize), §8 (status codes)",
        ),
        request_too_large,
    );
}

fn request_too_large(lab: &mut Lab<'_>) -> Step<Verdict> {
    let max = lab.device.info().effective_max_msg_size();
    let limit = ctaphid::MAX_MESSAGE_LEN as u64;
    if max >= limit {
        return Ok(Verdict::Skip(format!(
            "maxMsgSize {max} is CTAPHID's own limit: no larger request can be framed"
        )));
    }
    let user = lab.random(16)?;
    let mut req = lab.make_credential_request(PROBE_RP_ID, &user, false)?;
    let base = fido_wire::ctap2::encode_request(command::MAKE_CREDENTIAL, Some(&req.to_value()));
    let pad = usize::try_from(max)
        .unwrap_or(usize::MAX)
        .saturating_sub(base.len())
        + 16;
    req.user_display_name = Some("x".repeat(pad + "Keybench probe".len()));
    let request = fido_wire::ctap2::encode_request(command::MAKE_CREDENTIAL, Some(&req.to_value()));
    lab.expect_status(&request, StatusCode::REQUEST_TOO_LARGE)
}
