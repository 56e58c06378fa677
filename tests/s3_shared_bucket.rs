//! Two `keybench serve` processes sharing one bucket on a real S3 server
//! (moto's): a session begun on one is completed on either, a challenge is
//! accepted once across both (the same response raced to both servers:
//! exactly one 200), and when the bucket hangs (the S3 server frozen with
//! SIGSTOP) every request is answered (new sessions and challenges from
//! the local fallback, shown on the dashboard; an account claim refused
//! with 503 `storage_unavailable`) until the server returns to the bucket
//! by itself, where everything registered before is still there. Bounded in time, loopback
//! only. KEYBENCH_SKIP_S3=1 skips with a printed reason.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "../crates/session-store/tests/support/moto_s3.rs"]
mod moto_s3;
#[path = "../crates/keybench-server/tests/support/mod.rs"]
mod support;

use ctap_client::webauthn::{self, ClientContext};
use serde_json::{Value, json};
use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::Remote;

fn keybench_binary() -> PathBuf {
    keybench_tests::keybench_binary().unwrap_or_else(|e| panic!("{e}"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `keybench serve` on the shared bucket, killed on drop.
struct Server {
    child: Child,
    remote: Remote,
    /// This launch's inspection secret.
    secret: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The same session key for both servers (a cookie sealed by one opens on
/// the other), each accepting the other's origin.
const SHARED_SESSION_KEY: &str = "8f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

fn serve(data: &Path, port: u16, other_port: u16, s3_port: u16) -> Server {
    let mut child = Command::new(keybench_binary())
        .args(["serve", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["--no-keyring", "--data-dir"])
        .arg(data)
        .args(["--origin", &format!("http://localhost:{other_port}")])
        .args(["--storage", "s3", "--bucket", moto_s3::TEST_BUCKET])
        .args(["--endpoint", &format!("http://127.0.0.1:{s3_port}")])
        .args(["--region", "us-east-1", "--storage-retry-secs", "1"])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("KEYBENCH_SECRET_KEY", SHARED_SESSION_KEY)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines
        .next()
        .expect("the server printed its address")
        .unwrap();
    let url = line
        .strip_prefix("Keybench is running: open ")
        .unwrap_or_else(|| panic!("start-up said {line:?}"));
    let secret = url.split("#launch=").nth(1).unwrap_or_default().to_owned();
    std::thread::spawn(move || lines.for_each(drop));
    Server {
        child,
        remote: Remote {
            base: format!("http://localhost:{port}"),
        },
        secret,
    }
}

fn client() -> reqwest::blocking::Client {
    // Longer than the bucket's call deadline (15 s): a request that meets
    // the frozen bucket is answered after it, from the fallback.
    reqwest::blocking::Client::builder()
        .cookie_store(true)
        .timeout(Duration::from_secs(40))
        .build()
        .unwrap()
}

/// POSTs JSON to `to` from the page at `origin` (one site served by both
/// servers, as behind a load balancer).
fn post_from(
    c: &reqwest::blocking::Client,
    to: &Remote,
    origin: &str,
    path: &str,
    body: &Value,
) -> (u16, Value) {
    let r = c
        .post(format!("{}{path}", to.base))
        .header("Origin", origin)
        .json(body)
        .send()
        .unwrap();
    (r.status().as_u16(), r.json().unwrap_or(Value::Null))
}

/// The storage state the dashboard shows.
fn storage_state(server: &Server) -> String {
    let v: Value = client()
        .get(format!("{}/api/inspect/storage", server.remote.base))
        .bearer_auth(&server.secret)
        .send()
        .unwrap()
        .json()
        .unwrap();
    v["state"].as_str().unwrap_or_default().to_owned()
}

/// Begins a sign-in of `user` on `on` and signs it with `key`: the
/// response, not sent yet.
fn signed_response(
    on: &Server,
    c: &reqwest::blocking::Client,
    key: &mut support::Key,
    user: &str,
) -> Value {
    let (s, options) = on
        .remote
        .try_post(c, "/api/authenticate/begin", &json!({ "username": user }))
        .unwrap();
    assert_eq!(s, 200, "{options}");
    let options =
        fido_wire::webauthn::json::from_json(&serde_json::to_vec(&options["publicKey"]).unwrap())
            .unwrap();
    let response = webauthn::authenticate(
        key,
        &options,
        &mut ClientContext::new(on.remote.base.clone()),
    )
    .unwrap();
    serde_json::to_value(&response).unwrap()
}

#[test]
fn two_servers_on_one_s3_bucket_accept_each_challenge_once_and_ride_out_a_hung_bucket() {
    if moto_s3::skip() {
        return;
    }
    let s3 = moto_s3::start();
    let dir = tempfile::tempdir().unwrap();
    let (port_a, port_b) = (free_port(), free_port());
    let a = serve(&dir.path().join("a"), port_a, port_b, s3.port);
    let b = serve(&dir.path().join("b"), port_b, port_a, s3.port);
    assert_eq!(storage_state(&a), "primary");

    // Registered on A, signed in on B: the account lives in the bucket.
    let (mut key, _key_stop) = support::virtual_key();
    let c = client();
    let (s, v, _) = a.remote.try_register(&c, &mut key, "shared").unwrap();
    assert_eq!(s, 200, "{v}");
    let (s, v, _) = b
        .remote
        .try_login(&client(), &mut key, Some("shared"))
        .unwrap();
    assert_eq!(s, 200, "signed in on the other server: {v}");

    // One response, raced to both servers at once: exactly one accepts it.
    let rounds: u32 = 8;
    let mut refusals = std::collections::BTreeMap::<String, usize>::new();
    for _ in 0..rounds {
        let c = client();
        let body = signed_response(&a, &c, &mut key, "shared");
        let posts: Vec<_> = [a.remote.clone(), b.remote.clone()]
            .into_iter()
            .map(|remote| {
                let (c, body, origin) = (c.clone(), body.clone(), a.remote.base.clone());
                std::thread::spawn(move || {
                    post_from(&c, &remote, &origin, "/api/authenticate/complete", &body)
                })
            })
            .collect();
        let answers: Vec<(u16, Value)> = posts.into_iter().map(|t| t.join().unwrap()).collect();
        let accepted = answers.iter().filter(|(s, _)| *s == 200).count();
        assert_eq!(accepted, 1, "one challenge, two servers: {answers:?}");
        for (s, v) in &answers {
            if *s != 200 {
                assert!((400..500).contains(s), "{s} {v}");
                *refusals
                    .entry(format!("{s} {}", v["code"].as_str().unwrap_or_default()))
                    .or_default() += 1;
            }
        }
    }

    // The bucket hangs: A keeps answering, from its local fallback for what
    // may live there (new sessions and their challenges), and says so on
    // the dashboard. An account is never claimed locally while the bucket
    // holds the names (the other server could claim the same one), so a
    // registration's completion is refused with a code, not lost or hung.
    s3.pause();
    let during = Instant::now();
    let (mut newcomer, _newcomer_stop) = support::virtual_key();
    let (s, v, _) = a
        .remote
        .try_register(&client(), &mut newcomer, "during-the-outage")
        .unwrap();
    assert_eq!(
        (s, v["code"].as_str()),
        (503, Some("storage_unavailable")),
        "a registration while the bucket hangs: {v}"
    );
    let first_answer_secs = during.elapsed().as_secs_f64();
    // Begun on the fallback at once now: a new session and its challenge.
    let begun = Instant::now();
    let (s, v) = a
        .remote
        .try_post(
            &client(),
            "/api/register/begin",
            &json!({ "username": "another" }),
        )
        .unwrap();
    assert_eq!(s, 200, "{v}");
    let begin_secs = begun.elapsed().as_secs_f64();
    let shown: Value = client()
        .get(format!("{}/api/inspect/storage", a.remote.base))
        .bearer_auth(&a.secret)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(shown["state"], "fallback", "the dashboard shows {shown}");
    assert_eq!(shown["healthy"], false, "{shown}");
    assert!(
        shown["fallback"]
            .as_str()
            .unwrap_or_default()
            .contains("s3"),
        "the cause is shown: {shown}"
    );
    let shown = format!("{} since {}", shown["state"], shown["fallbackSince"]);
    s3.resume();
    // Back on the bucket by itself, with what was registered before.
    let deadline = Instant::now() + Duration::from_secs(60);
    while storage_state(&a) != "primary" {
        assert!(
            Instant::now() < deadline,
            "A did not return to the bucket: {}",
            storage_state(&a)
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let (s, v, _) = a
        .remote
        .try_login(&client(), &mut key, Some("shared"))
        .unwrap();
    assert_eq!(s, 200, "after the outage: {v}");
    assert!(v["signCount"].as_u64().unwrap() > u64::from(rounds), "{v}");
    println!(
        "shared S3 bucket | {rounds} responses raced to two servers: {rounds} accepted once, refusals {refusals:?}"
    );
    println!(
        "hung S3 bucket | first request answered 503 storage_unavailable after {first_answer_secs:.1} s (the bucket's call deadline), then a ceremony begun on the fallback in {begin_secs:.2} s, dashboard {shown:?}, back to primary by itself, the refused registration then accepted | lost 0"
    );
}
