//! The `keybench` binary as a user runs it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "../../session-store/tests/support/fake_gcs.rs"]
mod fake_gcs;
#[path = "../../relying-party/tests/common/mds_pki.rs"]
mod mds_pki;
#[path = "../../session-store/tests/support/moto_s3.rs"]
mod moto_s3;

use std::process::Command;

fn keybench(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_keybench"))
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn version_and_help() {
    let (ok, out, _) = keybench(&["--version"]);
    assert!(ok);
    assert_eq!(
        out.trim(),
        format!("keybench {}", env!("CARGO_PKG_VERSION"))
    );
    let (ok, out, _) = keybench(&["--help"]);
    assert!(ok);
    assert!(out.contains("Usage: keybench"));
    assert!(out.contains("decode"));
}

#[test]
fn lists_ml_dsa() {
    let (ok, out, _) = keybench(&["algorithms"]);
    assert!(ok);
    assert!(out.contains("  -49  ML-DSA-65"), "{out}");
}

#[test]
fn decodes_cbor_and_reports_bad_input() {
    let (ok, out, _) = keybench(&["decode", "cbor", "a2030201a0"]);
    assert!(ok);
    assert!(out.contains("{3: 2, 1: {}}"), "{out}");
    assert!(out.contains("not CTAP2 canonical"), "{out}");
    let (ok, _, err) = keybench(&["decode", "cbor", "5f"]);
    assert!(!ok);
    assert!(err.contains("indefinite length"), "{err}");
    let (ok, _, err) = keybench(&["decode", "auth-data", "00"]);
    assert!(!ok);
    assert!(err.contains("rpIdHash"), "{err}");
}

/// A `keybench virtual-key serve` process on a free UDP port.
struct VirtualKey {
    child: std::process::Child,
    addr: String,
}

impl VirtualKey {
    fn start(state: &std::path::Path) -> Result<VirtualKey, String> {
        Self::start_with(state, &[])
    }

    fn start_with(state: &std::path::Path, extra: &[&str]) -> Result<VirtualKey, String> {
        use std::io::BufRead as _;
        let mut child = Command::new(env!("CARGO_BIN_EXE_keybench"))
            .args([
                "virtual-key",
                "serve",
                "--udp",
                "127.0.0.1:0",
                "--attestation",
                "packed-basic",
            ])
            .args(extra)
            .arg("--state")
            .arg(state)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(addr) = line.strip_prefix("virtual key listening on udp ") {
                let addr = format!("udp:{}", addr.split_whitespace().next().unwrap());
                // Keep draining stdout so the server never blocks on it.
                std::thread::spawn(move || lines.for_each(drop));
                return Ok(VirtualKey { child, addr });
            }
        }
        let out = child.wait_with_output().unwrap();
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

impl Drop for VirtualKey {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn keybench_with_pin(args: &[&str], pin: &str) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_keybench"))
        .args(args)
        .env("KEYBENCH_PIN", pin)
        .output()
        .expect("runs");
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn key_commands_against_a_virtual_key_whose_state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("key.state");
    let key = VirtualKey::start(&state).unwrap();
    let (ok, out, err) = keybench(&["info", &key.addr, "--json"]);
    assert!(ok, "{err}");
    let info: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(info["maxMsgSize"], 7609);
    assert_eq!(info["options"]["clientPin"], false);
    let (ok, _, err) = keybench(&["wink", &key.addr]);
    assert!(ok, "{err}");
    let (ok, _, err) = keybench(&["pin", "set", &key.addr, "--new-pin", "135790"]);
    assert!(ok, "{err}");
    let traffic = dir.path().join("traffic.jsonl");
    let (ok, out, err) = keybench_with_pin(
        &[
            "register",
            &key.addr,
            "--resident-key",
            "--algorithms",
            "ML-DSA-87",
            "--record",
            traffic.to_str().unwrap(),
        ],
        "135790",
    );
    assert!(ok, "{err}");
    let reg: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(reg["response"]["publicKeyAlgorithm"], -50);
    assert!(err.contains("fmt packed"), "{err}");
    // The traffic file has frames and decoded messages, and no PIN.
    let recorded = std::fs::read_to_string(&traffic).unwrap();
    assert!(
        recorded.contains("\"type\":\"frame\"") && recorded.contains("authenticatorMakeCredential")
    );
    assert!(!recorded.contains("135790"));
    // A wrong PIN names the status and counts down.
    let (ok, _, err) = keybench_with_pin(&["credentials", "list", &key.addr], "000000");
    assert!(!ok);
    assert!(err.contains("PIN_INVALID"), "{err}");
    drop(key);

    // Restarted on the same state file: credential and PIN are still there.
    let key = VirtualKey::start(&state).unwrap();
    let (ok, out, _) = keybench(&["pin", "retries", &key.addr]);
    assert!(ok);
    assert!(out.contains("PIN retries left: 7"), "{out}");
    let (ok, out, err) = keybench_with_pin(&["credentials", "list", &key.addr, "--json"], "135790");
    assert!(ok, "{err}");
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list["existing"], 1);
    let id = list["credentials"][0]["credentialId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(id, reg["id"].as_str().unwrap());
    let (ok, out, err) =
        keybench_with_pin(&["authenticate", &key.addr, "--uv", "required"], "135790");
    assert!(ok, "{err}");
    assert!(out.contains(&id));
    let (ok, _, err) =
        keybench_with_pin(&["credentials", "delete", &key.addr, "--id", &id], "135790");
    assert!(ok, "{err}");
    drop(key);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&state).unwrap().permissions().mode() & 0o777,
            0o600
        );
        std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = VirtualKey::start(&state).err().unwrap();
        assert!(err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    // A corrupt file is an error that names it, never a silent fresh key.
    let mut bytes = std::fs::read(&state).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&state, &bytes).unwrap();
    let err = VirtualKey::start(&state).err().unwrap();
    assert!(
        err.contains("corrupt") && err.contains("key.state"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&state).unwrap(),
        bytes,
        "the corrupt file was left as it was"
    );
}

