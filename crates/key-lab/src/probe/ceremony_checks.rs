//! Ceremony behaviour beyond one registration: excludeList and allowList,
//! discoverable credentials (replacement, order, getNextAssertion), the
//! signature counter, and the UP/UV flags and options against the request.

use super::lab::{
    DISCOVERABLE_RP_ID, Lab, PROBE_RP_ID, Step, Verdict, auth_data, credential_id, fail, meta,
    prerequisite, status_name, verdict,
};
use super::result::Category;
use fido_wire::ctap2::{Descriptor, StatusCode};
use fido_wire::webauthn::Flags;

/// Runs the ceremony checks.
pub fn run(lab: &mut Lab<'_>) {
    lab.check(
        meta(
            "ctap2.exclude_list",
            "makeCredential with an excluded credential answers CTAP2_ERR_CREDENTIAL_EXCLUDED",
            Category::Ceremonies,
            "CTAP 2.1 §6.1.2 (excludeList)",
        ),
        exclude_list,
    );
    lab.check(
        meta(
            "ctap2.allow_list",
            "getAssertion answers with the allowed credential, and NO_CREDENTIALS for unknown ones",
            Category::Ceremonies,
            "CTAP 2.1 §6.2.2 (allowList)",
        ),
        allow_list,
    );
    let mut made = None;
    lab.check(
        meta(
            "ctap2.discoverable",
            "discoverable credentials are found without an allowList, one per user (a new one replaces the old)",
            Category::Ceremonies,
            "CTAP 2.1 §6.1.2 (rk), §6.2.2",
        ),
        |lab| discoverable(lab, &mut made),
    );
    lab.check(
        meta(
            "ctap2.get_next_assertion",
            "getNextAssertion returns the other credentials, most recent first, then NOT_ALLOWED",
            Category::Ceremonies,
            "CTAP 2.1 §6.2.2 (order), §6.3",
        ),
        |lab| next_assertions(lab, made),
    );
    lab.check(
        meta(
            "ctap2.sign_count",
            "the signature counter increases with each assertion (or stays zero)",
            Category::Ceremonies,
            "CTAP 2.1 §6.2.2; WebAuthn L3 §6.1.1",
        ),
        sign_count,
    );
    lab.check(
        meta(
            "ctap2.flags.registration",
            "makeCredential sets UP and AT, and not UV without user verification",
            Category::Ceremonies,
            "CTAP 2.1 §6.1.2; WebAuthn L3 §6.1",
        ),
        registration_flags,
    );
    lab.check(
        meta(
            "ctap2.flags.assertion",
            "getAssertion sets UP by default, clears it with up=false, and never sets UV unasked",
            Category::Ceremonies,
            "CTAP 2.1 §6.2.2 (up option); WebAuthn L3 §6.1",
        ),
        assertion_flags,
    );
    lab.check(
        meta(
            "ctap2.options.make_credential_up_false",
            "makeCredential with up=false answers CTAP2_ERR_INVALID_OPTION",
            Category::Ceremonies,
            "CTAP 2.1 §6.1.2 (options)",
        ),
        make_credential_up_false,
    );
    lab.check(
        meta(
            "ctap2.options.uv_without_builtin_uv",
            "uv=true on a key without built-in user verification answers CTAP2_ERR_INVALID_OPTION",
            Category::Ceremonies,
            "CTAP 2.1 §6.1.2 (options)",
        ),
        uv_without_builtin_uv,
    );
}

fn exclude_list(lab: &mut Lab<'_>) -> Step<Verdict> {
    let id = lab.test_credential()?;
    let user = lab.random(16)?;
    let mut req = lab.make_credential_request(PROBE_RP_ID, &user, false)?;
    req.exclude_list = vec![Descriptor::public_key(id)];
    Ok(match lab.make_credential(&req) {
        Ok(_) => fail(
            status_name(StatusCode::CREDENTIAL_EXCLUDED),
            "a new credential",
        ),
        Err(e) => verdict(
            e.status() == Some(StatusCode::CREDENTIAL_EXCLUDED),
            status_name(StatusCode::CREDENTIAL_EXCLUDED),
            e.to_string(),
        ),
    })
}

