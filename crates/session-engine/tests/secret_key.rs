//! Secret-key resolution without a keyring (Disabled, or a platform keyring
//! that is not there): environment, key file, generation, permissions,
//! rotation persisted in the file, restart with the previous key.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use base64::Engine;
use http::{HeaderMap, HeaderValue};
use session_engine::secret::KeyFormatError;
use session_engine::{
    EndpointClass, EngineConfig, EventKind, EventLog, KeyManager, KeySource, KeyringChoice,
    ManualClock, RequestContext, Scheme, SecretKeyConfig, SecretKeyError, SessionEngine,
};
use session_store::LocalStore;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::Duration;

fn resolve(config: &SecretKeyConfig) -> Result<KeyManager, SecretKeyError> {
    KeyManager::resolve(
        config,
        Arc::new(ManualClock::at_2025()),
        &EventLog::default(),
    )
}

fn config(env: Option<&str>, file: Option<std::path::PathBuf>) -> SecretKeyConfig {
    SecretKeyConfig {
        env_value: env.map(str::to_owned),
        ..SecretKeyConfig::new(KeyringChoice::Disabled, file)
    }
}

#[test]
fn generated_into_a_0600_file_created_atomically_then_reused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys/session-secret.key");
    let first = resolve(&config(None, Some(path.clone()))).unwrap().status();
    assert_eq!(first.source, KeySource::File { path: path.clone() });
    assert!(first.generated);
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.trim().len(), 43);
    // The status shows a fingerprint, never the key.
    assert_eq!(first.fingerprint.len(), 10);
    assert!(!serde_json::to_string(&first).unwrap().contains(text.trim()));
    // No temporary files remain.
    assert_eq!(
        std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
        1
    );
    let second = resolve(&config(None, Some(path.clone()))).unwrap().status();
    assert_eq!(
        (second.fingerprint, second.generated),
        (first.fingerprint, false)
    );
}

#[test]
fn concurrent_first_starts_agree_on_one_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("session-secret.key");
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || {
                resolve(&config(None, Some(path)))
                    .unwrap()
                    .status()
                    .fingerprint
            })
        })
        .collect();
    let prints: std::collections::HashSet<_> =
        handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(prints.len(), 1, "one key for everyone");
}

#[test]
fn environment_comes_before_the_file_and_is_validated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k");
    resolve(&config(None, Some(path.clone()))).unwrap(); // a file key exists
    let hex = "0f".repeat(32);
    let env = resolve(&config(Some(&hex), Some(path.clone())))
        .unwrap()
        .status();
    assert_eq!(env.source, KeySource::Environment);
    let b64 = base64::engine::general_purpose::STANDARD.encode([0x0f; 32]);
    assert_eq!(
        resolve(&config(Some(&b64), None))
            .unwrap()
            .status()
            .fingerprint,
        env.fingerprint,
        "hex and base64 of the same bytes"
    );
    // Invalid values fail closed, with a reason and without the value.
    for (bad, want) in [
        ("tooshort", KeyFormatError::Length(8)),
        (&"zz".repeat(32)[..], KeyFormatError::Length(64)),
        (&"*".repeat(43)[..], KeyFormatError::Encoding),
    ] {
        match resolve(&config(Some(bad), Some(path.clone()))) {
            Err(SecretKeyError::InvalidEnvKey(e)) => {
                assert_eq!(e, want);
                assert!(!SecretKeyError::InvalidEnvKey(e).to_string().contains(bad));
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
    // Rotation cannot persist an environment key.
    let m = resolve(&config(Some(&hex), None)).unwrap();
    assert!(matches!(
        m.rotate(&EventLog::default()),
        Err(SecretKeyError::RotationNotPersistable)
    ));
}

#[test]
fn loose_file_modes_are_tightened_with_a_warning_and_corrupt_files_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k");
    std::fs::write(&path, format!("{}\n", "ab".repeat(32))).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let status = resolve(&config(None, Some(path.clone()))).unwrap().status();
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        status.warnings.iter().any(|w| w.contains("644")),
        "{:?}",
        status.warnings
    );
    std::fs::write(&path, "garbage").unwrap();
    assert!(matches!(
        resolve(&config(None, Some(path.clone()))),
        Err(SecretKeyError::CorruptKeyFile { .. })
    ));
    // A symlink is not followed.
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&path, &link).unwrap();
    assert!(matches!(
        resolve(&config(None, Some(link))),
        Err(SecretKeyError::KeyFile { .. })
    ));
}