#[test]
fn uhid_missing_or_unwritable_is_explained() {
    if std::path::Path::new("/dev/uhid").exists() {
        // This machine can create uhid devices; the VM harness test covers --uhid.
        eprintln!("skipped: /dev/uhid exists here");
        return;
    }
    let (ok, _, err) = keybench(&["virtual-key", "serve", "--uhid"]);
    assert!(!ok);
    assert!(
        err.contains("/dev/uhid does not exist") && err.contains("modprobe uhid"),
        "{err}"
    );
}

/// `keybench serve` in the background, on a free port.
struct Server {
    child: std::process::Child,
    base: String,
    /// This launch's secret for the inspection API.
    secret: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &std::path::Path) -> Server {
    serve_with(dir, &[])
}

fn serve_with(dir: &std::path::Path, extra: &[&str]) -> Server {
    serve_with_env(dir, extra, &[])
}

fn serve_with_env(dir: &std::path::Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
    use std::io::BufRead as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_keybench"))
        .envs(env.iter().copied())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--no-keyring",
            "--data-dir",
        ])
        .arg(dir)
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next().unwrap().unwrap();
    let url = line.strip_prefix("Keybench is running: open ").unwrap();
    let base = url.split("/#").next().unwrap().to_owned();
    let secret = url.split("#launch=").nth(1).unwrap_or_default().to_owned();
    std::thread::spawn(move || lines.for_each(drop));
    Server {
        child,
        base,
        secret,
    }
}

/// `keybench serve --storage gcs --bucket B --gcs-key FILE` keeps its
/// accounts in the bucket (fake-gcs-server), read back by an independent client.
#[test]
fn serve_with_gcs_storage() {
    if fake_gcs::skip() {
        return;
    }
    let gcs = fake_gcs::start();
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("gcs-key.json");
    std::fs::write(&key_file, fake_gcs::key_json(gcs.port)).unwrap();
    let server = serve_with(
        &dir.path().join("server"),
        &[
            "--storage",
            "gcs",
            "--bucket",
            fake_gcs::TEST_BUCKET,
            "--gcs-key",
            key_file.to_str().unwrap(),
        ],
    );
    let key = VirtualKey::start(&dir.path().join("key.state")).unwrap();
    let (ok, _, err) = keybench(&[
        "register",
        &key.addr,
        "--server",
        &server.base,
        "--user",
        "dora",
    ]);
    assert!(ok, "{err}");
    let (ok, out, err) = keybench(&[
        "authenticate",
        &key.addr,
        "--server",
        &server.base,
        "--user",
        "dora",
    ]);
    assert!(ok, "{err}");
    let verdict: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(verdict["signCount"], 1);
    use session_store::Storage as _;
    let bucket = fake_gcs::connect(gcs.port, "keybench");
    assert!(
        !bucket
            .owners(&session_store::Kind::accounts())
            .unwrap()
            .is_empty()
    );

    // A key file that is not JSON is refused before anything starts, naming the file only.
    std::fs::write(&key_file, "not json, maybe a secret").unwrap();
    let (ok, _, err) = keybench(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--no-keyring",
        "--storage",
        "gcs",
        "--bucket",
        "b",
        "--gcs-key",
        key_file.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        err.contains("is not a JSON object") && !err.contains("maybe a secret"),
        "{err}"
    );
}