fn allow_list(lab: &mut Lab<'_>) -> Step<Verdict> {
    let id = lab.test_credential()?;
    let unknown = lab.random(32)?;
    let req = lab.get_assertion_request(PROBE_RP_ID, &[&unknown, &id])?;
    let response = lab
        .get_assertion(&req)
        .map_err(|e| fail("an assertion by the allowed credential", e.to_string()))?;
    if response.credential_id.as_deref().is_some_and(|c| c != id) {
        return Ok(fail("the allowed credential's id", "another credential id"));
    }
    let req = lab.get_assertion_request(PROBE_RP_ID, &[&unknown])?;
    Ok(match lab.get_assertion(&req) {
        Ok(_) => fail(status_name(StatusCode::NO_CREDENTIALS), "an assertion"),
        Err(e) => verdict(
            e.status() == Some(StatusCode::NO_CREDENTIALS),
            status_name(StatusCode::NO_CREDENTIALS),
            e.to_string(),
        ),
    })
}

/// The discoverable credentials the discoverable check made, newest last:
/// (credential id, user id).
type Made = Vec<(Vec<u8>, Vec<u8>)>;

fn discoverable(lab: &mut Lab<'_>, made: &mut Option<Made>) -> Step<Verdict> {
    if !lab.option("rk") {
        return Ok(Verdict::Skip(
            "the key offers no discoverable credentials (rk)".into(),
        ));
    }
    // Fixed user ids: a second run replaces these instead of adding more.
    let users: [&[u8]; 3] = [
        b"keybench-probe-1",
        b"keybench-probe-2",
        b"keybench-probe-1",
    ];
    let mut ids = Vec::new();
    for user in users {
        let req = lab.make_credential_request(DISCOVERABLE_RP_ID, user, true)?;
        let response = lab
            .make_credential(&req)
            .map_err(|e| prerequisite("a discoverable credential", &e))?;
        ids.push((credential_id(&response.auth_data)?, user.to_vec()));
    }
    // The third replaced the first: two remain, the third the newest.
    let remaining: Made = ids.into_iter().skip(1).collect();
    let req = lab.get_assertion_request(DISCOVERABLE_RP_ID, &[])?;
    let first = lab
        .get_assertion(&req)
        .map_err(|e| fail("an assertion by a discoverable credential", e.to_string()))?;
    let count = first.number_of_credentials.unwrap_or(1);
    *made = Some(remaining);
    if first.user.is_none() {
        return Ok(fail("the user (id) in the answer", "no user"));
    }
    Ok(verdict(
        count == 2,
        "numberOfCredentials 2 (the third credential replaced the first, same user)",
        format!("numberOfCredentials {count}"),
    ))
}

fn next_assertions(lab: &mut Lab<'_>, made: Option<Made>) -> Step<Verdict> {
    let Some(made) = made else {
        return Ok(Verdict::Skip(
            "no discoverable credentials were made".into(),
        ));
    };
    let req = lab.get_assertion_request(DISCOVERABLE_RP_ID, &[])?;
    let first = lab
        .get_assertion(&req)
        .map_err(|e| fail("an assertion by a discoverable credential", e.to_string()))?;
    let mut got = vec![first.credential_id.clone().unwrap_or_default()];
    let count = first.number_of_credentials.unwrap_or(1);
    for _ in 1..count {
        let next = lab
            .device
            .get_next_assertion()
            .map_err(|e| fail("a getNextAssertion answer", e.to_string()))?;
        got.push(next.credential_id.unwrap_or_default());
    }
    let expected: Vec<Vec<u8>> = made.iter().rev().map(|(id, _)| id.clone()).collect();
    if got != expected {
        return Ok(fail(
            "the credentials most recently created first",
            "another order or other credentials",
        ));
    }
    Ok(match lab.device.get_next_assertion() {
        Ok(_) => fail(status_name(StatusCode::NOT_ALLOWED), "another assertion"),
        Err(e) => verdict(
            e.status() == Some(StatusCode::NOT_ALLOWED),
            format!(
                "{} after the last one",
                status_name(StatusCode::NOT_ALLOWED)
            ),
            e.to_string(),
        ),
    })
}

