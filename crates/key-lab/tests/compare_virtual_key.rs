//! The comparison on the virtual key over the in-process CTAPHID transport
//! (the same framing code a hidraw or UDP key goes through): every
//! algorithm measured, sizes as the algorithms define them, counts that
//! agree with the framing, touch wait kept apart, and a report that is one
//! self-contained page.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use ctap_client::{Device, Recorder};
use ctaphid::transport::pipe;
use fido_wire::cose::CoseAlgorithm;
use key_lab::compare::{self, CeremonyStats, CompareSettings, Comparison, Hooks, Outcome};
use key_lab::report::{KeyIdentity, Report, Section};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use virtual_authenticator::{AttestationMode, Authenticator, Config, PresencePolicy};

struct Key {
    device: Device,
    stop: Arc<AtomicBool>,
}

impl Drop for Key {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn key(presence: PresencePolicy, attestation: AttestationMode) -> Key {
    let (host, end) = pipe();
    let authenticator = Authenticator::new(Config {
        presence,
        attestation,
        ..Config::default()
    })
    .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    std::thread::spawn(move || {
        ctaphid::serve::serve(end, key_ops::virtual_key::IDENTITY, authenticator, s)
    });
    Key {
        device: Device::open(host, Recorder::default()).unwrap(),
        stop,
    }
}

fn measured<'a>(c: &'a Comparison, name: &str) -> (&'a CeremonyStats, &'a CeremonyStats) {
    let a = c.algorithms.iter().find(|a| a.algorithm == name).unwrap();
    match &a.outcome {
        Outcome::Measured {
            registration,
            authentication,
        } => (registration, authentication),
        other => panic!("{name}: {other:?}"),
    }
}

/// Reports a message of `len` bytes takes: 57 in the first, 59 in each next.
fn reports_for(len: f64) -> f64 {
    1.0 + ((len - 57.0).max(0.0) / 59.0).ceil()
}

#[test]
fn every_algorithm_is_measured_on_the_virtual_key() {
    let mut key = key(PresencePolicy::Approve, AttestationMode::PackedSelf);
    let mut seen = Vec::new();
    let settings = CompareSettings {
        rounds: 3,
        ..CompareSettings::default()
    };
    let mut progress = |p: &compare::Progress| seen.push((p.algorithm.clone(), p.round));
    let mut hooks = Hooks {
        progress: Some(&mut progress),
        ..Hooks::default()
    };
    let c = compare::run(&mut key.device, &settings, &mut hooks).unwrap();
    assert_eq!(seen.len(), 15, "a progress report before every round");
    assert_eq!(c.rounds, 3);
    assert_eq!(c.rp_id, "lab.keybench.test");
    let names: Vec<&str> = c.algorithms.iter().map(|a| a.algorithm.as_str()).collect();
    assert_eq!(
        names,
        ["ML-DSA-87", "ML-DSA-65", "ML-DSA-44", "EdDSA", "ES256"]
    );

    // FIPS 204 signature sizes; Ed25519's 64; DER ECDSA P-256 at most 72.
    for (name, signature) in [
        ("ML-DSA-87", 4627.0),
        ("ML-DSA-65", 3309.0),
        ("ML-DSA-44", 2420.0),
        ("EdDSA", 64.0),
    ] {
        let (r, a) = measured(&c, name);
        assert_eq!(a.signature_bytes.unwrap().median, signature, "{name}");
        // Packed self attestation signs with the credential key.
        assert_eq!(r.signature_bytes.unwrap().median, signature, "{name}");
    }
    let (es_r, es_a) = measured(&c, "ES256");
    assert!((68.0..=72.0).contains(&es_a.signature_bytes.unwrap().max));

    // Public keys: ML-DSA-87 > -65 > -44 > P-256 > Ed25519 (COSE-encoded).
    let pk = |n| measured(&c, n).0.public_key_bytes.unwrap().median;
    assert!(pk("ML-DSA-87") > 2592.0 && pk("ML-DSA-65") > 1952.0 && pk("ML-DSA-44") > 1312.0);
    assert!(pk("ML-DSA-87") > pk("ML-DSA-65") && pk("ML-DSA-44") > pk("ES256"));
    assert!(pk("ES256") > pk("EdDSA"));

    for name in names {
        let (r, a) = measured(&c, name);
        for s in [r, a] {
            // The framing's own arithmetic: a request of n bytes takes so
            // many reports out; the answer at least so many in.
            assert_eq!(s.reports_out.max, reports_for(s.bytes_out.max), "{name}");
            assert!(s.reports_in.min >= reports_for(s.bytes_in.min), "{name}");
            assert_eq!(s.touch_wait_ms.max, 0.0, "approve: no touch wait");
            assert!(s.key_ms.median > 0.0 && s.rp_verify_ms.median > 0.0);
            assert!(s.total_ms.median >= s.key_ms.median);
            assert!(s.median_order_holds());
        }
        // The response carries the attestation object's content.
        assert!(r.bytes_in.min > r.attestation_object_bytes.unwrap().min * 0.9);
        assert!(a.attestation_object_bytes.is_none() && a.public_key_bytes.is_none());
        assert_eq!(a.authenticator_data_bytes.median, 37.0);
    }
    assert!(es_r.bytes_in.median < measured(&c, "ML-DSA-87").0.bytes_in.median);
}

