//! Load generator: complete ES256 authentications (begin + complete) against
//! a Keybench server over loopback HTTP, with the virtual authenticator
//! in-process on the client side (its `process`, no HID framing), embedded
//! storage, the full session engine and relying party on the server side.
//!
//! `cargo run --release -p keybench-server --example loadgen -- [SECONDS] [CONCURRENCY] [ALG] [STORAGE]`
//! prints authentications per second and p50/p99 latency of a whole
//! ceremony (both requests and the key's signature). ALG is ES256 (default),
//! EdDSA or ML-DSA-44/65/87; STORAGE is `local` (the embedded default) or
//! `files` (one file per item), to compare the two in one build.
//!
//! With `KEYBENCH_SERVERS="old=/path/to/keybench,new=/other/keybench"` the
//! server is each of those binaries' `keybench serve` in a process of its
//! own instead, run in turn (`ROUNDS` times), and each row adds the
//! server's CPU time per ceremony (its /proc CPU time over the
//! authentications): two builds compared in one run on one machine.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use ctaphid::serve::RequestContext;
use fido_wire::cbor::Value;
use fido_wire::cose::CoseAlgorithm;
use fido_wire::ctap2::{
    Descriptor, GetAssertionRequest, GetAssertionResponse, MakeCredentialRequest,
    MakeCredentialResponse, RequestOptions, command, encode_request, parse_response,
};
use fido_wire::webauthn::base64url::Base64UrlBytes;
use fido_wire::webauthn::json::{
    AssertionResponseJson, AttestationResponseJson, AuthenticationResponseJson,
    AuthenticatorAttachment, CredentialType, RegistrationResponseJson,
};
use fido_wire::webauthn::{CeremonyType, CollectedClientData};
use serde_json::{Value as Json, json};
use std::time::{Duration, Instant};
use virtual_authenticator::{AttestationMode, Authenticator, Config};

fn sha256(b: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b)
        .as_ref()
        .to_vec()
}

fn b64(s: &str) -> Vec<u8> {
    fido_wire::webauthn::base64url::decode(s).unwrap()
}

struct User {
    client: reqwest::Client,
    key: Authenticator,
    credential: Vec<u8>,
    name: String,
}

async fn post(client: &reqwest::Client, base: &str, path: &str, body: &Json) -> Json {
    let r = client
        .post(format!("{base}{path}"))
        .header("Origin", base)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let v: Json = r.json().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {v}");
    v
}

async fn register(base: &str, name: String, alg: CoseAlgorithm) -> User {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let mut key = Authenticator::new(Config {
        attestation: AttestationMode::None,
        algorithms: vec![alg],
        ..Config::default()
    })
    .unwrap();
    let options = post(
        &client,
        base,
        "/api/advanced/register/begin",
        &json!({ "username": name, "algorithms": [alg.0], "userVerification": "discouraged", "residentKey": "discouraged", "attestation": "none" }),
    )
    .await;
    let pk = &options["publicKey"];
    let cd = CollectedClientData::new(
        CeremonyType::Create,
        &b64(pk["challenge"].as_str().unwrap()),
        base,
    )
    .to_json();
    let req = MakeCredentialRequest {
        client_data_hash: sha256(&cd),
        rp_id: "localhost".into(),
        rp_name: None,
        user_id: b64(pk["user"]["id"].as_str().unwrap()),
        user_name: Some(name.clone()),
        user_display_name: None,
        pub_key_cred_params: vec![("public-key".into(), alg)],
        exclude_list: vec![],
        extensions: None,
        options: RequestOptions::default(),
        pin_uv_auth_param: None,
        pin_uv_auth_protocol: None,
        enterprise_attestation: None,
        attestation_formats_preference: vec![],
    };
    let out = key.process(
        &encode_request(command::MAKE_CREDENTIAL, Some(&req.to_value())),
        &RequestContext::detached(),
    );
    let (_, body) = parse_response(&out).unwrap();
    let made = MakeCredentialResponse::from_value(&body.unwrap()).unwrap();
    let att = made.to_attestation_object().unwrap();
    let id = att
        .auth_data
        .attested_credential
        .clone()
        .unwrap()
        .credential_id;
    let attestation_object = fido_wire::cbor::to_vec(&Value::map([
        (Value::text("fmt"), Value::text(made.fmt.clone())),
        (Value::text("attStmt"), made.att_stmt.clone()),
        (
            Value::text("authData"),
            Value::bytes(made.auth_data.clone()),
        ),
    ]));
    let response = RegistrationResponseJson {
        id: fido_wire::webauthn::base64url::encode(&id),
        raw_id: Base64UrlBytes(id.clone()),
        response: AttestationResponseJson {
            client_data_json: Base64UrlBytes(cd),
            authenticator_data: None,
            transports: vec![],
            public_key: None,
            public_key_algorithm: None,
            attestation_object: Base64UrlBytes(attestation_object),
        },
        authenticator_attachment: Some(AuthenticatorAttachment::CrossPlatform),
        client_extension_results: Default::default(),
        kind: CredentialType::PublicKey,
    };
    post(
        &client,
        base,
        "/api/register/complete",
        &serde_json::to_value(&response).unwrap(),
    )
    .await;
    User {
        client,
        key,
        credential: id,
        name,
    }
}

