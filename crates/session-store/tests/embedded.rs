//! The embedded (redb, group commit) backend: conformance, durability across
//! reopening, one process at a time, file modes, size limits, and concurrent
//! writers sharing commits with exactly one winner per conditional create.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{item, scope};
use session_store::{
    Created, EmbeddedOptions, EmbeddedStore, Kind, Storage, StoreError, embedded::DATABASE_FILE,
};
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn conformance() {
    let dir = tempfile::tempdir().unwrap();
    common::basic_semantics(&EmbeddedStore::open(dir.path().join("store")).unwrap());
}

#[test]
fn writes_survive_reopening_and_a_second_process_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let s = scope(Kind::accounts(), "alice");
    {
        let store = EmbeddedStore::open(&root).unwrap();
        store.put(&s, &item("cred-a"), b"first").unwrap();
        assert_eq!(
            store.create(&s, &item("cred-b"), b"b").unwrap(),
            Created::Created
        );
        store.delete(&s, &item("cred-a")).unwrap();
        store.put(&s, &item("cred-a"), b"second").unwrap();
        // While it is open, another opener gets a clear refusal, not a corrupt file.
        let err = EmbeddedStore::open(&root).unwrap_err();
        assert!(
            matches!(err, StoreError::Unsafe(ref m) if m.contains("in use")),
            "{err}"
        );
    }
    let store = EmbeddedStore::open(&root).unwrap();
    assert_eq!(
        store.get(&s, &item("cred-a")).unwrap().as_deref(),
        Some(&b"second"[..])
    );
    assert_eq!(
        store.get(&s, &item("cred-b")).unwrap().as_deref(),
        Some(&b"b"[..])
    );
    let listed = store.list(&s).unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|m| m.modified.is_some()));
    assert_eq!(store.status().backend, "embedded");
    assert_eq!(mode(&root), 0o700);
    assert_eq!(mode(&root.join(DATABASE_FILE)), 0o600);
}

#[test]
fn closed_store_refuses_writes_but_still_reads() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let s = scope(Kind::sessions(), "a");
    store.put(&s, &item("x"), b"1").unwrap();
    store.close();
    assert!(matches!(
        store.put(&s, &item("y"), b"2"),
        Err(StoreError::Io { .. })
    ));
    assert_eq!(
        store.get(&s, &item("x")).unwrap().as_deref(),
        Some(&b"1"[..])
    );
}

#[test]
fn size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        EmbeddedStore::open_with(dir.path(), EmbeddedOptions { max_item_bytes: 10 }).unwrap();
    let s = scope(Kind::sessions(), "a");
    assert!(matches!(
        store.put(&s, &item("x"), &[0; 11]),
        Err(StoreError::TooLarge { len: 11, max: 10 })
    ));
    assert!(matches!(
        store.create(&s, &item("x"), &[0; 11]),
        Err(StoreError::TooLarge { len: 11, max: 10 })
    ));
    store.put(&s, &item("x"), &[0; 10]).unwrap();
    assert_eq!(store.list(&s).unwrap()[0].size, 10);
}

#[test]
fn a_symlink_in_place_of_the_directory_or_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("elsewhere");
    std::fs::create_dir(&target).unwrap();
    let link = dir.path().join("store");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    assert!(matches!(
        EmbeddedStore::open(&link),
        Err(StoreError::Unsafe(_))
    ));

    let root = dir.path().join("store2");
    std::fs::create_dir(&root).unwrap();
    std::os::unix::fs::symlink(target.join("planted"), root.join(DATABASE_FILE)).unwrap();
    assert!(matches!(
        EmbeddedStore::open(&root),
        Err(StoreError::Io { .. })
    ));
    assert!(!target.join("planted").exists());
}

#[test]
fn conditional_create_has_one_winner_among_threads() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Storage> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    common::create_race((0..8).map(|_| Arc::clone(&store)).collect(), 50);
}

#[test]
fn compare_and_swap_conformance() {
    let dir = tempfile::tempdir().unwrap();
    common::compare_and_swap_semantics(&EmbeddedStore::open(dir.path().join("store")).unwrap());
}

#[test]
fn compare_and_swap_has_one_winner_among_threads() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Storage> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    common::swap_race((0..8).map(|_| Arc::clone(&store)).collect(), 50);
}

