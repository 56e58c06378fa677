//! The probe against the virtual key, served in-process over the same
//! CTAPHID framing a USB key speaks: healthy, it passes every check it can
//! run (each skip with its reason); with one deliberate fault, the check
//! named for that fault fails and nothing else does.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use ctap_client::{Device, Recorder};
use ctaphid::{DeviceIdentity, ReportTransport};
use fido_wire::cose::CoseAlgorithm;
use key_lab::probe::{self, CANCEL_RP_ID, Outcome, ProbeOptions, ProbeReport};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use virtual_authenticator::fault::{Fault, FaultyReports};
use virtual_authenticator::{
    AttestationMode, Authenticator, Config, PresencePolicy, PresencePrompt, PresenceRequest,
    PresenceResponder,
};

/// A probe run takes seconds; this bounds a stuck one.
const RUN_LIMIT: Duration = Duration::from_secs(180);

/// The virtual user: touches at once, except for the request the CANCEL
/// check cancels, which it leaves waiting as a person told not to touch.
#[derive(Default)]
struct VirtualUser {
    waiting: Mutex<Vec<PresenceResponder>>,
}

impl PresencePrompt for VirtualUser {
    fn ask(&self, request: PresenceRequest, responder: PresenceResponder) {
        if request.rp_id.as_deref() == Some(CANCEL_RP_ID) {
            self.waiting.lock().unwrap().push(responder);
        } else {
            responder.answer(true);
        }
    }
}

/// Serves a virtual key (every algorithm, packed self attestation) with
/// `fault` on an in-process pipe, runs the destructive probe against it
/// and returns the report.
fn probe_virtual_key(fault: Option<Fault>) -> ProbeReport {
    probe_virtual_key_with(
        Config {
            fault,
            ..Config::default()
        },
        None,
        ProbeOptions {
            destructive: true,
            ..ProbeOptions::default()
        },
    )
}

/// The same for a key of this configuration, with a PIN set on it first
/// (when given), and these options.
fn probe_virtual_key_with(
    config: Config,
    pin_set_first: Option<&'static str>,
    options: ProbeOptions,
) -> ProbeReport {
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let truncate = config.fault == Some(Fault::TruncatedContinuation);
        let authenticator = Authenticator::new(Config {
            presence: PresencePolicy::Ask(Arc::new(VirtualUser::default())),
            attestation: AttestationMode::PackedSelf,
            ..config
        })
        .unwrap();
        let (host, key): (_, ctaphid::transport::PipeEnd) = ctaphid::pipe();
        let key: Box<dyn ReportTransport> = if truncate {
            Box::new(FaultyReports::new(key))
        } else {
            Box::new(key)
        };
        let stop = Arc::new(AtomicBool::new(false));
        let serving = stop.clone();
        std::thread::spawn(move || {
            let identity = DeviceIdentity {
                version: (0, 1, 0),
                capabilities: ctaphid::client::capability::WINK
                    | ctaphid::client::capability::CBOR
                    | ctaphid::client::capability::NMSG,
            };
            ctaphid::serve::serve(key, identity, authenticator, serving)
        });
        let mut device = Device::open(host, Recorder::default()).unwrap();
        if let Some(pin) = pin_set_first {
            device.set_pin(pin).unwrap();
        }
        let report = probe::run(&mut device, &options, &mut |_| {});
        stop.store(true, Ordering::SeqCst);
        done_tx.send(report).unwrap();
    });
    done_rx
        .recv_timeout(RUN_LIMIT)
        .expect("the probe finished in time")
}

fn outcome(report: &ProbeReport, id: &str) -> Outcome {
    report
        .checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id}"))
        .outcome
}

fn failed(report: &ProbeReport) -> Vec<String> {
    report.failures().map(|c| c.id.clone()).collect()
}

#[test]
fn the_healthy_virtual_key_passes_every_check_it_can_run() {
    let report = probe_virtual_key(None);
    println!("{report}");
    assert_eq!(failed(&report), Vec::<String>::new(), "{report}");
    // Every skip says why.
    for c in report.checks.iter().filter(|c| c.outcome == Outcome::Skip) {
        assert!(c.note.as_deref().is_some_and(|n| !n.is_empty()), "{}", c.id);
    }
    // The checks the faults below aim at did run, and passed.
    for id in [
        "ctaphid.cancel",
        "ctaphid.keepalive",
        "ctaphid.ping.7609",
        "ctap2.error.missing_parameter",
        "ctap2.sign_count",
        "ctap2.assertion.ml-dsa-65",
        "ctap2.extension.credBlob",
        "ctap2.extension.hmac-secret",
        "ctap2.extension.hmac-secret-mc",
        "ctap2.credential_management",
        "config.toggle_always_uv",
        "pin.retries",
        "pin.change",
        "ctap2.flags.uv",
    ] {
        assert_eq!(outcome(&report, id), Outcome::Pass, "{id}");
    }
    // A registration and an assertion per advertised algorithm.
    for alg in ["ml-dsa-87", "ml-dsa-65", "ml-dsa-44", "eddsa", "es256"] {
        assert_eq!(
            outcome(&report, &format!("ctap2.registration.{alg}")),
            Outcome::Pass
        );
        assert_eq!(
            outcome(&report, &format!("ctap2.assertion.{alg}")),
            Outcome::Pass
        );
    }
    // Passing checks carry no evidence; the JSON form is complete.
    assert!(report.checks.iter().all(|c| c.evidence.is_empty()));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["total"]["fail"], 0);
    assert_eq!(
        json["checks"].as_array().unwrap().len(),
        report.checks.len()
    );
}

