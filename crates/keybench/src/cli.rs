//! Argument definitions and dispatch.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use fido_wire::cbor::{self, DecodeOptions};
use fido_wire::cose::CoseAlgorithm;
use fido_wire::webauthn::{AttestationObject, AuthenticatorData, CollectedClientData};
use std::io::Read;

/// Keybench: a workbench for FIDO2 security keys, classical and post-quantum.
#[derive(Debug, Parser)]
#[command(name = "keybench", version, about, long_about = None, after_help = crate::failure::EXIT_STATUSES)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// How log lines look on standard error: text for people, or one JSON
    /// object per line.
    #[arg(long, global = true, value_enum, default_value_t = LogFormatArg::Pretty)]
    log_format: LogFormatArg,
    /// Which log lines, `RUST_LOG`-style (`info`, `keybench_server=debug,warn`);
    /// default `RUST_LOG`, else `info` for `serve` and `warn` for the rest.
    #[arg(long = "log", global = true)]
    log_filter: Option<String>,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormatArg {
    /// Text for people.
    Pretty,
    /// JSON lines.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the COSE algorithms Keybench knows, with their identifiers.
    Algorithms {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run a virtual security key (classical and ML-DSA) for demos and tests.
    VirtualKey {
        #[command(subcommand)]
        command: VirtualKeyCommand,
    },
    /// List the FIDO security keys plugged in (USB HID, usage page 0xF1D0).
    ///
    /// On Linux, a key you cannot open usually means no permission on its
    /// /dev/hidraw node: install a udev rule for FIDO keys (systemd ships
    /// one as 60-fido-id.rules on recent systems) and re-plug the key.
    Devices {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Keep running and print keys as they are plugged in and pulled out.
        #[arg(long)]
        watch: bool,
    },
    /// Show what a key is: getInfo, fully decoded, with what the FIDO
    /// metadata (`keybench mds install`) says about its model.
    Info {
        #[command(flatten)]
        key: KeyArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// The data directory whose FIDO metadata to use (default: the one
        /// `keybench serve` uses).
        #[arg(long)]
        data_dir: Option<std::path::PathBuf>,
    },
    /// FIDO Metadata Service: install a BLOB, show what is in force, check a file.
    Mds {
        #[command(subcommand)]
        command: MdsCommand,
    },
    /// Probe a key: CTAPHID and CTAP2 conformance checks, each with the
    /// spec section it tests, pass/fail/skip, and on failure expected vs
    /// actual with the frames as evidence. Exits 1 when a check failed.
    ///
    /// Without --destructive nothing on the key changes but test
    /// credentials under *.probe.keybench.invalid (deleted when the PIN is
    /// known). Touch the key when asked, except when told not to.
    Probe {
        #[command(flatten)]
        key: KeyArgs,
        /// Print the report as JSON instead of the summary.
        #[arg(long)]
        json: bool,
        /// Also write the report to this file: HTML when it ends in .html,
        /// else JSON.
        #[arg(long)]
        report: Option<std::path::PathBuf>,
        /// Also run the checks that change the key's PIN state (set a PIN
        /// when there is none, wrong PIN, change PIN). Asks first.
        #[arg(long)]
        destructive: bool,
        /// With --destructive: do not ask.
        #[arg(long, requires = "destructive")]
        yes: bool,
    },
    /// Make a key blink (CTAPHID WINK).
    Wink {
        #[command(flatten)]
        key: KeyArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Set or change a key's PIN, or show its retries.
    Pin {
        /// set, change or retries.
        #[arg(value_parser = ["set", "change", "retries"])]
        action: String,
        #[command(flatten)]
        key: KeyArgs,
        /// The new PIN (set, change); asked for when absent. Visible to
        /// other processes on the command line: prefer the prompt.
        #[arg(long)]
        new_pin: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List a key's discoverable credentials, or delete one.
    Credentials {
        /// list or delete.
        #[arg(value_parser = ["list", "delete"])]
        action: String,
        #[command(flatten)]
        key: KeyArgs,
        /// The credential to delete (base64url, as `list` shows it).
        #[arg(long, required_if_eq("action", "delete"))]
        id: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Change a key's settings (authenticatorConfig): enterprise
    /// attestation, alwaysUv, minimum PIN length, forced PIN change.
    Config {
        #[command(subcommand)]
        command: crate::config::ConfigCommand,
    },
    /// Each discoverable credential's large blob: list, read, write, delete.
    LargeBlobs(crate::large_blobs::LargeBlobsArgs),
    /// The key's fingerprints (bioEnrollment): enroll, list, rename, delete.
    Bio(crate::bio::BioArgs),
    /// Reset a key: deletes every credential and the PIN. Keys allow it only
    /// within about 10 seconds of being plugged in, and need a touch.
    Reset {
        #[command(flatten)]
        key: KeyArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Register a credential on a key (prints RegistrationResponseJSON).
    Register(RegisterArgs),
    /// Authenticate with a key (prints AuthenticationResponseJSON).
    Authenticate(AuthenticateArgs),
    /// Compare algorithms on a key: per algorithm and ceremony over N
    /// rounds, time on the key (touch wait apart), on the wire and in
    /// relying-party verification, bytes and HID reports each way, and the
    /// sizes of public key, signature, authenticatorData and attestation
    /// object (median and p95). Credentials are non-discoverable, for the
    /// RP ID lab.keybench.test: nothing stays on the key.
    Compare(CompareArgs),
    /// Run the local relying party and the web UI (prints the address to open).
    Serve(ServeArgs),
    /// Verify any relying party's registration or authentication step by
    /// step (WebAuthn L3 §7.1/§7.2): every step passed, failed or not
    /// checkable, with the specification's sentence and the values compared.
    /// Exits nonzero when a step fails.
    Verify(crate::verify::VerifyArgs),
    /// Decode a WebAuthn or CBOR structure given as hex or base64url (stdin if omitted).
    Decode {
        /// What the input is.
        #[arg(value_enum)]
        kind: DecodeKind,
        /// The input; read from standard input when absent.
        input: Option<String>,
        /// Print the annotated JSON tree (every field with its name, raw
        /// value and meaning, as the web UI's decoder shows it) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check this machine for what Keybench needs: access to each FIDO
    /// key's /dev/hidraw node (and the udev rule that grants it), /dev/uhid
    /// for virtual keys, the PC/SC service and its readers, the OS keyring,
    /// the data directory (0700, writable, free space), the storage bucket
    /// (credentials, writable, clock skew), the desktop's web view
    /// (WebKitGTK) and the port. Each check prints its status (ok, warn,
    /// fail, skip), what it saw and the command that fixes it. Exits 1 when
    /// a check failed.
    Doctor(DoctorArgs),
}

/// `keybench doctor`'s settings: those `keybench serve` would run with.
#[derive(Debug, clap::Args)]
struct DoctorArgs {
    /// The address `keybench serve` would listen on.
    #[arg(long, default_value = "127.0.0.1:8765")]
    listen: std::net::SocketAddr,
    /// The data directory (default: the one `keybench serve` uses).
    #[arg(long)]
    data_dir: Option<std::path::PathBuf>,
    #[command(flatten)]
    storage: StorageArgs,
    /// Leave the OS keyring out (as `keybench serve --no-keyring`).
    #[arg(long)]
    no_keyring: bool,
    /// Print the checks as JSON instead of the table.
    #[arg(long)]
    json: bool,
}

/// Where sessions and accounts are stored (`serve`, `doctor`).
#[derive(Debug, clap::Args)]
struct StorageArgs {
    /// Storage backend.
    #[arg(long, value_enum, default_value_t = StorageKind::Local)]
    storage: StorageKind,
    /// Bucket (gcs, s3).
    #[arg(long, required_if_eq_any([("storage", "gcs"), ("storage", "s3")]))]
    bucket: Option<String>,
    /// GCS service-account key file (JSON); default: the file named by
    /// GOOGLE_APPLICATION_CREDENTIALS, else the machine's default credentials.
    #[arg(long = "gcs-key")]
    gcs_key: Option<std::path::PathBuf>,
    /// S3 region.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// S3-compatible endpoint URL (plain http:// only for such an explicit
    /// endpoint, e.g. a local MinIO or moto).
    #[arg(long)]
    endpoint: Option<String>,
}

impl StorageArgs {
    /// The server's storage choice.
    fn choice(self) -> Result<keybench_server::StorageChoice> {
        let StorageArgs {
            storage,
            bucket,
            gcs_key,
            region,
            endpoint,
        } = self;
        Ok(match storage {
            StorageKind::Local => keybench_server::StorageChoice::Local,
            StorageKind::Files => keybench_server::StorageChoice::Files,
            StorageKind::Gcs => keybench_server::StorageChoice::Gcs {
                bucket: bucket.unwrap_or_default(),
                service_account_key: gcs_service_account_key(gcs_key)?,
            },
            StorageKind::S3 => keybench_server::StorageChoice::S3 {
                bucket: bucket.unwrap_or_default(),
                region,
                endpoint,
            },
        })
    }
}

/// `keybench mds` subcommands.
#[derive(Debug, Subcommand)]
pub enum MdsCommand {
    /// Verify a BLOB file (with the CRLs of its signing path) and make it
    /// the data directory's metadata, if newer than the cached one.
    Install {
        /// The BLOB (a JWT as https://mds3.fidoalliance.org/ serves it).
        file: std::path::PathBuf,
        #[command(flatten)]
        common: MdsArgs,
    },
    /// Download the BLOB and its signing path's CRLs, then install them
    /// (never over a valid newer cache).
    Fetch {
        /// Where to download from.
        #[arg(long, default_value = relying_party::mds::MDS3_URL)]
        url: String,
        #[command(flatten)]
        common: MdsArgs,
    },
    /// Show the metadata in force, or one model's card.
    Show {
        /// An AAGUID (8-4-4-4-12 or 32 hex digits).
        aaguid: Option<String>,
        #[command(flatten)]
        common: MdsArgs,
    },
    /// Check a BLOB file without installing it: every refusal by name, and
    /// which CRLs its signing path needs.
    Verify {
        /// The BLOB.
        file: std::path::PathBuf,
        /// Verify as of this date (YYYY-MM-DD) instead of now.
        #[arg(long)]
        at: Option<String>,
        #[command(flatten)]
        common: MdsArgs,
    },
}

/// What every `keybench mds` subcommand takes.
#[derive(Debug, clap::Args)]
pub struct MdsArgs {
    /// The data directory (default: the one `keybench serve` uses).
    #[arg(long)]
    pub(crate) data_dir: Option<std::path::PathBuf>,
    /// A CRL (DER) for the BLOB's signing path (repeatable).
    #[arg(long = "crl")]
    pub(crate) crls: Vec<std::path::PathBuf>,
    /// A root certificate replacing the bundled FIDO root (a private
    /// metadata service).
    #[arg(long)]
    pub(crate) root: Option<std::path::PathBuf>,
    /// The name the signing certificate must be issued to (with --root).
    #[arg(long, requires = "root")]
    pub(crate) signer: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

impl MdsArgs {
    pub(crate) fn signer(&self) -> key_ops::metadata::SignerChoice {
        key_ops::metadata::SignerChoice {
            root: self.root.clone(),
            signer: self.signer.clone(),
        }
    }

    pub(crate) fn data_dir(&self) -> Result<std::path::PathBuf> {
        self.data_dir.clone().map_or_else(default_data_dir, Ok)
    }
}

/// `keybench register`'s arguments.
#[derive(Debug, clap::Args)]
struct RegisterArgs {
    #[command(flatten)]
    key: KeyArgs,
    #[command(flatten)]
    ceremony: CeremonyArgs,
    /// The user name (with Keybench's own options).
    #[arg(long, default_value = "alice")]
    user: String,
    /// Algorithms offered, preferred first (with Keybench's own options).
    #[arg(long, value_delimiter = ',', default_value = "ML-DSA-65,EdDSA,ES256")]
    algorithms: Vec<String>,
    /// Make a discoverable credential.
    #[arg(long)]
    resident_key: bool,
    /// Also ask for a previewSign signing key (the sign extension) for the
    /// first of these the key offers: ESP256, ES256, ESP256-split,
    /// ESP256-split-ARKG, ML-DSA-44/65/87 or COSE numbers. The response's
    /// clientExtensionResults.previewSign.generatedKey holds its key handle
    /// and public key.
    #[arg(long, value_delimiter = ',', conflicts_with = "server")]
    sign_algorithms: Vec<String>,
}

/// `keybench authenticate`'s arguments.
#[derive(Debug, clap::Args)]
struct AuthenticateArgs {
    #[command(flatten)]
    key: KeyArgs,
    #[command(flatten)]
    ceremony: CeremonyArgs,
    /// Credential id to allow (base64url); without it, a discoverable login.
    #[arg(long)]
    credential: Option<String>,
    /// With --server: the user to sign in (without it, a discoverable login).
    #[arg(long)]
    user: Option<String>,
    /// previewSign (the sign extension): sign --sign-data with the signing
    /// key this key handle (base64url, from the registration) names; needs
    /// --credential. The signature is in the response's
    /// clientExtensionResults.previewSign.signature.
    #[arg(long, requires_all = ["sign_data", "credential"], conflicts_with = "server")]
    sign_key_handle: Option<String>,
    /// previewSign: the data to sign, base64url (a SHA-256 digest for the
    /// split algorithms).
    #[arg(long, requires = "sign_key_handle")]
    sign_data: Option<String>,
    /// previewSign: the algorithm's additional arguments, base64url CBOR
    /// (ESP256-split-ARKG's COSE_Sign_Args).
    #[arg(long, requires = "sign_key_handle")]
    sign_args: Option<String>,
}

/// `keybench compare`'s arguments.
#[derive(Debug, clap::Args)]
struct CompareArgs {
    #[command(flatten)]
    key: KeyArgs,
    /// Algorithms to compare, in this order (names or COSE ids).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "ML-DSA-87,ML-DSA-65,ML-DSA-44,EdDSA,ES256"
    )]
    algorithms: Vec<String>,
    /// Rounds per algorithm (each a registration and an authentication).
    #[arg(long, default_value_t = key_lab::compare::DEFAULT_ROUNDS)]
    rounds: u32,
    /// Print the report as JSON instead of the table.
    #[arg(long)]
    json: bool,
    /// Also write the report: this file gets the HTML page (charts
    /// inline, no external resources), the same name ending in .json
    /// the JSON.
    #[arg(long)]
    report: Option<std::path::PathBuf>,
    /// Metadata naming the key's model in the report when the FIDO
    /// metadata in force (`keybench mds install`) has no entry for it: a
    /// metadata statement, BLOB entries or a BLOB payload's JSON (not
    /// verified: the report says the name is as given).
    #[arg(long)]
    metadata: Option<std::path::PathBuf>,
    /// The data directory whose FIDO metadata names the key's model
    /// (default: the one `keybench serve` uses).
    #[arg(long)]
    data_dir: Option<std::path::PathBuf>,
}

/// `keybench serve`'s settings.
#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8765")]
    listen: std::net::SocketAddr,
    /// Where sessions, accounts and the key file live.
    #[arg(long)]
    data_dir: Option<std::path::PathBuf>,
    /// RP ID.
    #[arg(long, default_value = "localhost")]
    rp_id: String,
    /// Another origin the relying party serves (repeatable), e.g. behind a proxy.
    #[arg(long = "origin")]
    origins: Vec<String>,
    /// A proxy whose X-Forwarded-Proto is believed (repeatable).
    #[arg(long = "trusted-proxy")]
    trusted_proxies: Vec<std::net::IpAddr>,
    #[command(flatten)]
    storage: StorageArgs,
    /// With a bucket: seconds the local fallback serves after an outage
    /// before the bucket is tried again.
    #[arg(long, default_value_t = 60)]
    storage_retry_secs: u64,
    /// Attestation trust anchor certificates (PEM or DER files, repeatable).
    #[arg(long = "trust-anchor")]
    trust_anchors: Vec<std::path::PathBuf>,
    /// CRLs (DER files, repeatable) that attestation paths naming CRL
    /// distribution points are checked against (with those in the metadata
    /// cache); a certificate whose CRL is missing is reported not trusted.
    #[arg(long = "crl")]
    crls: Vec<std::path::PathBuf>,
    /// Do not use the OS keyring for the secret key (use the key file).
    #[arg(long)]
    no_keyring: bool,
    /// A FIDO metadata BLOB to verify and install in the data directory
    /// before starting (the cached one is used without it).
    #[arg(long)]
    mds: Option<std::path::PathBuf>,
    /// A CRL (DER) for the BLOB's signing path (repeatable).
    #[arg(long = "mds-crl", requires = "mds")]
    mds_crls: Vec<std::path::PathBuf>,
    /// A root certificate replacing the bundled FIDO root for BLOBs.
    #[arg(long)]
    mds_root: Option<std::path::PathBuf>,
    /// The name the BLOB's signing certificate must be issued to (with --mds-root).
    #[arg(long, requires = "mds_root")]
    mds_signer: Option<String>,
    /// Download a fresh BLOB and its CRLs in the background after start-up
    /// and daily (default URL: the FIDO Alliance's); start-up never waits,
    /// and a download that does not verify never replaces the cache.
    #[arg(long, num_args = 0..=1, default_missing_value = relying_party::mds::MDS3_URL)]
    mds_refresh: Option<String>,
    /// Print the start-up line as one JSON object ({"url", "address"}).
    #[arg(long)]
    json: bool,
}

/// Which key, and how to record its traffic.
#[derive(Debug, clap::Args)]
pub(crate) struct KeyArgs {
    /// The key: a number or path from `keybench devices`, pcsc:READER for a
    /// card on a smart-card or NFC reader (its name or a unique part of it),
    /// or udp:HOST:PORT for a virtual key; the only USB key plugged in when
    /// absent.
    device: Option<String>,
    /// The PIN (else KEYBENCH_PIN, else asked for when needed). A PIN on the
    /// command line is visible to other processes (ps, /proc): prefer the
    /// prompt or KEYBENCH_PIN.
    #[arg(long, global = true)]
    pub(crate) pin: Option<String>,
    /// Append every CTAPHID frame or APDU and CTAP2 message (secrets
    /// redacted) to this file as JSON lines.
    #[arg(long)]
    record: Option<std::path::PathBuf>,
    /// Print the traffic (secrets redacted) on standard error as it happens.
    #[arg(long)]
    traffic: bool,
}

/// A WebAuthn ceremony's inputs.
#[derive(Debug, clap::Args)]
struct CeremonyArgs {
    /// The relying party's options JSON (bare, or as {"publicKey": …});
    /// without it Keybench makes its own.
    #[arg(long)]
    options: Option<std::path::PathBuf>,
    /// The origin the client reports in clientDataJSON.
    #[arg(long, default_value = "https://localhost")]
    origin: String,
    /// RP ID for Keybench's own options.
    #[arg(long, default_value = "localhost")]
    rp_id: String,
    /// userVerification for Keybench's own options.
    #[arg(long, default_value = "preferred", value_parser = ["required", "preferred", "discouraged"])]
    uv: String,
    /// Run the ceremony against the bundled relying party at this address
    /// (`keybench serve` prints it, e.g. http://localhost:8765): its options,
    /// its verification, its verdict.
    #[arg(long, conflicts_with = "options")]
    server: Option<String>,
    /// Print JSON (the response or the verdict is JSON already; errors
    /// become JSON too).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum VirtualKeyCommand {
    /// Serve the key until interrupted. One UDP datagram carries one 64-byte
    /// CTAPHID report, both ways, so any client with a UDP transport can use it.
    ///
    /// Over UDP the key serves one client at a time: the first address that
    /// writes to it is bound until nothing has passed between them for
    /// --client-idle seconds, and every other sender is answered
    /// ERR_CHANNEL_BUSY meanwhile (Keybench's client retries for 3 s), so no
    /// other process can take its answers or slip requests into its session.
    /// An idle key still answers any local process: with --presence approve
    /// any program on this machine can register and sign with it; use
    /// --presence ask when that matters.
    Serve {
        /// Address to listen on (port 0 picks a free one; the address is printed).
        #[arg(long, default_value = "127.0.0.1:8111", conflicts_with = "uhid")]
        udp: std::net::SocketAddr,
        /// Seconds the UDP key stays bound to a silent client before another
        /// may use it.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=3600), conflicts_with = "uhid")]
        client_idle: u64,
        /// Become a real HID security key through /dev/uhid (Linux) instead of UDP.
        #[arg(long)]
        uhid: bool,
        /// Become a contactless FIDO card on a virtual smart-card reader
        /// instead: connect to vsmartcard's vpcd (loaded by pcscd; Debian
        /// package vsmartcard-vpcd) at this address, so every PC/SC client
        /// (Keybench, python-fido2, libfido2) sees the card on the reader
        /// "Virtual PCD 00 00".
        #[arg(long, num_args = 0..=1, default_missing_value = "127.0.0.1:35963", conflicts_with = "uhid")]
        pcsc: Option<std::net::SocketAddr>,
        /// With --pcsc: refuse extended APDUs, as a reader without them does,
        /// so clients chain commands and responses.
        #[arg(long, requires = "pcsc")]
        short_apdus_only: bool,
        /// With --pcsc: at most this many response bytes per APDU (a reader's
        /// buffer); longer answers are chained through 61xx and GET RESPONSE.
        #[arg(long, requires = "pcsc", value_parser = clap::value_parser!(u32).range(16..=65536))]
        max_response: Option<u32>,
        /// How the virtual user answers requests for presence.
        #[arg(long, value_enum, default_value_t = Presence::Approve)]
        presence: Presence,
        /// Algorithms offered, preferred first (names or COSE ids).
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "ML-DSA-87,ML-DSA-65,ML-DSA-44,EdDSA,ES256,ES384,ES512,RS256,PS256,ES256K"
        )]
        algorithms: Vec<String>,
        /// Attestation produced on registration.
        #[arg(long, value_enum, default_value_t = Attestation::PackedSelf)]
        attestation: Attestation,
        /// Keep credentials, PIN and settings in this file (mode 0600, written
        /// atomically); without it the key forgets everything when it stops.
        #[arg(long)]
        state: Option<std::path::PathBuf>,
        /// An RP ID that gets vendor-facilitated enterprise attestation once
        /// it is enabled (keybench config enable-enterprise-attestation);
        /// repeatable; kept in the state file.
        #[arg(long = "enterprise-rp", value_name = "RP_ID")]
        enterprise_rp: Vec<String>,
        /// Give the key a fingerprint sensor (built-in user verification,
        /// bioEnrollment): each sample and each match is answered by the
        /// presence policy. Enrolled fingers are kept in the state file.
        #[arg(long)]
        fingerprint: bool,
        /// Print the start-up line as one JSON object (transport, address,
        /// attestation root) and presence requests as JSON lines.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Presence {
    /// Touch at once.
    Approve,
    /// Never touch.
    Deny,
    /// Touch after two seconds (UP_NEEDED is reported meanwhile).
    Delay,
    /// Ask on this terminal: answer y to touch, anything else to refuse.
    Ask,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Attestation {
    /// fmt "none".
    None,
    /// fmt "packed", self attestation.
    PackedSelf,
    /// fmt "packed" with an ES256 batch certificate (x5c) chaining to a
    /// generated root; keeps ML-DSA-87 registrations small.
    PackedBasic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StorageKind {
    /// One embedded database file in the data directory (the default, fastest).
    Local,
    /// One file per item under the data directory (slower; readable with ls and cat).
    Files,
    /// Google Cloud Storage (falls back to local when unreachable).
    Gcs,
    /// Amazon S3 or compatible (falls back to local when unreachable);
    /// credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and
    /// AWS_SESSION_TOKEN).
    S3,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DecodeKind {
    /// Any CBOR item, printed in diagnostic notation.
    Cbor,
    /// An attestation object.
    AttestationObject,
    /// Authenticator data.
    AuthData,
    /// clientDataJSON.
    ClientData,
}

/// Runs the parsed command.
pub fn run(args: Args) -> Result<()> {
    let serving = matches!(args.command, Some(Command::Serve(_)));
    keybench_server::logging::init(
        &keybench_server::logging::LogSettings {
            format: match args.log_format {
                LogFormatArg::Pretty => keybench_server::logging::LogFormat::Pretty,
                LogFormatArg::Json => keybench_server::logging::LogFormat::Json,
            },
            filter: args.log_filter.clone(),
            file: None,
        },
        if serving { "info" } else { "warn" },
    )
    .map_err(|e| anyhow::anyhow!(e))?;
    match args.command {
        None => {
            println!(
                "keybench {}: no subcommand given; `keybench --help` lists them.",
                env!("CARGO_PKG_VERSION")
            );
            Ok(())
        }
        Some(Command::Algorithms { json }) => {
            algorithms(json);
            Ok(())
        }
        Some(Command::Decode { kind, input, json }) => decode(kind, input, json),
        Some(Command::Doctor(args)) => doctor(args),
        Some(Command::Verify(args)) => crate::verify::run(&args),
        Some(Command::Serve(args)) => {
            let json = args.json;
            serve(server_config(args)?, json)
        }
        Some(Command::Devices { json, watch }) => crate::keys::devices(json, watch),
        Some(Command::Info {
            key,
            json,
            data_dir,
        }) => {
            let data_dir = data_dir.map_or_else(default_data_dir, Ok)?;
            let metadata = key_ops::metadata::load(&data_dir, &Default::default())?;
            crate::keys::info(&mut open_key(&key)?, &metadata, json)
        }
        Some(Command::Mds { command }) => crate::mds::run(command),
        Some(Command::Probe {
            key,
            json,
            report,
            destructive,
            yes,
        }) => crate::probe::run(
            &mut open_key(&key)?,
            &crate::probe::ProbeArgs {
                json,
                report,
                destructive,
                yes,
                pin: key.pin.clone(),
                key_name: key.device.clone(),
                metadata: default_data_dir()
                    .ok()
                    .and_then(|d| key_ops::metadata::load(&d, &Default::default()).ok()),
            },
        ),
        Some(Command::Wink { key, json }) => {
            open_key(&key)?.wink()?;
            crate::keys::done("the key blinks", "wink", json);
            Ok(())
        }
        Some(Command::Pin {
            action,
            key,
            new_pin,
            json,
        }) => {
            if new_pin.is_some() {
                warn_visible("--new-pin");
            }
            crate::keys::pin(
                &mut open_key(&key)?,
                &action,
                key.pin.clone(),
                new_pin,
                json,
            )
        }
        Some(Command::Credentials {
            action,
            key,
            id,
            json,
        }) => crate::keys::credentials(
            &mut open_key(&key)?,
            (action == "delete").then_some(id.as_deref()).flatten(),
            key.pin.clone(),
            json,
        ),
        Some(Command::Config { command }) => crate::config::run(command),
        Some(Command::LargeBlobs(args)) => crate::large_blobs::run(args),
        Some(Command::Bio(args)) => crate::bio::run(args),
        Some(Command::Reset { key, json }) => crate::keys::reset(&mut open_key(&key)?, json),
        Some(Command::Register(args)) => register(args),
        Some(Command::Authenticate(args)) => authenticate(args),
        Some(Command::Compare(args)) => compare(args),
        Some(Command::VirtualKey {
            command:
                VirtualKeyCommand::Serve {
                    udp,
                    client_idle,
                    uhid,
                    pcsc,
                    short_apdus_only,
                    max_response,
                    presence,
                    algorithms,
                    attestation,
                    state,
                    enterprise_rp,
                    fingerprint,
                    json,
                },
        }) => serve_virtual_key(
            match (uhid, pcsc) {
                (true, _) => Listen::Uhid,
                (false, Some(reader)) => Listen::Pcsc(
                    reader,
                    virtual_authenticator::nfc::AppletOptions {
                        short_only: short_apdus_only,
                        max_response: max_response.map_or(
                            virtual_authenticator::nfc::EXTENDED_MAX_NE,
                            |m| {
                                usize::try_from(m)
                                    .unwrap_or(virtual_authenticator::nfc::EXTENDED_MAX_NE)
                            },
                        ),
                        ..virtual_authenticator::nfc::AppletOptions::default()
                    },
                ),
                (false, None) => Listen::Udp(udp, std::time::Duration::from_secs(client_idle)),
            },
            presence,
            &algorithms,
            attestation,
            state,
            enterprise_rp,
            fingerprint,
            json,
        ),
    }
}

/// `keybench algorithms`.
fn algorithms(json: bool) {
    if json {
        let list: Vec<_> = CoseAlgorithm::KNOWN
            .iter()
            .map(|a| serde_json::json!({ "alg": a.0, "name": a.name() }))
            .collect();
        println!("{}", serde_json::Value::Array(list));
    } else {
        for alg in CoseAlgorithm::KNOWN {
            println!("{:>5}  {}", alg.0, alg.name().unwrap_or("?"));
        }
    }
}

/// `keybench register`: against the bundled relying party, or with a
/// relying party's options (or Keybench's own).
fn register(args: RegisterArgs) -> Result<()> {
    let RegisterArgs {
        key,
        ceremony,
        user,
        algorithms,
        resident_key,
        sign_algorithms,
    } = args;
    if let Some(server) = &ceremony.server {
        return crate::keys::with_server(
            &mut open_key(&key)?,
            server,
            true,
            Some(&user),
            key.pin.clone(),
        );
    }
    let algorithms = parse_algorithms(&algorithms)?;
    let mut options = crate::keys::creation_options(
        ceremony.options.as_deref(),
        &ceremony.rp_id,
        &user,
        &algorithms,
        resident_key,
        &ceremony.uv,
    )?;
    if !sign_algorithms.is_empty() {
        let sign_algorithms = sign_algorithms
            .iter()
            .map(|a| key_ops::options::sign_algorithm(a))
            .collect::<Result<Vec<_>, _>>()?;
        key_ops::options::request_sign_key(&mut options, &sign_algorithms);
    }
    crate::keys::register(
        &mut open_key(&key)?,
        &options,
        &ceremony.origin,
        key.pin.clone(),
    )
}

/// `keybench authenticate`: the same for a sign-in.
fn authenticate(args: AuthenticateArgs) -> Result<()> {
    let AuthenticateArgs {
        key,
        ceremony,
        credential,
        user,
        sign_key_handle,
        sign_data,
        sign_args,
    } = args;
    if let Some(server) = &ceremony.server {
        return crate::keys::with_server(
            &mut open_key(&key)?,
            server,
            false,
            user.as_deref(),
            key.pin.clone(),
        );
    }
    let mut options = crate::keys::request_options(
        ceremony.options.as_deref(),
        &ceremony.rp_id,
        credential.as_deref(),
        &ceremony.uv,
    )?;
    if let (Some(key_handle), Some(data)) = (&sign_key_handle, &sign_data) {
        let decode = |what: &str, v: &str| {
            fido_wire::webauthn::base64url::decode(v)
                .map_err(|e| anyhow::anyhow!("{what} is not base64url: {e}"))
        };
        let args = sign_args
            .as_deref()
            .map(|a| decode("--sign-args", a))
            .transpose()?;
        key_ops::options::request_signature(
            &mut options,
            &decode("--sign-key-handle", key_handle)?,
            &decode("--sign-data", data)?,
            args.as_deref(),
        )?;
    }
    crate::keys::authenticate(
        &mut open_key(&key)?,
        &options,
        &ceremony.origin,
        key.pin.clone(),
    )
}

/// `keybench compare`: the key lab's comparison, its model named by the
/// metadata in force or the file given.
fn compare(args: CompareArgs) -> Result<()> {
    let CompareArgs {
        key,
        algorithms,
        rounds,
        json,
        report,
        metadata,
        data_dir,
    } = args;
    let given = match &metadata {
        Some(path) => crate::lab::read_metadata(path)?,
        None => Vec::new(),
    };
    let data_dir = data_dir.map_or_else(default_data_dir, Ok)?;
    let mds = key_ops::metadata::load(&data_dir, &Default::default())?;
    let settings = key_lab::compare::CompareSettings {
        algorithms: parse_algorithms(&algorithms)?,
        rounds,
    };
    key_lab::compare::check(&settings)?;
    crate::lab::compare(
        &mut open_key(&key)?,
        key.device.as_deref(),
        &settings,
        key.pin.clone(),
        json,
        report.as_deref(),
        key_lab::report::ModelSources {
            mds: Some(&mds),
            given: &given,
        },
    )
}

fn parse_algorithms(names: &[String]) -> Result<Vec<CoseAlgorithm>> {
    names.iter().map(|a| parse_algorithm(a)).collect()
}

/// The server's settings from `keybench serve`'s arguments.
fn server_config(args: ServeArgs) -> Result<keybench_server::ServerConfig> {
    let ServeArgs {
        listen,
        data_dir,
        rp_id,
        origins,
        trusted_proxies,
        storage,
        storage_retry_secs,
        trust_anchors,
        crls,
        no_keyring,
        mds,
        mds_crls,
        mds_root,
        mds_signer,
        mds_refresh,
        json: _,
    } = args;
    let data_dir = match data_dir {
        Some(d) => d,
        None => default_data_dir()?,
    };
    let mut config = keybench_server::ServerConfig::local(listen, data_dir);
    config.rp_id = rp_id;
    config.extra_origins = origins;
    config.trusted_proxies = trusted_proxies;
    config.no_keyring = no_keyring;
    config.storage_retry = std::time::Duration::from_secs(storage_retry_secs);
    config.storage = storage.choice()?;
    config.mds = keybench_server::metadata::MdsSettings {
        file: mds,
        crl_files: mds_crls,
        refresh_url: mds_refresh,
        trust: if mds_root.is_some() {
            Some(
                key_ops::metadata::SignerChoice {
                    root: mds_root,
                    signer: mds_signer,
                }
                .blob_trust()?,
            )
        } else {
            None
        },
    };
    for path in crls {
        config
            .crls
            .push(std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?);
    }
    for path in trust_anchors {
        config
            .trust_anchors
            .push(key_ops::files::read_certificate(&path)?);
    }
    Ok(config)
}

/// Where `keybench serve` keeps its data unless told otherwise.
pub fn default_data_dir() -> Result<std::path::PathBuf> {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME") {
        return Ok(std::path::PathBuf::from(d).join("keybench"));
    }
    let home = std::env::var_os("HOME").context("HOME is not set; pass --data-dir")?;
    Ok(std::path::PathBuf::from(home).join(".local/share/keybench"))
}

/// The GCS service-account key: `--gcs-key`, else GOOGLE_APPLICATION_CREDENTIALS,
/// else none (the machine's default credentials). Errors name the file, never
/// its contents.
fn gcs_service_account_key(flag: Option<std::path::PathBuf>) -> Result<Option<String>> {
    let Some(path) = flag.or_else(|| {
        std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS").map(std::path::PathBuf::from)
    }) else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading the GCS key file {}", path.display()))?;
    anyhow::ensure!(
        serde_json::from_str::<serde_json::Value>(&text).is_ok_and(|v| v.is_object()),
        "the GCS key file {} is not a JSON object",
        path.display()
    );
    Ok(Some(text))
}

/// `keybench serve`: runs until Ctrl-C or SIGTERM, then shuts down
/// gracefully (requests in flight finish their storage writes).
fn serve(config: keybench_server::ServerConfig, json: bool) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let running = keybench_server::start(config).await?;
        if json {
            println!(
                "{}",
                serde_json::json!({ "url": running.url, "address": running.addr.to_string() })
            );
        } else {
            println!("Keybench is running: open {}", running.url);
            println!(
                "(the address carries this launch's secret for the session-security dashboard)"
            );
        }
        let stop = async {
            #[cfg(unix)]
            {
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                        .context("installing the SIGTERM handler")?;
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            #[cfg(not(unix))]
            tokio::signal::ctrl_c()
                .await
                .context("waiting for Ctrl-C")?;
            anyhow::Ok(())
        };
        stop.await?;
        eprintln!("keybench: shutting down");
        running.shutdown().await;
        anyhow::Ok(())
    })
}

/// Opens the key `args` names, with its recorder wired to the file or
/// standard error as asked.
pub(crate) fn open_key(args: &KeyArgs) -> Result<key_ops::AnyDevice> {
    if args.pin.is_some() {
        warn_visible("--pin");
    }
    let recorder = ctap_client::Recorder::default();
    if let Some(path) = &args.record {
        recorder
            .write_to(path)
            .with_context(|| format!("opening {}", path.display()))?;
    }
    if args.traffic {
        let feed = recorder.subscribe();
        std::thread::spawn(move || {
            for event in feed {
                if let Ok(line) = serde_json::to_string(&event) {
                    eprintln!("{line}");
                }
            }
        });
    }
    crate::keys::open(args.device.as_deref(), recorder)
}

/// A secret given as an argument sits in the process list for the whole run.
fn warn_visible(flag: &str) {
    eprintln!(
        "keybench: warning: a PIN given with {flag} is visible to other processes \
         (ps, /proc/PID/cmdline); leave it out to be asked, or set KEYBENCH_PIN"
    );
}

fn parse_algorithm(name: &str) -> Result<CoseAlgorithm> {
    Ok(key_ops::algorithms::parse_algorithm(name)?)
}

enum Listen {
    /// The address, and how long a silent client stays bound.
    Udp(std::net::SocketAddr, std::time::Duration),
    Uhid,
    /// vpcd's address, and the reader limits to emulate.
    Pcsc(
        std::net::SocketAddr,
        virtual_authenticator::nfc::AppletOptions,
    ),
}

// The `virtual-key serve` options, one argument each, as clap parsed them.
#[allow(clippy::too_many_arguments)]
fn serve_virtual_key(
    listen: Listen,
    presence: Presence,
    algorithms: &[String],
    attestation: Attestation,
    state: Option<std::path::PathBuf>,
    enterprise_rp_ids: Vec<String>,
    fingerprint: bool,
    json: bool,
) -> Result<()> {
    use virtual_authenticator::{AttestationMode, StateStore};
    let algorithms = algorithms
        .iter()
        .map(|a| key_ops::algorithms::virtual_key_algorithm(a))
        .collect::<Result<Vec<_>, _>>()?;
    let presence = match presence {
        Presence::Approve => key_ops::virtual_key::Presence::Approve,
        Presence::Deny => key_ops::virtual_key::Presence::Deny,
        Presence::Delay => key_ops::virtual_key::Presence::Delay,
        Presence::Ask => key_ops::virtual_key::Presence::Ask,
    };
    let attestation = match attestation {
        Attestation::None => AttestationMode::None,
        Attestation::PackedSelf => AttestationMode::PackedSelf,
        Attestation::PackedBasic => AttestationMode::PackedBasic,
    };
    let mut authenticator = key_ops::virtual_key::build_with_enterprise_rp_ids(
        algorithms,
        presence.policy(move || terminal_prompt(json)),
        attestation,
        state.map_or(StateStore::Memory, StateStore::File),
        enterprise_rp_ids,
    )?;
    authenticator.set_fingerprint_sensor(fingerprint);
    let root = authenticator
        .attestation_root()
        .map(|root| pem("CERTIFICATE", root));
    if let (Some(root), false) = (&root, json) {
        println!("attestation root (install as a trust anchor to trust this key):\n{root}");
    }
    let enterprise_root = authenticator
        .enterprise_attestation_root()
        .map(|root| pem("CERTIFICATE", root));
    if let (Some(root), false) = (&enterprise_root, json) {
        println!("enterprise attestation root (this device's own chain):\n{root}");
    }
    // Under --json the start-up line is one object: where the key is and
    // its attestation root.
    let started = |fields: serde_json::Value| {
        let mut line = fields;
        if let Some(obj) = line.as_object_mut() {
            obj.insert("attestationRoot".into(), serde_json::json!(root));
            obj.insert(
                "enterpriseAttestationRoot".into(),
                serde_json::json!(enterprise_root),
            );
        }
        println!("{line}");
    };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let transport: Box<dyn ctaphid::ReportTransport> = match listen {
        Listen::Pcsc(reader, options) if json => {
            started(serde_json::json!({
                "transport": "pcsc",
                "vpcd": reader.to_string(),
                "shortApdusOnly": options.short_only,
                "maxResponse": options.max_response,
            }));
            virtual_authenticator::nfc::serve_vpcd(
                reader,
                virtual_authenticator::SharedAuthenticator::new(authenticator),
                options,
                stop,
            )?;
            return Ok(());
        }
        Listen::Pcsc(reader, options) => {
            println!(
                "virtual key on the virtual smart-card reader at {reader} (vpcd): a contactless \
                 FIDO card for PC/SC clients{}{}",
                if options.short_only {
                    "; short APDUs only"
                } else {
                    ""
                },
                if options.max_response < virtual_authenticator::nfc::EXTENDED_MAX_NE {
                    format!("; at most {} response bytes per APDU", options.max_response)
                } else {
                    String::new()
                }
            );
            virtual_authenticator::nfc::serve_vpcd(
                reader,
                virtual_authenticator::SharedAuthenticator::new(authenticator),
                options,
                stop,
            )?;
            return Ok(());
        }
        Listen::Udp(udp, idle) => {
            let transport = ctaphid::UdpReports::listen_with_idle(udp, idle)
                .with_context(|| format!("listening on udp {udp}"))?;
            let addr = transport.local_addr()?;
            if json {
                started(serde_json::json!({
                    "transport": "udp",
                    "address": addr.to_string(),
                    "clientIdleSecs": idle.as_secs(),
                }));
            } else {
                println!(
                    "virtual key listening on udp {addr} (one datagram = one 64-byte CTAPHID report; \
                     one client at a time, released after {} s idle)",
                    idle.as_secs()
                );
            }
            Box::new(transport)
        }
        Listen::Uhid => {
            let transport = uhid_transport()?;
            if json {
                started(serde_json::json!({ "transport": "uhid", "device": "/dev/uhid" }));
            } else {
                println!(
                    "virtual key created through /dev/uhid: it appears as a /dev/hidraw device"
                );
            }
            transport
        }
    };
    ctaphid::serve::serve(
        transport,
        key_ops::virtual_key::IDENTITY,
        authenticator,
        stop,
    )?;
    Ok(())
}

/// A presence prompt on this terminal: each request is printed (a JSON
/// line under `--json`), and the next line typed answers it (y touches).
fn terminal_prompt(json: bool) -> std::sync::Arc<dyn virtual_authenticator::PresencePrompt> {
    use virtual_authenticator::{PresenceRequest, PresenceResponder};
    let (tx, rx) = std::sync::mpsc::channel::<(PresenceRequest, PresenceResponder)>();
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        for (request, responder) in rx {
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "event": "touchRequested",
                        "operation": request.operation,
                        "rpId": request.rp_id,
                        "fingerprint": request.fingerprint.map(|f| f.instruction()),
                    })
                );
            } else if let Some(finger) = request.fingerprint {
                println!(
                    "{} for {} — type y and Enter to touch, anything else to refuse",
                    finger.instruction(),
                    request.operation
                );
            } else {
                println!(
                    "touch requested for {}{} — type y and Enter to touch, anything else to refuse",
                    request.operation,
                    request
                        .rp_id
                        .as_deref()
                        .map(|rp| format!(" by {rp}"))
                        .unwrap_or_default()
                );
            }
            let mut line = String::new();
            let touched =
                stdin.read_line(&mut line).is_ok() && line.trim().eq_ignore_ascii_case("y");
            responder.answer(touched);
        }
    });
    std::sync::Arc::new(tx)
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----"));
    out
}

