//! `keybench mds`: the FIDO metadata a data directory trusts. Each
//! subcommand is one `key_ops::metadata` call; this file only presents it.

use crate::cli::MdsCommand;
use anyhow::{Result, bail};
use relying_party::mds::{MdsStatus, ModelInfo, ModelVerdict};
use relying_party::x509::UnixTime;

/// Runs a `keybench mds` subcommand.
pub fn run(command: MdsCommand) -> Result<()> {
    match command {
        MdsCommand::Install { file, common } => {
            let view = key_ops::metadata::install(
                &common.data_dir()?,
                &file,
                &common.crls,
                &common.signer(),
            )?;
            print(&view, common.json, || install_text(&view))
        }
        MdsCommand::Fetch { url, common } => {
            let view = key_ops::metadata::fetch(&common.data_dir()?, &url, &common.signer())?;
            print(&view, common.json, || install_text(&view))
        }
        MdsCommand::Show { aaguid, common } => {
            let loaded = key_ops::metadata::load(&common.data_dir()?, &common.signer())?;
            match aaguid {
                None => print(&loaded.status, common.json, || status_text(&loaded.status)),
                Some(text) => {
                    let Some(aaguid) = relying_party::mds::parse_aaguid_typed(&text) else {
                        bail!("{text:?} is not an AAGUID (8-4-4-4-12 or 32 hex digits)");
                    };
                    let Some(model) = loaded.model(&aaguid) else {
                        bail!("the FIDO metadata in force has no entry for {text}");
                    };
                    print(&model, common.json, || model_text(&model))
                }
            }
        }
        MdsCommand::Verify { file, at, common } => {
            let at = match at {
                None => None,
                Some(d) => match relying_party::date::parse_date(&d) {
                    Some(t) => Some(UnixTime(t)),
                    None => bail!("--at {d:?} is not a date (YYYY-MM-DD)"),
                },
            };
            let verdict =
                key_ops::metadata::verify_file(&file, &common.crls, &common.signer(), at)?;
            print(&verdict, common.json, || {
                let mut out = match (&verdict.code, &verdict.reason) {
                    (Some(code), Some(reason)) => format!("NOT VALID [{code}]: {reason}"),
                    _ => "valid".to_owned(),
                };
                if let (Some(no), Some(next), Some(n)) =
                    (verdict.no, &verdict.next_update, verdict.entries)
                {
                    out.push_str(&format!("\nno {no}, nextUpdate {next}, {n} entries"));
                }
                for point in &verdict.crl_points {
                    out.push_str(&format!("\nCRL needed: {point}"));
                }
                out
            })?;
            if !verdict.valid {
                return Err(crate::failure::Coded::check(
                    verdict.code.unwrap_or("mds_invalid"),
                    format!(
                        "the BLOB does not verify: {}",
                        verdict.reason.as_deref().unwrap_or_default()
                    ),
                )
                .into());
            }
            Ok(())
        }
    }
}

fn print<V: serde::Serialize>(view: &V, json: bool, text: impl FnOnce() -> String) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(view)?);
    } else {
        println!("{}", text());
    }
    Ok(())
}

/// What an install or a fetch did, and the metadata now in force.
fn install_text(view: &key_ops::metadata::InstallView) -> String {
    format!(
        "{} ({})\n{}",
        view.outcome,
        view.cache,
        status_text(&view.status)
    )
}

fn status_text(status: &MdsStatus) -> String {
    match status {
        MdsStatus::None => "no FIDO metadata installed (keybench mds install FILE | fetch)".into(),
        MdsStatus::Loaded {
            no,
            next_update,
            entries,
            signer,
            anchor,
            denied,
        } => format!(
            "FIDO metadata in force: BLOB no {no}, {entries} entries ({denied} denied by status), next update {next_update}\nsigned by {signer}\nunder {anchor}"
        ),
        MdsStatus::Invalid { code, reason } => {
            format!("the cached FIDO metadata does not verify [{code}]: {reason}")
        }
    }
}

fn model_text(m: &ModelInfo) -> String {
    let verdict = match &m.verdict {
        ModelVerdict::Certified { level } => level.clone(),
        ModelVerdict::Untrusted { reason } => format!("UNTRUSTED: {reason}"),
        _ => "not FIDO certified".to_owned(),
    };
    let mut out = format!("{} ({})\nverdict: {verdict}", m.description, m.aaguid);
    for r in &m.status_reports {
        out.push_str(&format!(
            "\n  {} {}",
            r.effective_date.as_deref().unwrap_or("(no date)"),
            r.status
        ));
    }
    out
}
