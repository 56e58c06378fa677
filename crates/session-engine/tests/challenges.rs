//! Challenge binding: issue, consume once, and every refusal with its own
//! reason and event; atomic single use across engine instances and across
//! processes sharing one store.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use session_engine::{
    Binding, Ceremony, ChallengeRejection, Clock, EngineConfig, EventKind, ManualClock, SecretKey,
    SessionEngine, SessionId,
};
use session_store::{LocalStore, Storage};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

fn engine(dir: &std::path::Path, clock: Arc<ManualClock>) -> SessionEngine {
    let store: Arc<dyn Storage> = Arc::new(LocalStore::open(dir).unwrap());
    SessionEngine::with_key(
        EngineConfig::default(),
        store,
        clock,
        SecretKey::from_bytes([9; 32]),
    )
}

fn binding(session: &SessionId, ceremony: Ceremony) -> Binding {
    Binding {
        session: session.clone(),
        ceremony,
        rp_id: "keybench.example".into(),
        origin: "https://keybench.example".into(),
        user: Some("alice".into()),
    }
}

#[test]
fn single_use_with_distinct_rejections() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at_2025());
    let e = engine(dir.path(), clock.clone());
    let me = SessionId::generate();
    let other = SessionId::generate();
    let b = binding(&me, Ceremony::Registration);

    let issued = e.issue_challenge(&b).unwrap();
    assert_eq!(issued.bytes.len(), 32);
    assert_eq!(issued.base64url().len(), 43);
    assert_eq!(issued.expires_at, clock.now() + Duration::from_secs(300));
    assert!(!format!("{issued:?}").contains(&issued.base64url()));

    // Wrong bindings are refused without consuming the challenge.
    assert_eq!(
        e.consume_challenge(&issued.bytes, &binding(&other, Ceremony::Registration)),
        Err(ChallengeRejection::OtherSession)
    );
    assert_eq!(
        e.consume_challenge(&issued.bytes, &binding(&me, Ceremony::Authentication)),
        Err(ChallengeRejection::WrongCeremony {
            issued: Ceremony::Registration,
            presented: Ceremony::Authentication
        })
    );
    assert_eq!(
        e.consume_challenge(
            &issued.bytes,
            &Binding {
                rp_id: "evil.example".into(),
                ..b.clone()
            }
        ),
        Err(ChallengeRejection::WrongRpId)
    );
    assert_eq!(
        e.consume_challenge(
            &issued.bytes,
            &Binding {
                origin: "https://evil.example".into(),
                ..b.clone()
            }
        ),
        Err(ChallengeRejection::WrongOrigin)
    );
    assert_eq!(
        e.consume_challenge(
            &issued.bytes,
            &Binding {
                user: Some("mallory".into()),
                ..b.clone()
            }
        ),
        Err(ChallengeRejection::WrongUser)
    );
    // The right binding consumes it, once.
    let consumed = e.consume_challenge(&issued.bytes, &b).unwrap();
    assert_eq!(
        (consumed.ceremony, consumed.user.as_deref()),
        (Ceremony::Registration, Some("alice"))
    );
    assert_eq!(
        e.consume_challenge(&issued.bytes, &b),
        Err(ChallengeRejection::Reused)
    );
    // Unknown and malformed.
    assert_eq!(
        e.consume_challenge(&[7u8; 32], &b),
        Err(ChallengeRejection::Unknown)
    );
    assert_eq!(
        e.consume_challenge(&[7u8; 16], &b),
        Err(ChallengeRejection::Malformed(16))
    );
    // A discoverable-credential authentication binds no user; any user then passes.
    let disc = Binding {
        user: None,
        ..binding(&me, Ceremony::Authentication)
    };
    let c = e.issue_challenge(&disc).unwrap();
    assert!(
        e.consume_challenge(
            &c.bytes,
            &Binding {
                user: Some("bob".into()),
                ..disc.clone()
            }
        )
        .is_ok()
    );

    let reasons: Vec<_> = e
        .events()
        .snapshot()
        .into_iter()
        .filter(|ev| ev.kind == EventKind::ChallengeRejected)
        .map(|ev| ev.reason.unwrap())
        .collect();
    assert_eq!(
        reasons,
        vec![
            "other_session",
            "wrong_ceremony",
            "wrong_rp_id",
            "wrong_origin",
            "wrong_user",
            "reused",
            "unknown",
            "malformed"
        ]
    );
    let dump = serde_json::to_string(&e.events().snapshot()).unwrap();
    assert!(!dump.contains(me.expose()) && !dump.contains(&issued.base64url()));
}

