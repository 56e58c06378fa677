//! Cleanup by the injected clock: the 14-day idle limit, the 6-hour
//! schedule, empty-session pruning, the emergency budget sweep, expired
//! challenges, the status value, the manual trigger and the background
//! thread.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use http::HeaderMap;
use session_engine::cleanup::{CleanupConfig, SweepTrigger};
use session_engine::clock::unix_ms;
use session_engine::{
    Binding, Ceremony, ChallengeRejection, Clock, EndpointClass, EngineConfig, EventKind,
    ManualClock, RequestContext, Scheme, SecretKey, Session, SessionEngine,
};
use session_store::{EmbeddedStore, Kind, LocalStore, Storage};
use std::sync::Arc;
use std::time::Duration;

const DAY: u64 = 24 * 3600;

struct Fixture {
    engine: Arc<SessionEngine>,
    clock: Arc<ManualClock>,
    store: Arc<dyn Storage>,
    _dir: tempfile::TempDir,
}

fn fixture(cleanup: CleanupConfig) -> Fixture {
    fixture_on(cleanup, false)
}

/// `embedded`: the server's default store instead of one file per item.
fn fixture_on(cleanup: CleanupConfig, embedded: bool) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Storage> = if embedded {
        Arc::new(EmbeddedStore::open(dir.path()).unwrap())
    } else {
        Arc::new(LocalStore::open(dir.path()).unwrap())
    };
    let clock = Arc::new(ManualClock::at_2025());
    let config = EngineConfig {
        cleanup,
        ..EngineConfig::default()
    };
    let engine = Arc::new(SessionEngine::with_key(
        config,
        store.clone(),
        clock.clone(),
        SecretKey::generate(),
    ));
    Fixture {
        engine,
        clock,
        store,
        _dir: dir,
    }
}

fn new_session(f: &Fixture, with_item: bool) -> Session {
    let h = HeaderMap::new();
    let ctx = RequestContext {
        scheme: Scheme::Http,
        peer: None,
        headers: &h,
        endpoint: EndpointClass::Normal,
    };
    let s = f.engine.open_or_create(&ctx).unwrap().session;
    if with_item {
        f.engine.items(&s).put("metadata.json", &[1; 100]).unwrap();
    }
    s
}

fn exists(f: &Fixture, s: &Session) -> bool {
    session_engine::session::load(&*f.store, &s.id)
        .unwrap()
        .is_some()
}

#[test]
fn fourteen_day_idle_limit() {
    let f = fixture(CleanupConfig::default());
    let old = new_session(&f, true);
    f.clock.advance(Duration::from_secs(10 * DAY));
    let recent = new_session(&f, true);
    f.clock.advance(Duration::from_secs(4 * DAY)); // old: exactly 14 days idle
    let report = f.engine.sweep_now().unwrap();
    assert_eq!(
        (report.scanned, report.removed_idle),
        (2, 0),
        "14 days is not yet over the limit"
    );
    f.clock.advance(Duration::from_secs(1));
    let report = f.engine.sweep_now().unwrap();
    assert_eq!((report.removed_idle, report.remaining), (1, 1));
    assert!(!exists(&f, &old) && exists(&f, &recent));
    assert_eq!(report.trigger, Some(SweepTrigger::Manual));
    // A configured limit.
    let f = fixture(CleanupConfig {
        idle_limit: Duration::from_secs(2 * DAY),
        ..CleanupConfig::default()
    });
    let s = new_session(&f, true);
    f.clock.advance(Duration::from_secs(2 * DAY + 1));
    assert_eq!(f.engine.sweep_now().unwrap().removed_idle, 1);
    assert!(!exists(&f, &s));
}

