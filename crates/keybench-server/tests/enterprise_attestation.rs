//! Enterprise attestation over HTTP: a registration whose options asked for
//! `attestation: "enterprise"` (POST /api/advanced/register/begin) gets a
//! verdict saying whether the key gave one and on what that rests, with the
//! virtual key configured for it (vendor-facilitated for this RP ID, and
//! platform-managed), and says false when it was not asked for or the key
//! did not give one.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use ctap_client::Device;
use ctap_client::webauthn::{self, ClientContext, PlatformPolicy};
use serde_json::{Value, json};
use support::{Server, browser, server, virtual_key_with};
use virtual_authenticator::{Authenticator, Config};

/// A virtual key whose vendor list names `rp_ids`, with enterprise
/// attestation enabled (authenticatorConfig; no PIN is set, so no token).
fn enterprise_key(rp_ids: &[&str]) -> (Device, impl Drop) {
    let authenticator = Authenticator::new(Config {
        enterprise_rp_ids: Some(rp_ids.iter().map(|s| (*s).to_owned()).collect()),
        ..Config::default()
    })
    .unwrap();
    let (mut key, stop) = virtual_key_with(authenticator);
    key.enable_enterprise_attestation(None).unwrap();
    assert_eq!(key.info().option("ep"), Some(true));
    struct Stop(std::sync::Arc<std::sync::atomic::AtomicBool>);
    impl Drop for Stop {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
    (key, Stop(stop))
}

/// Registers `user` asking for `attestation`, by a platform with `policy`;
/// answers the registration verdict.
fn register(
    srv: &Server,
    key: &mut Device,
    user: &str,
    attestation: &str,
    policy: &PlatformPolicy,
) -> Value {
    let c = browser();
    let (s, v) = srv.post(
        &c,
        "/api/advanced/register/begin",
        &json!({ "username": user, "attestation": attestation }),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["publicKey"]["attestation"], attestation);
    let options =
        fido_wire::webauthn::json::from_json(&serde_json::to_vec(&v["publicKey"]).unwrap())
            .unwrap();
    let response = webauthn::register_as(
        key,
        &options,
        &mut ClientContext::new(srv.base.clone()),
        policy,
    )
    .unwrap();
    let (s, v) = srv.post(
        &c,
        "/api/register/complete",
        &serde_json::to_value(&response).unwrap(),
    );
    assert_eq!(s, 200, "{v}");
    v
}

#[test]
fn an_enterprise_attestation_asked_for_is_in_the_verdict() {
    let srv = server(None);
    let (mut key, _stop) = enterprise_key(&["localhost"]);

    // Vendor-facilitated: this RP ID is on the key's list.
    let v = register(
        &srv,
        &mut key,
        "erin",
        "enterprise",
        &PlatformPolicy::default(),
    );
    assert_eq!(v["enterpriseAttestation"], true, "{v}");
    let basis = v["enterpriseAttestationBasis"].as_str().unwrap();
    assert!(
        basis.starts_with("asked for \"enterprise\", and the key answered a verified packed attestation statement with a 1-certificate chain"),
        "{basis}"
    );
    assert_eq!(v["credential"]["attestation"]["format"], "packed");

    // Platform-managed: the platform's list names the RP.
    let managed = PlatformPolicy {
        enterprise_rp_ids: Some(vec!["localhost".into()]),
    };
    let v = register(&srv, &mut key, "frank", "enterprise", &managed);
    assert_eq!(v["enterpriseAttestation"], true, "{v}");
}

#[test]
fn without_enterprise_asked_for_or_given_the_verdict_says_false() {
    let srv = server(None);
    let (mut key, _stop) = enterprise_key(&["localhost"]);

    // The same key, not asked: its ordinary (self) attestation.
    let v = register(&srv, &mut key, "gina", "direct", &PlatformPolicy::default());
    assert_eq!(v["enterpriseAttestation"], false, "{v}");
    assert_eq!(
        v["enterpriseAttestationBasis"],
        "not asked for: the options asked for \"direct\" attestation"
    );

    // The simple registration asks for "direct" too.
    let c = browser();
    let (s, v, _) = srv.register(&c, &mut key, "hank");
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["enterpriseAttestation"], false, "{v}");

    // Asked, but this RP ID is not on the key's vendor list: the key gives
    // its ordinary attestation, and the verdict says none was given.
    let (mut other, _stop) = enterprise_key(&["example.com"]);
    let v = register(
        &srv,
        &mut other,
        "ivy",
        "enterprise",
        &PlatformPolicy::default(),
    );
    assert_eq!(v["enterpriseAttestation"], false, "{v}");
    assert!(
        v["enterpriseAttestationBasis"]
            .as_str()
            .unwrap()
            .contains("no enterprise attestation was given"),
        "{v}"
    );
}
