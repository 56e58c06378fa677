//! `keybench large-blobs list|read|write|delete`: each credential's large
//! blob (CTAP 2.1 §6.10), found by credential id through its largeBlobKey.
//! Each action is one `key_ops::large_blobs` call; this file parses and
//! prints.

use crate::cli::{KeyArgs, open_key};
use anyhow::{Context, Result, bail};
use key_ops::large_blobs;

/// `keybench large-blobs`' arguments.
#[derive(Debug, clap::Args)]
pub struct LargeBlobsArgs {
    /// list, read, write or delete.
    #[arg(value_parser = ["list", "read", "write", "delete"])]
    action: String,
    #[command(flatten)]
    key: KeyArgs,
    /// The credential (base64url, as `keybench credentials list` shows it);
    /// needed by read, write and delete.
    #[arg(long, required_if_eq_any([("action", "read"), ("action", "write"), ("action", "delete")]))]
    id: Option<String>,
    /// write: the blob, as text.
    #[arg(long, conflicts_with = "file")]
    data: Option<String>,
    /// write: the blob, from this file.
    #[arg(long)]
    file: Option<std::path::PathBuf>,
    /// read: write the blob to this file instead of printing it.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `keybench large-blobs`.
pub fn run(args: LargeBlobsArgs) -> Result<()> {
    let mut device = open_key(&args.key)?;
    let pin = crate::keys::read_pin(args.key.pin.clone(), "PIN: ")?;
    let id = args.id.as_deref().unwrap_or_default();
    match args.action.as_str() {
        "list" => crate::keys::show(&large_blobs::list(&mut device, &pin)?, args.json),
        "read" => {
            let view = large_blobs::read(&mut device, &pin, id)?;
            if let Some(path) = &args.out {
                let bytes = fido_wire::webauthn::base64url::decode(&view.blob)
                    .context("the blob's own encoding")?;
                std::fs::write(path, bytes)
                    .with_context(|| format!("writing {}", path.display()))?;
                crate::keys::done(
                    &format!("{} bytes written to {}", view.size, path.display()),
                    "large_blob_read",
                    args.json,
                );
                return Ok(());
            }
            crate::keys::show(&view, args.json)
        }
        "write" => {
            let blob = match (&args.data, &args.file) {
                (Some(text), _) => text.as_bytes().to_vec(),
                (None, Some(path)) => {
                    std::fs::read(path).with_context(|| format!("reading {}", path.display()))?
                }
                (None, None) => bail!("write needs the blob: --data TEXT or --file FILE"),
            };
            large_blobs::write(&mut device, &pin, id, &blob)?;
            crate::keys::done(
                &format!("{} bytes stored for credential {id}", blob.len()),
                "large_blob_written",
                args.json,
            );
            Ok(())
        }
        "delete" => {
            let removed = large_blobs::delete(&mut device, &pin, id)?;
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({ "status": "ok", "action": "large_blob_deleted", "removed": removed })
                );
            } else if removed == 0 {
                println!("credential {id} had no large blob");
            } else {
                println!("deleted the large blob of credential {id}");
            }
            Ok(())
        }
        other => bail!("unknown large-blobs action {other:?}"),
    }
}