fn sign_count(lab: &mut Lab<'_>) -> Step<Verdict> {
    let id = lab.test_credential()?;
    let mut counts = Vec::new();
    for _ in 0..2 {
        let req = lab.get_assertion_request(PROBE_RP_ID, &[&id])?;
        let response = lab
            .get_assertion(&req)
            .map_err(|e| fail("an assertion", e.to_string()))?;
        counts.push(auth_data(&response.auth_data)?.sign_count);
    }
    let (a, b) = match counts.as_slice() {
        [a, b] => (*a, *b),
        _ => return Ok(fail("two assertions", "fewer")),
    };
    Ok(verdict(
        (a == 0 && b == 0) || b > a,
        "a counter that increases (or stays zero)",
        format!("signCount {a}, then {b}"),
    ))
}

fn registration_flags(lab: &mut Lab<'_>) -> Step<Verdict> {
    let user = lab.random(16)?;
    let req = lab.make_credential_request(PROBE_RP_ID, &user, false)?;
    let response = lab
        .make_credential(&req)
        .map_err(|e| prerequisite("a test credential", &e))?;
    let flags = auth_data(&response.auth_data)?.flags;
    Ok(verdict(
        flags.has(Flags::UP) && flags.has(Flags::AT) && !flags.has(Flags::UV),
        "UP and AT set, UV clear",
        format!("flags {:?}", flags.names()),
    ))
}

fn assertion_flags(lab: &mut Lab<'_>) -> Step<Verdict> {
    let id = lab.test_credential()?;
    let req = lab.get_assertion_request(PROBE_RP_ID, &[&id])?;
    let with_up = lab
        .get_assertion(&req)
        .map_err(|e| fail("an assertion", e.to_string()))?;
    let flags = auth_data(&with_up.auth_data)?.flags;
    if !flags.has(Flags::UP) || flags.has(Flags::UV) {
        return Ok(fail(
            "UP set and UV clear by default",
            format!("flags {:?}", flags.names()),
        ));
    }
    let mut req = lab.get_assertion_request(PROBE_RP_ID, &[&id])?;
    req.options.up = Some(false);
    let silent = lab
        .get_assertion(&req)
        .map_err(|e| fail("an assertion with up=false", e.to_string()))?;
    let flags = auth_data(&silent.auth_data)?.flags;
    Ok(verdict(
        !flags.has(Flags::UP) && !flags.has(Flags::UV),
        "UP and UV clear with up=false",
        format!("flags {:?}", flags.names()),
    ))
}

fn make_credential_up_false(lab: &mut Lab<'_>) -> Step<Verdict> {
    let user = lab.random(16)?;
    let mut req = lab.make_credential_request(PROBE_RP_ID, &user, false)?;
    req.options.up = Some(false);
    Ok(match lab.make_credential(&req) {
        Ok(_) => fail(status_name(StatusCode::INVALID_OPTION), "a new credential"),
        Err(e) => verdict(
            e.status() == Some(StatusCode::INVALID_OPTION),
            status_name(StatusCode::INVALID_OPTION),
            e.to_string(),
        ),
    })
}

fn uv_without_builtin_uv(lab: &mut Lab<'_>) -> Step<Verdict> {
    if lab.device.info().option("uv").is_some() {
        return Ok(Verdict::Skip(
            "the key has built-in user verification".into(),
        ));
    }
    let user = lab.random(16)?;
    let mut req = lab.make_credential_request(PROBE_RP_ID, &user, false)?;
    req.options.uv = Some(true);
    Ok(match lab.make_credential(&req) {
        Ok(_) => fail(status_name(StatusCode::INVALID_OPTION), "a new credential"),
        Err(e) => verdict(
            e.status() == Some(StatusCode::INVALID_OPTION),
            status_name(StatusCode::INVALID_OPTION),
            e.to_string(),
        ),
    })
}
