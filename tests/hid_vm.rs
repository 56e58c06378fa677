//! The real HID path, without hardware: inside a VM with Debian's kernel
//! (tests/hid-vm), `keybench virtual-key serve --uhid` becomes /dev/hidrawN,
//! and independent clients drive it there: libfido2's fido2-token -L/-I,
//! fido2-cred and fido2-assert (ES256 and EdDSA, each credential and
//! assertion verified by libfido2), then python-fido2 for every algorithm,
//! ML-DSA-87 included, verified by its Fido2Server, then Keybench's own
//! client, the key lab's comparison of the five algorithms and its probe included.
//!
//! Needs the harness prepared by tests/hid-vm/setup.sh in `KEYBENCH_HID_VM`
//! and python-fido2 in `KEYBENCH_PYTHON`; `scripts/test` provides both.
//! Without them the test fails and says so, unless `KEYBENCH_SKIP_VM=1`
//! asks explicitly to skip.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use keybench_tests::hid_vm_harness::{Harness, keybench_binary};
use keybench_tests::workspace_root;
use std::process::Command;

#[test]
fn independent_clients_drive_the_virtual_key_over_real_hidraw() {
    let Some(harness) = Harness::from_env().unwrap() else {
        return;
    };
    let work = harness.root;
    let python = harness.python;
    let root = workspace_root();
    // The guest sees the host's root read-only, but with fresh tmpfs over /tmp
    // and /run: what it runs is copied into the shared work directory.
    for (from, to) in [
        (
            root.join("tests/hid-vm/guest-virtual-key.sh"),
            "keybench-guest.sh",
        ),
        (
            root.join("tests/interop/python_fido2.py"),
            "python_fido2.py",
        ),
        (keybench_binary().unwrap(), "keybench"),
    ] {
        std::fs::copy(&from, work.join(to))
            .unwrap_or_else(|e| panic!("copying {}: {e}", from.display()));
    }
    std::fs::write(
        work.join("guest.env"),
        format!(
            "KB_WORK={w}\nKB_BIN={w}/keybench\nKB_PYTHON={python}\nKB_PY_SCRIPT={w}/python_fido2.py\n",
            w = work.display(),
        ),
    )
    .unwrap();
    let out = Command::new("bash")
        .arg(root.join("tests/hid-vm/run-harness.sh"))
        .arg(work.join("keybench-guest.sh"))
        .arg("300")
        .env("HARNESS_WORK", &work)
        .output()
        .unwrap();
    let console = String::from_utf8_lossy(&out.stdout);
    let log = String::from_utf8_lossy(&out.stderr);
    println!("{console}\n{log}");
    assert!(
        out.status.success(),
        "guest failed (exit {:?}):\n{console}\n{log}",
        out.status.code()
    );

    assert!(
        console.contains("/dev/hidraw0: vendor=0x1209, product=0x000f"),
        "fido2-token -L lists the key"
    );
    assert!(
        console.contains("maxmsgsiz: 7609"),
        "fido2-token -I reads getInfo"
    );
    for t in ["es256", "eddsa"] {
        assert!(
            console.contains(&format!(
                "guest: {t} credential made, verified, asserted and assertion verified by libfido2"
            )),
            "{t}"
        );
    }
    let results: Vec<serde_json::Value> = console
        .lines()
        .filter(|l| l.starts_with("{\"alg\""))
        .map(|l| serde_json::from_str(l.trim()).unwrap())
        .collect();
    let algs: Vec<i64> = results.iter().map(|r| r["alg"].as_i64().unwrap()).collect();
    assert_eq!(
        algs,
        [-7, -8, -48, -49, -50],
        "python-fido2 over hidraw, every algorithm"
    );
    assert!(results.iter().all(|r| r["verified"] == true));

    // Keybench's own client, through hidapi on the guest's /dev/hidraw0.
    assert!(
        console.contains("\"path\": \"/dev/hidraw0\""),
        "keybench devices lists the key"
    );
    assert!(
        console.contains("maxMsgSize:         7609"),
        "keybench info"
    );
    assert!(console.contains("PIN retries left: 8"), "keybench pin");
    // A credential's large blob written, listed, read back and deleted, and
    // enterprise attestation enabled, by the CLI over hidraw.
    assert!(
        console.contains("$ keybench large-blobs read") && console.contains("\nhello over hidraw"),
        "keybench large-blobs over hidraw"
    );
    assert!(
        console.contains("\"enterpriseAttestation\": true")
            || console.contains("\"enterpriseAttestation\":true"),
        "keybench config over hidraw"
    );
    // A finger enrolled (each sample reported), listed, renamed and
    // deleted by the CLI on a key with a fingerprint sensor, and a
    // registration whose UV came from the finger alone (no PIN given).
    assert!(
        console.contains("$ keybench bio enroll")
            && console.contains("\"status\": \"FP_GOOD\"")
            && console.contains("\"remaining\": 0"),
        "keybench bio enroll over hidraw"
    );
    assert!(
        console.contains("right thumb") && console.contains("\"left index\""),
        "keybench bio list and rename over hidraw"
    );
    assert!(
        console.contains("$ keybench bio delete") && console.contains("deleted finger"),
        "keybench bio delete over hidraw"
    );
    assert!(
        console.contains("guest: registered with UV by the finger alone, no PIN given"),
        "keybench register with built-in UV over hidraw"
    );
    assert!(
        console.contains("\"fingerprints\": []"),
        "no finger left after keybench bio delete"
    );
    assert!(
        console.contains("registered: credential") && console.contains("(ML-DSA-87), fmt packed"),
        "keybench register ML-DSA-87 over hidraw"
    );
    assert!(console.contains("authenticated: credential") && console.contains("UV true"));
    assert!(
        console.contains("1 discoverable credentials"),
        "keybench credentials list"
    );

    // The key lab over hidraw: every algorithm measured, with the framing's
    // own arithmetic in the counts (ML-DSA-87's 7,345-byte attestation
    // response is 125 reports: 57 bytes in the first, 59 in each next).
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(work.join("out/kb-compare.json")).unwrap())
            .unwrap();
    let compared = &report["sections"][0];
    let measured: Vec<&str> = compared["algorithms"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["status"] == "measured")
        .map(|a| a["algorithm"].as_str().unwrap())
        .collect();
    assert_eq!(
        measured,
        ["ML-DSA-87", "ML-DSA-65", "ML-DSA-44", "EdDSA", "ES256"],
        "keybench compare over hidraw"
    );
    for a in compared["algorithms"].as_array().unwrap() {
        let r = &a["registration"];
        let bytes_in = r["bytesIn"]["median"].as_f64().unwrap();
        assert!(
            r["reportsIn"]["min"].as_f64().unwrap() >= 1.0 + ((bytes_in - 57.0) / 59.0).ceil(),
            "{a}"
        );
    }
    assert_eq!(report["key"]["transport"]["capabilities"][1], "CBOR");
    assert!(
        std::fs::read_to_string(work.join("out/kb-compare.html"))
            .unwrap()
            .contains("<svg")
    );
    // The key lab's probe over real hidraw: every check it can run passes.
    let probe_total = console
        .lines()
        .skip_while(|l| !l.starts_with("--- keybench probe"))
        .find(|l| l.starts_with("total "))
        .expect("the probe's summary");
    println!("probe over hidraw: {probe_total}");
    let counts: Vec<u64> = probe_total
        .split_whitespace()
        .skip(1)
        .map(|n| n.parse().unwrap())
        .collect();
    assert!(
        matches!(counts.as_slice(), [pass, 0, _] if *pass >= 40),
        "probe over hidraw: {probe_total}"
    );

    // libfido2 uses the PIN Keybench set: changes it, lists the RP (its
    // credential listing stops at the ML-DSA-87 public key: 2,592 bytes is
    // over libfido2's 2,048-byte FIDO_MAXMSG).
    assert!(
        console.contains("Enter the same PIN again"),
        "fido2-token -C"
    );
    assert!(
        console.contains(" localhost"),
        "fido2-token -L -r lists the RP"
    );

    // Hot-plug: the watcher reports the key leaving and coming back, each
    // within a second (times are the guest's uptime).
    let time_of = |prefix: &str| -> f64 {
        console
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {prefix:?} line"))
    };
    let watch: Vec<(f64, serde_json::Value)> = console
        .lines()
        .filter_map(|l| l.strip_prefix("watch: "))
        .map(|l| {
            let (t, json) = l.split_once(' ').unwrap();
            (t.parse().unwrap(), serde_json::from_str(json).unwrap())
        })
        .collect();
    let event_after = |kind: &str, since: f64| {
        watch
            .iter()
            .find(|(t, e)| e["event"] == kind && *t >= since)
            .map(|(t, _)| t - since)
            .unwrap_or_else(|| panic!("no {kind} event after {since}: {watch:?}"))
    };
    let unplug = time_of("guest: unplug t=");
    // Plugged in = the kernel shows the hidraw node (the virtual key's
    // process start-up before that is not the watcher's latency).
    let plug = time_of("guest: node t=");
    let removed = event_after("removed", unplug);
    // The insertion is the first "added" after the removal. The guest script
    // polls for the node, so the watcher may report it a few ms before the
    // script prints its time: such a lead counts as no delay.
    let added = event_after("added", unplug + removed) + (unplug + removed - plug);
    let added = added.max(0.0);
    println!("hot-plug: removal seen after {removed:.2} s, insertion after {added:.2} s");
    assert!(
        removed < 1.0 && added < 1.0,
        "removed {removed} s, added {added} s"
    );

    // keybench doctor: root opens the key's hidraw node; uid 65534, with the
    // node at mode 0600, may not, and is told the udev rule that fixes it.
    let doctor = |who: &str| -> serde_json::Value {
        let path = work.join(format!("out/doctor-{who}.json"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        println!("doctor as {who}:\n{text}");
        serde_json::from_str(&text).unwrap()
    };
    let hidraw = |report: &serde_json::Value| -> serde_json::Value {
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "hidraw")
            .cloned()
            .unwrap()
    };
    let root_check = hidraw(&doctor("root"));
    assert_eq!(root_check["status"], "ok", "{root_check}");
    assert!(
        root_check["subject"]
            .as_str()
            .unwrap()
            .starts_with("/dev/hidraw")
    );
    assert!(
        console.contains("guest: doctor as uid 65534 exit=1"),
        "doctor as uid 65534 exits 1"
    );
    let user_check = hidraw(&doctor("nobody"));
    assert_eq!(user_check["status"], "fail", "{user_check}");
    let evidence = user_check["evidence"].to_string();
    assert!(
        evidence.contains("mode 0600, owner uid 0 gid 0; this process runs as uid 65534")
            && evidence.contains("Permission denied"),
        "{evidence}"
    );
    let fix = user_check["fix"].as_str().unwrap();
    assert!(
        fix.contains("Install Keybench's udev rule for FIDO keys")
            && fix.contains(
                "sudo install -m 0644 '/tmp/kb-doctor-nobody/70-keybench-fido.rules' /etc/udev/rules.d/70-keybench-fido.rules"
            )
            && fix.contains("udevadm trigger --subsystem-match=hidraw"),
        "{fix}"
    );
}
