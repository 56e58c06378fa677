//! The log file: created owner-only (0600, a wider existing file is
//! narrowed), JSON lines with level, target and fields, filtered the
//! `RUST_LOG` way. (Its own test binary: a process has one subscriber.)

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use keybench_server::logging::{LogFormat, LogSettings, init};
use std::os::unix::fs::PermissionsExt as _;

#[test]
fn the_log_file_is_owner_only_json_lines_filtered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logs/keybench.log");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    init(
        &LogSettings {
            format: LogFormat::Json,
            filter: Some("logging=info".into()),
            file: Some(path.clone()),
        },
        "warn",
    )
    .unwrap();
    tracing::info!(sid = "sid:abcd1234", "a session event");
    tracing::debug!("filtered out");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the log file is owner-only");
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert_eq!(lines[0]["level"], "INFO");
    assert_eq!(lines[0]["fields"]["message"], "a session event");
    assert_eq!(lines[0]["fields"]["sid"], "sid:abcd1234");
    // A second subscriber is refused, not silently stacked.
    assert!(init(&LogSettings::default(), "info").is_err());
}
