//! The object-storage backend against a real S3 server, moto's stand-alone
//! server (PyPI `moto[server]`; `scripts/test` installs it in the test
//! virtualenv and exports KEYBENCH_PYTHON): the conformance suite every
//! backend runs, conditional create (If-None-Match) and compare-and-swap
//! (If-Match) with one winner among racing clients, and the visible
//! fallback to local storage while the server is down. Set
//! KEYBENCH_SKIP_S3=1 to skip, with a printed reason.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
#[path = "support/moto_s3.rs"]
mod moto_s3;

use common::{item, scope};
use moto_s3::{connect, skip, start};
use session_store::{BackendState, Created, FallbackStore, Kind, LocalStore, Storage};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn s3_conformance() {
    if skip() {
        return;
    }
    let server = start();
    let store = connect(server.port, "keybench/conformance");
    common::basic_semantics(&store);
    assert_eq!(store.status().backend, "s3");
    assert!(
        store
            .status()
            .location
            .starts_with("s3://keybench-test/keybench/conformance"),
        "{}",
        store.status().location
    );
}

#[test]
fn s3_conditional_create_has_one_winner_across_clients() {
    if skip() {
        return;
    }
    let server = start();
    // Two independent clients, as two server processes sharing the bucket
    // would have, four racers each.
    let a: Arc<dyn Storage> = Arc::new(connect(server.port, "keybench/race"));
    let b: Arc<dyn Storage> = Arc::new(connect(server.port, "keybench/race"));
    let racers = (0..8)
        .map(|i| if i % 2 == 0 { a.clone() } else { b.clone() })
        .collect();
    common::create_race(racers, 20);
}

#[test]
fn s3_compare_and_swap_conformance() {
    if skip() {
        return;
    }
    let server = start();
    common::compare_and_swap_semantics(&connect(server.port, "keybench/cas"));
}

#[test]
fn s3_compare_and_swap_has_one_winner_across_clients() {
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
fn s3_down_falls_back_to_local_visibly() {
    if skip() {
        return;
    }
    let mut server = start();
    let dir = tempfile::tempdir().unwrap();
    let remote = Arc::new(connect(server.port, "keybench/fallback"));
    let local = Arc::new(LocalStore::open(dir.path()).unwrap());
    let store = FallbackStore::new(remote.clone(), local.clone(), Duration::from_secs(3600));
    let s = scope(Kind::sessions(), "sess");
    store.put(&s, &item("before"), b"remote").unwrap();
    assert_eq!(store.status().state, BackendState::Primary);
    server.stop(); // the remote goes down
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
}

/// The diagnosis probe: its object written, read back (the service's
/// Last-Modified gives its clock: moto's is this machine's) and deleted.
#[test]
fn s3_probe_writes_reads_back_and_deletes_its_object() {
    if skip() {
        return;
    }
    let server = start();
    let store = connect(server.port, "keybench/probe-test");
    let probe = store.probe().unwrap();
    assert!(
        probe
            .object
            .starts_with("keybench/probe-test/probe/doctor-"),
        "{}",
        probe.object
    );
    assert!(probe.server_time.is_some());
    assert_eq!(probe.clock_skew_secs(), Some(0));
    assert_eq!(store.location(), "s3://keybench-test/keybench/probe-test");
}
