//! Each extension getInfo advertises, honoured (CTAP 2.1 §12): credProtect
//! hides a level-3 credential without UV, hmac-secret is acknowledged at
//! creation, credBlob and largeBlobKey come back as stored, minPinLength is
//! accepted. Extensions this probe does not know are listed as skipped.

use super::lab::{
    EXTENSIONS_RP_ID, Lab, PROBE_RP_ID, Step, Verdict, auth_data, credential_id, extension_output,
    fail, meta, prerequisite, status_name, verdict,
};
use super::result::Category;
use fido_wire::cbor::Value;
use fido_wire::ctap2::StatusCode;

/// Runs one check per advertised extension.
pub fn run(lab: &mut Lab<'_>) {
    let extensions = lab.device.info().extensions.clone();
    for name in extensions {
        let id = format!("ctap2.extension.{name}");
        match name.as_str() {
            "credProtect" => lab.check(
                meta(
                    id,
                    "credProtect 3 is acknowledged and hides the credential without UV",
                    Category::Extensions,
                    "CTAP 2.1 §12.1",
                ),
                cred_protect,
            ),
            "hmac-secret" => lab.check(
                meta(
                    id,
                    "hmac-secret is acknowledged at creation and gives one 32-byte output per salt (WebAuthn prf)",
                    Category::Extensions,
                    "CTAP 2.1 §12.5; WebAuthn L3 §10.1.4",
                ),
                hmac_secret,
            ),
            "hmac-secret-mc" => lab.check(
                meta(
                    id,
                    "hmac-secret-mc gives at creation the output getAssertion gives for the same salt",
                    Category::Extensions,
                    "CTAP 2.2 §12.7",
                ),
                hmac_secret_mc,
            ),
            "credBlob" => lab.check(
                meta(
                    id,
                    "credBlob is stored at creation and returned by getAssertion",
                    Category::Extensions,
                    "CTAP 2.1 §12.2",
                ),
                cred_blob,
            ),
            "largeBlobKey" => lab.check(
                meta(
                    id,
                    "largeBlobKey returns the same key at creation and assertion",
                    Category::Extensions,
                    "CTAP 2.1 §12.3",
                ),
                large_blob_key,
            ),
            "minPinLength" => lab.check(
                meta(
                    id,
                    "minPinLength is accepted at creation",
                    Category::Extensions,
                    "CTAP 2.1 §12.4",
                ),
                min_pin_length,
            ),
            other => {
                let reason = if other == "hmac-secret-mc" {
                    "hmac-secret-mc needs salts under a PIN/UV shared secret; not checked yet"
                } else {
                    "an extension this probe does not check"
                };
                lab.check(
                    meta(
                        id,
                        format!("{other} is honoured"),
                        Category::Extensions,
                        "CTAP 2.2 §12",
                    ),
                    |_| Ok(Verdict::Skip(reason.into())),
                );
            }
        }
    }
}

fn with_extension(
    lab: &mut Lab<'_>,
    rp_id: &str,
    user: &[u8],
    discoverable: bool,
    name: &str,
    input: Value,
) -> Step<fido_wire::ctap2::MakeCredentialRequest> {
    let mut req = lab.make_credential_request(rp_id, user, discoverable)?;
    req.extensions = Some(Value::map([(Value::text(name), input)]));
    Ok(req)
}

