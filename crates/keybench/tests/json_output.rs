//! Machine-readable output of the commands whose output is a line for
//! people otherwise: `decode --json` (the decoder's annotated tree, its
//! errors with the API's code), `virtual-key serve --json` and
//! `serve --json` (one JSON object as the start-up line).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use serde_json::Value;
use std::io::BufRead as _;
use std::process::{Command, Stdio};

fn keybench(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_keybench"))
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn decode_json_is_the_annotated_tree_and_its_errors_carry_the_api_code() {
    let (status, out, err) = keybench(&["decode", "cbor", "a2030201a0", "--json"]);
    assert_eq!(status, 0, "{err}");
    let tree: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(tree["kind"], "cbor", "{tree:#}");
    // authenticatorData: 32-byte rpIdHash, flags UP|UV, signCount 7.
    let auth_data = format!("{}05{}", "11".repeat(32), "00000007");
    let (status, out, err) = keybench(&["decode", "auth-data", &auth_data, "--json"]);
    assert_eq!(status, 0, "{err}");
    let tree: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(tree["kind"], "authenticatorData", "{tree:#}");
    let text = tree.to_string();
    assert!(text.contains("\"signCount\""), "{text}");
    // Not CBOR: exit 2 (an unusable input), the decoder's API code.
    let (status, out, err) = keybench(&["decode", "cbor", "5f", "--json"]);
    assert_eq!((status, out.as_str()), (2, ""), "{err}");
    let error: Value = serde_json::from_str(err.trim()).unwrap();
    assert_eq!(error["error"]["code"], "undecodable", "{err}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("indefinite length"),
        "{err}"
    );
    let (status, _, err) = keybench(&["decode", "cbor", "not hex!", "--json"]);
    assert_eq!(status, 2);
    let error: Value = serde_json::from_str(err.trim()).unwrap();
    assert_eq!(error["error"]["code"], "undecodable", "{err}");
}

/// Spawns `args` and returns the child and its first stdout line.
fn first_line(args: &[&str]) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_keybench"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next().unwrap().unwrap();
    std::thread::spawn(move || lines.for_each(drop));
    (child, line)
}

#[test]
fn virtual_key_serve_json_starts_with_one_object_naming_its_address() {
    let (mut child, line) = first_line(&[
        "virtual-key",
        "serve",
        "--udp",
        "127.0.0.1:0",
        "--attestation",
        "packed-basic",
        "--json",
    ]);
    let started: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(started["transport"], "udp", "{started}");
    assert_eq!(started["clientIdleSecs"], 2, "{started}");
    assert!(
        started["attestationRoot"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----"),
        "{started}"
    );
    let addr: std::net::SocketAddr = started["address"].as_str().unwrap().parse().unwrap();
    assert_ne!(addr.port(), 0);
    // The address is the key's: getInfo answers there.
    let (status, out, err) = keybench(&["info", &format!("udp:{addr}"), "--json"]);
    assert_eq!(status, 0, "{err}");
    let info: Value = serde_json::from_str(&out).unwrap();
    assert!(info.to_string().contains("FIDO_2_1"), "{info}");
    let _ = child.kill();
    let _ = child.wait();
    // Self attestation has no root: null, not a missing member.
    let (mut child, line) = first_line(&["virtual-key", "serve", "--udp", "127.0.0.1:0", "--json"]);
    let started: Value = serde_json::from_str(&line).unwrap();
    assert!(started["attestationRoot"].is_null(), "{started}");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn serve_json_starts_with_one_object_naming_its_url() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (mut child, line) = first_line(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--no-keyring",
        "--json",
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    // The data directory it created is owner-only (it holds the key file).
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&data).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o700, "{mode:o}");
    let started: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    let addr: std::net::SocketAddr = started["address"].as_str().unwrap().parse().unwrap();
    let url = started["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("http://localhost:{}/#launch=", addr.port())),
        "{url}"
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// The subcommands a `--help` text lists (its "Commands:" section).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_owned)
        .collect()
}

/// Every command (every leaf of the command tree, as `--help` lists it)
/// takes `--json`.
#[test]
fn every_command_takes_json() {
    let mut todo: Vec<Vec<String>> = subcommands(&keybench(&["--help"]).1)
        .into_iter()
        .map(|c| vec![c])
        .collect();
    let mut leaves = Vec::new();
    while let Some(path) = todo.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let (status, help, err) = keybench(&args);
        assert_eq!(status, 0, "{path:?}: {err}");
        let children = subcommands(&help);
        if children.is_empty() {
            assert!(
                help.contains("--json"),
                "keybench {} has no --json",
                path.join(" ")
            );
            leaves.push(path.join(" "));
        } else {
            todo.extend(children.into_iter().map(|c| {
                let mut p = path.clone();
                p.push(c);
                p
            }));
        }
    }
    leaves.sort();
    println!("commands with --json: {}", leaves.join(", "));
    for expected in [
        "decode",
        "doctor",
        "serve",
        "virtual-key serve",
        "mds verify",
        "wink",
    ] {
        assert!(
            leaves.iter().any(|l| l == expected),
            "{expected} in {leaves:?}"
        );
    }
}