trait Ordered {
    fn median_order_holds(&self) -> bool;
}

impl Ordered for CeremonyStats {
    fn median_order_holds(&self) -> bool {
        [
            &self.key_ms,
            &self.wire_ms,
            &self.rp_verify_ms,
            &self.total_ms,
            &self.bytes_in,
        ]
        .iter()
        .all(|s| s.min <= s.median && s.median <= s.p95 && s.p95 <= s.max)
    }
}

#[test]
fn touch_wait_is_reported_apart() {
    let mut key = key(
        PresencePolicy::Delay(Duration::from_millis(350)),
        AttestationMode::None,
    );
    let settings = CompareSettings {
        algorithms: vec![CoseAlgorithm::ES256],
        rounds: 1,
    };
    let c = compare::run(&mut key.device, &settings, &mut Hooks::default()).unwrap();
    let (r, a) = measured(&c, "ES256");
    for s in [r, a] {
        // The key said UP_NEEDED at least once before it answered.
        assert!(s.touch_wait_ms.median > 0.0);
        assert!(s.key_ms.median + s.touch_wait_ms.median <= s.total_ms.median);
        assert!(
            s.reports_in.median > reports_for(s.bytes_in.median),
            "KEEPALIVEs counted"
        );
    }
    // fmt "none": no attestation signature.
    assert!(r.signature_bytes.is_none());
}

#[test]
fn an_algorithm_the_key_lacks_is_skipped() {
    let (host, end) = pipe();
    let authenticator = Authenticator::new(Config {
        algorithms: vec![CoseAlgorithm::ES256],
        ..Config::default()
    })
    .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    std::thread::spawn(move || {
        ctaphid::serve::serve(end, key_ops::virtual_key::IDENTITY, authenticator, s)
    });
    let mut key = Key {
        device: Device::open(host, Recorder::default()).unwrap(),
        stop,
    };
    let settings = CompareSettings {
        algorithms: vec![CoseAlgorithm::ML_DSA_44, CoseAlgorithm::ES256],
        rounds: 1,
    };
    let c = compare::run(&mut key.device, &settings, &mut Hooks::default()).unwrap();
    assert!(matches!(c.algorithms[0].outcome, Outcome::Skipped { .. }));
    measured(&c, "ES256");
}