fn cred_protect(lab: &mut Lab<'_>) -> Step<Verdict> {
    let user = lab.random(16)?;
    let req = with_extension(lab, PROBE_RP_ID, &user, false, "credProtect", Value::int(3))?;
    let response = lab
        .make_credential(&req)
        .map_err(|e| prerequisite("a credProtect credential", &e))?;
    let data = auth_data(&response.auth_data)?;
    let level = extension_output(&data, "credProtect").and_then(Value::as_i64);
    if level != Some(3) {
        return Ok(fail(
            "credProtect: 3 in the extension outputs",
            level.map_or_else(
                || "no credProtect output".into(),
                |l| format!("credProtect: {l}"),
            ),
        ));
    }
    let id = credential_id(&response.auth_data)?;
    let req = lab.get_assertion_request(PROBE_RP_ID, &[&id])?;
    Ok(match lab.get_assertion(&req) {
        Ok(_) => fail(
            format!("{} without UV", status_name(StatusCode::NO_CREDENTIALS)),
            "an assertion without UV",
        ),
        Err(e) => verdict(
            e.status() == Some(StatusCode::NO_CREDENTIALS),
            format!("{} without UV", status_name(StatusCode::NO_CREDENTIALS)),
            e.to_string(),
        ),
    })
}

fn hmac_secret(lab: &mut Lab<'_>) -> Step<Verdict> {
    let user = lab.random(16)?;
    let req = with_extension(
        lab,
        PROBE_RP_ID,
        &user,
        false,
        "hmac-secret",
        Value::Bool(true),
    )?;
    let response = lab
        .make_credential(&req)
        .map_err(|e| prerequisite("an hmac-secret credential", &e))?;
    let data = auth_data(&response.auth_data)?;
    let out = extension_output(&data, "hmac-secret").and_then(Value::as_bool);
    if out != Some(true) {
        return Ok(fail(
            "hmac-secret: true in the extension outputs",
            out.map_or_else(
                || "no hmac-secret output".into(),
                |o| format!("hmac-secret: {o}"),
            ),
        ));
    }
    // The outputs through the WebAuthn client role (prf): secrets, so only
    // their lengths and equalities are compared, never shown.
    let (id, _) = prf::register(lab, None)?;
    let (salt1, salt2) = (lab.random(32)?, lab.random(32)?);
    let first = prf::assert(lab, &id, &salt1)?;
    let again = prf::assert(lab, &id, &salt1)?;
    let other = prf::assert(lab, &id, &salt2)?;
    if first.len() != 32 {
        return Ok(fail("a 32-byte output", format!("{} bytes", first.len())));
    }
    Ok(verdict(
        *first == *again && *first != *other,
        "the same output for the same salt, another for another salt",
        match (*first == *again, *first == *other) {
            (false, _) => "two outputs for the same salt",
            (true, _) => "the same output for two salts",
        },
    ))
}

fn hmac_secret_mc(lab: &mut Lab<'_>) -> Step<Verdict> {
    if !lab.has_extension("hmac-secret") {
        return Ok(Verdict::Skip("hmac-secret-mc without hmac-secret".into()));
    }
    let salt = lab.random(32)?;
    let (id, at_creation) = prf::register(lab, Some(&salt))?;
    let Some(at_creation) = at_creation else {
        return Ok(fail("an output at creation", "none"));
    };
    let later = prf::assert(lab, &id, &salt)?;
    Ok(verdict(
        *at_creation == *later,
        "the creation output equal to getAssertion's for the same salt",
        "another output",
    ))
}

/// hmac-secret through the WebAuthn client role's prf extension.
mod prf {
    use super::super::algorithm_checks::{PROBE_ORIGIN, relying_party};
    use super::super::lab::{Created, Lab, PROBE_RP_ID, Step, fail, touch_prompt};
    use ctap_client::webauthn::{self, ClientContext};
    use fido_wire::webauthn::base64url;
    use fido_wire::webauthn::json::{
        AuthenticatorSelection, ResidentKeyRequirement, UserEntity, UserVerificationRequirement,
    };
    use serde_json::{Value as Json, json};
    use zeroize::Zeroizing;

    /// A prf output, wiped from memory when dropped.
    pub type Output = Zeroizing<Vec<u8>>;