#[test]
fn six_hour_schedule_and_status() {
    let f = fixture(CleanupConfig::default());
    let start = f.clock.now();
    // Due at start (a sweep runs on the first tick), then every 6 hours.
    assert_eq!(
        f.engine.run_due_cleanup().unwrap().trigger,
        Some(SweepTrigger::Scheduled)
    );
    assert!(
        f.engine.run_due_cleanup().is_none(),
        "not due again at once"
    );
    let status = f.engine.cleanup_status();
    assert_eq!(
        status.next_run_ms,
        unix_ms(start + Duration::from_secs(6 * 3600))
    );
    assert_eq!(
        (status.runs, status.interval_secs, status.idle_limit_secs),
        (1, 6 * 3600, 14 * DAY)
    );
    f.clock.advance(Duration::from_secs(6 * 3600 - 1));
    assert!(f.engine.run_due_cleanup().is_none(), "one second early");
    f.clock.advance(Duration::from_secs(1));
    let report = f.engine.run_due_cleanup().unwrap();
    assert_eq!(
        report.started_ms,
        unix_ms(start + Duration::from_secs(6 * 3600))
    );
    let status = f.engine.cleanup_status();
    assert_eq!(status.runs, 2);
    assert_eq!(status.last.as_ref().unwrap(), &report);
    assert_eq!(
        status.next_run_ms,
        unix_ms(start + Duration::from_secs(12 * 3600))
    );
    assert!(!status.running);
    // The status is a displayable value.
    let json = serde_json::to_value(&status).unwrap();
    assert_eq!(json["last"]["trigger"], "scheduled");
    assert!(json["last"]["duration_us"].is_u64());
    // A manual sweep restarts the interval.
    f.clock.advance(Duration::from_secs(3600));
    f.engine.sweep_now().unwrap();
    assert_eq!(
        f.engine.cleanup_status().next_run_ms,
        unix_ms(f.clock.now() + Duration::from_secs(6 * 3600))
    );
    let kinds = f
        .engine
        .events()
        .snapshot()
        .into_iter()
        .filter(|e| e.kind == EventKind::CleanupRun)
        .count();
    assert_eq!(kinds, 3);
}

#[test]
fn empty_sessions_are_pruned() {
    let f = fixture(CleanupConfig::default());
    let bare = new_session(&f, false);
    let with_items = new_session(&f, true);
    // An orphaned directory (no record) and a corrupt record.
    let orphan = session_engine::SessionId::generate();
    f.store
        .put(
            &orphan.scope(),
            &session_store::ItemName::new("stray").unwrap(),
            b"x",
        )
        .unwrap();
    let corrupt = session_engine::SessionId::generate();
    f.store
        .put(
            &corrupt.scope(),
            &session_store::ItemName::new("session.json").unwrap(),
            b"{not json",
        )
        .unwrap();
    let report = f.engine.sweep_now().unwrap();
    assert_eq!(report.removed_empty, 2, "orphan and corrupt, at once");
    assert!(exists(&f, &bare), "a fresh empty session stays for a day");
    f.clock.advance(Duration::from_secs(DAY + 1));
    let report = f.engine.sweep_now().unwrap();
    assert_eq!(report.removed_empty, 1);
    assert!(!exists(&f, &bare) && exists(&f, &with_items));
    assert_eq!(f.store.owners(&Kind::sessions()).unwrap().len(), 1);
}

#[test]
fn emergency_sweep_enforces_the_session_budget() {
    let f = fixture(CleanupConfig {
        max_sessions: Some(10),
        ..CleanupConfig::default()
    });
    f.engine.run_due_cleanup().unwrap(); // the start-up sweep
    let mut sessions = Vec::new();
    for _ in 0..10 {
        sessions.push(new_session(&f, true));
        f.clock.advance(Duration::from_secs(60));
    }
    // Authenticate the oldest: it outranks unauthenticated ones.
    let h = HeaderMap::new();
    let ctx = RequestContext {
        scheme: Scheme::Http,
        peer: None,
        headers: &h,
        endpoint: EndpointClass::Normal,
    };
    let vip = f
        .engine
        .authenticate(&ctx, &sessions[0], "alice", vec![])
        .unwrap()
        .session;
    assert!(
        f.engine.run_due_cleanup().is_none(),
        "10 sessions: within budget"
    );
    sessions.push(new_session(&f, true)); // the 11th
    let report = f.engine.run_due_cleanup().unwrap();
    assert_eq!(report.trigger, Some(SweepTrigger::Emergency));
    // Down to 90 % of the budget: 11 -> 9, least recently used unauthenticated first.
    assert_eq!((report.removed_budget, report.remaining), (2, 9));
    assert!(exists(&f, &vip));
    assert!(!exists(&f, &sessions[1]) && !exists(&f, &sessions[2]));
    assert!(exists(&f, &sessions[3]) && exists(&f, &sessions[10]));
    let status = f.engine.cleanup_status();
    assert_eq!((status.emergency_runs, status.session_estimate), (1, 9));
    assert!(
        f.engine
            .events()
            .snapshot()
            .iter()
            .any(|e| e.kind == EventKind::EmergencySweep)
    );
}

