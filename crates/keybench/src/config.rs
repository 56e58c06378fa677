//! `keybench config …`: authenticatorConfig (CTAP 2.1 §6.11) — enable
//! enterprise attestation, toggle alwaysUv, raise the minimum PIN length,
//! force a PIN change. Each is one `key_ops::config` call; this file parses
//! and prints.

use crate::cli::{KeyArgs, open_key};
use anyhow::Result;
use clap::Subcommand;
use key_ops::config::ConfigChange;

/// The authenticatorConfig subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Turn enterprise attestation on (getInfo `ep`): registrations that ask
    /// for it get an attestation that may identify this one key. A reset
    /// turns it off again.
    EnableEnterpriseAttestation {
        #[command(flatten)]
        key: KeyArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Turn alwaysUv on or off: with it on, every registration and sign-in
    /// needs the PIN.
    ToggleAlwaysUv {
        #[command(flatten)]
        key: KeyArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Raise the minimum PIN length (it never shrinks, until a reset); a
    /// current PIN shorter than it must be changed before its next use.
    SetMinPinLength {
        /// The new minimum, in characters.
        length: u64,
        #[command(flatten)]
        key: KeyArgs,
        /// An RP ID that may read the minimum (minPinLength extension);
        /// repeatable; replaces the key's list.
        #[arg(long = "rp-id", value_name = "RP_ID")]
        rp_ids: Vec<String>,
        /// Also require a PIN change before the PIN's next use.
        #[arg(long)]
        force_change: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Require a PIN change before the PIN's next use.
    ForcePinChange {
        #[command(flatten)]
        key: KeyArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Runs one `keybench config` subcommand.
pub fn run(command: ConfigCommand) -> Result<()> {
    let (key, json, change) = match command {
        ConfigCommand::EnableEnterpriseAttestation { key, json } => {
            (key, json, ConfigChange::EnableEnterpriseAttestation)
        }
        ConfigCommand::ToggleAlwaysUv { key, json } => (key, json, ConfigChange::ToggleAlwaysUv),
        ConfigCommand::SetMinPinLength {
            length,
            key,
            rp_ids,
            force_change,
            json,
        } => (
            key,
            json,
            ConfigChange::SetMinPinLength {
                length,
                rp_ids,
                force_change,
            },
        ),
        ConfigCommand::ForcePinChange { key, json } => (key, json, ConfigChange::ForcePinChange),
    };
    let mut device = open_key(&key)?;
    // The PIN only when the key wants a token (a PIN set, or alwaysUv).
    let wants_token = device.info().option("clientPin") == Some(true)
        || device.info().option("alwaysUv") == Some(true);
    let pin = match key
        .pin
        .clone()
        .or_else(|| std::env::var("KEYBENCH_PIN").ok())
    {
        Some(pin) => Some(pin),
        None if wants_token => Some(crate::keys::read_pin(None, "PIN: ")?),
        None => None,
    };
    let view = key_ops::config::configure(&mut device, pin.as_deref(), &change)?;
    crate::keys::show(&view, json)
}
