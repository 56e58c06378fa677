//! The security-key subcommands: devices, info, wink, pin, credentials,
//! reset, register, authenticate. Each opens one key and calls one
//! operation of `key-ops` (shared with the desktop app); this file only
//! presents the result — for people, or JSON with `--json`.

use anyhow::{Context, Result, bail};
use ctap_client::Recorder;
use ctap_client::webauthn::{self, ClientContext};
use ctaphid::{KeepaliveStatus, Transaction};
use fido_wire::cose::CoseAlgorithm;
use fido_wire::webauthn::json::{CreationOptionsJson, RequestOptionsJson};
use key_ops::{AnyDevice, ops};
use std::io::IsTerminal as _;
use std::time::Duration;

/// Where a key is: `udp:HOST:PORT` (a virtual key), an OS path
/// (`/dev/hidraw3`), a number from `keybench devices`, or nothing (the only
/// key plugged in).
pub fn open(spec: Option<&str>, recorder: Recorder) -> Result<AnyDevice> {
    Ok(key_ops::open::open(spec, recorder)?)
}

/// `keybench devices`: USB keys and smart-card / NFC readers (PC/SC),
/// each with its transport and the name `--key` takes.
pub fn devices(json: bool, watch: bool) -> Result<()> {
    use key_ops::devices::{self, DeviceView};
    if watch {
        let events = devices::watch()?;
        eprintln!("watching for FIDO keys, readers and cards (Ctrl-C to stop)");
        for event in events {
            if json {
                println!("{}", serde_json::to_string(&event)?);
            } else {
                println!("{}", describe_event(&event));
            }
        }
        return Ok(());
    }
    let view = devices::list();
    if json {
        println!("{}", serde_json::to_string_pretty(&view)?);
        return Ok(());
    }
    for note in &view.notes {
        eprintln!("note: {note}");
    }
    if view.devices.is_empty() {
        println!(
            "no FIDO keys or readers found (a virtual key over UDP is not listed: pass udp:HOST:PORT)"
        );
    }
    for device in &view.devices {
        match device {
            DeviceView::Usb { open_as, label, .. } => {
                let path = serde_json::to_value(device)?
                    .get("path")
                    .and_then(|p| p.as_str().map(str::to_owned))
                    .unwrap_or_default();
                println!("{open_as}: usb   {path}  {label}");
            }
            DeviceView::Pcsc { open_as, .. } => {
                let v = serde_json::to_value(device)?;
                let card = match (
                    v.get("cardPresent").and_then(serde_json::Value::as_bool),
                    v.get("fido").and_then(serde_json::Value::as_str),
                ) {
                    (Some(true), Some(version)) => format!("FIDO card ({version})"),
                    (Some(true), None) => "card without a FIDO applet".to_owned(),
                    _ => "no card".to_owned(),
                };
                println!("{open_as}: pcsc  {card}");
            }
        }
    }
    Ok(())
}

/// One watcher event for people: "+ usb /dev/hidraw3", "+ card on READER".
fn describe_event(event: &serde_json::Value) -> String {
    let text = |k: &str| {
        event
            .get(k)
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    match text("event").as_str() {
        "added" => format!("+ usb {}", text("path")),
        "removed" => format!("- usb {}", text("path")),
        "readerAdded" => format!("+ reader {}", text("reader")),
        "readerRemoved" => format!("- reader {}", text("reader")),
        "cardInserted" => format!("+ card on {}", text("reader")),
        "cardRemoved" => format!("- card on {}", text("reader")),
        other => format!("? {other}"),
    }
}

/// Says an action was done: `{"status": "ok", "action"}` with `--json`,
/// else the sentence.
pub fn done(sentence: &str, action: &str, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::json!({ "status": "ok", "action": action })
        );
    } else {
        println!("{sentence}");
    }
}

/// Prints a view: JSON with `--json`, else for people.
pub fn show<V: serde::Serialize + std::fmt::Display>(view: &V, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(view)?);
    } else {
        println!("{view}");
    }
    Ok(())
}

/// `keybench info`.
pub fn info(
    device: &mut AnyDevice,
    metadata: &relying_party::mds::LoadedMetadata,
    json: bool,
) -> Result<()> {
    let view = ops::info_with_metadata(device, metadata)?;
    if !json {
        println!(
            "{:<20}{}",
            "connected over:",
            describe_link(&device.link_info())
        );
    }
    show(&view, json)
}