/// One complete authentication: begin, the key's assertion, complete.
async fn authenticate(base: &str, user: &mut User) {
    let options = post(
        &user.client,
        base,
        "/api/authenticate/begin",
        &json!({ "username": user.name }),
    )
    .await;
    let challenge = b64(options["publicKey"]["challenge"].as_str().unwrap());
    let cd = CollectedClientData::new(CeremonyType::Get, &challenge, base).to_json();
    let req = GetAssertionRequest {
        rp_id: "localhost".into(),
        client_data_hash: sha256(&cd),
        allow_list: vec![Descriptor::public_key(user.credential.clone())],
        extensions: None,
        options: RequestOptions::default(),
        pin_uv_auth_param: None,
        pin_uv_auth_protocol: None,
    };
    let out = user.key.process(
        &encode_request(command::GET_ASSERTION, Some(&req.to_value())),
        &RequestContext::detached(),
    );
    let (_, body) = parse_response(&out).unwrap();
    let a = GetAssertionResponse::from_value(&body.unwrap()).unwrap();
    let response = AuthenticationResponseJson {
        id: fido_wire::webauthn::base64url::encode(&user.credential),
        raw_id: Base64UrlBytes(user.credential.clone()),
        response: AssertionResponseJson {
            client_data_json: Base64UrlBytes(cd),
            authenticator_data: Base64UrlBytes(a.auth_data),
            signature: Base64UrlBytes(a.signature),
            user_handle: None,
            attestation_object: None,
        },
        authenticator_attachment: Some(AuthenticatorAttachment::CrossPlatform),
        client_extension_results: Default::default(),
        kind: CredentialType::PublicKey,
    };
    post(
        &user.client,
        base,
        "/api/authenticate/complete",
        &serde_json::to_value(&response).unwrap(),
    )
    .await;
}

/// The server's CPU time so far (user + system), from /proc.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 here.
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// `keybench serve` from `bin` on a fresh data directory: its base URL.
fn spawn_server(bin: &str, data: &std::path::Path) -> (std::process::Child, String) {
    use std::io::BufRead as _;
    let mut child = std::process::Command::new(bin)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--no-keyring",
            "--data-dir",
        ])
        .arg(data)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next().unwrap().unwrap();
    let url = line.strip_prefix("Keybench is running: open ").unwrap();
    let base = url.split("/#").next().unwrap().to_owned();
    std::thread::spawn(move || lines.for_each(drop));
    (child, base)
}

async fn register_all(base: &str, concurrency: usize, alg: CoseAlgorithm) -> Vec<User> {
    let mut users = Vec::new();
    for i in 0..concurrency {
        users.push(register(base, format!("load{i}"), alg).await);
    }
    users
}

/// Each user runs authentications for `seconds`: the sorted latencies and
/// the elapsed time.
async fn load(base: &str, users: Vec<User>, seconds: u64) -> (Vec<Duration>, f64) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for mut user in users {
        let base = base.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                authenticate(&base, &mut user).await;
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    (all, elapsed)
}

fn report(
    label: &str,
    all: &[Duration],
    elapsed: f64,
    concurrency: usize,
    alg: CoseAlgorithm,
    cpu: Option<f64>,
) {
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    println!(
        "{label}: {} complete {} authentications in {elapsed:.1} s with {concurrency} clients: {:.0}/s, p50 {:.2} ms, p99 {:.2} ms{}",
        all.len(),
        alg.name().unwrap_or("?"),
        all.len() as f64 / elapsed,
        pct(0.50).as_secs_f64() * 1000.0,
        pct(0.99).as_secs_f64() * 1000.0,
        cpu.map(|c| format!(
            ", server CPU {:.3} ms per ceremony",
            c * 1000.0 / all.len() as f64
        ))
        .unwrap_or_default()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10);
    let concurrency: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(8);
    let alg = args
        .get(3)
        .and_then(|s| CoseAlgorithm::from_name(s))
        .unwrap_or(CoseAlgorithm::ES256);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // KEYBENCH_SERVERS="label=/path/to/keybench,label2=/other/keybench":
    // each binary's `serve` in its own process, in turn, its CPU time per
    // ceremony read from /proc (ROUNDS alternations, default 1).
    if let Ok(servers) = std::env::var("KEYBENCH_SERVERS") {
        let rounds: usize = std::env::var("ROUNDS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(1);
        for _ in 0..rounds {
            for entry in servers.split(',') {
                let (label, bin) = entry.split_once('=').unwrap_or((entry, entry));
                let dir = tempfile::tempdir().unwrap();
                let (mut child, base) = spawn_server(bin, dir.path());
                let pid = child.id();
                let (all, elapsed, cpu) = runtime.block_on(async {
                    // Registration is not measured: CPU from the first authentication.
                    let users = register_all(&base, concurrency, alg).await;
                    let start_cpu = cpu_seconds(pid);
                    let (all, elapsed) = load(&base, users, seconds).await;
                    (all, elapsed, cpu_seconds(pid) - start_cpu)
                });
                report(label, &all, elapsed, concurrency, alg, Some(cpu));
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    runtime.block_on(async move {
        let mut config =
            keybench_server::ServerConfig::local(([127, 0, 0, 1], 0).into(), dir.path().to_owned());
        config.no_keyring = true;
        if args.get(4).map(String::as_str) == Some("files") {
            config.storage = keybench_server::StorageChoice::Files;
        }
        let running = keybench_server::start(config).await.unwrap();
        let base = format!("http://localhost:{}", running.addr.port());
        let users = register_all(&base, concurrency, alg).await;
        let (all, elapsed) = load(&base, users, seconds).await;
        report("in-process", &all, elapsed, concurrency, alg, None);
        running.shutdown().await;
    });
}