#[test]
fn register_and_authenticate_against_the_bundled_relying_party() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(&dir.path().join("server"));
    let key = VirtualKey::start(&dir.path().join("key.state")).unwrap();
    let (ok, out, err) = keybench(&[
        "register",
        &key.addr,
        "--server",
        &server.base,
        "--user",
        "alice",
    ]);
    assert!(ok, "{err}");
    assert!(err.contains("accepted it: registered as alice"), "{err}");
    let verdict: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(verdict["credential"]["attestation"]["format"], "packed");
    let (ok, out, err) = keybench(&[
        "authenticate",
        &key.addr,
        "--server",
        &server.base,
        "--user",
        "alice",
    ]);
    assert!(ok, "{err}");
    let verdict: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(verdict["username"], "alice");
    assert_eq!(verdict["signCount"], 1);
    // The server's refusals come back with its code and message.
    let (ok, _, err) = keybench(&[
        "register",
        &key.addr,
        "--server",
        &server.base,
        "--user",
        "",
    ]);
    assert!(!ok);
    assert!(err.contains("invalid_username"), "{err}");
}

#[test]
fn a_pin_on_the_command_line_is_warned_about() {
    // Nothing listens on the port: the warning comes before the key is opened.
    for args in [
        &["pin", "retries", "udp:127.0.0.1:9", "--pin", "1234"][..],
        &["pin", "set", "udp:127.0.0.1:9", "--new-pin", "1234"][..],
    ] {
        let (ok, _, err) = keybench(args);
        assert!(!ok);
        assert!(
            err.contains("visible to other processes") && err.contains("KEYBENCH_PIN"),
            "{args:?}: {err}"
        );
    }
    let (_, _, err) = keybench_with_pin(&["pin", "retries", "udp:127.0.0.1:9"], "1234");
    assert!(!err.contains("visible to other processes"), "{err}");
}

/// The frames of each exchange of `command` in a JSON-lines trace carry
/// no bytes; returns how many such frames there were.
fn redacted_frames_of(trace: &str, command: &str) -> usize {
    let mut inside = false;
    let mut frames = 0;
    for line in trace.lines().filter(|l| l.starts_with('{')) {
        // A process's last --traffic line may be cut off (its printer
        // thread ends with the process); the PIN checks read it as text.
        let Ok(e) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        // A new process: --traffic may have lost the last one's final lines.
        if e["seq"] == 0 {
            inside = false;
        }
        match e["type"].as_str() {
            Some("request") => inside = e["command"] == command,
            Some("response") => inside = false,
            Some("frame") if inside => {
                assert!(e["bytes"].is_null(), "{command} frame with bytes: {line}");
                frames += 1;
            }
            _ => {}
        }
    }
    frames
}

#[test]
fn record_files_are_owner_only_and_hold_no_pin_material() {
    use base64::Engine as _;
    let dir = tempfile::tempdir().unwrap();
    let key = VirtualKey::start(&dir.path().join("key.state")).unwrap();
    let traffic = dir.path().join("traffic.jsonl");
    let record = ["--record", traffic.to_str().unwrap(), "--traffic"];
    let pin = "Rk41-cli-pin";
    let mut stderr = String::new();
    for args in [
        &["pin", "set", &key.addr][..],
        &["register", &key.addr, "--resident-key", "--uv", "required"][..],
        &["credentials", "list", &key.addr][..],
        &["authenticate", &key.addr, "--uv", "required"][..],
    ] {
        let (ok, _, err) = keybench_with_pin(&[args, &record[..]].concat(), pin);
        assert!(ok, "{args:?}: {err}");
        stderr.push_str(&err);
        stderr.push('\n');
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&traffic).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "record file mode {mode:o}");
    }
    let recorded = std::fs::read_to_string(&traffic).unwrap();
    for (what, trace) in [("record file", &recorded), ("--traffic", &stderr)] {
        for form in [
            pin.to_owned(),
            pin.bytes().map(|b| format!("{b:02x}")).collect(),
            base64::engine::general_purpose::STANDARD.encode(pin),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(pin),
        ] {
            assert!(!trace.contains(&form), "{what} holds the PIN as {form}");
        }
        // Exchanges that carry a pinUvAuthParam or PIN material show no frame bytes.
        for command in [
            "authenticatorClientPIN",
            "authenticatorCredentialManagement",
            "authenticatorMakeCredential",
            "authenticatorGetAssertion",
        ] {
            assert!(redacted_frames_of(trace, command) > 0, "{what}: {command}");
        }
    }
}