/// Each fault is caught by the check named for it, and by nothing else;
/// the failure carries expected, actual and the frames as evidence.
fn caught_by(fault: Fault, check: &str) {
    let report = probe_virtual_key(Some(fault.clone()));
    assert_eq!(
        failed(&report),
        vec![check.to_owned()],
        "{fault:?}\n{report}"
    );
    let failure = report.failures().next().unwrap();
    assert!(failure.expected.is_some() && failure.actual.is_some());
    assert!(!failure.evidence.is_empty(), "{check} has evidence");
    println!(
        "{fault:?} -> {check}: expected {:?}, actual {:?}",
        failure.expected, failure.actual
    );
}

#[test]
fn a_wrong_status_code_is_caught() {
    caught_by(Fault::WrongStatusCode, "ctap2.error.missing_parameter");
}

#[test]
fn an_ignored_cancel_is_caught() {
    caught_by(Fault::IgnoreCancel, "ctaphid.cancel");
}

#[test]
fn a_truncated_continuation_is_caught() {
    caught_by(Fault::TruncatedContinuation, "ctaphid.ping.7609");
}

#[test]
fn a_stuck_sign_count_is_caught() {
    caught_by(Fault::StuckSignCount, "ctap2.sign_count");
}

#[test]
fn a_corrupt_signature_is_caught() {
    caught_by(
        Fault::CorruptSignature(CoseAlgorithm::ML_DSA_65),
        "ctap2.assertion.ml-dsa-65",
    );
}

#[test]
fn an_advertised_but_missing_extension_is_caught() {
    caught_by(
        Fault::IgnoredExtension("credBlob".into()),
        "ctap2.extension.credBlob",
    );
}

#[test]
fn pin_retries_not_decremented_are_caught() {
    caught_by(Fault::PinRetriesNotDecremented, "pin.retries");
}

/// On a key with a PIN, given the PIN, the probe verifies the user where a
/// discoverable credential needs it and deletes its test credentials
/// afterwards; nothing changes on the key but credentials it made and
/// removed.
#[test]
fn with_the_pin_given_every_check_runs_and_nothing_is_left_behind() {
    let report = probe_virtual_key_with(
        Config::default(),
        Some("8642"),
        ProbeOptions {
            pin: Some("8642".into()),
            ..ProbeOptions::default()
        },
    );
    assert_eq!(failed(&report), Vec::<String>::new(), "{report}");
    for id in [
        "ctap2.discoverable",
        "ctap2.get_next_assertion",
        "ctap2.extension.credBlob",
        "ctap2.extension.largeBlobKey",
    ] {
        assert_eq!(outcome(&report, id), Outcome::Pass, "{id}");
    }
    assert!(report.leftovers.is_empty(), "{:?}", report.leftovers);
    assert_eq!(
        outcome(&report, "ctap2.credential_management"),
        Outcome::Pass
    );
    assert!(
        !report
            .checks
            .iter()
            .any(|c| c.id.starts_with("pin.") || c.id.starts_with("config."))
    );
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains("8642"), "the PIN is in no result");
}

/// A key with a smaller maxMsgSize than CTAPHID's refuses a longer
/// request with REQUEST_TOO_LARGE, and the probe checks it.
#[test]
fn a_smaller_max_msg_size_is_checked() {
    let report = probe_virtual_key_with(
        Config {
            max_msg_size: 2048,
            ..Config::default()
        },
        None,
        ProbeOptions::default(),
    );
    assert_eq!(failed(&report), Vec::<String>::new(), "{report}");
    assert_eq!(
        outcome(&report, "ctap2.error.request_too_large"),
        Outcome::Pass
    );
    // The largest ML-DSA registrations still fit: their requests are small.
    assert_eq!(
        outcome(&report, "ctap2.registration.ml-dsa-87"),
        Outcome::Pass
    );
}

/// The PIN the probe never learnt is not in the report: its frames are
/// redacted by the recorder and no message names it.
#[test]
fn the_probe_pin_never_reaches_the_report() {
    let report = probe_virtual_key(Some(Fault::PinRetriesNotDecremented));
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains(probe::pin_checks::PROBE_PIN));
}
