//! `keybench probe`: runs `key-lab`'s probe on one key and presents the
//! report — progress and touch prompts on standard error, the summary (or
//! JSON) on standard output, and the report file when asked.

use anyhow::{Context, Result, bail};
use key_lab::probe::{self, Outcome, ProbeEvent, ProbeOptions};
use key_lab::report::Section;
use key_ops::AnyDevice;
use std::io::{BufRead as _, IsTerminal as _, Write as _};

/// What `keybench probe` was asked.
pub struct ProbeArgs {
    /// JSON on standard output.
    pub json: bool,
    /// Where to write the report (the page; the JSON goes beside it).
    pub report: Option<std::path::PathBuf>,
    /// How the key was named on the command line.
    pub key_name: Option<String>,
    /// The FIDO metadata in force, for the model's name.
    pub metadata: Option<relying_party::mds::LoadedMetadata>,
    /// Run the checks that change the key.
    pub destructive: bool,
    /// Do not ask before them.
    pub yes: bool,
    /// `--pin`, else KEYBENCH_PIN; never asked for (the probe works without).
    pub pin: Option<String>,
}

/// Asks before the destructive checks, unless `--yes`.
fn confirm_destructive(yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        bail!("--destructive changes the key's PIN state; confirm with --yes");
    }
    eprint!(
        "--destructive sets a PIN on a key without one (31415926), tries a wrong PIN once and \
         changes the PIN and back. Type yes to go on: "
    );
    std::io::stderr().flush().ok();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the answer")?;
    if line.trim() != "yes" {
        bail!("not confirmed; nothing was changed");
    }
    Ok(())
}

/// `keybench probe`.
pub fn run(device: &mut AnyDevice, args: &ProbeArgs) -> Result<()> {
    if args.destructive {
        confirm_destructive(args.yes)?;
    }
    let options = ProbeOptions {
        destructive: args.destructive,
        pin: args
            .pin
            .clone()
            .or_else(|| std::env::var("KEYBENCH_PIN").ok()),
        ..ProbeOptions::default()
    };
    let report = probe::run(device, &options, &mut |event| match event {
        ProbeEvent::Touch => eprintln!("touch your key…"),
        ProbeEvent::DoNotTouch => {
            eprintln!("do NOT touch your key now (the next request is cancelled)");
        }
        ProbeEvent::Finished { result } => {
            let mark = match result.outcome {
                Outcome::Pass => "pass",
                Outcome::Fail => "FAIL",
                Outcome::Skip => "skip",
            };
            eprintln!("{mark}  {}", result.id);
        }
        _ => {}
    });
    if let Some(path) = &args.report {
        // The key lab's report: the page (with the key's identity, the
        // machine and the probe as its section) and the same data as JSON.
        let identity = key_lab::report::KeyIdentity::of(
            device,
            args.key_name
                .as_deref()
                .unwrap_or("the only USB key plugged in"),
            key_lab::report::ModelSources {
                mds: args.metadata.as_ref(),
                given: &[],
            },
        );
        let full =
            key_lab::report::Report::new(identity, vec![Section::Probe(Box::new(report.clone()))]);
        let (html, json) = full
            .write(path)
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!(
            "report written to {} and {}",
            html.display(),
            json.display()
        );
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    if report.total.fail > 0 {
        return Err(crate::failure::Coded::check(
            "probe_failed",
            format!(
                "{} of {} checks failed",
                report.total.fail,
                report.checks.len()
            ),
        )
        .into());
    }
    Ok(())
}
