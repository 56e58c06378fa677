//! Interoperability: python-fido2 (PyPI, an independent CTAPHID/CTAP2 client
//! and relying party) registers and authenticates with the virtual key over
//! UDP, for every algorithm, and verifies each result with its own server
//! and attestation code.
//!
//! Needs a Python with `fido2==2.2.1` in `KEYBENCH_PYTHON`; `scripts/test`
//! provides one. Without it the test fails and says so, unless
//! `KEYBENCH_SKIP_INTEROP=1` asks explicitly to skip.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use keybench_tests::workspace_root;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use virtual_authenticator::{Authenticator, Config};

#[test]
fn python_fido2_registers_and_authenticates_every_algorithm_over_udp() {
    let Ok(python) = std::env::var("KEYBENCH_PYTHON") else {
        if std::env::var("KEYBENCH_SKIP_INTEROP").as_deref() == Ok("1") {
            eprintln!("skipped on request (KEYBENCH_SKIP_INTEROP=1)");
            return;
        }
        panic!(
            "set KEYBENCH_PYTHON to a Python with fido2==2.2.1 (scripts/test does), or KEYBENCH_SKIP_INTEROP=1 to skip"
        );
    };
    let transport = ctaphid::UdpReports::listen(([127, 0, 0, 1], 0).into()).unwrap();
    let addr = transport.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let identity = ctaphid::DeviceIdentity {
        version: (0, 1, 0),
        capabilities: 0x0d,
    };
    std::thread::spawn(move || {
        ctaphid::serve::serve(
            transport,
            identity,
            Authenticator::new(Config::default()).unwrap(),
            s,
        )
    });

    let script = workspace_root().join("tests/interop/python_fido2.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(addr.ip().to_string())
        .arg(addr.port().to_string())
        .output()
        .unwrap_or_else(|e| panic!("running {python}: {e}"));
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python-fido2 failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{stdout}");

    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["getInfo"]["max_msg_size"], 7609);
    let results = &lines[1..];
    let algs: Vec<i64> = results.iter().map(|r| r["alg"].as_i64().unwrap()).collect();
    assert_eq!(algs, [-7, -8, -48, -49, -50]);
    for r in results {
        assert_eq!(r["verified"], true);
        assert_eq!(r["fmt"], "packed");
        assert_eq!(r["public_key_alg"], r["alg"]);
    }
    let ml_dsa_87 = results.iter().find(|r| r["alg"] == -50).unwrap();
    assert!(ml_dsa_87["registration_bytes"].as_u64().unwrap() > 7000);
}
