//! `keybench doctor` as a user runs it, each failure provoked for real:
//! a data directory whose mode denies its owner, one a non-root user may
//! not write (tests run as root, which ignores mode bits: the binary is run
//! as uid 65534 through `setpriv`, and the mode check judges the bits
//! themselves), no keyring daemon (the session bus address names nothing)
//! against a real gnome-keyring in a private D-Bus session, an unreachable
//! bucket (a closed loopback port) against a reachable one (moto's S3
//! server), the port already taken, and no PC/SC service. Each asserts the status and the
//! advice.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "../../session-store/tests/support/moto_s3.rs"]
mod moto_s3;

use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

/// The doctor's JSON, its exit status and standard error.
fn doctor_with(cmd: &mut Command, args: &[&str]) -> (i32, Value, String) {
    let out = cmd
        .args(["doctor", "--json", "--listen", "127.0.0.1:0"])
        .args(args)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (
        out.status.code().unwrap_or(-1),
        report,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn keybench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_keybench"))
}

fn doctor(dir: &Path, args: &[&str]) -> (i32, Value, String) {
    let mut cmd = keybench();
    cmd.arg("--log").arg("off");
    let mut all = vec!["--data-dir", dir.to_str().unwrap()];
    all.extend_from_slice(args);
    doctor_with(&mut cmd, &all)
}

fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no {id} check in {report:#}"))
}

fn evidence(check: &Value) -> String {
    check["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

fn fix(check: &Value) -> &str {
    check["fix"].as_str().unwrap_or_default()
}

#[test]
fn every_check_reports_a_status_and_the_table_says_the_same() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let (status, report, err) = doctor(dir.path(), &["--no-keyring"]);
    for id in [
        "hidraw", "uhid", "pcsc", "keyring", "data_dir", "storage", "webview", "port",
    ] {
        let c = check(&report, id);
        assert!(
            ["ok", "warn", "fail", "skip"].contains(&c["status"].as_str().unwrap()),
            "{c}"
        );
        assert!(!c["evidence"].as_array().unwrap().is_empty(), "{c}");
    }
    assert_eq!(check(&report, "data_dir")["status"], "ok", "{report:#}");
    assert_eq!(check(&report, "storage")["status"], "skip");
    assert_eq!(check(&report, "keyring")["status"], "skip");
    // Exit status 1 exactly when a check failed.
    assert_eq!(status == 1, report["overall"] == "fail", "{err}");
    let out = keybench()
        .args([
            "--log",
            "off",
            "doctor",
            "--listen",
            "127.0.0.1:0",
            "--no-keyring",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("data_dir"), "{table}");
    assert!(
        table.contains(&format!("overall: {}", report["overall"].as_str().unwrap())),
        "{table}"
    );
}

#[test]
fn a_data_directory_its_owner_may_not_write_fails_and_a_shared_one_warns() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o500)).unwrap();
    let (status, report, err) = doctor(&dir, &["--no-keyring"]);
    let c = check(&report, "data_dir");
    assert_eq!(c["status"], "fail", "{c}");
    assert!(evidence(c).contains("mode 0500: the owner may not"), "{c}");
    assert_eq!(fix(c), format!("chmod 700 '{}'", dir.display()));
    assert_eq!(status, 1);
    let error: Value = serde_json::from_str(err.trim()).unwrap();
    assert_eq!(error["error"]["code"], "doctor_failed", "{err}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("data_dir")
    );
    // Readable by others: works, but the key file's directory is exposed.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (_, report, _) = doctor(&dir, &["--no-keyring"]);
    let c = check(&report, "data_dir");
    assert_eq!(c["status"], "warn", "{c}");
    assert!(evidence(c).contains("other users may look inside"), "{c}");
    assert_eq!(fix(c), format!("chmod 700 '{}'", dir.display()));
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
}

