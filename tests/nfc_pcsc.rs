//! NFC end to end: the virtual key as a contactless FIDO card on a private
//! pcscd (vsmartcard's vpcd reader driver), reached through the real PC/SC
//! stack (pcsc-lite's client library, pcscd, the vpcd driver, TCP to the
//! card). python-fido2's own PC/SC transport (`fido2.pcsc`, through
//! pyscard) registers and authenticates with every algorithm, verified by
//! its Fido2Server, on a reader with extended APDUs and on one limited to
//! short APDUs (command and response chaining); Keybench's CLI does the
//! same through its PC/SC transport against python-fido2's Fido2Server, and
//! its traffic record shows the chained APDUs of an ML-DSA-87 registration;
//! `keybench devices --watch` reports a card put on a reader and taken off.
//!
//! Needs pcscd and vsmartcard-vpcd (Debian packages) and a Python with
//! `fido2==2.2.1` and pyscard in `KEYBENCH_PYTHON`; `scripts/test` provides
//! all. Without them the tests fail and say so, unless
//! `KEYBENCH_SKIP_NFC=1` asks explicitly to skip.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use keybench_tests::pcsc_service::{PrivatePcscd, StartError};
use keybench_tests::process::{output_within, wait_within};
use keybench_tests::workspace_root;
use std::io::{BufRead as _, Write as _};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use virtual_authenticator::nfc::{AppletOptions, serve_vpcd};
use virtual_authenticator::{Authenticator, Config, SharedAuthenticator};

/// Every child process gets at most this long.
const DEADLINE: Duration = Duration::from_secs(180);

fn skip_requested() -> bool {
    std::env::var("KEYBENCH_SKIP_NFC").as_deref() == Ok("1")
}

/// The private PC/SC service and the Python, or `None` when skipping.
fn setup() -> Option<(PrivatePcscd, String)> {
    if skip_requested() {
        eprintln!("skipped on request (KEYBENCH_SKIP_NFC=1)");
        return None;
    }
    let python = std::env::var("KEYBENCH_PYTHON").unwrap_or_else(|_| {
        panic!(
            "set KEYBENCH_PYTHON to a Python with fido2==2.2.1 and pyscard (scripts/test does), or KEYBENCH_SKIP_NFC=1 to skip"
        )
    });
    match PrivatePcscd::start() {
        Ok(service) => Some((service, python)),
        Err(StartError::Missing(what)) => panic!(
            "{what}; scripts/test installs pcscd and vsmartcard-vpcd, or set KEYBENCH_SKIP_NFC=1 to skip"
        ),
        Err(StartError::Failed(why)) => panic!("the private pcscd did not start: {why}"),
    }
}

/// A virtual key served as a card on reader `slot` until the guard drops.
struct Card {
    stop: Arc<AtomicBool>,
}

