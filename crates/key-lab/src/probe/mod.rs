//! The probe: "does this key do what it claims, and where does it break
//! the spec?" It runs checks against one open key and answers a
//! [`ProbeReport`]: per check its id, the spec section it tests, pass, fail
//! or skip, and on failure expected vs actual with the traffic as evidence
//! (from the key's traffic recorder, secrets redacted there).
//!
//! Checks by module: [`hid_checks`] (CTAPHID framing and commands),
//! [`info_checks`] (what getInfo promises), [`algorithm_checks`] (a
//! registration and an assertion per advertised algorithm, verified by the
//! relying-party core), [`ceremony_checks`] (lists, discoverable
//! credentials, flags, counters), [`error_checks`] (status codes for
//! requests a key must refuse), [`extension_checks`] (each advertised
//! extension honoured), [`manage_checks`] (credential management with the
//! PIN; authenticatorConfig only when asked) and, only when asked,
//! [`pin_checks`] (checks that change the key's PIN state). [`cleanup`] deletes the test credentials
//! when credential management allows. [`html`] renders a report as one
//! small self-contained page.
//!
//! Without `destructive` nothing on the key changes but test credentials
//! under RP IDs ending in [`PROBE_RP_SUFFIX`] (`.invalid`, never a real
//! relying party's).

pub mod algorithm_checks;
pub mod ceremony_checks;
pub mod cleanup;
pub mod error_checks;
pub mod extension_checks;
pub mod hid_checks;
pub mod html;
pub mod info_checks;
pub mod lab;
pub mod manage_checks;
pub mod pin_checks;
pub mod raw;
pub mod result;

pub use lab::{CANCEL_RP_ID, PROBE_RP_ID, PROBE_RP_SUFFIX};
pub use result::{Category, CheckResult, KeyIdentity, Outcome, ProbeReport, Tally};

use ctap_client::Device;
use serde::Serialize;

/// What the probe may do.
#[derive(Debug, Clone, Default)]
pub struct ProbeOptions {
    /// Run the checks that change the key (PIN set/change/retries). The
    /// front end asks for confirmation before setting this.
    pub destructive: bool,
    /// The key's PIN, when it has one and the person gave it: lets the
    /// probe verify the user where a check needs it and delete its test
    /// credentials. Never reported anywhere.
    pub pin: Option<String>,
    /// Stops the probe from another thread (a UI's Cancel): a touch being
    /// waited for is cancelled (CTAPHID_CANCEL) and the checks not run yet
    /// are reported as skipped.
    pub cancel: ctaphid::CancelToken,
}

/// Progress, for a live view.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "camelCase")]
pub enum ProbeEvent {
    /// A check started.
    Running {
        /// Its id.
        id: String,
        /// What it checks.
        title: String,
    },
    /// The key waits for a touch.
    Touch,
    /// The next request must NOT be touched (the CANCEL check cancels it).
    DoNotTouch,
    /// A check finished.
    Finished {
        /// Its verdict.
        result: CheckResult,
    },
}

/// Runs every check that applies to `device` and returns the report.
/// `on_event` hears each check start and finish, and when to touch.
pub fn run(
    device: &mut Device,
    options: &ProbeOptions,
    on_event: &mut dyn FnMut(ProbeEvent),
) -> ProbeReport {
    let started = std::time::Instant::now();
    let started_unix_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let mut lab = lab::Lab::new(device, options, on_event);
    info_checks::run(&mut lab);
    hid_checks::run(&mut lab);
    algorithm_checks::run(&mut lab);
    ceremony_checks::run(&mut lab);
    error_checks::run(&mut lab);
    extension_checks::run(&mut lab);
    if options.destructive {
        pin_checks::run(&mut lab);
    }
    manage_checks::run(&mut lab);
    let leftovers = cleanup::run(&mut lab);
    let key = identity(lab.device);
    ProbeReport::new(
        key,
        options.destructive,
        lab.results,
        leftovers,
        started_unix_ms,
        u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    )
}

/// The key's identity as the report shows it.
pub fn identity(device: &Device) -> KeyIdentity {
    let info = device.info();
    let (device_version, capabilities) = match device.link_info() {
        ctap_client::LinkInfo::Hid {
            device_version: (major, minor, build),
            capabilities,
            ..
        } => (format!("{major}.{minor}.{build}"), capabilities),
        ctap_client::LinkInfo::Nfc { applet_version, .. } => {
            (format!("NFC applet {applet_version}"), 0)
        }
    };
    KeyIdentity {
        aaguid: info.aaguid.iter().map(|b| format!("{b:02x}")).collect(),
        versions: info.versions.clone(),
        algorithms: info
            .algorithms
            .iter()
            .map(|a| algorithm_checks::algorithm_name(a.alg))
            .collect(),
        extensions: info.extensions.clone(),
        firmware_version: info.firmware_version,
        device_version,
        capabilities,
    }
}
