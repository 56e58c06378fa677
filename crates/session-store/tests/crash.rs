//! Crash consistency, for both local backends: a child process rewrites
//! items in a loop and is killed with SIGKILL mid-write; afterwards every
//! item must read back whole, either an old or a new version, never torn.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use session_store::{EmbeddedStore, ItemName, Kind, LocalStore, OwnerId, Scope, Storage};
use std::process::Command;
use std::time::Duration;

const SESSIONS: usize = 40;
const CHILD_ENV: &str = "KEYBENCH_CRASH_CHILD_DIR";
const BACKEND_ENV: &str = "KEYBENCH_CRASH_CHILD_BACKEND";

fn open(backend: &str, dir: &std::path::Path) -> Box<dyn Storage> {
    match backend {
        "embedded" => Box::new(EmbeddedStore::open(dir).unwrap()),
        _ => Box::new(LocalStore::open(dir).unwrap()),
    }
}

/// Generation `n`'s value for session `s`: a header, then 16 KiB derived from
/// both, then a trailer; any mix of two versions fails [`check`].
fn value(s: usize, n: u64) -> Vec<u8> {
    let mut v = format!("gen:{n:016}:s{s:03}:").into_bytes();
    let mut x = n
        .wrapping_mul(6364136223846793005)
        .wrapping_add(s as u64 + 1);
    for _ in 0..16 * 1024 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.push(x as u8);
    }
    v.extend_from_slice(format!(":end:{n:016}").as_bytes());
    v
}

fn check(s: usize, bytes: &[u8]) -> u64 {
    let text = std::str::from_utf8(&bytes[..21]).expect("header is text");
    let n: u64 = text[4..20]
        .parse()
        .unwrap_or_else(|_| panic!("torn header: {text:?}"));
    assert_eq!(
        bytes,
        value(s, n).as_slice(),
        "session {s}: item is torn (generation {n})"
    );
    n
}

fn scope(s: usize) -> Scope {
    Scope::new(
        Kind::sessions(),
        OwnerId::new(&format!("session{s:03}")).unwrap(),
    )
}

/// The child: rewrites every session's item forever (until killed).
#[test]
fn crash_child_writer() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return; // Only meaningful when spawned by `killed_writer_leaves_no_torn_items`.
    };
    let backend = std::env::var(BACKEND_ENV).unwrap_or_default();
    let store = open(&backend, std::path::Path::new(&dir));
    let item = ItemName::new("record.json").unwrap();
    let mut n = 1u64;
    loop {
        for s in 0..SESSIONS {
            store.put(&scope(s), &item, &value(s, n)).unwrap();
        }
        n += 1;
    }
}

#[test]
fn killed_writer_leaves_no_torn_items() {
    killed_writer(true, "local");
}

#[test]
fn killed_embedded_writer_leaves_no_torn_items() {
    killed_writer(false, "embedded");
}

/// `shared`: the parent keeps the store open while the child writes (the
/// file backend allows it; the embedded one is locked to one process, so the
/// parent reopens it after each kill, which also tests recovery on open).
fn killed_writer(shared: bool, backend: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Some(open(backend, dir.path()));
    let item = ItemName::new("record.json").unwrap();
    for s in 0..SESSIONS {
        store
            .as_ref()
            .unwrap()
            .put(&scope(s), &item, &value(s, 0))
            .unwrap();
    }
    for round in 0..5 {
        if !shared {
            store = None;
        }
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "crash_child_writer",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .env(BACKEND_ENV, backend)
            .spawn()
            .unwrap();
        // Let it write for a while, at a different point each round.
        std::thread::sleep(Duration::from_millis(150 + 70 * round));
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert!(!status.success(), "the child was killed, not finished");
        let store = store.get_or_insert_with(|| open(backend, dir.path()));
        let mut newest = 0;
        for s in 0..SESSIONS {
            let bytes = store
                .get(&scope(s), &item)
                .unwrap()
                .expect("every item still exists");
            newest = newest.max(check(s, &bytes));
        }
        assert!(
            newest > 0,
            "round {round}: the child wrote at least one new generation"
        );
        // Leftover temporary files are never listed as items.
        for s in 0..SESSIONS {
            let names: Vec<_> = store
                .list(&scope(s))
                .unwrap()
                .into_iter()
                .map(|m| m.name)
                .collect();
            assert_eq!(names, vec![item.clone()]);
        }
    }
}