impl Drop for Card {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn insert_card(service: &PrivatePcscd, slot: u16, options: AppletOptions) -> Card {
    let key = SharedAuthenticator::new(Authenticator::new(Config::default()).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let reader = service.card_address(slot);
    std::thread::spawn(move || serve_vpcd(reader, key, options, s));
    wait_for_card(service, slot);
    Card { stop }
}

/// Waits (at most 20 s) until `keybench devices` sees a FIDO card on the
/// reader: pcscd notices a card at its next poll of the driver.
fn wait_for_card(service: &PrivatePcscd, slot: u16) {
    let name = service.reader_name(slot);
    let end = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let mut command = Command::new(keybench_binary());
        command
            .args(["devices", "--json"])
            .env("PCSCLITE_CSOCK_NAME", service.socket());
        let out = output_within(&mut command, DEADLINE).unwrap();
        let view: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let ready = view["devices"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|d| d["reader"] == name && d["fido"] == "FIDO_2_0");
        if ready {
            return;
        }
        assert!(
            std::time::Instant::now() < end,
            "no FIDO card on {name} after 20 s: {view}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn keybench_binary() -> PathBuf {
    keybench_tests::keybench_binary().unwrap_or_else(|e| panic!("{e}"))
}

fn python_fido2_over_pcsc(
    python: &str,
    service: &PrivatePcscd,
    reader: &str,
    extended: bool,
) -> Vec<serde_json::Value> {
    let mut command = Command::new(python);
    command
        .arg(workspace_root().join("tests/interop/python_fido2.py"))
        .arg("pcsc")
        .arg(reader)
        .args(extended.then_some("ext"))
        .env("PCSCLITE_CSOCK_NAME", service.socket());
    let out = output_within(&mut command, DEADLINE).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python-fido2 over PC/SC failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{stdout}");
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn python_fido2_pcsc_registers_and_authenticates_every_algorithm() {
    let Some((service, python)) = setup() else {
        return;
    };
    let _extended_reader = insert_card(&service, 0, AppletOptions::default());
    let _short_reader = insert_card(
        &service,
        1,
        AppletOptions {
            short_only: true,
            ..AppletOptions::default()
        },
    );
    for (slot, extended) in [(0, true), (1, false)] {
        let lines = python_fido2_over_pcsc(&python, &service, &service.reader_name(slot), extended);
        assert_eq!(lines[0]["getInfo"]["max_msg_size"], 7609);
        assert!(
            lines[0]["getInfo"]["algorithms"]
                .as_array()
                .unwrap()
                .contains(&serde_json::json!(-50))
        );
        let results: Vec<&serde_json::Value> = lines[1..]
            .iter()
            .filter(|l| l.get("alg").is_some())
            .collect();
        let algs: Vec<i64> = results.iter().map(|r| r["alg"].as_i64().unwrap()).collect();
        assert_eq!(algs, [-7, -8, -48, -49, -50]);
        for r in &results {
            assert_eq!(r["verified"], true, "{r}");
            assert_eq!(r["fmt"], "packed");
            assert_eq!(r["public_key_alg"], r["alg"]);
        }
        let ml_dsa_87 = results.iter().find(|r| r["alg"] == -50).unwrap();
        assert_eq!(ml_dsa_87["registration_bytes"], 7362);
        let wire = &ml_dsa_87["registration_wire"];
        if extended {
            // The whole 7 KB answer in one extended APDU.
            assert_eq!(wire["get_responses"], 0, "{wire}");
        } else {
            // 256 bytes per APDU: about 29 GET RESPONSEs for the attestation.
            assert!(wire["get_responses"].as_u64().unwrap() >= 28, "{wire}");
            // The assertion allowing all five credentials is over 255 bytes:
            // sent as a command chain.
            let all = lines.last().unwrap();
            assert_eq!(all["allow_list"], 5);
            assert_eq!(all["verified"], true);
            assert!(
                all["authentication_wire"]["chained_commands"]
                    .as_u64()
                    .unwrap()
                    >= 1
            );
        }
    }
}

/// Keybench's own client, through its PC/SC transport, as the WebAuthn
/// client of python-fido2's Fido2Server (user verification required: the
/// PIN is set over NFC first) for every algorithm, on a short-APDU reader;
/// the recorded traffic of the ML-DSA-87 registration shows the chained
/// APDUs.
#[test]
fn keybench_client_over_pcsc_satisfies_python_fido2_server() {
    let Some((service, python)) = setup() else {
        return;
    };
    let _card = insert_card(
        &service,
        1,
        AppletOptions {
            short_only: true,
            ..AppletOptions::default()
        },
    );
    let keybench = keybench_binary();
    let reader = format!("pcsc:{}", service.reader_name(1));
    let record_dir = tempfile::tempdir().unwrap();
    let kb = |args: &[&str], record: Option<&str>| -> String {
        let mut command = Command::new(&keybench);
        command
            .args(args)
            .arg(&reader)
            .env("PCSCLITE_CSOCK_NAME", service.socket())
            .env("KEYBENCH_PIN", "975310");
        if let Some(name) = record {
            command.arg("--record").arg(record_dir.path().join(name));
        }
        let out = output_within(&mut command, DEADLINE).unwrap();
        assert!(
            out.status.success(),
            "keybench {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let devices = {
        let mut command = Command::new(&keybench);
        command
            .args(["devices", "--json"])
            .env("PCSCLITE_CSOCK_NAME", service.socket());
        let out = output_within(&mut command, DEADLINE).unwrap();
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let listed = devices["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["reader"] == service.reader_name(1))
        .unwrap_or_else(|| panic!("the card's reader is listed: {devices}"));
    assert_eq!(listed["transport"], "pcsc");
    assert_eq!(listed["fido"], "FIDO_2_0");
    assert_eq!(listed["openAs"], reader);
    // keybench doctor finds the service running and names the card.
    let doctor = {
        let data = tempfile::tempdir().unwrap();
        let mut command = Command::new(&keybench);
        command
            .args([
                "doctor",
                "--json",
                "--no-keyring",
                "--listen",
                "127.0.0.1:0",
                "--data-dir",
            ])
            .arg(data.path())
            .env("PCSCLITE_CSOCK_NAME", service.socket());
        let out = output_within(&mut command, DEADLINE).unwrap();
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let pcsc = doctor["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "pcsc")
        .unwrap();
    assert_eq!(pcsc["status"], "ok", "{pcsc}");
    assert!(
        pcsc["evidence"].to_string().contains(&format!(
            "{}: a FIDO card (FIDO_2_0)",
            service.reader_name(1)
        )),
        "{pcsc}"
    );

    let info: serde_json::Value = serde_json::from_str(&kb(&["info", "--json"], None)).unwrap();
    assert!(
        info["transports"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("nfc"))
    );
    // The key lab's comparison over the reader: the same metrics as over
    // CTAPHID, counted in APDUs (ML-DSA-87's attestation takes many GET
    // RESPONSEs on a short-APDU reader; ES256's a few).
    let compared: serde_json::Value = serde_json::from_str(&kb(
        &[
            "compare",
            "--algorithms",
            "ML-DSA-87,ES256",
            "--rounds",
            "1",
            "--json",
        ],
        None,
    ))
    .unwrap();
    let algorithms = compared["sections"][0]["algorithms"].as_array().unwrap();
    let apdus_in = |name: &str| {
        algorithms
            .iter()
            .find(|a| a["algorithm"] == name && a["status"] == "measured")
            .unwrap_or_else(|| panic!("{name} measured over PC/SC: {compared}"))["registration"]
            ["reportsIn"]["median"]
            .as_f64()
            .unwrap()
    };
    let (ml_dsa, es256) = (apdus_in("ML-DSA-87"), apdus_in("ES256"));
    println!("compare over PC/SC: registration APDUs in: ML-DSA-87 {ml_dsa}, ES256 {es256}");
    assert!(ml_dsa > 20.0 && es256 >= 1.0 && ml_dsa > es256 * 5.0);
    kb(&["pin", "set", "--new-pin", "975310"], None);

    let mut rp = Command::new(&python)
        .arg(workspace_root().join("tests/interop/python_fido2_rp.py"))
        .arg("example.org")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut to_rp = rp.stdin.take().unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel();
    let from_rp = std::io::BufReader::new(rp.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in from_rp.lines() {
            if lines_tx.send(line.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    let next = || -> serde_json::Value {
        let line = lines_rx
            .recv_timeout(DEADLINE)
            .expect("the relying party answered in time");
        serde_json::from_str(&line).unwrap()
    };
    let mut verdicts = vec![];
    for _ in 0..5 {
        let options = next();
        let alg = options["publicKey"]["pubKeyCredParams"][0]["alg"]
            .as_i64()
            .unwrap();
        let record = (alg == -50).then_some("ml-dsa-87-registration.jsonl");
        let options_file = record_dir.path().join("options.json");
        std::fs::write(&options_file, options.to_string()).unwrap();
        let response = kb(
            &[
                "register",
                "--options",
                options_file.to_str().unwrap(),
                "--origin",
                "https://example.org",
            ],
            record,
        );
        let response: serde_json::Value = serde_json::from_str(&response).unwrap();
        writeln!(to_rp, "{response}").unwrap();
        let registered = next();
        let options = next();
        std::fs::write(&options_file, options.to_string()).unwrap();
        let response = kb(
            &[
                "authenticate",
                "--options",
                options_file.to_str().unwrap(),
                "--origin",
                "https://example.org",
            ],
            None,
        );
        let response: serde_json::Value = serde_json::from_str(&response).unwrap();
        writeln!(to_rp, "{response}").unwrap();
        verdicts.push((registered, next()));
    }
    drop(to_rp);
    assert!(wait_within(&mut rp, DEADLINE).is_some_and(|s| s.success()));
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
    }

    // The traffic view of the ML-DSA-87 registration: APDUs with decoded
    // headers, the answer chained in 256-byte pieces, the secret-bearing
    // exchanges (PIN token, pinUvAuthParam) without their bytes.
    let trace =
        std::fs::read_to_string(record_dir.path().join("ml-dsa-87-registration.jsonl")).unwrap();
    let events: Vec<serde_json::Value> = trace
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let headers: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "apdu")
        .map(|e| e["header"].as_str().unwrap())
        .collect();
    let gets = headers
        .iter()
        .filter(|h| h.starts_with("GET RESPONSE"))
        .count();
    let more = headers.iter().filter(|h| h.contains("(MORE_DATA)")).count();
    assert!(gets >= 28 && more >= 28, "{headers:#?}");
    assert!(headers.iter().any(|h| h.starts_with("SELECT")));
    assert!(headers.iter().any(|h| h.starts_with("NFCCTAP_MSG short")));
    assert!(
        events
            .iter()
            .filter(|e| e["type"] == "apdu")
            .any(|e| e["bytes"].is_null()),
        "secret-bearing exchanges are recorded without bytes"
    );
    let registration = events
        .iter()
        .find(|e| e["type"] == "response" && e["command"] == "authenticatorMakeCredential")
        .unwrap();
    assert!(registration["length"].as_u64().unwrap() > 7000);
    println!(
        "ML-DSA-87 registration over short APDUs: {} APDUs",
        headers.len()
    );
    for h in headers.iter().take(12) {
        println!("  {h}");
    }
}

/// Hot-plug: `keybench devices --watch --json` reports the readers, a FIDO
/// card put on one (with its applet version) and taken off again.
#[test]
fn the_watcher_reports_readers_and_cards_coming_and_going() {
    let Some((service, _python)) = setup() else {
        return;
    };
    /// The watcher runs until killed: on success and on a failed assertion.
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut watcher = KillOnDrop(
        Command::new(keybench_binary())
            .args(["devices", "--watch", "--json"])
            .env("PCSCLITE_CSOCK_NAME", service.socket())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let (tx, rx) = std::sync::mpsc::channel::<serde_json::Value>();
    let out = std::io::BufReader::new(watcher.0.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in out.lines() {
            let Ok(line) = line else { break };
            if tx.send(serde_json::from_str(&line).unwrap()).is_err() {
                break;
            }
        }
    });
    let name = service.reader_name(0);
    let wait_for = |event: &str| -> serde_json::Value {
        let end = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let left = end.saturating_duration_since(std::time::Instant::now());
            let e = rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no {event} event for {name} within 20 s"));
            if e["event"] == event && e["reader"] == name {
                return e;
            }
        }
    };
    wait_for("readerAdded");
    let card = {
        let key = SharedAuthenticator::new(Authenticator::new(Config::default()).unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let reader = service.card_address(0);
        std::thread::spawn(move || serve_vpcd(reader, key, AppletOptions::default(), s));
        Card { stop }
    };
    let inserted = wait_for("cardInserted");
    assert_eq!(inserted["fido"], "FIDO_2_0");
    assert_eq!(inserted["atr"], "3b80800101");
    drop(card);
    let removed = wait_for("cardRemoved");
    assert_eq!(removed["reader"], name);
}