#[cfg(target_os = "linux")]
fn uhid_transport() -> Result<Box<dyn ctaphid::ReportTransport>> {
    use virtual_authenticator::uhid::{UhidDevice, UhidIdentity};
    let device = UhidDevice::create(std::path::Path::new("/dev/uhid"), &UhidIdentity::default())?;
    Ok(Box::new(device))
}

#[cfg(not(target_os = "linux"))]
fn uhid_transport() -> Result<Box<dyn ctaphid::ReportTransport>> {
    bail!("--uhid needs Linux's /dev/uhid; use --udp on this system")
}

fn read_input(input: Option<String>) -> Result<Vec<u8>> {
    let text = match input {
        Some(s) => s,
        None => {
            let mut s = String::new();
            std::io::stdin()
                .take(1 << 20)
                .read_to_string(&mut s)
                .context("reading standard input")?;
            s
        }
    };
    let text = text.trim();
    let is_hex = text.len() % 2 == 0 && text.bytes().all(|b| b.is_ascii_hexdigit());
    if is_hex {
        return (0..text.len())
            .step_by(2)
            .map(|i| {
                text.get(i..i + 2)
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                    .context("invalid hex")
            })
            .collect();
    }
    match fido_wire::webauthn::base64url::decode(text) {
        Ok(bytes) => Ok(bytes),
        Err(e) => bail!("input is neither hex nor unpadded base64url ({e})"),
    }
}

