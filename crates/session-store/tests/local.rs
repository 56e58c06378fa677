//! The local-directory backend: conformance, modes, symlinks, races,
//! size limits and the visible fallback from an unreachable remote.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{item, scope};
use session_store::{
    BackendState, FallbackStore, Kind, LocalOptions, LocalStore, ObjectStorage, ObjectStoreOptions,
    RemoteConfig, Storage, StoreError,
};
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::Duration;

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn conformance() {
    let dir = tempfile::tempdir().unwrap();
    common::basic_semantics(&LocalStore::open(dir.path().join("store")).unwrap());
}

#[test]
fn modes_are_0700_and_0600() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let store = LocalStore::open(&root).unwrap();
    let s = scope(Kind::sessions(), "abc");
    store.put(&s, &item("a"), b"1").unwrap();
    assert_eq!(
        store.create(&s, &item("b"), b"2").unwrap(),
        session_store::Created::Created
    );
    assert_eq!(mode(&root), 0o700);
    assert_eq!(mode(&root.join("sessions")), 0o700);
    assert_eq!(mode(&root.join("sessions/abc")), 0o700);
    assert_eq!(mode(&root.join("sessions/abc/a")), 0o600);
    assert_eq!(mode(&root.join("sessions/abc/b")), 0o600);
    // No temporary files left behind.
    let names: Vec<_> = std::fs::read_dir(root.join("sessions/abc"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn loose_root_is_tightened() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    std::fs::create_dir(&root).unwrap();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let _store = LocalStore::open(&root).unwrap();
    assert_eq!(mode(&root), 0o700);
}

#[test]
fn symlinks_are_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let store = LocalStore::open(&root).unwrap();
    let outside = dir.path().join("outside");
    std::fs::write(&outside, b"secret").unwrap();
    let s = scope(Kind::sessions(), "victim");
    store.put(&s, &item("seed"), b"x").unwrap();
    std::os::unix::fs::symlink(&outside, root.join("sessions/victim/link")).unwrap();
    assert!(
        store.get(&s, &item("link")).is_err(),
        "a planted symlink is not read through"
    );
    // A symlink as the root is refused.
    let link_root = dir.path().join("linkroot");
    std::os::unix::fs::symlink(&root, &link_root).unwrap();
    // (create_dir_all accepts the existing symlinked dir; the check refuses it)
    assert!(matches!(
        LocalStore::open(&link_root),
        Err(StoreError::Unsafe(_))
    ));
}

#[test]
fn size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open_with(
        dir.path(),
        LocalOptions {
            max_item_bytes: 10,
            fsync: false,
        },
    )
    .unwrap();
    let s = scope(Kind::sessions(), "a");
    assert!(matches!(
        store.put(&s, &item("x"), &[0; 11]),
        Err(StoreError::TooLarge { len: 11, max: 10 })
    ));
    store.put(&s, &item("x"), &[0; 10]).unwrap();
    // A file grown behind the store's back is refused on read.
    std::fs::write(dir.path().join("sessions/a/x"), [0u8; 64]).unwrap();
    assert!(matches!(
        store.get(&s, &item("x")),
        Err(StoreError::TooLarge { .. })
    ));
}

#[test]
fn foreign_files_are_ignored_by_listings() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path()).unwrap();
    let s = scope(Kind::sessions(), "a");
    store.put(&s, &item("x"), b"1").unwrap();
    std::fs::write(dir.path().join("sessions/a/.tmp-leftover"), b"partial").unwrap();
    std::fs::write(dir.path().join("sessions/a/bad name"), b"?").unwrap();
    std::fs::create_dir(dir.path().join("sessions/.hidden")).unwrap();
    assert_eq!(store.list(&s).unwrap().len(), 1);
    assert_eq!(store.owners(&Kind::sessions()).unwrap().len(), 1);
}

#[test]
fn conditional_create_has_one_winner_across_store_instances() {
    let dir = tempfile::tempdir().unwrap();
    let stores: Vec<Arc<dyn Storage>> = (0..8)
        .map(|_| Arc::new(LocalStore::open(dir.path()).unwrap()) as Arc<dyn Storage>)
        .collect();
    common::create_race(stores, 50);
}

#[test]
fn compare_and_swap_conformance() {
    let dir = tempfile::tempdir().unwrap();
    common::compare_and_swap_semantics(&LocalStore::open(dir.path().join("store")).unwrap());
}

#[test]
fn compare_and_swap_has_one_winner_across_store_instances() {
    let dir = tempfile::tempdir().unwrap();
    let stores: Vec<Arc<dyn Storage>> = (0..8)
        .map(|_| Arc::new(LocalStore::open(dir.path()).unwrap()) as Arc<dyn Storage>)
        .collect();
    common::swap_race(stores, 50);
}