#[test]
fn virtual_key_help_says_a_udp_key_serves_one_client_at_a_time() {
    let (ok, out, _) = keybench(&["virtual-key", "serve", "--help"]);
    assert!(ok);
    let text = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(text.contains("one client at a time"), "{out}");
    assert!(text.contains("--client-idle"), "{out}");
    assert!(text.contains("ERR_CHANNEL_BUSY"), "{out}");
}

/// `keybench serve --storage s3 --bucket B --endpoint URL` with the standard
/// AWS_* credentials keeps its accounts in the bucket of a real S3 server
/// (moto), read back by an independent client.
#[test]
fn serve_with_s3_storage() {
    if moto_s3::skip() {
        return;
    }
    let s3 = moto_s3::start();
    let dir = tempfile::tempdir().unwrap();
    let endpoint = format!("http://127.0.0.1:{}", s3.port);
    let server = serve_with_env(
        &dir.path().join("server"),
        &[
            "--storage",
            "s3",
            "--bucket",
            moto_s3::TEST_BUCKET,
            "--endpoint",
            &endpoint,
            "--region",
            "us-east-1",
        ],
        &[
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
        ],
    );
    let key = VirtualKey::start(&dir.path().join("key.state")).unwrap();
    let (ok, _, err) = keybench(&[
        "register",
        &key.addr,
        "--server",
        &server.base,
        "--user",
        "erin",
    ]);
    assert!(ok, "{err}");
    let (ok, out, err) = keybench(&[
        "authenticate",
        &key.addr,
        "--server",
        &server.base,
        "--user",
        "erin",
    ]);
    assert!(ok, "{err}");
    let verdict: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(verdict["signCount"], 1);
    use session_store::Storage as _;
    let bucket = moto_s3::connect(s3.port, "keybench");
    for kind in [
        session_store::Kind::accounts(),
        session_store::Kind::sessions(),
        session_store::Kind::challenges(),
    ] {
        assert!(
            !bucket.owners(&kind).unwrap().is_empty(),
            "{}",
            kind.as_str()
        );
    }
}

/// A session key set in KEYBENCH_SECRET_KEY is the operator's: the
/// dashboard's Rotate answers that it is rotated there (409), not with an
/// internal error.
#[test]
fn a_key_from_the_environment_is_not_rotated_by_the_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_with_env(
        dir.path(),
        &[],
        &[("KEYBENCH_SECRET_KEY", &"0123456789abcdef".repeat(4))],
    );
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/api/inspect/key/rotate", server.base))
        .bearer_auth(&server.secret)
        .send()
        .unwrap();
    let status = r.status().as_u16();
    let v: serde_json::Value = r.json().unwrap();
    assert_eq!(
        (status, v["code"].as_str()),
        (409, Some("key_from_environment")),
        "{v}"
    );
}