#[test]
fn byte_budget() {
    let f = fixture(CleanupConfig {
        max_bytes: Some(5_000),
        ..CleanupConfig::default()
    });
    let mut sessions = Vec::new();
    for _ in 0..20 {
        sessions.push(new_session(&f, true));
        f.clock.advance(Duration::from_secs(60));
    }
    let report = f.engine.sweep_now().unwrap();
    assert!(report.removed_budget > 0);
    assert!(report.remaining_bytes.unwrap() <= 4_500, "{report:?}");
    assert!(
        exists(&f, sessions.last().unwrap()),
        "the most recent survive"
    );
    assert!(!exists(&f, &sessions[0]));
}

/// More removals than one batch (256), sessions and challenges, on both
/// local backends: every one is counted and gone.
#[test]
fn large_sweeps_remove_everything_due_in_batches() {
    for embedded in [false, true] {
        let f = fixture_on(CleanupConfig::default(), embedded);
        let sessions: Vec<Session> = (0..600).map(|_| new_session(&f, false)).collect();
        for s in sessions.iter().take(300) {
            let b = Binding {
                session: s.id.clone(),
                ceremony: Ceremony::Authentication,
                rp_id: "r".into(),
                origin: "https://r".into(),
                user: None,
            };
            f.engine.issue_challenge(&b).unwrap();
        }
        let keep = {
            f.clock.advance(Duration::from_secs(15 * DAY));
            new_session(&f, true)
        };
        let report = f.engine.sweep_now().unwrap();
        assert_eq!(report.scanned, 601, "embedded: {embedded}");
        assert_eq!(report.removed_idle, 600, "embedded: {embedded}");
        assert_eq!(report.removed_challenges, 300, "embedded: {embedded}");
        assert_eq!(report.error_count, 0, "{:?}", report.errors);
        assert_eq!(report.remaining, 1);
        assert!(exists(&f, &keep));
        assert!(sessions.iter().all(|s| !exists(&f, s)));
        assert_eq!(f.store.owners(&Kind::sessions()).unwrap().len(), 1);
        assert!(f.store.owners(&Kind::challenges()).unwrap().is_empty());
    }
}

#[test]
fn expired_challenges_are_swept_after_a_grace_period() {
    let f = fixture(CleanupConfig::default());
    let s = new_session(&f, false);
    let b = Binding {
        session: s.id.clone(),
        ceremony: Ceremony::Registration,
        rp_id: "r".into(),
        origin: "https://r".into(),
        user: None,
    };
    let c = f.engine.issue_challenge(&b).unwrap();
    f.clock.advance(Duration::from_secs(301));
    assert_eq!(
        f.engine.sweep_now().unwrap().removed_challenges,
        0,
        "kept for an 'expired' answer"
    );
    assert_eq!(
        f.engine.consume_challenge(&c.bytes, &b),
        Err(ChallengeRejection::Expired)
    );
    f.clock.advance(Duration::from_secs(3600));
    assert_eq!(f.engine.sweep_now().unwrap().removed_challenges, 1);
    assert_eq!(
        f.engine.consume_challenge(&c.bytes, &b),
        Err(ChallengeRejection::Unknown)
    );
}

