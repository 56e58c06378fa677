//! A private PC/SC service for the NFC tests: its own pcscd, in the
//! foreground, with its own reader configuration (vsmartcard's vpcd driver
//! on free ports) and its own socket, killed when the handle is dropped.
//! The machine's own pcscd (if any) is never touched.
//!
//! Debian's pcscd keeps its socket and pid file in the fixed directory
//! /run/pcscd, so the private one runs in its own mount namespace
//! (`unshare --mount`; with `--map-root-user` when not root) where that
//! directory is a bind mount of a temporary one. Clients reach it through
//! pcsc-lite's `PCSCLITE_CSOCK_NAME` (set on the child processes that use
//! it: [`PrivatePcscd::socket`]).

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The vpcd driver Debian's vsmartcard-vpcd installs.
pub const VPCD_DRIVER: &str = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";
/// The reader name the private service gives its two vpcd slots (with
/// " 00 00" and " 00 01" appended by pcscd).
pub const READER_NAME: &str = "Keybench Test PCD";

/// A running private pcscd.
pub struct PrivatePcscd {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

/// Why the private service could not start.
#[derive(Debug)]
pub enum StartError {
    /// pcscd or the vpcd driver is not installed.
    Missing(String),
    /// It did not come up.
    Failed(String),
}

fn find_pcscd() -> Option<PathBuf> {
    ["/usr/sbin/pcscd", "/usr/bin/pcscd", "/sbin/pcscd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// Two free consecutive TCP ports (vpcd takes the configured one and the next).
fn free_port_pair() -> Option<u16> {
    for _ in 0..50 {
        let probe = TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
        let port = probe.local_addr().ok()?.port();
        drop(probe);
        let next = port.checked_add(1)?;
        let a = TcpListener::bind((Ipv4Addr::UNSPECIFIED, port));
        let b = TcpListener::bind((Ipv4Addr::UNSPECIFIED, next));
        if a.is_ok() && b.is_ok() {
            return Some(port);
        }
    }
    None
}

impl PrivatePcscd {
    /// Starts pcscd with one vpcd reader pair and waits until its socket and
    /// the readers' ports answer (at most 15 s).
    pub fn start() -> Result<Self, StartError> {
        let pcscd = find_pcscd().ok_or_else(|| {
            StartError::Missing("pcscd is not installed (Debian: apt install pcscd)".into())
        })?;
        if !Path::new(VPCD_DRIVER).exists() {
            return Err(StartError::Missing(format!(
                "{VPCD_DRIVER} is missing (Debian: apt install vsmartcard-vpcd)"
            )));
        }
        let fail = |what: String| StartError::Failed(what);
        let dir = tempfile::tempdir().map_err(|e| fail(format!("temp dir: {e}")))?;
        let run = dir.path().join("run");
        let conf = dir.path().join("reader.conf.d");
        std::fs::create_dir_all(&run).map_err(|e| fail(e.to_string()))?;
        std::fs::create_dir_all(&conf).map_err(|e| fail(e.to_string()))?;
        let port = free_port_pair().ok_or_else(|| fail("no free port pair".into()))?;
        std::fs::write(
            conf.join("vpcd"),
            format!(
                "FRIENDLYNAME \"{READER_NAME}\"\nDEVICENAME /dev/null:{port}\nLIBPATH {VPCD_DRIVER}\nCHANNELID {port}\n"
            ),
        )
        .map_err(|e| fail(e.to_string()))?;
        let root = std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
        if root {
            // The mount point must exist; an empty directory where the
            // system's pcscd would put its own is harmless.
            std::fs::create_dir_all("/run/pcscd").map_err(|e| fail(e.to_string()))?;
        } else if !Path::new("/run/pcscd").is_dir() {
            return Err(StartError::Missing(
                "/run/pcscd does not exist (install pcscd, or run as root)".into(),
            ));
        }
        let mut command = Command::new("unshare");
        if !root {
            command.arg("--user").arg("--map-root-user");
        }
        command
            .args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(r#"mount --bind "$1" /run/pcscd && exec "$2" --foreground --config "$3""#)
            .arg("sh")
            .arg(&run)
            .arg(&pcscd)
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let child = command
            .spawn()
            .map_err(|e| fail(format!("starting unshare/pcscd: {e}")))?;
        let mut service = PrivatePcscd { child, dir, port };
        service.wait_ready(Duration::from_secs(15))?;
        Ok(service)
    }

    fn wait_ready(&mut self, within: Duration) -> Result<(), StartError> {
        let end = Instant::now() + within;
        let reader: SocketAddr = (Ipv4Addr::LOCALHOST, self.port).into();
        while Instant::now() < end {
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = self.child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                return Err(StartError::Failed(format!(
                    "pcscd exited with {status}: {err}"
                )));
            }
            // Ready when the socket exists and vpcd listens for a card. The
            // probe connection is closed at once (vpcd takes the next one).
            if self.socket().exists()
                && TcpStream::connect_timeout(&reader, Duration::from_millis(200)).is_ok()
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(StartError::Failed(format!(
            "pcscd did not come up within {within:?}"
        )))
    }

    /// The service's socket: set `PCSCLITE_CSOCK_NAME` to it for clients.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("run").join("pcscd.comm")
    }

    /// Where a virtual card connects to be on reader `slot` (0 or 1).
    pub fn card_address(&self, slot: u16) -> SocketAddr {
        (Ipv4Addr::LOCALHOST, self.port + slot).into()
    }

    /// The PC/SC name of reader `slot` (0 or 1).
    pub fn reader_name(&self, slot: u16) -> String {
        format!("{READER_NAME} 00 {slot:02}")
    }
}

impl Drop for PrivatePcscd {
    fn drop(&mut self) {
        // `unshare` exec'd sh, which exec'd pcscd: this pid is pcscd itself.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