#[test]
fn compare_prints_a_table_or_the_report_and_writes_the_report_files() {
    let dir = tempfile::tempdir().unwrap();
    let key = VirtualKey::start(&dir.path().join("key.state")).unwrap();
    let (ok, out, err) = keybench(&[
        "compare",
        &key.addr,
        "--algorithms",
        "ML-DSA-44,ES256",
        "--rounds",
        "2",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("| ML-DSA-44 | registration |"), "{out}");
    assert!(out.contains("| ES256 | authentication |"), "{out}");
    assert!(
        err.contains("ML-DSA-44 round 2/2"),
        "progress on stderr: {err}"
    );

    let report = dir.path().join("lab.html");
    let metadata = dir.path().join("statement.json");
    std::fs::write(
        &metadata,
        r#"{"aaguid": "6b627669-7274-2d6d-6c64-73612d763031", "description": "Lab Key <Model 1>", "attestationRootCertificates": ["MIIB"]}"#,
    )
    .unwrap();
    let (ok, out, err) = keybench(&[
        "compare",
        &key.addr,
        "--algorithms",
        "EdDSA",
        "--rounds",
        "1",
        "--json",
        "--report",
        report.to_str().unwrap(),
        "--metadata",
        metadata.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let printed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(printed["key"]["metadataName"], "Lab Key <Model 1>");
    assert_eq!(printed["key"]["metadataSource"], "given");
    assert_eq!(
        printed["sections"][0]["algorithms"][0]["status"],
        "measured"
    );
    let registration = &printed["sections"][0]["algorithms"][0]["registration"];
    assert_eq!(
        registration["publicKeyBytes"]["median"], 42.0,
        "Ed25519 COSE key"
    );
    // Packed basic attestation: the ES256 batch key signs (a DER ECDSA
    // signature), not the Ed25519 credential key (64 bytes).
    let attestation_signature = registration["signatureBytes"]["median"].as_f64().unwrap();
    assert!(
        (68.0..=72.0).contains(&attestation_signature),
        "{registration}"
    );
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("lab.json")).unwrap())
            .unwrap();
    assert_eq!(written["sections"], printed["sections"]);
    let page = std::fs::read_to_string(&report).unwrap();
    assert!(page.contains("<svg"));
    assert!(
        page.contains("Lab Key &lt;Model 1&gt; (from the metadata given, not verified)"),
        "the model name, escaped and marked as unverified"
    );

    let (ok, _, err) = keybench(&["compare", &key.addr, "--rounds", "0"]);
    assert!(!ok && err.contains("rounds must be 1 to 1000"), "{err}");
    let (ok, _, err) = keybench(&["compare", &key.addr, "--algorithms", "ES256,ES256"]);
    assert!(!ok && err.contains("named twice"), "{err}");
}

/// `keybench mds`: a BLOB verified into the data directory (then unchanged
/// when given again), what is in force and one model's card, and a file
/// that does not verify refused by name with exit status 1.
#[test]
fn mds_install_show_and_verify() {
    use base64::Engine as _;
    let dir = tempfile::tempdir().unwrap();
    let pki = mds_pki::Pki::new(false, "MDS");
    let root = dir.path().join("root.der");
    std::fs::write(&root, &pki.root_der).unwrap();
    let aaguid = "6b62766972742d6d6473302d30303031";
    let uuid = "6b627669-7274-2d6d-6473-302d30303031";
    let body = serde_json::json!({
        "no": 7,
        "nextUpdate": "2029-12-01",
        "entries": [{
            "aaguid": uuid,
            "metadataStatement": {
                "description": "Keybench CLI Test Key",
                "aaguid": uuid,
                "protocolFamily": "fido2",
                "attestationRootCertificates": [
                    base64::engine::general_purpose::STANDARD.encode(&pki.root_der)
                ],
            },
            "statusReports": [{"status": "FIDO_CERTIFIED_L2", "effectiveDate": "2026-02-01"}],
        }],
    });
    let blob = dir.path().join("blob.jwt");
    std::fs::write(&blob, pki.sign(&body)).unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let root = root.to_str().unwrap();
    let pinning = [
        "--data-dir",
        data,
        "--root",
        root,
        "--signer",
        "mds.example",
    ];
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&pinning);
        all.push("--json");
        let (ok, out, err) = keybench(&all);
        (
            ok,
            serde_json::from_str::<serde_json::Value>(&out).unwrap_or_default(),
            err,
        )
    };
    let (ok, v, err) = run(&["mds", "install", blob.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(v["outcome"], "replaced", "{v}");
    assert_eq!(v["status"]["state"], "loaded", "{v}");
    assert_eq!(v["status"]["no"], 7);
    let (ok, v, _) = run(&["mds", "install", blob.to_str().unwrap()]);
    assert!(ok);
    assert_eq!(v["outcome"], "unchanged");
    let (ok, v, _) = run(&["mds", "show"]);
    assert!(ok);
    assert_eq!(
        (v["state"].as_str(), v["entries"].as_u64()),
        (Some("loaded"), Some(1))
    );
    for id in [aaguid, uuid] {
        let (ok, v, err) = run(&["mds", "show", id]);
        assert!(ok, "{err}");
        assert_eq!(v["description"], "Keybench CLI Test Key");
        assert_eq!(v["verdict"]["level"], "FIDO_CERTIFIED_L2");
    }
    let (ok, _, err) = run(&["mds", "show", &"00".repeat(16)]);
    assert!(!ok);
    assert!(err.contains("no entry"), "{err}");
    // Text for people.
    let (ok, out, _) = keybench(&[
        "mds",
        "show",
        uuid,
        "--data-dir",
        data,
        "--root",
        root,
        "--signer",
        "mds.example",
    ]);
    assert!(ok);
    assert!(
        out.contains("Keybench CLI Test Key") && out.contains("FIDO_CERTIFIED_L2"),
        "{out}"
    );

    // Signed by someone else: refused by name, exit status 1, not installed.
    let stranger = mds_pki::Pki::new(false, "Stranger");
    let other = dir.path().join("other.jwt");
    let mut newer = body.clone();
    newer["no"] = serde_json::json!(8);
    std::fs::write(&other, stranger.sign(&newer)).unwrap();
    let (ok, v, _) = run(&["mds", "verify", other.to_str().unwrap()]);
    assert!(!ok);
    assert_eq!(
        (v["valid"].as_bool(), v["code"].as_str()),
        (Some(false), Some("mds_chain")),
        "{v}"
    );
    assert_eq!(v["no"], 8, "what it holds is shown, unverified");
    let (ok, _, err) = run(&["mds", "install", other.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("FIDO metadata"), "{err}");
    let (_, v, _) = run(&["mds", "show"]);
    assert_eq!(v["no"], 7, "the valid cache stays");
    // Valid for the same signer.
    let (ok, v, _) = run(&["mds", "verify", blob.to_str().unwrap()]);
    assert!(ok);
    assert_eq!(v["valid"], true);
}

/// `keybench probe`: nothing destructive without confirmation; a healthy
/// virtual key passes every check it can run, and the report is written.
#[test]
fn probe_a_virtual_key_with_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let key = VirtualKey::start(&dir.path().join("key.state")).unwrap();
    // Destructive checks are refused without a terminal to confirm on, or --yes.
    let (ok, _, err) = keybench(&["probe", &key.addr, "--destructive"]);
    assert!(!ok);
    assert!(err.contains("--yes"), "{err}");
    let (ok, out, _) = keybench(&["info", &key.addr, "--json"]);
    assert!(ok);
    let info: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(info["options"]["clientPin"], false, "nothing changed");

    let html = dir.path().join("probe.html");
    let (ok, out, err) = keybench(&[
        "probe",
        &key.addr,
        "--destructive",
        "--yes",
        "--json",
        "--report",
        html.to_str().unwrap(),
    ]);
    assert!(ok, "{err}\n{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["total"]["fail"], 0, "{out}");
    assert!(report["total"]["pass"].as_u64().unwrap() > 40);
    assert_eq!(report["destructive"], true);
    // The PIN the probe set let it delete its discoverable test credentials.
    assert_eq!(report["leftovers"], serde_json::json!([]));
    for check in report["checks"].as_array().unwrap() {
        assert!(check["spec"].as_str().unwrap().contains('§'), "{check}");
    }
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("ctaphid.ping.7609") && page.contains("ctap2.assertion.ml-dsa-87"));
    assert!(
        !page.contains("<script") && !page.contains("http://") && !page.contains("https://"),
        "self-contained"
    );
    // The key lab's report: the probe as its section, the JSON beside it.
    assert!(page.contains("Conformance probe"), "the probe section");
    let beside: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(html.with_extension("json")).unwrap())
            .unwrap();
    assert_eq!(beside["sections"][0]["kind"], "probe");
    assert_eq!(beside["sections"][0]["total"]["fail"], 0);
    assert!(beside["key"]["aaguid"].as_str().unwrap().contains('-'));
}