/// `keybench doctor`: every check, as a table or JSON; exit status 1 when
/// one failed (the report is printed either way).
fn doctor(args: DoctorArgs) -> Result<()> {
    let DoctorArgs {
        listen,
        data_dir,
        storage,
        no_keyring,
        json,
    } = args;
    let data_dir = data_dir.map_or_else(default_data_dir, Ok)?;
    let settings = key_ops::doctor::DoctorSettings::new(
        data_dir,
        key_ops::doctor::PortTarget::Listen(listen),
        storage.choice()?.remote_config(),
        no_keyring,
    );
    let report = key_ops::doctor::run(&settings);
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", key_ops::doctor::table(&report));
    }
    if report.failed() {
        let failed: Vec<&str> = report
            .checks
            .iter()
            .filter(|c| c.status == key_ops::doctor::Status::Fail)
            .map(|c| c.id)
            .collect();
        return Err(crate::failure::Coded::check(
            "doctor_failed",
            format!("a check failed: {}", failed.join(", ")),
        )
        .into());
    }
    Ok(())
}

fn decode(kind: DecodeKind, input: Option<String>, json: bool) -> Result<()> {
    let bytes = read_input(input)
        .map_err(|e| crate::failure::Coded::input("undecodable", format!("{e:#}")))?;
    if json {
        use relying_party::decoder::InputKind;
        let kind = match kind {
            DecodeKind::Cbor => InputKind::Cbor,
            DecodeKind::AttestationObject => InputKind::AttestationObject,
            DecodeKind::AuthData => InputKind::AuthenticatorData,
            DecodeKind::ClientData => InputKind::ClientDataJson,
        };
        // The same tree, and the same error code, as the API's /api/decode.
        let tree = relying_party::decoder::decode(kind, &bytes)
            .map_err(|e| crate::failure::Coded::input("undecodable", e.to_string()))?;
        println!("{tree}");
        return Ok(());
    }
    match kind {
        DecodeKind::Cbor => {
            let value = cbor::from_slice(&bytes, &DecodeOptions::GENERAL)?;
            println!("{value}");
            if cbor::from_slice(&bytes, &DecodeOptions::CTAP2).is_err() {
                println!("(well-formed, but not CTAP2 canonical)");
            }
        }
        DecodeKind::AttestationObject => {
            let att = AttestationObject::from_cbor(&bytes)?;
            println!("fmt: {}", att.fmt);
            println!("attStmt: {}", att.att_stmt);
            print_auth_data(&att.auth_data);
        }
        DecodeKind::AuthData => print_auth_data(&AuthenticatorData::parse(&bytes)?),
        DecodeKind::ClientData => {
            let cd = CollectedClientData::parse(&bytes)?;
            println!("type: {}", cd.ceremony.as_str());
            println!("challenge: {}", cd.challenge);
            println!("origin: {}", cd.origin);
            println!("crossOrigin: {:?}", cd.cross_origin);
            if let Some(top) = &cd.top_origin {
                println!("topOrigin: {top}");
            }
            for (k, v) in &cd.other {
                println!("{k}: {v}");
            }
        }
    }
    Ok(())
}

fn print_auth_data(ad: &AuthenticatorData) {
    println!("rpIdHash: {}", key_ops::hex(&ad.rp_id_hash));
    println!("flags: {:?}", ad.flags);
    println!("signCount: {}", ad.sign_count);
    if let Some(acd) = &ad.attested_credential {
        println!("aaguid: {}", key_ops::hex(&acd.aaguid));
        println!("credentialId: {}", key_ops::hex(&acd.credential_id));
        match acd.public_key.alg {
            Some(alg) => println!("credentialPublicKey alg: {alg}"),
            None => println!("credentialPublicKey alg: absent"),
        }
        if let Ok(value) = cbor::from_slice(&acd.public_key_cbor, &DecodeOptions::GENERAL) {
            println!("credentialPublicKey: {value}");
        }
    }
    if let Some(ext) = &ad.extensions {
        println!("extensions: {ext}");
    }
}
