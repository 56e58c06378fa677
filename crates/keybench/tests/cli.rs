//! The `keybench` binary as a user runs it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn keybench(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_keybench"))
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn version_and_help() {
    let (ok, out, _) = keybench(&["--version"]);
    assert!(ok);
    assert_eq!(
        out.trim(),
        format!("keybench {}", env!("CARGO_PKG_VERSION"))
    );
    let (ok, out, _) = keybench(&["--help"]);
    assert!(ok);
    assert!(out.contains("Usage: keybench"));
    assert!(out.contains("decode"));
}

#[test]
fn lists_ml_dsa() {
    let (ok, out, _) = keybench(&["algorithms"]);
    assert!(ok);
    assert!(out.contains("  -49  ML-DSA-65"), "{out}");
}

#[test]
fn decodes_cbor_and_reports_bad_input() {
    let (ok, out, _) = keybench(&["decode", "cbor", "a2030201a0"]);
    assert!(ok);
    assert!(out.contains("{3: 2, 1: {}}"), "{out}");
    assert!(out.contains("not CTAP2 canonical"), "{out}");
    let (ok, _, err) = keybench(&["decode", "cbor", "5f"]);
    assert!(!ok);
    assert!(err.contains("indefinite length"), "{err}");
    let (ok, _, err) = keybench(&["decode", "auth-data", "00"]);
    assert!(!ok);
    assert!(err.contains("rpIdHash"), "{err}");
}