/// Exit statuses as `keybench --help` documents them, and errors under
/// `--json` as one JSON object with the stable code.
#[test]
fn errors_under_json_are_json_and_exit_statuses_are_documented() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_keybench"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let error_code = |stderr: &str| -> String {
        let v: serde_json::Value = serde_json::from_str(stderr.trim())
            .unwrap_or_else(|e| panic!("not one JSON object ({e}): {stderr}"));
        v["error"]["code"].as_str().unwrap().to_owned()
    };
    let (status, help, _) = run(&["--help"]);
    assert_eq!(status, 0);
    assert!(
        help.contains("Exit status: 0 done; 1 a check failed"),
        "{help}"
    );
    // 2: the command line.
    assert_eq!(run(&["frobnicate"]).0, 2);
    // 3: the key (nothing answers there).
    let (status, _, err) = run(&["info", "udp:127.0.0.1:9", "--json"]);
    assert_eq!(status, 3, "{err}");
    let code = error_code(&err);
    assert!(
        ["no_answer", "transport"].contains(&code.as_str()),
        "{code}"
    );
    // Without --json the same error is text.
    let (status, _, err) = run(&["info", "udp:127.0.0.1:9"]);
    assert_eq!(status, 3);
    assert!(err.starts_with("keybench: "), "{err}");
    // 2: an input file that is not usable, with the verifier's code.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"not\": \"options\"}").unwrap();
    let (status, _, err) = run(&[
        "verify",
        "--options",
        bad.to_str().unwrap(),
        "--response",
        bad.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(status, 2, "{err}");
    assert!(error_code(&err).starts_with("bad_"), "{err}");
    // 4: the relying party refused, with its API code.
    let server = serve(&dir.path().join("server"));
    let key = VirtualKey::start(&dir.path().join("key.state")).unwrap();
    let (status, _, err) = run(&[
        "register",
        &key.addr,
        "--server",
        &server.base,
        "--user",
        "",
        "--json",
    ]);
    assert_eq!(
        (status, error_code(&err).as_str()),
        (4, "invalid_username"),
        "{err}"
    );
    // Every command takes --json: a few that print a line for people.
    let (status, out, _) = run(&["algorithms", "--json"]);
    assert_eq!(status, 0);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|a| a["alg"] == -50 && a["name"] == "ML-DSA-87")
    );
    // A key without a PIN answers PIN_NOT_SET: exit 3, the CTAP status as code.
    let (status, _, err) = run(&["pin", "retries", &key.addr, "--json"]);
    assert_eq!(
        (status, error_code(&err).as_str()),
        (3, "ctap_pin_not_set"),
        "{err}"
    );
}

