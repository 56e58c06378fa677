//! `keybench`: the command line over the Keybench library crates.
//!
//! Thin by design (as ripgrep's core): argument parsing and dispatch live
//! here (`cli`), the key subcommands call `ctap-client` (`keys`), the key
//! lab's call `key-lab` (`lab`, `probe`), the work lives in the library crates.

#![forbid(unsafe_code)]

mod bio;
mod cli;
mod config;
mod failure;
mod keys;
mod lab;
mod large_blobs;
mod mds;
mod probe;
mod verify;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Errors are JSON when the command was asked for JSON.
    let json = std::env::args_os().any(|a| a == "--json");
    let args = cli::Args::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => ExitCode::from(failure::report(&err, json)),
    }
}
