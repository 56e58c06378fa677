//! How a failed command ends: its exit status and, under `--json`, one
//! JSON object on standard error with the stable code (the same codes the
//! HTTP API and the desktop use) instead of text.
//!
//! Exit statuses (also in `keybench --help`): see [`EXIT_STATUSES`].

use serde_json::json;

/// A relying party's refusal (`register`/`authenticate --server`), with
/// its API code.
#[derive(Debug, thiserror::Error)]
#[error("the relying party answered {status}: {message} ({code})")]
pub struct ServerRefused {
    /// The HTTP status.
    pub status: u16,
    /// The API's stable code.
    pub code: String,
    /// Its message.
    pub message: String,
}

/// An error with its stable code and exit status: a check the command ran
/// failed (the key, the ceremony or the BLOB is not what it should be), or
/// its input was not usable.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Coded {
    /// The stable code.
    pub code: String,
    /// What happened.
    pub message: String,
    /// The exit status.
    pub exit: u8,
}

impl Coded {
    /// A check failed (exit status 1).
    pub fn check(code: impl Into<String>, message: impl Into<String>) -> Coded {
        Coded {
            code: code.into(),
            message: message.into(),
            exit: EXIT_FAILED,
        }
    }

    /// The input given was not usable (exit status 2, as a bad command line).
    pub fn input(code: impl Into<String>, message: impl Into<String>) -> Coded {
        Coded {
            code: code.into(),
            message: message.into(),
            exit: EXIT_USAGE,
        }
    }
}

/// What `keybench --help` says about exit statuses.
pub const EXIT_STATUSES: &str = "Exit status: 0 done; 1 a check failed (probe, verify, mds verify, doctor) or another error; \
2 the command line or an input file is not usable; 3 the key (not found, busy, refused, a CTAP status); \
4 the relying party refused (--server); 5 FIDO metadata refused. With --json, an error is one JSON object \
on standard error: {\"error\": {\"code\", \"message\"}}, with the stable codes of docs/API.md and the key \
operations (ctap_pin_invalid, no_key, mds_stale, ...).";

/// Exit statuses.
pub const EXIT_FAILED: u8 = 1;
/// The command line or an input file is not usable (clap uses 2 too).
pub const EXIT_USAGE: u8 = 2;
/// The key: not found, busy, refused, a CTAP status.
pub const EXIT_KEY: u8 = 3;
/// The relying party refused.
pub const EXIT_SERVER: u8 = 4;
/// FIDO metadata refused.
pub const EXIT_METADATA: u8 = 5;

/// The stable code and exit status of `err` (the first typed error in its
/// chain decides).
pub fn classify(err: &anyhow::Error) -> (String, u8) {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<key_ops::KeyOpError>() {
            let code = e.code();
            let exit = if code.starts_with("mds_") {
                EXIT_METADATA
            } else {
                EXIT_KEY
            };
            return (code, exit);
        }
        if let Some(e) = cause.downcast_ref::<ServerRefused>() {
            return (e.code.clone(), EXIT_SERVER);
        }
        if let Some(e) = cause.downcast_ref::<relying_party::mds::MdsError>() {
            return (e.code().to_owned(), EXIT_METADATA);
        }
        if let Some(e) = cause.downcast_ref::<Coded>() {
            return (e.code.clone(), e.exit);
        }
    }
    ("error".to_owned(), EXIT_FAILED)
}

/// Reports `err` (JSON under `--json`) and answers the exit status.
pub fn report(err: &anyhow::Error, json: bool) -> u8 {
    let (code, exit) = classify(err);
    if json {
        eprintln!(
            "{}",
            json!({ "error": { "code": code, "message": format!("{err:#}") } })
        );
    } else {
        eprintln!("keybench: {err:#}");
    }
    exit
}
