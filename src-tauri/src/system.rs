//! The System page's checks: `key_ops::doctor` run with this app's
//! settings (its data directory, the port it serves on, local storage, the
//! OS keyring as the server uses it).

use key_ops::doctor::{DoctorReport, DoctorSettings, PortTarget};
use std::net::SocketAddr;
use std::path::Path;

/// Every check, for the app serving at `origin` (`http://localhost:PORT`)
/// with its data in `data_dir`.
pub fn doctor(origin: &str, data_dir: &Path) -> DoctorReport {
    let port = origin
        .rsplit(':')
        .next()
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or(0);
    // The app's server listens on loopback (lib.rs: server_config) and
    // keeps its sessions in the data directory: no bucket to check.
    let settings = DoctorSettings::new(
        data_dir.to_path_buf(),
        PortTarget::Serving(SocketAddr::from(([127, 0, 0, 1], port))),
        None,
        false,
    );
    key_ops::doctor::run(&settings)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn the_port_check_names_the_apps_own_port_and_the_data_dir_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let report = doctor("http://localhost:43117", dir.path());
        let port = report.checks.iter().find(|c| c.id == "port").unwrap();
        assert_eq!(port.status, key_ops::doctor::Status::Ok);
        assert_eq!(port.evidence, ["this app serves on 127.0.0.1:43117"]);
        let data = report.checks.iter().find(|c| c.id == "data_dir").unwrap();
        assert!(
            data.evidence
                .iter()
                .any(|e| e.contains("probe file was created and removed")),
            "{data:?}"
        );
    }
}