/// `keybench serve --log-format json`: the server's log lines are JSON on
/// standard error, and neither the launch secret nor a session cookie's
/// value appears in them.
#[test]
fn serve_logs_json_lines_without_secrets() {
    use std::io::BufRead as _;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_keybench"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--no-keyring",
            "--log-format",
            "json",
            "--log",
            "info",
            "--data-dir",
        ])
        .arg(dir.path().join("server"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines.next().unwrap().unwrap();
    let url = url
        .strip_prefix("Keybench is running: open ")
        .unwrap()
        .to_owned();
    let base = url.split("/#").next().unwrap().to_owned();
    let secret = url.split("#launch=").nth(1).unwrap().to_owned();
    let key = VirtualKey::start(&dir.path().join("key.state")).unwrap();
    let (ok, _, err) = keybench(&["register", &key.addr, "--server", &base, "--user", "lena"]);
    assert!(ok, "{err}");
    child.kill().unwrap();
    let mut log = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut log).unwrap();
    child.wait().unwrap();
    let events: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(!events.is_empty(), "the server logged nothing at info");
    assert!(
        events
            .iter()
            .all(|e| e["level"].is_string() && e["fields"].is_object())
    );
    assert!(!log.contains(&secret), "the launch secret is in the log");
    assert!(
        !log.contains("__Host-") && !log.contains("Set-Cookie"),
        "{log}"
    );
}

