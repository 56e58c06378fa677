//! docs/ARCHITECTURE.md matches the code: the crate map lists exactly the
//! workspace's crates with their real workspace dependencies, and every
//! dependency points to a lower layer.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use keybench_tests::workspace_root;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

struct Row {
    layer: u32,
    deps: BTreeSet<String>,
}

fn documented_map() -> BTreeMap<String, Row> {
    let doc = std::fs::read_to_string(workspace_root().join("docs/ARCHITECTURE.md")).unwrap();
    let start = doc
        .find("<!-- crate-map:begin -->")
        .expect("crate-map markers");
    let end = doc
        .find("<!-- crate-map:end -->")
        .expect("crate-map markers");
    let mut rows = BTreeMap::new();
    for line in doc[start..end].lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | `crate` | layer | owns | deps |
        let name = cells[1].trim_matches('`').to_string();
        let layer = cells[2].split_whitespace().next().unwrap().parse().unwrap();
        let deps = cells[4]
            .split(',')
            .map(|d| d.trim().trim_matches('`').to_string())
            .filter(|d| !d.is_empty() && d != "—")
            .collect();
        rows.insert(name, Row { layer, deps });
    }
    rows
}

fn actual_map() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
            "--manifest-path",
        ])
        .arg(workspace_root().join("Cargo.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = meta["packages"].as_array().unwrap();
    let names: BTreeSet<String> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    packages
        .iter()
        .filter(|p| p["name"] != "keybench-tests")
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].is_null() && names.contains(d["name"].as_str().unwrap()))
                .map(|d| d["name"].as_str().unwrap().to_string())
                .collect();
            (p["name"].as_str().unwrap().to_string(), deps)
        })
        .collect()
}

#[test]
fn crate_map_matches_the_workspace() {
    let documented = documented_map();
    let actual = actual_map();
    assert_eq!(
        documented.keys().collect::<Vec<_>>(),
        actual.keys().collect::<Vec<_>>(),
        "docs/ARCHITECTURE.md crate map lists other crates than the workspace has"
    );
    for (name, deps) in &actual {
        assert_eq!(
            &documented[name].deps, deps,
            "documented dependencies of {name}"
        );
    }
}

#[test]
fn dependencies_point_down_the_layers() {
    let documented = documented_map();
    for (name, row) in &documented {
        for dep in &row.deps {
            let dep_layer = documented
                .get(dep)
                .map(|r| r.layer)
                .unwrap_or_else(|| panic!("{name} depends on undocumented {dep}"));
            assert!(
                dep_layer < row.layer,
                "{name} (layer {}) depends on {dep} (layer {dep_layer})",
                row.layer
            );
        }
    }
}