    fn ctx_run<R>(
        lab: &mut Lab<'_>,
        run: impl FnOnce(
            &mut ctap_client::Device,
            &mut ClientContext<'_>,
        ) -> Result<R, ctap_client::CtapError>,
    ) -> Result<R, ctap_client::CtapError> {
        let Lab {
            device,
            pin,
            options: probe,
            on_event,
            ..
        } = lab;
        let mut prompt = touch_prompt(*on_event);
        let mut ctx = ClientContext::new(PROBE_ORIGIN);
        ctx.pin = pin.as_deref();
        ctx.on_status = Some(&mut prompt);
        ctx.cancel = Some(&probe.cancel);
        run(device, &mut ctx)
    }

    fn first(results: Option<&Json>) -> Option<Output> {
        results
            .and_then(|r| r.get("first"))
            .and_then(Json::as_str)
            .and_then(|s| base64url::decode(s).ok())
            .map(Zeroizing::new)
    }

    /// Registers a non-discoverable credential with prf (evaluated at
    /// creation with `salt`, when given); returns its id and the output
    /// at creation.
    pub fn register(lab: &mut Lab<'_>, salt: Option<&[u8]>) -> Step<(Vec<u8>, Option<Output>)> {
        let alg = lab.first_algorithm();
        let challenge = lab.random(32)?;
        let user = lab.random(16)?;
        let mut options = relying_party(alg).creation_options(
            &challenge,
            UserEntity {
                id: user.into(),
                name: "probe".into(),
                display_name: "Keybench probe".into(),
            },
            "Keybench probe",
            &[],
        );
        options.authenticator_selection = Some(AuthenticatorSelection {
            authenticator_attachment: None,
            resident_key: Some(ResidentKeyRequirement::Discouraged),
            require_resident_key: false,
            user_verification: Some(UserVerificationRequirement::Discouraged),
        });
        let prf = match salt {
            Some(s) => json!({"eval": {"first": base64url::encode(s)}}),
            None => json!({}),
        };
        options.extensions = Some(
            [("prf".to_owned(), prf)]
                .into_iter()
                .collect::<serde_json::Map<_, _>>(),
        );
        let response = ctx_run(lab, |d, ctx| webauthn::register(d, &options, ctx))
            .map_err(|e| fail("a registration with prf", e.to_string()))?;
        lab.created.push(Created {
            id: response.raw_id.0.clone(),
            rp_id: PROBE_RP_ID.to_owned(),
            discoverable: false,
        });
        let prf = response.client_extension_results.get("prf");
        if prf.and_then(|p| p.get("enabled")) != Some(&Json::Bool(true)) {
            return Err(fail("prf enabled at creation", "not enabled"));
        }
        Ok((
            response.raw_id.0.clone(),
            first(prf.and_then(|p| p.get("results"))),
        ))
    }

    /// One assertion evaluating prf with `salt`; returns the output.
    pub fn assert(lab: &mut Lab<'_>, id: &[u8], salt: &[u8]) -> Step<Output> {
        let alg = lab.first_algorithm();
        let challenge = lab.random(32)?;
        let mut options = relying_party(alg).request_options(&challenge, &[id.to_vec()]);
        options.user_verification = Some(UserVerificationRequirement::Discouraged);
        options.extensions = Some(
            [(
                "prf".to_owned(),
                json!({"eval": {"first": base64url::encode(salt)}}),
            )]
            .into_iter()
            .collect::<serde_json::Map<_, _>>(),
        );
        let response = ctx_run(lab, |d, ctx| webauthn::authenticate(d, &options, ctx))
            .map_err(|e| fail("an assertion with prf", e.to_string()))?;
        first(
            response
                .client_extension_results
                .get("prf")
                .and_then(|p| p.get("results")),
        )
        .ok_or_else(|| fail("a prf output at assertion", "none"))
    }
}

