//! The secret key in a real OS keyring: gnome-keyring's Secret Service in a
//! private D-Bus session (`dbus-run-session`), with HOME in a temporary
//! directory. The test re-runs itself inside that session. Needs Debian
//! `gnome-keyring dbus` (scripts/test installs them); KEYBENCH_SKIP_KEYRING=1
//! skips it with a printed reason.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use keyring_core::Entry;
use session_engine::{
    EventLog, KeyManager, KeySource, KeyringChoice, ManualClock, SecretKeyConfig,
};
use std::process::Command;
use std::sync::Arc;

const INSIDE: &str = "KEYBENCH_KEYRING_INSIDE_DBUS";

fn config(file: std::path::PathBuf) -> SecretKeyConfig {
    SecretKeyConfig {
        keyring_service: "keybench-test".into(),
        env_value: None,
        ..SecretKeyConfig::new(KeyringChoice::Platform, Some(file))
    }
}

/// The part that runs inside the D-Bus session.
#[test]
fn keyring_inside_dbus_session() {
    if std::env::var(INSIDE).is_err() {
        return; // Only meaningful when spawned by `secret_key_lives_in_gnome_keyring`.
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("session-secret.key");
    let clock = Arc::new(ManualClock::at_2025());
    let events = EventLog::default();
    // The diagnosis probe finds the keyring empty and leaves it so.
    for _ in 0..2 {
        let probe = session_engine::probe_keyring(&config(file.clone()));
        assert_eq!(
            probe.state,
            session_engine::KeyringState::Empty,
            "{probe:?}"
        );
        assert!(probe.backend.unwrap().starts_with("Secret Service store"));
    }
    // First start: generated and stored in the keyring, not in the file.
    let first = KeyManager::resolve(&config(file.clone()), clock.clone(), &events).unwrap();
    let s1 = first.status();
    assert_eq!(
        s1.source,
        KeySource::Keyring {
            service: "keybench-test".into()
        },
        "{:?}",
        s1.warnings
    );
    assert!(s1.generated && s1.warnings.is_empty(), "{s1:?}");
    assert!(!file.exists(), "the keyring was writable, so no key file");
    // The secret is really in the Secret Service.
    let store = zbus_secret_service_keyring_store::Store::new().unwrap();
    let entry = Entry::new_in_store(
        &(store.clone() as Arc<keyring_core::CredentialStore>),
        "keybench-test",
        "session-secret-key",
    )
    .unwrap();
    assert_eq!(entry.get_secret().unwrap().len(), 43);
    assert_eq!(
        session_engine::probe_keyring(&config(file.clone())).state,
        session_engine::KeyringState::HoldsKey
    );
    // Second start: the same key, read back.
    let s2 = KeyManager::resolve(&config(file.clone()), clock.clone(), &events)
        .unwrap()
        .status();
    assert_eq!(
        (s2.fingerprint.as_str(), s2.generated),
        (s1.fingerprint.as_str(), false)
    );
    // Rotation writes both entries; a restart sees the previous key.
    let rotated = first.rotate(&events).unwrap();
    let s3 = KeyManager::resolve(&config(file.clone()), clock.clone(), &events)
        .unwrap()
        .status();
    assert_eq!(s3.fingerprint, rotated.fingerprint);
    assert_eq!(
        s3.previous_fingerprint.as_deref(),
        Some(s1.fingerprint.as_str())
    );
    // Revoking the previous key removes its entry: a restart has none.
    KeyManager::resolve(&config(file.clone()), clock.clone(), &events)
        .unwrap()
        .revoke_previous(&events)
        .unwrap();
    let s4 = KeyManager::resolve(&config(file.clone()), clock.clone(), &events)
        .unwrap()
        .status();
    assert_eq!(
        (s4.fingerprint.as_str(), s4.previous_fingerprint),
        (rotated.fingerprint.as_str(), None)
    );
    // An explicit KEYBENCH_SECRET_KEY wins over the keyring, and the status
    // says so.
    let with_env = SecretKeyConfig {
        env_value: Some("00".repeat(32)),
        ..config(file.clone())
    };
    let from_env = KeyManager::resolve(&with_env, clock.clone(), &events)
        .unwrap()
        .status();
    assert_eq!(from_env.source, KeySource::Environment, "{from_env:?}");
    assert_ne!(from_env.fingerprint, rotated.fingerprint);
    println!("KEYRING-INSIDE-OK");
}

#[test]
fn secret_key_lives_in_gnome_keyring() {
    if std::env::var("KEYBENCH_SKIP_KEYRING").as_deref() == Ok("1") {
        eprintln!("SKIPPED: KEYBENCH_SKIP_KEYRING=1 (the real gnome-keyring test did not run)");
        return;
    }
    for tool in ["dbus-run-session", "gnome-keyring-daemon"] {
        assert!(
            Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .unwrap()
                .status
                .success(),
            "{tool} is missing: install Debian `gnome-keyring dbus` (scripts/test does), or set KEYBENCH_SKIP_KEYRING=1"
        );
    }
    let home = tempfile::tempdir().unwrap();
    let runtime = home.path().join("run");
    std::fs::create_dir(&runtime).unwrap();
    std::fs::set_permissions(
        &runtime,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("dbus-run-session")
        .args(["--", "sh", "-c"])
        .arg("echo -n keybench | gnome-keyring-daemon --unlock --components=secrets --daemonize >/dev/null && exec \"$0\" --exact keyring_inside_dbus_session --nocapture --test-threads=1")
        .arg(&exe)
        .env("HOME", home.path())
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env(INSIDE, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("KEYRING-INSIDE-OK"),
        "inside dbus-run-session:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
