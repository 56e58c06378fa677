//! The system checks behind `keybench doctor` and the desktop's System
//! page, written once: can this machine's user open the FIDO keys
//! plugged in, make virtual keys through /dev/uhid, reach the PC/SC
//! service, the OS keyring, the data directory, the storage bucket and
//! the port, and show the desktop window? Each check answers with a
//! stable id, a status, the evidence it saw and the exact command or
//! setting that fixes a problem, as a serialisable view both front ends
//! show.
//!
//! Modules, one check each: [`usb`] (hidraw access per key, /dev/uhid),
//! [`pcsc`], [`keyring`], [`data_dir`], [`storage`], [`webview`], [`port`].
//! A check never changes what it looks at: probes write only their own
//! probe file or object and remove it.

pub mod data_dir;
pub mod keyring;
pub mod pcsc;
pub mod port;
pub mod storage;
pub mod usb;
pub mod webview;

use serde::Serialize;
use std::net::SocketAddr;
use std::path::PathBuf;

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Works.
    Ok,
    /// Works, or partly, but something is missing or weaker than it should be.
    Warn,
    /// Does not work: what depends on it fails.
    Fail,
    /// Not applicable here (nothing to check).
    Skip,
}

impl Status {
    /// The word shown in tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// Stable id (`hidraw`, `uhid`, `pcsc`, `keyring`, `data_dir`,
    /// `storage`, `webview`, `port`).
    pub id: &'static str,
    /// What was checked, for people.
    pub title: String,
    /// What it checked when the id names one of several (a device path).
    pub subject: Option<String>,
    /// The verdict.
    pub status: Status,
    /// What the check saw.
    pub evidence: Vec<String>,
    /// The exact command or setting that fixes it (none when ok).
    pub fix: Option<String>,
}

impl Check {
    fn new(id: &'static str, title: impl Into<String>, status: Status) -> Check {
        Check {
            id,
            title: title.into(),
            subject: None,
            status,
            evidence: Vec::new(),
            fix: None,
        }
    }

    fn saw(mut self, evidence: impl Into<String>) -> Check {
        self.evidence.push(evidence.into());
        self
    }

    fn fix(mut self, fix: impl Into<String>) -> Check {
        self.fix = Some(fix.into());
        self
    }
}

/// Every check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DoctorReport {
    /// The checks, in a fixed order.
    pub checks: Vec<Check>,
    /// The worst status among them (skips count as ok).
    pub overall: Status,
}

impl DoctorReport {
    /// True when a check failed.
    pub fn failed(&self) -> bool {
        self.overall == Status::Fail
    }
}

/// What the port check looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortTarget {
    /// The address `keybench serve` would listen on: it must be free.
    Listen(SocketAddr),
    /// The address this process already serves on (the desktop app).
    Serving(SocketAddr),
}

/// What to check: the settings `keybench serve` (or the desktop app) runs with.
#[derive(Debug, Clone)]
pub struct DoctorSettings {
    /// The data directory.
    pub data_dir: PathBuf,
    /// The port.
    pub port: PortTarget,
    /// The bucket, when storage is GCS or S3.
    pub storage: Option<session_store::RemoteConfig>,
    /// Where the session key is looked for (the keyring entry, or none).
    pub secret_key: session_engine::SecretKeyConfig,
}

impl DoctorSettings {
    /// The settings of a server on `data_dir` and `port`, with `storage`'s
    /// bucket if any, and the session key where the server looks for it
    /// (`KEYBENCH_SECRET_KEY`, then the OS keyring unless `no_keyring`).
    pub fn new(
        data_dir: PathBuf,
        port: PortTarget,
        storage: Option<session_store::RemoteConfig>,
        no_keyring: bool,
    ) -> DoctorSettings {
        let mut secret_key = session_engine::SecretKeyConfig::from_env(None);
        if no_keyring {
            secret_key.keyring = session_engine::KeyringChoice::Disabled;
        }
        DoctorSettings {
            data_dir,
            port,
            storage,
            secret_key,
        }
    }
}

/// Runs every check.
pub fn run(settings: &DoctorSettings) -> DoctorReport {
    let mut checks = usb::hidraw(&settings.data_dir);
    checks.push(usb::uhid());
    checks.push(pcsc::check());
    checks.push(keyring::check(&settings.secret_key));
    checks.push(data_dir::check(&settings.data_dir));
    checks.push(storage::check(settings.storage.as_ref()));
    checks.push(webview::check());
    checks.push(port::check(settings.port));
    let overall = checks
        .iter()
        .map(|c| match c.status {
            Status::Skip => Status::Ok,
            s => s,
        })
        .max()
        .unwrap_or(Status::Ok);
    DoctorReport { checks, overall }
}

/// The report as a table for a terminal: one line per check, then its
/// evidence and fix indented.
pub fn table(report: &DoctorReport) -> String {
    let mut out = String::new();
    for c in &report.checks {
        let name = match &c.subject {
            Some(s) => format!("{} {s}", c.id),
            None => c.id.to_owned(),
        };
        out.push_str(&format!(
            "{:<5} {:<22} {}\n",
            c.status.as_str(),
            name,
            c.title
        ));
        for e in &c.evidence {
            out.push_str(&format!("      {e}\n"));
        }
        if let Some(fix) = &c.fix {
            out.push_str(&format!("      fix: {fix}\n"));
        }
    }
    out.push_str(&format!("overall: {}\n", report.overall.as_str()));
    out
}

/// `mode` as four octal digits (`0700`).
fn octal(mode: u32) -> String {
    format!("{:04o}", mode & 0o7777)
}
