//! A real S3 server for the object-storage backend's tests: moto's
//! stand-alone server (PyPI `moto[server]`; `scripts/test` installs it in
//! the test virtualenv and exports KEYBENCH_PYTHON), started on a free
//! loopback port with a test bucket. KEYBENCH_SKIP_S3=1 skips these tests
//! with a printed reason.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use session_store::{ObjectStorage, ObjectStoreOptions, RemoteConfig};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The test bucket's name.
pub const TEST_BUCKET: &str = "keybench-test";

/// A running server, stopped on drop.
pub struct MotoS3 {
    child: Child,
    binary: PathBuf,
    /// The port clients use.
    pub port: u16,
}

impl Drop for MotoS3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python() -> PathBuf {
    if let Ok(p) = std::env::var("KEYBENCH_PYTHON") {
        return p.into();
    }
    let home = std::env::var("HOME").unwrap_or_default();
    PathBuf::from(home).join(".cache/keybench/python/bin/python")
}

/// True (with a printed reason) when KEYBENCH_SKIP_S3=1.
pub fn skip() -> bool {
    if std::env::var("KEYBENCH_SKIP_S3").as_deref() == Ok("1") {
        eprintln!("SKIPPED: KEYBENCH_SKIP_S3=1 (the S3 backend is not tested against moto)");
        return true;
    }
    false
}

/// Starts moto's server and creates the test bucket.
pub fn start() -> MotoS3 {
    let binary = python().with_file_name("moto_server");
    assert!(
        binary.exists(),
        "{} is missing: run scripts/test (it installs moto[server]) or set KEYBENCH_PYTHON; KEYBENCH_SKIP_S3=1 skips",
        binary.display()
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = spawn(&binary, port);
    let server = MotoS3 {
        child,
        binary,
        port,
    };
    // A path-style PUT of the bucket (moto accepts any credentials). The
    // server listens a moment before it answers: try until it does.
    let request = format!(
        "PUT /{TEST_BUCKET} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = http(port, &request);
        if answer.starts_with("HTTP/1.1 200") {
            return server;
        }
        assert!(Instant::now() < deadline, "creating the bucket: {answer:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn http(port: u16, request: &str) -> String {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(20)));
    if s.write_all(request.as_bytes()).is_err() {
        return String::new();
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

fn spawn(binary: &std::path::Path, port: u16) -> Child {
    let child = Command::new(binary)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto_server did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

impl MotoS3 {
    /// Freezes the server (SIGSTOP): it still accepts connections but answers
    /// nothing, as a hung service does, and keeps its data for [`MotoS3::resume`].
    pub fn pause(&self) {
        signal(&self.child, "-STOP");
    }

    /// Lets a paused server run again (SIGCONT).
    pub fn resume(&self) {
        signal(&self.child, "-CONT");
    }

    /// Stops the server (an outage). moto keeps its data in memory, so the
    /// bucket is gone after [`MotoS3::restart`], which creates it again.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn signal(child: &Child, which: &str) {
    let status = Command::new("kill")
        .args([which, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {which} moto_server");
}

/// A client of the test bucket under `prefix`.
pub fn connect(port: u16, prefix: &str) -> ObjectStorage {
    ObjectStorage::connect(
        RemoteConfig::S3 {
            bucket: TEST_BUCKET.into(),
            region: "us-east-1".into(),
            endpoint: Some(format!("http://127.0.0.1:{port}")),
            access_key_id: Some("testing".into()),
            secret_access_key: Some("testing".into()),
            allow_http: true,
        },
        ObjectStoreOptions {
            prefix: prefix.into(),
            max_retries: 2,
            retry_timeout: Duration::from_secs(2),
            call_deadline: Duration::from_secs(10),
            ..ObjectStoreOptions::default()
        },
    )
    .unwrap()
}