#[test]
fn unreachable_remote_falls_back_to_local_visibly() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on port 9 of localhost: connection refused.
    let key = r#"{"gcs_base_url": "http://127.0.0.1:9", "disable_oauth": true, "client_email": "", "private_key": "", "private_key_id": ""}"#;
    let options = ObjectStoreOptions {
        max_retries: 1,
        retry_timeout: Duration::from_millis(300),
        call_deadline: Duration::from_secs(5),
        ..ObjectStoreOptions::default()
    };
    let remote = ObjectStorage::connect(
        RemoteConfig::Gcs {
            bucket: "b".into(),
            service_account_key: Some(key.into()),
        },
        options,
    )
    .unwrap();
    let s = scope(Kind::sessions(), "a");
    assert!(matches!(
        remote.put(&s, &item("x"), b"1"),
        Err(StoreError::Unavailable { backend: "gcs", .. })
    ));
    let local = Arc::new(LocalStore::open(dir.path()).unwrap());
    let store = FallbackStore::new(Arc::new(remote), local.clone(), Duration::from_secs(3600));
    assert_eq!(store.status().state, BackendState::Primary);
    assert_eq!(
        store.create_new_scope(&s, &item("x"), b"1").unwrap(),
        session_store::Created::Created
    );
    let status = store.status();
    assert_eq!(status.backend, "gcs");
    match &status.state {
        BackendState::FallbackLocal { reason, .. } => {
            assert!(reason.starts_with("gcs:"), "{reason}")
        }
        other => panic!("expected a fallback, got {other:?}"),
    }
    assert!(
        status.location.contains("falling back to"),
        "{}",
        status.location
    );
    // The item is in the local store, and reads are served from there.
    assert_eq!(
        local.get(&s, &item("x")).unwrap().as_deref(),
        Some(&b"1"[..])
    );
    assert_eq!(
        store.get(&s, &item("x")).unwrap().as_deref(),
        Some(&b"1"[..])
    );
}

#[test]
fn remote_config_debug_redacts_secrets() {
    let c = RemoteConfig::S3 {
        bucket: "b".into(),
        region: "r".into(),
        endpoint: None,
        access_key_id: Some("AKIAEXAMPLEID".into()),
        secret_access_key: Some("very-secret-key".into()),
        allow_http: false,
    };
    let shown = format!("{c:?}");
    assert!(
        !shown.contains("AKIAEXAMPLEID") && !shown.contains("very-secret-key"),
        "{shown}"
    );
    let g = RemoteConfig::Gcs {
        bucket: "b".into(),
        service_account_key: Some("{\"private_key\":\"PEM\"}".into()),
    };
    assert!(!format!("{g:?}").contains("PEM"));
}

/// Store errors for a session's items never show the session id (paths are
/// redacted to `sid:` and a short hash).
#[test]
fn errors_never_show_a_session_id() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path()).unwrap();
    let s = scope(Kind::sessions(), common::SESSION_ID);
    store.put(&s, &item("ok"), b"1").unwrap();
    // A directory where the item should be: reads and writes fail (as root
    // too, unlike a read-only directory).
    std::fs::create_dir(store.scope_dir(&s).join("session.json")).unwrap();
    std::fs::write(store.scope_dir(&s).join("session.json/x"), b"").unwrap();
    let errors = [
        store.get(&s, &item("session.json")).unwrap_err(),
        store.put(&s, &item("session.json"), b"v").unwrap_err(),
        store
            .compare_and_swap(&s, &item("ok"), b"1", &[0; 2 << 20])
            .unwrap_err(),
        store.delete(&s, &item("session.json")).unwrap_err(),
    ];
    for e in &errors {
        common::assert_id_not_shown(e, common::SESSION_ID);
    }
    assert!(
        errors[0].to_string().contains("sid:"),
        "a redacted tag stays: {}",
        errors[0]
    );
}

#[test]
fn remote_errors_never_show_a_session_id() {
    let key = r#"{"gcs_base_url": "http://127.0.0.1:9", "disable_oauth": true, "client_email": "", "private_key": "", "private_key_id": ""}"#;
    let remote = ObjectStorage::connect(
        RemoteConfig::Gcs {
            bucket: "b".into(),
            service_account_key: Some(key.into()),
        },
        ObjectStoreOptions {
            max_retries: 0,
            retry_timeout: Duration::from_millis(100),
            call_deadline: Duration::from_secs(5),
            ..ObjectStoreOptions::default()
        },
    )
    .unwrap();
    let s = scope(Kind::sessions(), common::SESSION_ID);
    for e in [
        remote.get(&s, &item("session.json")).unwrap_err(),
        remote.put(&s, &item("session.json"), b"1").unwrap_err(),
        remote.list(&s).unwrap_err(),
    ] {
        assert!(matches!(e, StoreError::Unavailable { .. }), "{e}");
        common::assert_id_not_shown(&e, common::SESSION_ID);
    }
}

#[test]
fn a_batch_is_made_in_steps() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path().join("store")).unwrap();
    common::batch_semantics(&store, common::BatchKind::InSteps);
}
