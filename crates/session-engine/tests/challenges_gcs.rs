//! Single-use challenges across server processes that share an object
//! store: fake-gcs-server (see session-store's tests/support), one engine
//! issues, four child processes (each its own engine, client and runtime)
//! race to consume; exactly one wins, the others are told "reused".
//! KEYBENCH_SKIP_GCS=1 skips it with a printed reason.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "../../session-store/tests/support/fake_gcs.rs"]
mod fake_gcs;

use session_engine::{
    Binding, Ceremony, EngineConfig, ManualClock, SecretKey, SessionEngine, SessionId,
};
use session_store::Storage;
use std::process::{Command, Stdio};
use std::sync::Arc;

const PORT: &str = "KEYBENCH_GCS_CHILD_PORT";
const BYTES: &str = "KEYBENCH_GCS_CHILD_CHALLENGE";
const SESSION: &str = "KEYBENCH_GCS_CHILD_SESSION";

fn engine(port: u16) -> SessionEngine {
    let store: Arc<dyn Storage> = Arc::new(fake_gcs::connect(port, "keybench/engine"));
    SessionEngine::with_key(
        EngineConfig::default(),
        store,
        Arc::new(ManualClock::at_2025()),
        SecretKey::generate(),
    )
}

fn binding(session: &SessionId) -> Binding {
    Binding {
        session: session.clone(),
        ceremony: Ceremony::Authentication,
        rp_id: "keybench.example".into(),
        origin: "https://keybench.example".into(),
        user: None,
    }
}

/// A child server process: consume the challenge once, print the outcome.
#[test]
fn gcs_child_consumer() {
    let (Ok(port), Ok(hex), Ok(sid)) = (
        std::env::var(PORT),
        std::env::var(BYTES),
        std::env::var(SESSION),
    ) else {
        return; // Only meaningful when spawned by the test below.
    };
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let e = engine(port.parse().unwrap());
    match e.consume_challenge(&bytes, &binding(&SessionId::parse(&sid).unwrap())) {
        Ok(_) => println!("RESULT ok"),
        Err(r) => println!("RESULT {}", r.code()),
    }
}

#[test]
fn one_winner_among_processes_sharing_a_bucket() {
    if fake_gcs::skip() {
        return;
    }
    let server = fake_gcs::start();
    let issuer = engine(server.port);
    let me = SessionId::generate();
    for _ in 0..3 {
        let c = issuer.issue_challenge(&binding(&me)).unwrap();
        let hex: String = c.bytes.iter().map(|b| format!("{b:02x}")).collect();
        let children: Vec<_> = (0..4)
            .map(|_| {
                Command::new(std::env::current_exe().unwrap())
                    .args([
                        "--exact",
                        "gcs_child_consumer",
                        "--nocapture",
                        "--test-threads=1",
                    ])
                    .env(PORT, server.port.to_string())
                    .env(BYTES, &hex)
                    .env(SESSION, me.expose())
                    .stdout(Stdio::piped())
                    .spawn()
                    .unwrap()
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
        // And the issuing process is refused too.
        assert_eq!(
            issuer
                .consume_challenge(&c.bytes, &binding(&me))
                .unwrap_err()
                .code(),
            "reused"
        );
    }
}