/// The transport a key was reached over, for people.
fn describe_link(link: &ctap_client::LinkInfo) -> String {
    match link {
        ctap_client::LinkInfo::Hid { device_version, .. } => format!(
            "usb (CTAPHID, device version {}.{}.{})",
            device_version.0, device_version.1, device_version.2
        ),
        ctap_client::LinkInfo::Nfc {
            applet_version,
            extended_apdus,
        } => format!(
            "nfc (PC/SC, FIDO applet {applet_version}, {})",
            match extended_apdus {
                Some(true) => "extended APDUs",
                Some(false) => "short APDUs with chaining",
                None => "APDU length not probed yet",
            }
        ),
    }
}

/// The PIN: `--pin`, else KEYBENCH_PIN, else asked on the terminal.
pub fn read_pin(given: Option<String>, prompt: &str) -> Result<String> {
    if let Some(p) = given {
        return Ok(p);
    }
    if let Ok(p) = std::env::var("KEYBENCH_PIN") {
        return Ok(p);
    }
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password(prompt).context("reading the PIN");
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the PIN from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Prints "touch your key" when — and only when — the key asks for it.
fn touch_prompt() -> impl FnMut(KeepaliveStatus) {
    let mut shown = false;
    move |status| {
        if status == KeepaliveStatus::UpNeeded && !shown {
            eprintln!("touch your key…");
            shown = true;
        }
    }
}

/// `keybench pin set|change|retries`.
pub fn pin(
    device: &mut AnyDevice,
    action: &str,
    pin: Option<String>,
    new_pin: Option<String>,
    json: bool,
) -> Result<()> {
    match action {
        "retries" => show(&ops::pin_retries(device)?, json)?,
        "set" => {
            let new = read_pin(new_pin.or(pin), "new PIN: ")?;
            device.set_pin(&new)?;
            done("PIN set", "pin_set", json);
        }
        "change" => {
            let current = read_pin(pin, "current PIN: ")?;
            let new = match new_pin {
                Some(p) => p,
                None => read_pin(None, "new PIN: ")?,
            };
            device.change_pin(&current, &new)?;
            done("PIN changed", "pin_changed", json);
        }
        other => bail!("unknown pin action {other:?}"),
    }
    Ok(())
}

/// `keybench credentials list|delete`.
pub fn credentials(
    device: &mut AnyDevice,
    delete: Option<&str>,
    pin: Option<String>,
    json: bool,
) -> Result<()> {
    let pin = read_pin(pin, "PIN: ")?;
    if let Some(id) = delete {
        ops::delete_credential(device, &pin, id)?;
        println!("deleted");
        return Ok(());
    }
    show(&ops::credentials(device, &pin)?, json)
}

/// `keybench reset`.
pub fn reset(device: &mut AnyDevice, json: bool) -> Result<()> {
    eprintln!(
        "reset deletes every credential and the PIN. Keys allow it only within about 10 seconds \
         of being plugged in: if it is refused, unplug the key, plug it back in and run this again at once."
    );
    let mut prompt = touch_prompt();
    device.reset(Transaction {
        timeout: Duration::from_secs(30),
        on_keepalive: Some(&mut prompt),
        cancel: None,
    })?;
    done("the key is reset", "reset", json);
    Ok(())
}

fn read_options_file<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Result<T> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    key_ops::options::parse_bytes(&bytes)
        .with_context(|| format!("the options in {}", path.display()))
}

/// Registration options: the given JSON file, or Keybench's own.
pub fn creation_options(
    file: Option<&std::path::Path>,
    rp_id: &str,
    user: &str,
    algorithms: &[CoseAlgorithm],
    resident: bool,
    uv: &str,
) -> Result<CreationOptionsJson> {
    match file {
        Some(path) => read_options_file(path),
        None => Ok(key_ops::options::creation(
            rp_id, user, algorithms, resident, uv,
        )?),
    }
}

/// Authentication options: the given JSON file, or Keybench's own.
pub fn request_options(
    file: Option<&std::path::Path>,
    rp_id: &str,
    credential: Option<&str>,
    uv: &str,
) -> Result<RequestOptionsJson> {
    match file {
        Some(path) => read_options_file(path),
        None => Ok(key_ops::options::request(rp_id, credential, uv)?),
    }
}

