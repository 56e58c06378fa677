//! The key lab's subcommands: `compare`. Each runs one `key-lab` call and
//! presents the result — a table for people, the report as JSON with
//! `--json` — and writes the report files when asked.

use anyhow::{Context, Result};
use ctaphid::KeepaliveStatus;
use key_lab::compare::{self, CompareSettings, Hooks, Progress};
use key_lab::report::metadata::{self, MAX_METADATA_LEN, MetadataEntry};
use key_lab::report::{KeyIdentity, ModelSources, Report, Section};
use key_ops::AnyDevice;
use std::io::Read as _;

/// `keybench compare`.
pub fn compare(
    device: &mut AnyDevice,
    name: Option<&str>,
    settings: &CompareSettings,
    pin: Option<String>,
    json: bool,
    report_path: Option<&std::path::Path>,
    models: ModelSources<'_>,
) -> Result<()> {
    let pin = pin.or_else(|| std::env::var("KEYBENCH_PIN").ok());
    let mut progress = |p: &Progress| {
        eprintln!("{} round {}/{}", p.algorithm, p.round, p.rounds);
    };
    let mut touch_asked = false;
    let mut on_status = |status: KeepaliveStatus| {
        if status == KeepaliveStatus::UpNeeded && !touch_asked {
            eprintln!("touch your key (once per registration and authentication)…");
            touch_asked = true;
        }
    };
    let mut hooks = Hooks {
        pin: pin.as_deref(),
        progress: Some(&mut progress),
        on_status: Some(&mut on_status),
        cancel: None,
    };
    let comparison = compare::run(device, settings, &mut hooks).map_err(|e| {
        let hint = if e.code() == "pin_required" {
            " (set KEYBENCH_PIN, or pass --pin)"
        } else {
            ""
        };
        anyhow::anyhow!("{e}{hint}")
    })?;
    let identity = KeyIdentity::of(
        device,
        name.unwrap_or("the only USB key plugged in"),
        models,
    );
    let text = comparison.to_string();
    let report = Report::new(identity, vec![Section::Compare(comparison)]);
    if json {
        println!("{}", report.to_json());
    } else {
        println!("{text}");
    }
    if let Some(path) = report_path {
        let (html, json) = report
            .write(path)
            .with_context(|| format!("writing the report to {}", path.display()))?;
        eprintln!("report written: {} and {}", html.display(), json.display());
    }
    Ok(())
}

/// `--metadata FILE`: statements or BLOB entries (at most the size the
/// server accepts for an upload).
pub fn read_metadata(path: &std::path::Path) -> Result<Vec<MetadataEntry>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_METADATA_LEN as u64 + 1).read_to_end(&mut bytes))
        .with_context(|| format!("reading {}", path.display()))?;
    metadata::parse(&bytes).with_context(|| format!("the metadata in {}", path.display()))
}