#[test]
fn ttl_is_five_minutes_by_the_injected_clock() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at_2025());
    let e = engine(dir.path(), clock.clone());
    let me = SessionId::generate();
    let b = binding(&me, Ceremony::Authentication);
    let early = e.issue_challenge(&b).unwrap();
    let late = e.issue_challenge(&b).unwrap();
    clock.advance(Duration::from_secs(299));
    assert!(
        e.consume_challenge(&early.bytes, &b).is_ok(),
        "valid just before the TTL"
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        e.consume_challenge(&late.bytes, &b),
        Err(ChallengeRejection::Expired),
        "expired at the TTL"
    );
    // A configured TTL.
    let store: Arc<dyn Storage> = Arc::new(LocalStore::open(dir.path()).unwrap());
    let config = EngineConfig {
        challenge_ttl: Duration::from_secs(30),
        ..EngineConfig::default()
    };
    let short = SessionEngine::with_key(config, store, clock.clone(), SecretKey::generate());
    let c = short.issue_challenge(&b).unwrap();
    clock.advance(Duration::from_secs(31));
    assert_eq!(
        short.consume_challenge(&c.bytes, &b),
        Err(ChallengeRejection::Expired)
    );
}

#[test]
fn one_winner_among_engine_instances_sharing_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at_2025());
    let engines: Vec<Arc<SessionEngine>> = (0..6)
        .map(|_| Arc::new(engine(dir.path(), clock.clone())))
        .collect();
    let me = SessionId::generate();
    let b = binding(&me, Ceremony::Authentication);
    for _ in 0..30 {
        let c = engines[0].issue_challenge(&b).unwrap();
        let barrier = Arc::new(std::sync::Barrier::new(engines.len()));
        let results: Vec<_> = engines
            .iter()
            .map(|e| {
                let (e, b, barrier, bytes) = (e.clone(), b.clone(), barrier.clone(), c.bytes);
                std::thread::spawn(move || {
                    barrier.wait();
                    e.consume_challenge(&bytes, &b)
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect();
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
        assert!(
            results
                .iter()
                .filter(|r| r.is_err())
                .all(|r| r == &Err(ChallengeRejection::Reused))
        );
    }
}

const CHILD_DIR: &str = "KEYBENCH_CHALLENGE_CHILD_DIR";
const CHILD_CHALLENGE: &str = "KEYBENCH_CHALLENGE_CHILD_BYTES";
const CHILD_SESSION: &str = "KEYBENCH_CHALLENGE_CHILD_SESSION";

/// The child: a separate server process consuming one challenge; prints
/// `RESULT ok` or `RESULT <reason>`.
#[test]
fn challenge_child_consumer() {
    let (Ok(dir), Ok(hex), Ok(sid)) = (
        std::env::var(CHILD_DIR),
        std::env::var(CHILD_CHALLENGE),
        std::env::var(CHILD_SESSION),
    ) else {
        return; // Only meaningful when spawned by the cross-process test.
    };
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let e = engine(dir.as_ref(), Arc::new(ManualClock::at_2025()));
    let b = binding(&SessionId::parse(&sid).unwrap(), Ceremony::Authentication);
    match e.consume_challenge(&bytes, &b) {
        Ok(_) => println!("RESULT ok"),
        Err(r) => println!("RESULT {}", r.code()),
    }
}

#[test]
fn one_winner_among_processes_sharing_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path(), Arc::new(ManualClock::at_2025()));
    let me = SessionId::generate();
    for _ in 0..5 {
        let c = e
            .issue_challenge(&binding(&me, Ceremony::Authentication))
            .unwrap();
        let hex: String = c.bytes.iter().map(|b| format!("{b:02x}")).collect();
        let children: Vec<_> = (0..4)
            .map(|_| {
                Command::new(std::env::current_exe().unwrap())
                    .args([
                        "--exact",
                        "challenge_child_consumer",
                        "--nocapture",
                        "--test-threads=1",
                    ])
                    .env(CHILD_DIR, dir.path())
                    .env(CHILD_CHALLENGE, &hex)
                    .env(CHILD_SESSION, me.expose())
                    .output_async()
            })
            .collect();
        let outcomes: Vec<String> = children
            .into_iter()
            .map(|c| {
                let out = c.wait_with_output().unwrap();
                let text = String::from_utf8_lossy(&out.stdout).to_string();
                text.lines()
                    .find_map(|l| l.split("RESULT ").nth(1))
                    .map(|r| r.split_whitespace().next().unwrap_or("").to_owned())
                    .unwrap_or_else(|| panic!("no result: {text}"))
            })
            .collect();
        assert_eq!(
            outcomes.iter().filter(|o| *o == "ok").count(),
            1,
            "{outcomes:?}"
        );
        assert_eq!(
            outcomes.iter().filter(|o| *o == "reused").count(),
            3,
            "{outcomes:?}"
        );
    }
}

trait OutputAsync {
    fn output_async(&mut self) -> std::process::Child;
}
impl OutputAsync for Command {
    fn output_async(&mut self) -> std::process::Child {
        self.stdout(std::process::Stdio::piped()).spawn().unwrap()
    }
}