fn cred_blob(lab: &mut Lab<'_>) -> Step<Verdict> {
    if !lab.option("rk") {
        return Ok(Verdict::Skip(
            "credBlob is kept with discoverable credentials; the key has none".into(),
        ));
    }
    let max = lab.device.info().max_cred_blob_length.unwrap_or(32).min(32);
    let blob = lab.random(usize::try_from(max).unwrap_or(32))?;
    let req = with_extension(
        lab,
        EXTENSIONS_RP_ID,
        b"keybench-probe-credblob",
        true,
        "credBlob",
        Value::bytes(blob.clone()),
    )?;
    let response = lab
        .make_credential(&req)
        .map_err(|e| prerequisite("a credBlob credential", &e))?;
    let data = auth_data(&response.auth_data)?;
    let stored = extension_output(&data, "credBlob").and_then(Value::as_bool);
    if stored != Some(true) {
        return Ok(fail(
            "credBlob: true in the creation outputs",
            stored.map_or_else(|| "no credBlob output".into(), |o| format!("credBlob: {o}")),
        ));
    }
    let id = credential_id(&response.auth_data)?;
    let mut req = lab.get_assertion_request(EXTENSIONS_RP_ID, &[&id])?;
    req.extensions = Some(Value::map([(Value::text("credBlob"), Value::Bool(true))]));
    let assertion = lab
        .get_assertion(&req)
        .map_err(|e| fail("an assertion with credBlob", e.to_string()))?;
    let data = auth_data(&assertion.auth_data)?;
    let returned = extension_output(&data, "credBlob").and_then(Value::as_bytes);
    Ok(verdict(
        returned == Some(blob.as_slice()),
        format!("the {}-byte blob returned", blob.len()),
        match returned {
            Some(b) => format!("{} other bytes", b.len()),
            None => "no credBlob output".into(),
        },
    ))
}

fn large_blob_key(lab: &mut Lab<'_>) -> Step<Verdict> {
    if !lab.option("rk") {
        return Ok(Verdict::Skip(
            "largeBlobKey needs discoverable credentials; the key has none".into(),
        ));
    }
    let req = with_extension(
        lab,
        EXTENSIONS_RP_ID,
        b"keybench-probe-largeblobkey",
        true,
        "largeBlobKey",
        Value::Bool(true),
    )?;
    let response = lab
        .make_credential(&req)
        .map_err(|e| prerequisite("a largeBlobKey credential", &e))?;
    let Some(created) = response.large_blob_key.filter(|k| k.len() == 32) else {
        return Ok(fail("a 32-byte largeBlobKey at creation", "none"));
    };
    let id = credential_id(&response.auth_data)?;
    let mut req = lab.get_assertion_request(EXTENSIONS_RP_ID, &[&id])?;
    req.extensions = Some(Value::map([(
        Value::text("largeBlobKey"),
        Value::Bool(true),
    )]));
    let assertion = lab
        .get_assertion(&req)
        .map_err(|e| fail("an assertion with largeBlobKey", e.to_string()))?;
    Ok(verdict(
        assertion.large_blob_key.as_deref() == Some(created.as_slice()),
        "the same largeBlobKey at assertion",
        if assertion.large_blob_key.is_some() {
            "another key"
        } else {
            "none"
        },
    ))
}

fn min_pin_length(lab: &mut Lab<'_>) -> Step<Verdict> {
    let user = lab.random(16)?;
    let req = with_extension(
        lab,
        PROBE_RP_ID,
        &user,
        false,
        "minPinLength",
        Value::Bool(true),
    )?;
    let response = lab
        .make_credential(&req)
        .map_err(|e| prerequisite("a minPinLength credential", &e))?;
    let data = auth_data(&response.auth_data)?;
    Ok(match extension_output(&data, "minPinLength") {
        None => Verdict::PassNote(
            "no output: the probe's RP ID is not one the key may tell its minimum PIN length"
                .into(),
        ),
        Some(v) if v.as_i64().is_some_and(|n| n >= 4) => Verdict::Pass,
        Some(v) => fail("a minimum PIN length of at least 4", format!("{v:?}")),
    })
}
