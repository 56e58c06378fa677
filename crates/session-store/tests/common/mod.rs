//! A conformance suite every backend passes.
#![allow(dead_code)]

use session_store::{Created, ItemName, Kind, OwnerId, Scope, Storage, Swapped};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

pub fn scope(kind: Kind, owner: &str) -> Scope {
    Scope::new(kind, OwnerId::new(owner).unwrap())
}

pub fn item(name: &str) -> ItemName {
    ItemName::new(name).unwrap()
}

/// get/put/delete/list/owners/remove_scope semantics and isolation.
pub fn basic_semantics(store: &dyn Storage) {
    let a = scope(Kind::sessions(), "session-a");
    let b = scope(Kind::sessions(), "session-b");
    let acct = scope(Kind::accounts(), "session-a");
    assert_eq!(store.get(&a, &item("x")).unwrap(), None);
    store.put(&a, &item("x"), b"one").unwrap();
    store.put(&a, &item("y.json"), b"{}").unwrap();
    assert_eq!(
        store.get(&a, &item("x")).unwrap().as_deref(),
        Some(&b"one"[..])
    );
    // Replace.
    store.put(&a, &item("x"), b"two").unwrap();
    assert_eq!(
        store.get(&a, &item("x")).unwrap().as_deref(),
        Some(&b"two"[..])
    );
    // Isolation: same item name, other scope, other kind with the same owner.
    assert_eq!(store.get(&b, &item("x")).unwrap(), None);
    assert_eq!(store.get(&acct, &item("x")).unwrap(), None);
    store.put(&b, &item("x"), b"bee").unwrap();
    assert_eq!(
        store.get(&a, &item("x")).unwrap().as_deref(),
        Some(&b"two"[..])
    );
    // Listing.
    let names: Vec<_> = store
        .list(&a)
        .unwrap()
        .into_iter()
        .map(|m| (m.name.as_str().to_owned(), m.size))
        .collect();
    assert_eq!(names, vec![("x".to_owned(), 3), ("y.json".to_owned(), 2)]);
    let mut owners: Vec<_> = store
        .owners(&Kind::sessions())
        .unwrap()
        .into_iter()
        .map(|o| o.as_str().to_owned())
        .collect();
    owners.sort();
    assert_eq!(owners, vec!["session-a", "session-b"]);
    assert!(store.owners(&Kind::accounts()).unwrap().is_empty());
    // Conditional create.
    assert_eq!(
        store.create(&a, &item("once"), b"first").unwrap(),
        Created::Created
    );
    assert_eq!(
        store.create(&a, &item("once"), b"second").unwrap(),
        Created::AlreadyExists
    );
    assert_eq!(
        store.get(&a, &item("once")).unwrap().as_deref(),
        Some(&b"first"[..])
    );
    // Delete (idempotent).
    store.delete(&a, &item("once")).unwrap();
    store.delete(&a, &item("once")).unwrap();
    assert_eq!(store.get(&a, &item("once")).unwrap(), None);
    // Remove a whole scope.
    assert_eq!(store.remove_scope(&a).unwrap(), 2);
    assert_eq!(store.get(&a, &item("x")).unwrap(), None);
    assert!(store.list(&a).unwrap().is_empty());
    assert_eq!(store.remove_scope(&a).unwrap(), 0);
    assert_eq!(
        store.get(&b, &item("x")).unwrap().as_deref(),
        Some(&b"bee"[..])
    );
    store.remove_scope(&b).unwrap();

    // Moving a scope (a session id rotation).
    let old = scope(Kind::sessions(), "rot-old");
    let new = scope(Kind::sessions(), "rot-new");
    store.put(&old, &item("record"), b"old record").unwrap();
    store.put(&old, &item("a"), b"1").unwrap();
    store.put(&old, &item("b"), b"2").unwrap();
    assert_eq!(
        store
            .move_scope(&old, &new, &item("record"), b"new record")
            .unwrap(),
        Created::Created
    );
    assert!(store.list(&old).unwrap().is_empty());
    assert_eq!(store.get(&old, &item("a")).unwrap(), None);
    let moved: Vec<_> = store
        .list(&new)
        .unwrap()
        .into_iter()
        .map(|m| m.name.as_str().to_owned())
        .collect();
    assert_eq!(moved, vec!["a", "b", "record"]);
    assert_eq!(
        store.get(&new, &item("record")).unwrap().as_deref(),
        Some(&b"new record"[..])
    );
    assert_eq!(
        store.get(&new, &item("b")).unwrap().as_deref(),
        Some(&b"2"[..])
    );
    // Onto a scope that already has the item: refused, nothing changes.
    let other = scope(Kind::sessions(), "rot-other");
    store.put(&other, &item("x"), b"x").unwrap();
    assert_eq!(
        store
            .move_scope(&other, &new, &item("record"), b"intruder")
            .unwrap(),
        Created::AlreadyExists
    );
    assert_eq!(
        store.get(&other, &item("x")).unwrap().as_deref(),
        Some(&b"x"[..])
    );
    assert_eq!(
        store.get(&new, &item("record")).unwrap().as_deref(),
        Some(&b"new record"[..])
    );
    // From a scope removed meanwhile (a logout racing a rotation): refused,
    // and nothing appears under the new owner.
    let gone = scope(Kind::sessions(), "rot-gone");
    let target = scope(Kind::sessions(), "rot-target");
    assert!(matches!(
        store.move_scope(&gone, &target, &item("record"), b"resurrected"),
        Err(session_store::StoreError::ScopeGone)
    ));
    assert!(store.list(&target).unwrap().is_empty());
    // Removing a batch of scopes: one result each, in order.
    let missing = scope(Kind::sessions(), "rot-missing");
    let results: Vec<usize> = store
        .remove_scopes(&[new.clone(), missing, other.clone()])
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(results, vec![3, 0, 1]);
    assert!(store.list(&new).unwrap().is_empty());
    assert!(store.list(&other).unwrap().is_empty());
    assert!(store.remove_scopes(&[]).is_empty());
}