#[test]
fn the_report_is_one_self_contained_page_and_the_same_json() {
    let mut key = key(PresencePolicy::Approve, AttestationMode::PackedSelf);
    let settings = CompareSettings {
        rounds: 1,
        ..CompareSettings::default()
    };
    let c = compare::run(&mut key.device, &settings, &mut Hooks::default()).unwrap();
    let identity = KeyIdentity::of(&key.device, "in-process virtual key", Default::default());
    assert_eq!(identity.aaguid, "6b627669-7274-2d6d-6c64-73612d763031");
    assert_eq!(
        identity.metadata_name.as_deref(),
        Some("Keybench virtual authenticator")
    );
    let report = Report::new(identity, vec![Section::Compare(c)]);
    let html = report.to_html();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(html.matches("<svg").count(), 6, "six charts");
    assert!(html.contains("log scale"), "sizes span ES256 to ML-DSA-87");
    assert!(!html.contains("<script"), "no scripts");
    for external in ["src=", "href=\"http", "url(", "@import"] {
        assert!(!html.contains(external), "no external resource: {external}");
    }
    assert!(html.contains("ML-DSA-87") && html.contains("Keybench virtual authenticator"));
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["sections"][0]["kind"], "compare");
    assert_eq!(json["sections"][0]["algorithms"][0]["status"], "measured");
    assert_eq!(
        json["key"]["aaguid"],
        "6b627669-7274-2d6d-6c64-73612d763031"
    );
    assert!(json["machine"]["os"].is_string());
    assert_eq!(json["keybenchVersion"], env!("CARGO_PKG_VERSION"));
    if let Some(dir) = std::env::var_os("KEYBENCH_REPORT_OUT") {
        // The browser test and the screenshots render this page.
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("report.html"), &html).unwrap();
        std::fs::write(dir.join("report.json"), report.to_json()).unwrap();
    }
}

#[test]
fn cancel_stops_the_run_while_the_key_waits_for_a_touch() {
    let mut key = key(
        PresencePolicy::Delay(Duration::from_secs(30)),
        AttestationMode::None,
    );
    let cancel = ctaphid::CancelToken::new();
    let c = cancel.clone();
    let mut asked = false;
    // The first UP_NEEDED: the user gives up and presses Cancel.
    let mut on_status = |s: ctaphid::KeepaliveStatus| {
        if s == ctaphid::KeepaliveStatus::UpNeeded && !asked {
            asked = true;
            c.cancel();
        }
    };
    let mut hooks = Hooks {
        on_status: Some(&mut on_status),
        cancel: Some(&cancel),
        ..Hooks::default()
    };
    // Without CANCEL the key would touch after 30 s and the run go on.
    let result = compare::run(&mut key.device, &CompareSettings::default(), &mut hooks);
    assert_eq!(result.unwrap_err(), compare::CompareError::Cancelled);
}

#[test]
fn a_key_that_wants_its_pin_stops_the_run_and_a_wrong_pin_is_tried_once() {
    use fido_wire::ctap2::Permissions;
    let mut key = key(PresencePolicy::Approve, AttestationMode::None);
    key.device.set_pin("24681357").unwrap();
    // alwaysUv: every makeCredential needs user verification, here the PIN.
    let token = key
        .device
        .pin_token(
            "24681357",
            Permissions(Permissions::AUTHENTICATOR_CONFIG),
            None,
        )
        .unwrap();
    key.device.toggle_always_uv(Some(&token)).unwrap();
    key.device.get_info().unwrap();
    let settings = CompareSettings::default();

    let err = compare::run(&mut key.device, &settings, &mut Hooks::default()).unwrap_err();
    assert_eq!(err.code(), "pin_required");

    let before = key.device.pin_retries().unwrap().retries;
    let mut hooks = Hooks {
        pin: Some("00000000"),
        ..Hooks::default()
    };
    let err = compare::run(&mut key.device, &settings, &mut hooks).unwrap_err();
    assert_eq!(err.code(), "ctap_pin_invalid");
    assert_eq!(
        key.device.pin_retries().unwrap().retries,
        before - 1,
        "one try, not one per algorithm"
    );

    let mut hooks = Hooks {
        pin: Some("24681357"),
        ..Hooks::default()
    };
    let c = compare::run(
        &mut key.device,
        &CompareSettings {
            algorithms: vec![CoseAlgorithm::ML_DSA_65],
            rounds: 1,
        },
        &mut hooks,
    )
    .unwrap();
    measured(&c, "ML-DSA-65");
}