/// As uid 65534 (setpriv), a directory owned by root is not writable,
/// whatever its mode: the write probe fails and the advice is chown.
#[test]
fn a_data_directory_another_user_owns_is_not_writable_for_this_user() {
    if !is_root() {
        eprintln!("SKIPPED: needs root to run the binary as uid 65534 through setpriv");
        return;
    }
    // The binary where uid 65534 may run it (the target directory is under /root).
    let bin_dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(bin_dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = bin_dir.path().join("keybench");
    std::fs::copy(env!("CARGO_BIN_EXE_keybench"), &bin).unwrap();
    let dir = bin_dir.path().join("data");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&bin)
        .args(["--log", "off"])
        .env("HOME", bin_dir.path());
    let (status, report, _) = doctor_with(
        &mut cmd,
        &["--data-dir", dir.to_str().unwrap(), "--no-keyring"],
    );
    let c = check(&report, "data_dir");
    assert_eq!(c["status"], "fail", "{c}");
    let seen = evidence(c);
    assert!(
        seen.contains("owner uid 0 (this process: uid 65534)"),
        "{seen}"
    );
    assert!(
        seen.contains("cannot create a file in it: Permission denied"),
        "{seen}"
    );
    assert_eq!(
        fix(c),
        format!(
            "sudo chown -R \"$(id -u):$(id -g)\" '{0}' && chmod 700 '{0}'",
            dir.display()
        )
    );
    assert_eq!(status, 1);
}

#[test]
fn no_keyring_daemon_warns_with_how_to_start_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = keybench();
    cmd.env(
        "DBUS_SESSION_BUS_ADDRESS",
        "unix:path=/nonexistent/keybench-no-bus",
    )
    .env_remove("KEYBENCH_SECRET_KEY")
    .args(["--log", "off"]);
    let (_, report, _) = doctor_with(&mut cmd, &["--data-dir", dir.path().to_str().unwrap()]);
    let c = check(&report, "keyring");
    assert_eq!(c["status"], "warn", "{c}");
    let seen = evidence(c);
    assert!(seen.contains("backend: none"), "{seen}");
    assert!(
        seen.contains("keyring unavailable (PlatformFailure"),
        "{seen}"
    );
    assert!(
        fix(c).contains("gnome-keyring-daemon --start --components=secrets"),
        "{c}"
    );
    assert!(
        fix(c).contains("the key file in the data directory (0600) is used"),
        "{c}"
    );
}

/// gnome-keyring's Secret Service in a private D-Bus session (as the
/// session engine's keyring test starts it): reachable, the backend named,
/// and the probe leaves it empty (two runs both find no key).
#[test]
fn a_real_gnome_keyring_is_reachable_and_left_unchanged() {
    if std::env::var("KEYBENCH_SKIP_KEYRING").as_deref() == Ok("1") {
        eprintln!("SKIPPED: KEYBENCH_SKIP_KEYRING=1 (the real gnome-keyring test did not run)");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let runtime = home.path().join("run");
    std::fs::create_dir(&runtime).unwrap();
    std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    let data = home.path().join("data");
    let out = Command::new("dbus-run-session")
        .args(["--", "sh", "-c"])
        .arg(
            "echo -n keybench | gnome-keyring-daemon --unlock --components=secrets --daemonize >/dev/null && \
             \"$0\" --log off doctor --json --listen 127.0.0.1:0 --data-dir \"$1\" > \"$1.first\"; \
             \"$0\" --log off doctor --json --listen 127.0.0.1:0 --data-dir \"$1\"",
        )
        .arg(env!("CARGO_BIN_EXE_keybench"))
        .arg(&data)
        .env("HOME", home.path())
        .env("XDG_RUNTIME_DIR", &runtime)
        .env_remove("KEYBENCH_SECRET_KEY")
        .output()
        .expect("dbus-run-session runs (Debian: dbus, gnome-keyring)");
    let second = String::from_utf8_lossy(&out.stdout);
    let first = std::fs::read_to_string(home.path().join("data.first")).unwrap();
    for text in [first.as_str(), &second] {
        let report: Value = serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("{e}: {text}\n{}", String::from_utf8_lossy(&out.stderr)));
        let c = check(&report, "keyring");
        assert_eq!(c["status"], "ok", "{c}");
        let seen = evidence(c);
        assert!(seen.contains("backend: Secret Service store"), "{seen}");
        assert!(seen.contains("no session key stored yet"), "{seen}");
        assert!(c["fix"].is_null(), "{c}");
    }
}