#[test]
fn nowhere_to_store_means_memory_with_a_warning() {
    let status = resolve(&config(None, None)).unwrap().status();
    assert_eq!(status.source, KeySource::Ephemeral);
    assert!(status.generated);
    assert!(status.warnings.iter().any(|w| w.contains("memory only")));
}

#[test]
fn rotation_is_persisted_and_old_cookies_open_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k");
    let store_dir = dir.path().join("store");
    let clock = Arc::new(ManualClock::at_2025());
    let engine = |clock: &Arc<ManualClock>| {
        SessionEngine::new(
            EngineConfig::default(),
            Arc::new(LocalStore::open(&store_dir).unwrap()),
            clock.clone(),
            &config(None, Some(path.clone())),
        )
        .unwrap()
    };
    let e = engine(&clock);
    let h = HeaderMap::new();
    let ctx = RequestContext {
        scheme: Scheme::Http,
        peer: None,
        headers: &h,
        endpoint: EndpointClass::Normal,
    };
    let opened = e.open_or_create(&ctx).unwrap();
    let mut cookie = HeaderMap::new();
    cookie.insert(
        http::header::COOKIE,
        HeaderValue::from_str(opened.set_cookie.unwrap().split(';').next().unwrap()).unwrap(),
    );
    let old = e.key_status().fingerprint;
    let rotated = e.rotate_key().unwrap();
    assert!(
        e.events()
            .snapshot()
            .iter()
            .any(|ev| ev.kind == EventKind::KeyRotated)
    );
    drop(e);
    // A restart reads the new key and the previous one from the files.
    let e = engine(&clock);
    let status = e.key_status();
    assert_eq!(status.fingerprint, rotated.fingerprint);
    assert_eq!(status.previous_fingerprint.as_deref(), Some(old.as_str()));
    assert_eq!(
        std::fs::metadata(dir.path().join("k.previous"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let ctx = RequestContext {
        scheme: Scheme::Http,
        peer: None,
        headers: &cookie,
        endpoint: EndpointClass::Normal,
    };
    let reopened = e
        .open(&ctx)
        .unwrap()
        .expect("the previous key still opens the cookie");
    assert_eq!(reopened.session.id, opened.session.id);
    assert!(reopened.set_cookie.is_some(), "re-sealed under the new key");
    // After the grace period the previous key is retired (and not even loaded).
    clock.advance(Duration::from_secs(25 * 3600));
    assert_eq!(engine(&clock).key_status().previous_fingerprint, None);
}

const CHILD: &str = "KEYBENCH_KEYRING_ABSENT_CHILD";

/// Runs in a child whose session bus address points nowhere.
#[test]
fn platform_keyring_absent_child() {
    if std::env::var(CHILD).is_err() {
        return; // Only meaningful when spawned by the test below.
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k");
    let cfg = SecretKeyConfig {
        env_value: None,
        ..SecretKeyConfig::new(KeyringChoice::Platform, Some(path.clone()))
    };
    let events = EventLog::default();
    let m = KeyManager::resolve(&cfg, Arc::new(ManualClock::at_2025()), &events).unwrap();
    let status = m.status();
    assert_eq!(status.source, KeySource::File { path });
    assert!(
        status
            .warnings
            .iter()
            .any(|w| w.contains("PlatformFailure")),
        "{:?}",
        status.warnings
    );
    assert!(
        events
            .snapshot()
            .iter()
            .any(|e| e.kind == EventKind::KeyringFallback)
    );
    println!("KEYRING-ABSENT-OK");
}

#[test]
fn a_missing_keyring_falls_back_with_a_warning_not_a_crash() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "platform_keyring_absent_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/keybench-no-bus",
        )
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("KEYRING-ABSENT-OK"),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A file-backed engine on `dir` and a request carrying `set_cookie`.
fn file_engine(
    dir: &std::path::Path,
    clock: &Arc<ManualClock>,
    engine_config: EngineConfig,
) -> SessionEngine {
    SessionEngine::new(
        engine_config,
        Arc::new(LocalStore::open(dir.join("store")).unwrap()),
        clock.clone(),
        &config(None, Some(dir.join("k"))),
    )
    .unwrap()
}

fn cookie_of(set_cookie: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        http::header::COOKIE,
        HeaderValue::from_str(set_cookie.split(';').next().unwrap()).unwrap(),
    );
    h
}

fn http_ctx(h: &HeaderMap) -> RequestContext<'_> {
    RequestContext {
        scheme: Scheme::Http,
        peer: None,
        headers: h,
        endpoint: EndpointClass::Normal,
    }
}