/// `keybench config …` and `keybench large-blobs …` against a virtual key
/// (CTAP 2.1 §6.11 and §6.10): enterprise attestation enabled without a
/// PIN (§6.11 step 3) and then granted to the key's own RP ID
/// (vendor-facilitated, `--enterprise-rp`); alwaysUv toggled, the minimum
/// PIN length raised and a PIN change forced with the PIN; a credential's
/// blob written, listed, read and deleted through its largeBlobKey.
#[test]
fn config_and_large_blobs_commands_against_a_virtual_key() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("key.state");
    let key = VirtualKey::start_with(&state, &["--enterprise-rp", "localhost"]).unwrap();
    let json = |out: &str| serde_json::from_str::<serde_json::Value>(out).unwrap();
    let (ok, out, err) = keybench(&[
        "config",
        "enable-enterprise-attestation",
        &key.addr,
        "--json",
    ]);
    assert!(ok, "{err}");
    assert_eq!(json(&out)["enterpriseAttestation"], true);
    assert_eq!(json(&out)["changed"], "enable_enterprise_attestation");
    let (ok, _, err) = keybench(&["pin", "set", &key.addr, "--new-pin", "12345678"]);
    assert!(ok, "{err}");
    // With a PIN set, a wrong one is refused with its status.
    let (ok, _, err) = keybench_with_pin(&["config", "toggle-always-uv", &key.addr], "00000000");
    assert!(!ok);
    assert!(err.contains("PIN_INVALID"), "{err}");
    let (ok, out, err) = keybench_with_pin(
        &["config", "toggle-always-uv", &key.addr, "--json"],
        "12345678",
    );
    assert!(ok, "{err}");
    assert_eq!(json(&out)["alwaysUv"], true);
    let (ok, out, err) = keybench_with_pin(&["config", "toggle-always-uv", &key.addr], "12345678");
    assert!(ok, "{err}");
    assert!(out.contains("alwaysUv:               off"), "{out}");
    let (ok, out, err) = keybench_with_pin(
        &[
            "config",
            "set-min-pin-length",
            "6",
            &key.addr,
            "--rp-id",
            "localhost",
            "--json",
        ],
        "12345678",
    );
    assert!(ok, "{err}");
    assert_eq!(json(&out)["minPinLength"], 6);
    assert_eq!(json(&out)["forcePinChange"], false);
    // The minimum never shrinks (§6.11.4).
    let (ok, _, err) = keybench_with_pin(
        &["config", "set-min-pin-length", "4", &key.addr],
        "12345678",
    );
    assert!(!ok);
    assert!(err.contains("PIN_POLICY_VIOLATION"), "{err}");
    let (ok, out, err) = keybench_with_pin(
        &["config", "force-pin-change", &key.addr, "--json"],
        "12345678",
    );
    assert!(ok, "{err}");
    assert_eq!(json(&out)["forcePinChange"], true);
    let (ok, _, err) = keybench_with_pin(
        &["pin", "change", &key.addr, "--new-pin", "87654321"],
        "12345678",
    );
    assert!(ok, "{err}");

    // A discoverable ML-DSA-65 credential with a largeBlobKey, registered
    // with attestation "enterprise": the key's own RP ID gets it.
    let options = dir.path().join("options.json");
    std::fs::write(
        &options,
        r#"{"rp":{"id":"localhost","name":"Local"},"user":{"id":"dXNlcg","name":"alice","displayName":"Alice"},
           "challenge":"AAECAwQFBgcICQoLDA0ODw","pubKeyCredParams":[{"type":"public-key","alg":-49}],
           "authenticatorSelection":{"residentKey":"required","userVerification":"required"},
           "attestation":"enterprise","extensions":{"largeBlob":{"support":"required"}}}"#,
    )
    .unwrap();
    let (ok, out, err) = keybench_with_pin(
        &[
            "register",
            &key.addr,
            "--options",
            options.to_str().unwrap(),
        ],
        "87654321",
    );
    assert!(ok, "{err}");
    let reg = json(&out);
    assert_eq!(
        reg["clientExtensionResults"]["largeBlob"]["supported"],
        true
    );
    let id = reg["id"].as_str().unwrap().to_owned();
    let attestation_object = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        reg["response"]["attestationObject"].as_str().unwrap(),
    )
    .unwrap();
    let device_cn = b"Keybench Virtual Key ";
    assert!(
        attestation_object
            .windows(device_cn.len())
            .any(|w| w == device_cn),
        "the enterprise certificate names the device"
    );

    let (ok, out, err) =
        keybench_with_pin(&["large-blobs", "list", &key.addr, "--json"], "87654321");
    assert!(ok, "{err}");
    assert_eq!(json(&out)["entries"].as_array().unwrap().len(), 0);
    let (ok, out, err) = keybench_with_pin(
        &[
            "large-blobs",
            "write",
            &key.addr,
            "--id",
            &id,
            "--data",
            "hello, large blob",
        ],
        "87654321",
    );
    assert!(ok, "{err}");
    assert!(out.contains("17 bytes stored"), "{out}");
    let (ok, out, err) =
        keybench_with_pin(&["large-blobs", "list", &key.addr, "--json"], "87654321");
    assert!(ok, "{err}");
    let list = json(&out);
    assert_eq!(list["entries"][0]["credentialId"], id.as_str());
    assert_eq!(list["entries"][0]["rpId"], "localhost");
    assert_eq!(list["entries"][0]["size"], 17);
    let (ok, out, err) =
        keybench_with_pin(&["large-blobs", "read", &key.addr, "--id", &id], "87654321");
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "hello, large blob");
    let (ok, out, err) = keybench_with_pin(
        &["large-blobs", "delete", &key.addr, "--id", &id, "--json"],
        "87654321",
    );
    assert!(ok, "{err}");
    assert_eq!(json(&out)["removed"], 1);
    let (ok, _, err) = keybench_with_pin(
        &["large-blobs", "read", &key.addr, "--id", &id, "--json"],
        "87654321",
    );
    assert!(!ok);
    assert_eq!(json(&err)["error"]["code"], "no_large_blob", "{err}");
    // An unknown credential is named as such.
    let (ok, _, err) = keybench_with_pin(
        &["large-blobs", "read", &key.addr, "--id", "AAAA"],
        "87654321",
    );
    assert!(!ok);
    assert!(err.contains("no discoverable credential AAAA"), "{err}");
}