/// `threads` stores race to create one item: exactly one wins.
pub fn create_race(stores: Vec<Arc<dyn Storage>>, rounds: usize) {
    for round in 0..rounds {
        let s = scope(Kind::challenges(), &format!("race-{round}"));
        let wins = Arc::new(AtomicUsize::new(0));
        let barrier = Arc::new(std::sync::Barrier::new(stores.len()));
        let handles: Vec<_> = stores
            .iter()
            .enumerate()
            .map(|(i, store)| {
                let (store, s, wins, barrier) =
                    (store.clone(), s.clone(), wins.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    if store
                        .create(&s, &item("consumed"), format!("{i}").as_bytes())
                        .unwrap()
                        == Created::Created
                    {
                        wins.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(
            wins.load(Ordering::SeqCst),
            1,
            "round {round}: exactly one create wins"
        );
    }
}

/// Compare-and-swap: replaces only the expected value, and never re-creates
/// an item that a delete, a scope removal or a scope move removed.
pub fn compare_and_swap_semantics(store: &dyn Storage) {
    let s = scope(Kind::sessions(), "cas-a");
    let rec = item("record");
    // Missing: nothing is created.
    assert_eq!(
        store.compare_and_swap(&s, &rec, b"v0", b"v1").unwrap(),
        Swapped::Missing
    );
    assert_eq!(store.get(&s, &rec).unwrap(), None);
    assert!(store.owners(&Kind::sessions()).unwrap().is_empty());
    store.put(&s, &rec, b"v1").unwrap();
    // Another value: refused, unchanged.
    assert_eq!(
        store.compare_and_swap(&s, &rec, b"v0", b"v2").unwrap(),
        Swapped::Changed
    );
    assert_eq!(store.get(&s, &rec).unwrap().as_deref(), Some(&b"v1"[..]));
    // Two swaps from the same read: the first wins, the second is refused.
    assert_eq!(
        store.compare_and_swap(&s, &rec, b"v1", b"v2").unwrap(),
        Swapped::Swapped
    );
    assert_eq!(
        store.compare_and_swap(&s, &rec, b"v1", b"v3").unwrap(),
        Swapped::Changed
    );
    assert_eq!(store.get(&s, &rec).unwrap().as_deref(), Some(&b"v2"[..]));
    // After a delete: refused, stays deleted.
    store.put(&s, &item("other"), b"o").unwrap();
    store.delete(&s, &rec).unwrap();
    assert_eq!(
        store.compare_and_swap(&s, &rec, b"v2", b"v4").unwrap(),
        Swapped::Missing
    );
    assert_eq!(store.get(&s, &rec).unwrap(), None);
    // After the scope's removal (a logout): refused, the scope stays gone.
    store.put(&s, &rec, b"v5").unwrap();
    store.remove_scope(&s).unwrap();
    assert_eq!(
        store.compare_and_swap(&s, &rec, b"v5", b"v6").unwrap(),
        Swapped::Missing
    );
    assert!(store.list(&s).unwrap().is_empty());
    // After a move (an id rotation): the old scope is not brought back.
    let new = scope(Kind::sessions(), "cas-b");
    store.put(&s, &rec, b"old").unwrap();
    assert_eq!(
        store.move_scope(&s, &new, &rec, b"new").unwrap(),
        Created::Created
    );
    assert_eq!(
        store
            .compare_and_swap(&s, &rec, b"old", b"touched")
            .unwrap(),
        Swapped::Missing
    );
    assert!(store.list(&s).unwrap().is_empty());
    assert_eq!(store.get(&new, &rec).unwrap().as_deref(), Some(&b"new"[..]));
    store.remove_scope(&new).unwrap();
}

/// Racers swap one item from the same value: exactly one wins per round.
pub fn swap_race(stores: Vec<Arc<dyn Storage>>, rounds: usize) {
    for round in 0..rounds {
        let s = scope(Kind::accounts(), &format!("swap-{round}"));
        stores[0].put(&s, &item("cred"), b"count=1").unwrap();
        let wins = Arc::new(AtomicUsize::new(0));
        let barrier = Arc::new(std::sync::Barrier::new(stores.len()));
        let handles: Vec<_> = stores
            .iter()
            .enumerate()
            .map(|(i, store)| {
                let (store, s, wins, barrier) =
                    (store.clone(), s.clone(), wins.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let value = format!("count=2 by {i}");
                    if store
                        .compare_and_swap(&s, &item("cred"), b"count=1", value.as_bytes())
                        .unwrap()
                        == Swapped::Swapped
                    {
                        wins.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(
            wins.load(Ordering::SeqCst),
            1,
            "round {round}: exactly one swap wins"
        );
    }
}

/// A session id as the engine makes them: 43 base64url characters.
pub const SESSION_ID: &str = "Zk9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWo";

/// Everything an error can show (Display, Debug, the source chain) must not
/// contain the full owner id, nor its first half.
pub fn assert_id_not_shown(err: &dyn std::error::Error, id: &str) {
    let mut shown = format!("{err} {err:?}");
    let mut source = err.source();
    while let Some(s) = source {
        shown.push_str(&format!(" {s} {s:?}"));
        source = s.source();
    }
    assert!(!shown.contains(id), "the id is in: {shown}");
    assert!(!shown.contains(&id[..20]), "half the id is in: {shown}");
}

/// Whether a backend makes a batch all or none, or in steps.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum BatchKind {
    /// One transaction: a refused write leaves every other unmade.
    AllOrNone,
    /// One write after another: the writes before a refused one stay.
    InSteps,
}

/// `commit_batch` as a completed sign-in uses it: a consumption mark, a
/// counter swap and a session move, made together; each refusal named.
pub fn batch_semantics(store: &dyn Storage, kind: BatchKind) {
    use session_store::{BatchOutcome, BatchRefusal, BatchWrite, StoreError};
    let challenge = scope(Kind::challenges(), "batch-challenge");
    let account = scope(Kind::accounts(), "batch-user");
    let old = scope(Kind::sessions(), "batch-session-old");
    let new = scope(Kind::sessions(), "batch-session-new");
    let (consumed, cred, rec) = (item("consumed"), item("cred"), item("record"));
    store.put(&account, &cred, b"count=1").unwrap();
    store.put(&old, &rec, b"anonymous").unwrap();
    store.put(&old, &item("cart"), b"kept").unwrap();
    let sign_in = |challenge: &Scope, expected: &'static [u8], new: &Scope| {
        let writes = [
            BatchWrite::Create {
                scope: challenge,
                item: &consumed,
                value: b"now",
            },
            BatchWrite::Swap {
                scope: &account,
                item: &cred,
                expected,
                value: b"count=2",
            },
            BatchWrite::MoveScope {
                from: &old,
                to: new,
                item: &rec,
                value: b"signed-in",
            },
        ];
        store.commit_batch(&writes).unwrap()
    };

    assert_eq!(
        sign_in(&challenge, b"count=1", &new),
        BatchOutcome::Committed
    );
    assert_eq!(
        store.get(&challenge, &consumed).unwrap().as_deref(),
        Some(&b"now"[..])
    );
    assert_eq!(
        store.get(&account, &cred).unwrap().as_deref(),
        Some(&b"count=2"[..])
    );
    assert_eq!(
        store.get(&new, &rec).unwrap().as_deref(),
        Some(&b"signed-in"[..])
    );
    assert_eq!(
        store.get(&new, &item("cart")).unwrap().as_deref(),
        Some(&b"kept"[..])
    );
    assert!(store.list(&old).unwrap().is_empty());

    // The same challenge again: refused at the consumption, nothing made.
    let newer = scope(Kind::sessions(), "batch-session-newer");
    assert_eq!(
        sign_in(&challenge, b"count=2", &newer),
        BatchOutcome::Refused {
            index: 0,
            why: BatchRefusal::Exists
        }
    );
    assert_eq!(
        store.get(&account, &cred).unwrap().as_deref(),
        Some(&b"count=2"[..])
    );
    assert!(store.list(&newer).unwrap().is_empty());

    // A stale counter: refused at the swap. All or none leaves the fresh
    // challenge unconsumed; in steps its mark stays (it came first).
    let fresh = scope(Kind::challenges(), "batch-challenge-2");
    assert_eq!(
        sign_in(&fresh, b"count=1", &newer),
        BatchOutcome::Refused {
            index: 1,
            why: BatchRefusal::Changed
        }
    );
    let mark = store.get(&fresh, &consumed).unwrap();
    match kind {
        BatchKind::AllOrNone => assert_eq!(mark, None),
        BatchKind::InSteps => assert_eq!(mark.as_deref(), Some(&b"now"[..])),
    }
    assert_eq!(
        store.get(&account, &cred).unwrap().as_deref(),
        Some(&b"count=2"[..])
    );

    // The session was removed meanwhile (a logout): refused at the move.
    let third = scope(Kind::challenges(), "batch-challenge-3");
    assert_eq!(
        sign_in(&third, b"count=2", &newer),
        BatchOutcome::Refused {
            index: 2,
            why: BatchRefusal::ScopeGone
        }
    );
    match kind {
        BatchKind::AllOrNone => {
            assert_eq!(store.get(&third, &consumed).unwrap(), None);
            assert_eq!(
                store.get(&account, &cred).unwrap().as_deref(),
                Some(&b"count=2"[..])
            );
        }
        // In steps the mark and the (same-value) swap before the move stay.
        BatchKind::InSteps => assert!(store.get(&third, &consumed).unwrap().is_some()),
    }
    assert!(store.list(&newer).unwrap().is_empty());

    // A missing item to swap.
    let fourth = scope(Kind::challenges(), "batch-challenge-4");
    assert_eq!(
        store
            .commit_batch(&[BatchWrite::Swap {
                scope: &fourth,
                item: &cred,
                expected: b"x",
                value: b"y"
            }])
            .unwrap(),
        BatchOutcome::Refused {
            index: 0,
            why: BatchRefusal::Missing
        }
    );

    // Two writes to one scope are refused before anything is written.
    let err = store
        .commit_batch(&[
            BatchWrite::Create {
                scope: &fourth,
                item: &consumed,
                value: b"a",
            },
            BatchWrite::Create {
                scope: &fourth,
                item: &item("other"),
                value: b"b",
            },
        ])
        .unwrap_err();
    assert!(matches!(err, StoreError::Unsupported { .. }), "{err}");
    assert!(store.list(&fourth).unwrap().is_empty());

    for s in [&challenge, &fresh, &third, &account, &new] {
        store.remove_scope(s).unwrap();
    }
}