#[test]
fn background_thread_runs_due_sweeps() {
    let f = fixture(CleanupConfig::default());
    let handle = f.engine.spawn_cleanup(Duration::from_millis(5));
    assert!(handle.is_running());
    // The first sweep is due at once; wait for it (bounded, not timed).
    let mut waited = 0;
    while f.engine.cleanup_status().runs < 1 {
        std::thread::sleep(Duration::from_millis(10));
        waited += 1;
        assert!(waited < 1000, "the background sweep never ran");
    }
    // Not due again until the clock moves 6 hours.
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(f.engine.cleanup_status().runs, 1);
    f.clock.advance(Duration::from_secs(6 * 3600));
    while f.engine.cleanup_status().runs < 2 {
        std::thread::sleep(Duration::from_millis(10));
        waited += 1;
        assert!(waited < 2000, "the second sweep never ran");
    }
    drop(handle); // stops and joins
}

/// Clock jumps: on the clock a server runs on (`SlewedClock` over the
/// system clock; here over a `ManualClock` stepped by hand), a step of the
/// wall clock a month forward expires no session and no fresh challenge,
/// and a step a month back does not stop sessions from ageing out. On the
/// bare wall clock (what the server used before) the same forward step
/// removes every session at the next sweep.
#[test]
fn clock_jumps_neither_expire_everything_nor_make_sessions_immortal() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Storage> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let wall = Arc::new(ManualClock::at_2025());
    let engine = SessionEngine::with_key(
        EngineConfig {
            cleanup: CleanupConfig {
                idle_limit: Duration::from_millis(300),
                empty_idle_limit: Duration::from_millis(300),
                ..CleanupConfig::default()
            },
            ..EngineConfig::default()
        },
        store.clone(),
        Arc::new(session_engine::SlewedClock::over(wall.clone())),
        SecretKey::generate(),
    );
    let h = HeaderMap::new();
    let ctx = RequestContext {
        scheme: Scheme::Http,
        peer: None,
        headers: &h,
        endpoint: EndpointClass::Normal,
    };
    let sessions: Vec<Session> = (0..5)
        .map(|_| {
            let s = engine.open_or_create(&ctx).unwrap().session;
            engine.items(&s).put("metadata.json", &[1; 10]).unwrap();
            s
        })
        .collect();
    let challenge = engine
        .issue_challenge(&Binding {
            session: sessions[0].id.clone(),
            ceremony: Ceremony::Authentication,
            rp_id: "localhost".into(),
            origin: "http://localhost".into(),
            user: None,
        })
        .unwrap();
    // A month forward: nothing expires.
    wall.advance(Duration::from_secs(30 * DAY));
    let report = engine.sweep_now().unwrap();
    assert_eq!(
        (
            report.removed_idle,
            report.removed_empty,
            report.removed_challenges
        ),
        (0, 0, 0),
        "a forward step expired sessions or challenges: {report:?}"
    );
    assert!(sessions.iter().all(|s| {
        session_engine::session::load(&*store, &s.id)
            .unwrap()
            .is_some()
    }));
    let consumed = engine.consume_challenge(
        &challenge.bytes,
        &Binding {
            session: sessions[0].id.clone(),
            ceremony: Ceremony::Authentication,
            rp_id: "localhost".into(),
            origin: "http://localhost".into(),
            user: None,
        },
    );
    assert!(
        consumed.is_ok(),
        "the challenge expired on a clock step: {consumed:?}"
    );
    // A month back: sessions still age out on schedule (real time).
    wall.set(wall.now() - Duration::from_secs(60 * DAY));
    std::thread::sleep(Duration::from_millis(450));
    let report = engine.sweep_now().unwrap();
    assert_eq!(
        report.removed_idle + report.removed_empty,
        5,
        "after a backward step sessions stopped ageing: {report:?}"
    );

    // The bare wall clock, for contrast: the same forward step removes all.
    let f = fixture(CleanupConfig {
        idle_limit: Duration::from_secs(14 * DAY),
        ..CleanupConfig::default()
    });
    for _ in 0..5 {
        new_session(&f, true);
    }
    f.clock.advance(Duration::from_secs(30 * DAY));
    assert_eq!(f.engine.sweep_now().unwrap().removed_idle, 5);
}