/// Rotating must be able to revoke a leaked key soon: by default the
/// previous key opens cookies for a day, not for a cookie's lifetime.
#[test]
fn the_previous_key_opens_cookies_for_a_day_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at_2025());
    let e = file_engine(dir.path(), &clock, EngineConfig::default());
    let empty = HeaderMap::new();
    let old = cookie_of(
        &e.open_or_create(&http_ctx(&empty))
            .unwrap()
            .set_cookie
            .unwrap(),
    );
    e.rotate_key().unwrap();
    clock.advance(Duration::from_secs(3600));
    assert!(
        e.open(&http_ctx(&old)).unwrap().is_some(),
        "within the grace period"
    );
    clock.advance(Duration::from_secs(24 * 3600));
    assert!(
        e.open(&http_ctx(&old)).unwrap().is_none(),
        "a cookie sealed under the previous key still opens a day after the rotation"
    );
}

#[test]
fn the_grace_period_is_configurable() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at_2025());
    let e = file_engine(
        dir.path(),
        &clock,
        EngineConfig {
            previous_key_grace: Duration::from_secs(600),
            ..EngineConfig::default()
        },
    );
    let empty = HeaderMap::new();
    let old = cookie_of(
        &e.open_or_create(&http_ctx(&empty))
            .unwrap()
            .set_cookie
            .unwrap(),
    );
    let rotated = e.rotate_key().unwrap();
    assert_eq!(
        rotated.previous_valid_until_ms,
        Some(session_engine::clock::unix_ms(e.clock().now()) + 600_000)
    );
    clock.advance(Duration::from_secs(300));
    assert!(e.open(&http_ctx(&old)).unwrap().is_some());
    clock.advance(Duration::from_secs(301));
    assert!(e.open(&http_ctx(&old)).unwrap().is_none());
}

/// A leaked key: rotate, then revoke the previous key; its cookies stop
/// opening at once, and a restart does not bring it back.
#[test]
fn revoking_the_previous_key_stops_its_cookies_durably() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at_2025());
    let e = file_engine(dir.path(), &clock, EngineConfig::default());
    let empty = HeaderMap::new();
    let old = cookie_of(
        &e.open_or_create(&http_ctx(&empty))
            .unwrap()
            .set_cookie
            .unwrap(),
    );
    e.rotate_key().unwrap();
    assert!(dir.path().join("k.previous").exists());
    let status = e.revoke_previous_key().unwrap();
    assert_eq!(
        (status.previous_fingerprint, status.previous_valid_until_ms),
        (None, None)
    );
    assert!(e.open(&http_ctx(&old)).unwrap().is_none());
    assert!(
        e.events()
            .snapshot()
            .iter()
            .any(|ev| ev.kind == EventKind::PreviousKeyRevoked)
    );
    assert!(!dir.path().join("k.previous").exists());
    drop(e);
    let e = file_engine(dir.path(), &clock, EngineConfig::default());
    assert_eq!(e.key_status().previous_fingerprint, None);
    assert!(e.open(&http_ctx(&old)).unwrap().is_none());
    // Nothing to revoke is not an error.
    e.revoke_previous_key().unwrap();
}

/// Rotations at once: whatever order they finish in, the key file ends up
/// holding the key in use, so a restart opens the same cookies.
#[test]
fn concurrent_rotations_leave_the_file_and_memory_in_step() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("session-secret.key");
    let manager = Arc::new(resolve(&config(None, Some(path.clone()))).unwrap());
    let events = Arc::new(EventLog::default());
    for _ in 0..10 {
        let threads: Vec<_> = (0..6)
            .map(|_| {
                let (m, e) = (manager.clone(), events.clone());
                std::thread::spawn(move || m.rotate(&e).unwrap())
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let reopened = resolve(&config(None, Some(path.clone()))).unwrap();
        assert_eq!(
            reopened.status().fingerprint,
            manager.status().fingerprint,
            "the key file and the key in use differ"
        );
    }
}
