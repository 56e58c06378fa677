//! Interoperability: python-fido2 (PyPI, an independent CTAPHID/CTAP2 client
//! and relying party) registers and authenticates with the virtual key over
//! UDP, for every algorithm, and verifies each result with its own server
//! and attestation code.
//!
//! Needs a Python with `fido2==2.2.1` in `KEYBENCH_PYTHON`; `scripts/test`
//! provides one. Without it the test fails and says so, unless
//! `KEYBENCH_SKIP_INTEROP=1` asks explicitly to skip.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use keybench_tests::workspace_root;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use virtual_authenticator::{AttestationMode, Authenticator, Config};

/// The Python to run, or `None` when the caller asked to skip.
fn python() -> Option<String> {
    match std::env::var("KEYBENCH_PYTHON") {
        Ok(p) => Some(p),
        Err(_) if std::env::var("KEYBENCH_SKIP_INTEROP").as_deref() == Ok("1") => {
            eprintln!("skipped on request (KEYBENCH_SKIP_INTEROP=1)");
            None
        }
        Err(_) => panic!(
            "set KEYBENCH_PYTHON to a Python with fido2==2.2.1 (scripts/test does), or KEYBENCH_SKIP_INTEROP=1 to skip"
        ),
    }
}

/// Serves `authenticator` on a loopback UDP port, runs `script` with the
/// address (and `extra` arguments), and returns its JSON lines.
fn run_against(
    python: &str,
    authenticator: Authenticator,
    script: &str,
    extra: &[String],
) -> Vec<serde_json::Value> {
    let transport = ctaphid::UdpReports::listen(([127, 0, 0, 1], 0).into()).unwrap();
    let addr = transport.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let identity = ctaphid::DeviceIdentity {
        version: (0, 1, 0),
        capabilities: 0x0d,
    };
    std::thread::spawn(move || ctaphid::serve::serve(transport, identity, authenticator, s));
    let out = Command::new(python)
        .arg(workspace_root().join("tests/interop").join(script))
        .arg(addr.ip().to_string())
        .arg(addr.port().to_string())
        .args(extra)
        .output()
        .unwrap_or_else(|e| panic!("running {python}: {e}"));
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python-fido2 failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{stdout}");
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn python_fido2_registers_and_authenticates_every_algorithm_over_udp() {
    let Some(python) = python() else { return };
    let lines = run_against(
        &python,
        Authenticator::new(Config::default()).unwrap(),
        "python_fido2.py",
        &[],
    );
    assert_eq!(lines[0]["getInfo"]["max_msg_size"], 7609);
    let results = &lines[1..];
    let algs: Vec<i64> = results.iter().map(|r| r["alg"].as_i64().unwrap()).collect();
    assert_eq!(algs, [-7, -8, -48, -49, -50]);
    for r in results {
        assert_eq!(r["verified"], true);
        assert_eq!(r["fmt"], "packed");
        assert_eq!(r["public_key_alg"], r["alg"]);
    }
    let ml_dsa_87 = results.iter().find(|r| r["alg"] == -50).unwrap();
    assert!(ml_dsa_87["registration_bytes"].as_u64().unwrap() > 7000);
}

#[test]
fn python_fido2_uses_pin_extensions_credential_management_and_config() {
    let Some(python) = python() else { return };
    let authenticator = Authenticator::new(Config {
        attestation: AttestationMode::PackedBasic,
        ..Config::default()
    })
    .unwrap();
    let root: String = authenticator
        .attestation_root()
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let lines = run_against(&python, authenticator, "python_fido2_pin.py", &[root]);
    let step = |name: &str| {
        lines
            .iter()
            .find(|l| l["step"] == name)
            .unwrap_or_else(|| panic!("no {name} step"))
            .clone()
    };
    let info = step("info");
    assert_eq!(info["options"]["clientPin"], false);
    assert_eq!(info["pin_protocols"], serde_json::json!([2, 1]));
    let pin = step("pin");
    assert_eq!(pin["wrong"], "PIN_INVALID");
    assert_eq!(pin["retries"], 7);
    assert_eq!(pin["option"], true);
    // Packed basic attestation, verified up to the root by python-fido2.
    let register = step("register");
    assert_eq!(register["fmt"], "packed");
    assert_eq!(register["x5c"], 1);
    assert_eq!(register["uv"], true);
    assert_eq!(register["extensions"]["credProtect"], 2);
    assert_eq!(register["extensions"]["hmac-secret"], true);
    assert_eq!(register["extensions"]["credBlob"], true);
    // ML-DSA-65 with an ES256 certificate: far below self attestation's size.
    assert!(register["bytes"].as_u64().unwrap() < 3000, "{register}");
    let prf = step("prf");
    assert_eq!(prf["uv"], true);
    assert_eq!(prf["same"], true);
    assert_eq!(prf["differs"], true);
    assert_eq!(
        prf["cred_blob"],
        "keybench-blob"
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    assert_eq!(
        step("credProtect")["discoverable_without_uv"],
        "NO_CREDENTIALS"
    );
    let cm = step("credMgmt");
    assert_eq!(cm["existing"], 1);
    assert_eq!(cm["rps"], serde_json::json!(["example.org"]));
    assert_eq!(cm["creds"], 1);
    assert_eq!(cm["cred_protect"], 2);
    assert_eq!(cm["public_key_alg"], -49);
    assert_eq!(cm["updated_name"], "alice@example.org");
    assert_eq!(cm["after_delete"], 0);
    let config = step("config");
    assert_eq!(config["min_pin_length"], 8);
    assert_eq!(config["force_pin_change"], true);
    // CTAP 2.1 §6.5.5.7.2: a pending forced change refuses tokens with PIN_INVALID.
    assert_eq!(config["token_while_forced"], "PIN_INVALID");
}

/// The other direction: python-fido2's Fido2Server is the relying party, and
/// Keybench's WebAuthn client role (with a PIN, over CTAPHID to the virtual
/// key) answers its options for every algorithm. The server must accept
/// every RegistrationResponseJSON and AuthenticationResponseJSON as is.
#[test]
fn python_fido2_server_accepts_keybench_client_responses() {
    use ctap_client::webauthn::{self, ClientContext};
    use std::io::{BufRead as _, Write as _};
    let Some(python) = python() else { return };
    let (host, end) = ctaphid::pipe();
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let identity = ctaphid::DeviceIdentity {
        version: (0, 1, 0),
        capabilities: 0x0d,
    };
    let authenticator = Authenticator::new(Config {
        attestation: AttestationMode::PackedBasic,
        ..Config::default()
    })
    .unwrap();
    std::thread::spawn(move || ctaphid::serve::serve(end, identity, authenticator, s));
    let mut device = ctap_client::Device::open(host, ctap_client::Recorder::default()).unwrap();
    device.set_pin("975310").unwrap();

    let mut child = Command::new(&python)
        .arg(workspace_root().join("tests/interop/python_fido2_rp.py"))
        .arg("example.org")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut to_rp = child.stdin.take().unwrap();
    let mut from_rp = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next = || -> serde_json::Value {
        serde_json::from_str(&from_rp.next().expect("the RP answered").unwrap()).unwrap()
    };
    let mut verdicts = vec![];
    for _ in 0..5 {
        let options = next();
        let options = serde_json::to_vec(&options["publicKey"]).unwrap();
        let options = fido_wire::webauthn::json::from_json(&options).unwrap();
        let mut ctx = ClientContext {
            pin: Some("975310"),
            ..ClientContext::new("https://example.org")
        };
        let response = webauthn::register(&mut device, &options, &mut ctx).unwrap();
        writeln!(to_rp, "{}", serde_json::to_string(&response).unwrap()).unwrap();
        let registered = next();
        let options = next();
        let options = serde_json::to_vec(&options["publicKey"]).unwrap();
        let options = fido_wire::webauthn::json::from_json(&options).unwrap();
        let response = webauthn::authenticate(&mut device, &options, &mut ctx).unwrap();
        writeln!(to_rp, "{}", serde_json::to_string(&response).unwrap()).unwrap();
        verdicts.push((registered, next()));
    }
    drop(to_rp);
    let status = child.wait().unwrap();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(status.success());
    let algs: Vec<i64> = verdicts
        .iter()
        .map(|(r, _)| r["alg"].as_i64().unwrap())
        .collect();
    assert_eq!(algs, [-7, -8, -48, -49, -50]);
    for (registered, authenticated) in &verdicts {
        println!("{registered} {authenticated}");
        assert_eq!(registered["registered"], true);
        assert_eq!(registered["public_key_alg"], registered["alg"]);
        assert_eq!(registered["uv"], true);
        assert_eq!(authenticated["authenticated"], true);
        assert_eq!(authenticated["uv"], true);
        assert_eq!(authenticated["counter"], 1);
    }
}

/// python-fido2's Fido2Client, an independent WebAuthn client, against
/// Keybench's relying party over HTTP (the virtual key on UDP as its
/// authenticator): the server accepts its registrations and assertions for
/// every algorithm.
#[test]
fn python_fido2_client_registers_and_authenticates_with_the_keybench_server() {
    let Some(python) = python() else { return };
    let dir = std::env::temp_dir().join(format!("keybench-py-server-{}", std::process::id()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut config = keybench_server::ServerConfig::local(([127, 0, 0, 1], 0).into(), dir.clone());
    config.no_keyring = true;
    let running = runtime.block_on(keybench_server::start(config)).unwrap();
    let base = format!("http://localhost:{}", running.addr.port());
    runtime.spawn(running.wait());

    let transport = ctaphid::UdpReports::listen(([127, 0, 0, 1], 0).into()).unwrap();
    let key_addr = transport.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let identity = ctaphid::DeviceIdentity {
        version: (0, 1, 0),
        capabilities: 0x0d,
    };
    let key = Authenticator::new(Config::default()).unwrap();
    std::thread::spawn(move || ctaphid::serve::serve(transport, identity, key, s));
    let out = Command::new(&python)
        .arg(workspace_root().join("tests/interop/python_fido2_client_to_server.py"))
        .arg(&base)
        .arg(key_addr.ip().to_string())
        .arg(key_addr.port().to_string())
        .output()
        .unwrap();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python-fido2 client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{stdout}");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let algs: Vec<i64> = lines.iter().map(|l| l["alg"].as_i64().unwrap()).collect();
    assert_eq!(algs, [-7, -8, -48, -49, -50]);
    for l in &lines {
        assert_eq!(l["registered"], l["alg"]);
        assert_eq!(l["fmt"], "packed");
        assert_eq!(l["authenticated"], true, "{l}");
    }
}

/// python-fido2 as another relying party (Fido2Server's options, in its
/// `{"publicKey": …}` form) and as the client (Fido2Client with the virtual
/// key): every registration and assertion verifies step by step through
/// the core `keybench verify` uses, the assertion with the registration
/// response as the stored key; extension outputs asked for are judged.
#[test]
fn python_fido2_ceremonies_verify_step_by_step() {
    let Some(python) = python() else { return };
    let lines = run_against(
        &python,
        Authenticator::new(Config::default()).unwrap(),
        "python_fido2_for_verify.py",
        &[],
    );
    let algs: Vec<i64> = lines.iter().map(|l| l["alg"].as_i64().unwrap()).collect();
    assert_eq!(algs, [-7, -8, -49]);
    for l in &lines {
        let origin = l["origin"].as_str().unwrap();
        let bytes = |v: &serde_json::Value| serde_json::to_vec(v).unwrap();
        let registration = bytes(&l["registration"]);
        let report =
            relying_party::report::verify_ceremony(&relying_party::report::VerifyRequest {
                options: Some(&bytes(&l["creation"])),
                response: &registration,
                origin: Some(origin),
                ..Default::default()
            })
            .unwrap();
        assert!(report.verified, "{}: {:#?}", l["alg"], report.steps);
        let cred_protect = report
            .extensions
            .iter()
            .find(|e| e.name == "credProtect")
            .unwrap_or_else(|| panic!("{:#?}", report.extensions));
        assert_eq!(
            cred_protect.status,
            relying_party::ceremony::ExtensionStatus::Ok
        );
        let report =
            relying_party::report::verify_ceremony(&relying_party::report::VerifyRequest {
                options: Some(&bytes(&l["request"])),
                response: &bytes(&l["assertion"]),
                public_key: Some(&registration),
                origin: Some(origin),
                ..Default::default()
            })
            .unwrap();
        assert!(report.verified, "{}: {:#?}", l["alg"], report.steps);
        println!(
            "alg {}: registration and assertion verified ({} steps each checked)",
            l["alg"],
            report.steps.len()
        );
    }
}

/// python-fido2's own CTAP code against the CTAP 2.1/2.2 features:
/// enterprise attestation (CTAP 2.1 §6.1.2 step 9: disabled
/// INVALID_PARAMETER, value 3 INVALID_OPTION, vendor-facilitated for the
/// key's RP IDs only, platform-managed for any, epAtt and a certificate),
/// thirdPartyPayment (CTAP 2.2 §12.9) and the persistent read-only token
/// (pcmr alone; encIdentifier opened with python-fido2's own HKDF/AES
/// code; listing works, deleting does not), for ES256 and ML-DSA-65.
#[test]
fn python_fido2_uses_enterprise_attestation_persistent_tokens_and_payment() {
    let Some(python) = python() else { return };
    let authenticator = Authenticator::new(Config {
        enterprise_rp_ids: Some(vec!["corp.example".into()]),
        ..Config::default()
    })
    .unwrap();
    let lines = run_against(&python, authenticator, "python_fido2_ctap22.py", &[]);
    let step = |name: &str| {
        lines
            .iter()
            .find(|l| l["step"] == name)
            .unwrap_or_else(|| panic!("no {name} step"))
            .clone()
    };
    let info = step("info");
    assert_eq!(info["options"]["ep"], false);
    assert_eq!(info["options"]["perCredMgmtRO"], true);
    let ep = step("enterprise");
    assert_eq!(ep["disabled"], "INVALID_PARAMETER");
    assert_eq!(ep["enabled"], true);
    assert_eq!(ep["bad_value"], "INVALID_OPTION");
    for r in ep["results"].as_array().unwrap() {
        let granted = r["ep"] == 2 || r["rp"] == "corp.example";
        assert_eq!(r["ep_att"] == true, granted, "{r}");
        assert_eq!(r["x5c"] == 1, granted, "{r}");
    }
    let payment = step("payment");
    assert_eq!(payment["created"], true);
    assert_eq!(payment["asserted"], true);
    let pcmr = step("pcmr");
    assert_eq!(pcmr["mixed"], "UNAUTHORIZED_PERMISSION");
    assert_eq!(pcmr["identifier_len"], 16);
    assert_eq!(pcmr["identifier_stable"], true);
    assert_eq!(pcmr["sealed_differ"], true);
    assert_eq!(pcmr["store_state_len"], 16);
    assert_eq!(pcmr["existing"], 1);
    assert_eq!(pcmr["rps"], serde_json::json!(["example.org"]));
    assert_eq!(pcmr["creds"], 1);
    assert_eq!(pcmr["delete"], "PIN_AUTH_INVALID");
}