#[test]
fn concurrent_writers_all_land() {
    // Many threads writing at once share group commits; every write is
    // there afterwards, in its own scope, and scopes do not bleed.
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let s = scope(Kind::sessions(), &format!("s{t}"));
                for i in 0..50 {
                    store
                        .put(&s, &item(&format!("i{i}")), format!("{t}:{i}").as_bytes())
                        .unwrap();
                }
                store.delete(&s, &item("i0")).unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(store.owners(&Kind::sessions()).unwrap().len(), 16);
    for t in 0..16 {
        let s = scope(Kind::sessions(), &format!("s{t}"));
        assert_eq!(store.list(&s).unwrap().len(), 49);
        assert_eq!(
            store.get(&s, &item("i49")).unwrap().unwrap(),
            format!("{t}:49").into_bytes()
        );
        assert_eq!(store.remove_scope(&s).unwrap(), 49);
    }
    assert!(store.owners(&Kind::sessions()).unwrap().is_empty());
}

#[test]
fn items_of_the_file_layout_are_adopted_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let acct = scope(Kind::accounts(), "alice");
    let sess = scope(Kind::sessions(), "s1");
    {
        // What an earlier Keybench left: one file per item in the same directory.
        let files = session_store::LocalStore::open(&root).unwrap();
        files.put(&acct, &item("cred-a"), b"credential").unwrap();
        files.put(&acct, &item("profile"), b"old profile").unwrap();
        files.put(&sess, &item("session.json"), b"{}").unwrap();
    }
    let store = EmbeddedStore::open(&root).unwrap();
    // An item already in the embedded store wins over the file's.
    store.put(&acct, &item("profile"), b"new profile").unwrap();
    assert_eq!(store.adopt_file_layout().unwrap(), 2);
    assert_eq!(
        store.get(&acct, &item("cred-a")).unwrap().as_deref(),
        Some(&b"credential"[..])
    );
    assert_eq!(
        store.get(&acct, &item("profile")).unwrap().as_deref(),
        Some(&b"new profile"[..])
    );
    assert_eq!(
        store.get(&sess, &item("session.json")).unwrap().as_deref(),
        Some(&b"{}"[..])
    );
    // The old directories are kept aside, and a second call imports nothing.
    let kept: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(".imported-"))
        .collect();
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(!root.join("accounts").exists());
    assert_eq!(store.adopt_file_layout().unwrap(), 0);
}

#[test]
fn bursts_of_large_items_are_split_across_commits_and_all_land() {
    // 8 writers × 4 items of 1 MiB (the default limit): more than one
    // group's byte cap (16 MiB) is queued at once.
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let max = session_store::DEFAULT_MAX_ITEM_BYTES;
    let threads: Vec<_> = (0..8u8)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let s = scope(Kind::sessions(), &format!("big{t}"));
                for i in 0..4u8 {
                    store
                        .put(&s, &item(&format!("i{i}")), &vec![t ^ i; max])
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    for t in 0..8u8 {
        let s = scope(Kind::sessions(), &format!("big{t}"));
        for i in 0..4u8 {
            let v = store.get(&s, &item(&format!("i{i}"))).unwrap().unwrap();
            assert_eq!(v.len(), max);
            assert!(v.iter().all(|b| *b == t ^ i));
        }
    }
}

/// A damaged record of a session: the error names a redacted key.
#[test]
fn errors_never_show_a_session_id() {
    let dir = tempfile::tempdir().unwrap();
    let s = scope(Kind::sessions(), common::SESSION_ID);
    {
        // A value without the 8-byte header, written behind the store's back.
        let db = redb::Database::create(dir.path().join(DATABASE_FILE)).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let table: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("items");
            let mut t = txn.open_table(table).unwrap();
            let key = format!("sessions/{}/session.json", common::SESSION_ID);
            t.insert(key.as_str(), &b"bad"[..]).unwrap();
        }
        txn.commit().unwrap();
    }
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let e = store.get(&s, &item("session.json")).unwrap_err();
    common::assert_id_not_shown(&e, common::SESSION_ID);
    let e = store.put(&s, &item("x"), &[0; 2 << 20]).unwrap_err();
    common::assert_id_not_shown(&e, common::SESSION_ID);
}

#[test]
fn a_batch_is_made_all_or_none() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path().join("store")).unwrap();
    common::batch_semantics(&store, common::BatchKind::AllOrNone);
}
