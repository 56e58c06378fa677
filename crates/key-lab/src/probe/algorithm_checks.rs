//! For each algorithm the key advertises: a registration and an assertion
//! made through Keybench's WebAuthn client role and verified by its
//! relying-party core, every WebAuthn L3 §7.1 and §7.2 step (attestation
//! statement, signature, flags, counter).

use super::lab::{Created, Lab, PROBE_RP_ID, Step, Verdict, fail, meta, touch_prompt};
use super::result::Category;
use ctap_client::webauthn::{self, ClientContext};
use fido_wire::cose::CoseAlgorithm;
use fido_wire::webauthn::json::{
    AuthenticatorSelection, ResidentKeyRequirement, UserEntity, UserVerificationRequirement,
};
use relying_party::{CeremonyPolicy, Credential, RelyingParty, RpConfig, UserVerification};

/// The origin the probe's ceremonies claim.
pub const PROBE_ORIGIN: &str = "https://probe.keybench.invalid";

/// An algorithm's COSE name, or its number when it has none.
pub fn algorithm_name(alg: CoseAlgorithm) -> String {
    alg.name().map_or_else(|| alg.0.to_string(), str::to_owned)
}

/// The algorithms the key advertises (ES256 when it lists none).
pub fn advertised(lab: &Lab<'_>) -> Vec<CoseAlgorithm> {
    let listed: Vec<CoseAlgorithm> = lab
        .device
        .info()
        .algorithms
        .iter()
        .filter(|a| a.kind == "public-key")
        .map(|a| a.alg)
        .collect();
    if listed.is_empty() {
        vec![CoseAlgorithm::ES256]
    } else {
        listed
    }
}

/// The probe's relying party for one algorithm: UV not required (the probe
/// judges the key, not the user), any attestation reported as it is.
pub fn relying_party(alg: CoseAlgorithm) -> RelyingParty {
    RelyingParty::new(RpConfig::new(PROBE_RP_ID, [PROBE_ORIGIN]))
        .with_policy(CeremonyPolicy {
            user_verification: UserVerification::NotRequired,
            ..CeremonyPolicy::default()
        })
        .with_algorithms(&[alg])
}

/// Runs a registration and an assertion per advertised algorithm.
pub fn run(lab: &mut Lab<'_>) {
    for alg in advertised(lab) {
        let name = algorithm_name(alg);
        let slug = name.to_lowercase();
        let mut registered = None;
        lab.check(
            meta(
                format!("ctap2.registration.{slug}"),
                format!("a {name} registration verifies in the relying-party core"),
                Category::Algorithms,
                "CTAP 2.1 §6.1; WebAuthn L3 §7.1",
            ),
            |lab| register(lab, alg, &mut registered),
        );
        lab.check(
            meta(
                format!("ctap2.assertion.{slug}"),
                format!("a {name} assertion verifies in the relying-party core"),
                Category::Algorithms,
                "CTAP 2.1 §6.2; WebAuthn L3 §7.2",
            ),
            |lab| authenticate(lab, registered),
        );
    }
}

fn register(
    lab: &mut Lab<'_>,
    alg: CoseAlgorithm,
    registered: &mut Option<(Credential, Vec<u8>)>,
) -> Step<Verdict> {
    if !relying_party::verifier::SUPPORTED_ALGORITHMS.contains(&alg) {
        return Ok(Verdict::Skip(format!(
            "Keybench's relying party cannot verify {}",
            algorithm_name(alg)
        )));
    }
    let rp = relying_party(alg);
    let challenge = lab.random(32)?;
    let user_id = lab.random(16)?;
    let mut options = rp.creation_options(
        &challenge,
        UserEntity {
            id: user_id.clone().into(),
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
    let response = {
        let Lab {
            device,
            options: probe,
            pin,
            on_event,
            ..
        } = lab;
        let mut prompt = touch_prompt(*on_event);
        let mut ctx = ClientContext::new(PROBE_ORIGIN);
        ctx.pin = pin.as_deref();
        ctx.on_status = Some(&mut prompt);
        ctx.cancel = Some(&probe.cancel);
        webauthn::register(device, &options, &mut ctx)
    }
    .map_err(|e| fail("a registration", e.to_string()))?;
    lab.created.push(Created {
        id: response.raw_id.0.clone(),
        rp_id: PROBE_RP_ID.to_owned(),
        discoverable: false,
    });
    let outcome = rp
        .finish_registration(&challenge, &user_id, &response, &|_| false)
        .map_err(|e| {
            fail(
                "a registration that verifies",
                format!("{} ({e})", e.code()),
            )
        })?;
    let got = outcome.credential.record().algorithm;
    if got != alg {
        return Ok(fail(
            format!("a {} credential", algorithm_name(alg)),
            format!("a {} credential", algorithm_name(got)),
        ));
    }
    let note = format!(
        "fmt {}, attestation object {} bytes",
        outcome.credential.record().attestation_format,
        response.response.attestation_object.0.len()
    );
    *registered = Some((outcome.credential, response.raw_id.0));
    Ok(Verdict::PassNote(note))
}

fn authenticate(lab: &mut Lab<'_>, registered: Option<(Credential, Vec<u8>)>) -> Step<Verdict> {
    let Some((credential, id)) = registered else {
        return Ok(Verdict::Skip(
            "no credential: the registration did not verify".into(),
        ));
    };
    let rp = relying_party(credential.record().algorithm);
    let challenge = lab.random(32)?;
    let mut options = rp.request_options(&challenge, std::slice::from_ref(&id));
    options.user_verification = Some(UserVerificationRequirement::Discouraged);
    let response = {
        let Lab {
            device,
            options: probe,
            pin,
            on_event,
            ..
        } = lab;
        let mut prompt = touch_prompt(*on_event);
        let mut ctx = ClientContext::new(PROBE_ORIGIN);
        ctx.pin = pin.as_deref();
        ctx.on_status = Some(&mut prompt);
        ctx.cancel = Some(&probe.cancel);
        webauthn::authenticate(device, &options, &mut ctx)
    }
    .map_err(|e| fail("an assertion", e.to_string()))?;
    // The user was identified before the ceremony (the allow list names
    // their credential), as a relying party signing someone in would.
    let user = credential.record().user_handle.0.clone();
    rp.finish_authentication(
        &challenge,
        Some(user.as_slice()),
        &[id.as_slice()],
        &response,
        &credential,
    )
    .map_err(|e| fail("an assertion that verifies", format!("{} ({e})", e.code())))?;
    Ok(Verdict::PassNote(format!(
        "signature {} bytes",
        response.response.signature.0.len()
    )))
}
