//! `keybench verify`: reads the files, asks the relying-party core for its
//! step-by-step report (`relying_party::report`), prints it.

use anyhow::{Context, Result};
use clap::Args;
use relying_party::report::{Report, StepStatus, VerifyRequest, verify_ceremony};
use relying_party::x509::UnixTime;
use std::path::PathBuf;

/// Arguments of `keybench verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The options JSON the relying party sent (creation or request options,
    /// bare or wrapped in "publicKey"). Without it, give --challenge and
    /// --rp-id or --origin.
    #[arg(long)]
    options: Option<PathBuf>,
    /// The RegistrationResponseJSON or AuthenticationResponseJSON.
    #[arg(long)]
    response: PathBuf,
    /// For an assertion: the stored public key (COSE as base64url/hex/binary,
    /// JWK, PEM SubjectPublicKeyInfo, or the registration response).
    #[arg(long)]
    public_key: Option<PathBuf>,
    /// The origin the relying party expects (default https:// + RP ID).
    #[arg(long)]
    origin: Option<String>,
    /// The RP ID (default: the options', else the origin's host).
    #[arg(long)]
    rp_id: Option<String>,
    /// The challenge (base64url), when no options are given.
    #[arg(long)]
    challenge: Option<String>,
    /// An origin the relying party expects to be embedded in (allows
    /// crossOrigin and this topOrigin); repeatable.
    #[arg(long)]
    top_origin: Vec<String>,
    /// An attestation root certificate (PEM or DER); repeatable.
    #[arg(long)]
    trust_anchor: Vec<PathBuf>,
    /// Check certificates at this time (Unix seconds) instead of now.
    #[arg(long)]
    at: Option<i64>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

fn read(path: &PathBuf) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// Runs `keybench verify`.
pub fn run(args: &VerifyArgs) -> Result<()> {
    let options = args.options.as_ref().map(read).transpose()?;
    let response = read(&args.response)?;
    let public_key = args.public_key.as_ref().map(read).transpose()?;
    let anchors = args
        .trust_anchor
        .iter()
        .map(read)
        .collect::<Result<Vec<_>>>()?;
    let report = verify_ceremony(&VerifyRequest {
        options: options.as_deref(),
        response: &response,
        public_key: public_key.as_deref(),
        origin: args.origin.as_deref(),
        rp_id: args.rp_id.as_deref(),
        challenge: args.challenge.as_deref(),
        top_origins: &args.top_origin,
        trust_anchors: &anchors,
        at: args.at.map(UnixTime),
    })
    .map_err(|e| crate::failure::Coded::input(e.code(), format!("{e} [{}]", e.code())))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report);
    }
    match report.steps.iter().find(|s| s.status == StepStatus::Failed) {
        Some(s) => Err(crate::failure::Coded::check(
            s.code.unwrap_or("verification_failed"),
            format!(
                "verification failed at {} ({}): {}",
                s.step,
                s.code.unwrap_or("?"),
                s.message.as_deref().unwrap_or_default()
            ),
        )
        .into()),
        None => Ok(()),
    }
}

fn print_text(report: &Report) {
    let what = match report.ceremony {
        relying_party::ceremony::steps::Ceremony::Registration => "Registration (WebAuthn L3 §7.1)",
        relying_party::ceremony::steps::Ceremony::Authentication => {
            "Authentication (WebAuthn L3 §7.2)"
        }
    };
    println!(
        "{what}: {}",
        if report.verified {
            "verified"
        } else {
            "FAILED"
        }
    );
    for note in &report.notes {
        println!("  note: {note}");
    }
    for s in &report.steps {
        let mark = match s.status {
            StepStatus::Passed => "pass",
            StepStatus::Failed => "FAIL",
            StepStatus::NotCheckable => " n/c",
        };
        println!("[{mark}] {:<16} {}", s.step, s.title);
        if s.status != StepStatus::Passed {
            println!("         spec: {}", s.spec);
        }
        if let Some(e) = &s.detail.expected {
            println!("         expected: {e}");
        }
        if let Some(f) = &s.detail.found {
            println!("         found:    {f}");
        }
        if let Some(m) = &s.message {
            let code = s.code.map(|c| format!(" [{c}]")).unwrap_or_default();
            println!("         {m}{code}");
        }
        if s.status == StepStatus::Failed
            && let Some(l) = &s.detail.location
        {
            println!(
                "         at: {} bytes {}..{} of {}",
                l.path,
                l.range.start,
                l.range.end,
                serde_json::to_value(l.input)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            );
        }
    }
    for e in &report.extensions {
        println!("  extension {}: {:?}, {}", e.name, e.status, e.detail);
    }
}