/// Runs a ceremony with the PIN given (or in KEYBENCH_PIN); when the key
/// turns out to need one that was not given, asks for it and runs it again.
fn with_pin<R>(
    device: &mut AnyDevice,
    origin: &str,
    pin: Option<String>,
    ceremony: impl Fn(&mut AnyDevice, &mut ClientContext<'_>) -> Result<R, ctap_client::CtapError>,
) -> Result<R> {
    let mut pin = pin.or_else(|| std::env::var("KEYBENCH_PIN").ok());
    loop {
        let mut prompt = touch_prompt();
        let mut ctx = ClientContext {
            pin: pin.as_deref(),
            on_status: Some(&mut prompt),
            ..ClientContext::new(origin)
        };
        match ceremony(device, &mut ctx) {
            Err(ctap_client::CtapError::PinRequired) if pin.is_none() => {
                pin = Some(read_pin(None, "PIN: ")?);
            }
            other => return Ok(other?),
        }
    }
}

/// `keybench register`.
pub fn register(
    device: &mut AnyDevice,
    options: &CreationOptionsJson,
    origin: &str,
    pin: Option<String>,
) -> Result<()> {
    let response = with_pin(device, origin, pin, |d, ctx| {
        webauthn::register(d, options, ctx)
    })?;
    let att =
        fido_wire::webauthn::AttestationObject::from_cbor(&response.response.attestation_object.0)?;
    eprintln!(
        "registered: credential {} ({}), fmt {}, attestation object {} bytes",
        response.id,
        response
            .response
            .public_key_algorithm
            .and_then(CoseAlgorithm::name)
            .unwrap_or("?"),
        att.fmt,
        response.response.attestation_object.0.len()
    );
    println!("{}", serde_json::to_string_pretty(&response)?);
    Ok(())
}

/// `keybench authenticate`.
pub fn authenticate(
    device: &mut AnyDevice,
    options: &RequestOptionsJson,
    origin: &str,
    pin: Option<String>,
) -> Result<()> {
    let response = with_pin(device, origin, pin, |d, ctx| {
        webauthn::authenticate(d, options, ctx)
    })?;
    let ad =
        fido_wire::webauthn::AuthenticatorData::parse(&response.response.authenticator_data.0)?;
    eprintln!(
        "authenticated: credential {}, signCount {}, UP {}, UV {}",
        response.id,
        ad.sign_count,
        ad.flags.user_present(),
        ad.flags.user_verified()
    );
    println!("{}", serde_json::to_string_pretty(&response)?);
    Ok(())
}

/// `keybench register|authenticate --server URL`: the bundled relying party
/// (a running `keybench serve`) issues the options, this client runs the
/// ceremony on the key, and the server verifies and answers.
pub fn with_server(
    device: &mut AnyDevice,
    server: &str,
    registration: bool,
    user: Option<&str>,
    pin: Option<String>,
) -> Result<()> {
    let server = server.trim_end_matches('/');
    let http = reqwest::blocking::Client::builder()
        .cookie_store(true)
        .timeout(Duration::from_secs(600))
        .build()
        .context("starting the HTTP client")?;
    let post = |path: &str, body: &serde_json::Value| -> Result<serde_json::Value> {
        let r = http
            .post(format!("{server}{path}"))
            .header("Origin", server)
            .json(body)
            .send()
            .with_context(|| format!("POST {server}{path} (is `keybench serve` running there?)"))?;
        let status = r.status();
        let v: serde_json::Value = r.json().unwrap_or(serde_json::Value::Null);
        if !status.is_success() {
            let text = |k: &str| {
                v.get(k)
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            return Err(crate::failure::ServerRefused {
                status: status.as_u16(),
                code: text("code"),
                message: text("message"),
            }
            .into());
        }
        Ok(v)
    };
    let (begin, complete) = if registration {
        ("/api/register/begin", "/api/register/complete")
    } else {
        ("/api/authenticate/begin", "/api/authenticate/complete")
    };
    let body = match user {
        Some(u) => serde_json::json!({ "username": u }),
        None if registration => bail!("registration needs --user"),
        None => serde_json::json!({}),
    };
    let options = post(begin, &body)?;
    let public_key = serde_json::to_vec(
        options
            .get("publicKey")
            .context("the relying party sent no publicKey options")?,
    )?;
    let verdict = if registration {
        let options: CreationOptionsJson = fido_wire::webauthn::json::from_json(&public_key)
            .context("the relying party's creation options")?;
        let response = with_pin(device, server, pin, |d, ctx| {
            webauthn::register(d, &options, ctx)
        })?;
        post(complete, &serde_json::to_value(&response)?)?
    } else {
        let options: RequestOptionsJson = fido_wire::webauthn::json::from_json(&public_key)
            .context("the relying party's request options")?;
        let response = with_pin(device, server, pin, |d, ctx| {
            webauthn::authenticate(d, &options, ctx)
        })?;
        post(complete, &serde_json::to_value(&response)?)?
    };
    eprintln!(
        "the relying party at {server} accepted it: {} as {}",
        if registration {
            "registered"
        } else {
            "signed in"
        },
        verdict
            .get("username")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("?")
    );
    println!("{}", serde_json::to_string_pretty(&verdict)?);
    Ok(())
}