fn closed_port() -> u16 {
    // Bound and released: nothing listens there now.
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn s3_doctor(dir: &Path, port: u16) -> (i32, Value, String) {
    let mut cmd = keybench();
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .args(["--log", "off"]);
    let endpoint = format!("http://127.0.0.1:{port}");
    doctor_with(
        &mut cmd,
        &[
            "--data-dir",
            dir.to_str().unwrap(),
            "--no-keyring",
            "--storage",
            "s3",
            "--bucket",
            moto_s3::TEST_BUCKET,
            "--endpoint",
            &endpoint,
        ],
    )
}

#[test]
fn an_unreachable_bucket_fails_and_a_reachable_one_is_written_and_cleaned() {
    let dir = tempfile::tempdir().unwrap();
    let (status, report, _) = s3_doctor(dir.path(), closed_port());
    let c = check(&report, "storage");
    assert_eq!(c["status"], "fail", "{c}");
    assert!(
        evidence(c).starts_with("s3://keybench-test/keybench: "),
        "{c}"
    );
    assert!(fix(c).starts_with("check that the endpoint answers"), "{c}");
    assert!(fix(c).contains("falls back to local storage"), "{c}");
    assert_eq!(status, 1);
    if moto_s3::skip() {
        return;
    }
    let s3 = moto_s3::start();
    let (_, report, _) = s3_doctor(dir.path(), s3.port);
    let c = check(&report, "storage");
    assert_eq!(c["status"], "ok", "{c}");
    let seen = evidence(c);
    assert!(
        seen.contains("s3://keybench-test/keybench: credentials accepted"),
        "{seen}"
    );
    assert!(seen.contains("written, read back and deleted"), "{seen}");
    assert!(seen.contains("clock skew +0 s"), "{seen}");
    // The probe object is gone: the bucket lists nothing under probe/.
    let listing = Command::new("curl")
        .args([
            "-s",
            &format!(
                "http://127.0.0.1:{}/{}?list-type=2&prefix=keybench/probe/",
                s3.port,
                moto_s3::TEST_BUCKET
            ),
        ])
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(listing.contains("<KeyCount>0</KeyCount>"), "{listing}");
}

#[test]
fn a_port_in_use_fails_with_how_to_find_its_holder() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = keybench()
        .args([
            "--log",
            "off",
            "doctor",
            "--json",
            "--no-keyring",
            "--listen",
        ])
        .arg(addr.to_string())
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = check(&report, "port");
    assert_eq!(c["status"], "fail", "{c}");
    assert!(
        evidence(c).contains(&format!("{addr} is in use by another process")),
        "{c}"
    );
    assert!(
        fix(c).starts_with(&format!(
            "see who holds it with `ss -ltnp 'sport = :{}'`",
            addr.port()
        )),
        "{c}"
    );
    assert!(
        fix(c).contains("keybench serve --listen 127.0.0.1:0"),
        "{c}"
    );
    assert_eq!(out.status.code(), Some(1));
}

/// A PC/SC socket nobody serves: "no service", told apart from "no readers"
/// (the reader case runs with a private pcscd in keybench-tests' nfc_pcsc).
#[test]
fn no_pcsc_service_warns_with_how_to_start_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = keybench();
    cmd.env("PCSCLITE_CSOCK_NAME", dir.path().join("no-pcscd.comm"))
        .args(["--log", "off"]);
    let (_, report, _) = doctor_with(
        &mut cmd,
        &["--data-dir", dir.path().to_str().unwrap(), "--no-keyring"],
    );
    let c = check(&report, "pcsc");
    assert_eq!(c["status"], "warn", "{c}");
    assert_eq!(
        evidence(c),
        "no PC/SC service answers (pcscd is not running)"
    );
    assert_eq!(
        fix(c),
        "sudo apt install pcscd && sudo systemctl enable --now pcscd.socket (only needed for keys on smart-card or NFC readers)"
    );
}
