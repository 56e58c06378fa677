//! `keybench bio enroll|list|rename|delete`: the key's fingerprints
//! (CTAP 2.1 §6.7). Each action is one `key_ops::bio` call; this file
//! parses and prints (enrolment prints each sample as it comes: a line,
//! or a JSON line under `--json`, before the result).

use crate::cli::{KeyArgs, open_key};
use anyhow::{Result, bail};
use key_ops::bio;

/// `keybench bio`'s arguments.
#[derive(Debug, clap::Args)]
pub struct BioArgs {
    /// enroll, list, rename or delete.
    #[arg(value_parser = ["enroll", "list", "rename", "delete"])]
    action: String,
    #[command(flatten)]
    key: KeyArgs,
    /// The finger (its hex id, as `keybench bio list` shows it); needed by
    /// rename and delete.
    #[arg(long, required_if_eq_any([("action", "rename"), ("action", "delete")]))]
    id: Option<String>,
    /// The finger's friendly name: needed by rename, optional for enroll.
    #[arg(long, required_if_eq("action", "rename"))]
    name: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `keybench bio`.
pub fn run(args: BioArgs) -> Result<()> {
    let mut device = open_key(&args.key)?;
    let pin = crate::keys::read_pin(args.key.pin.clone(), "PIN: ")?;
    let id = args.id.as_deref().unwrap_or_default();
    match args.action.as_str() {
        "list" => crate::keys::show(&bio::list(&mut device, &pin)?, args.json),
        "enroll" => {
            if !args.json {
                eprintln!("place your finger on the key's sensor, lift it, and repeat…");
            }
            let json = args.json;
            let mut on_sample = |sample: &bio::SampleView| {
                if json {
                    println!(
                        "{}",
                        serde_json::json!({ "event": "sample", "sample": sample })
                    );
                } else if sample.good {
                    eprintln!("good sample: {} to go", sample.remaining);
                } else {
                    eprintln!(
                        "{}: place the finger again ({} to go)",
                        sample.status, sample.remaining
                    );
                }
            };
            let view = bio::enroll(
                &mut device,
                &pin,
                args.name.as_deref(),
                &mut on_sample,
                None,
                None,
            )?;
            crate::keys::show(&view, args.json)
        }
        "rename" => {
            let name = args.name.as_deref().unwrap_or_default();
            bio::rename(&mut device, &pin, id, name)?;
            crate::keys::done(
                &format!("finger {id} is now named {name:?}"),
                "fingerprint_renamed",
                args.json,
            );
            Ok(())
        }
        "delete" => {
            bio::delete(&mut device, &pin, id)?;
            crate::keys::done(
                &format!("deleted finger {id}"),
                "fingerprint_deleted",
                args.json,
            );
            Ok(())
        }
        other => bail!("unknown bio action {other:?}"),
    }
}
