//! The security-key subcommands: devices, info, wink, pin, credentials,
//! reset, register, authenticate. Each opens one key and calls one
//! `ctap-client` function; output is for people, or JSON with `--json`.

use anyhow::{Context, Result, bail};
use ctap_client::webauthn::{self, ClientContext};
use ctap_client::{Device, Recorder};
use ctaphid::{KeepaliveStatus, ReportTransport, Transaction};
use fido_wire::cose::CoseAlgorithm;
use fido_wire::ctap2::{GetInfo, Permissions};
use fido_wire::webauthn::base64url::{self, Base64UrlBytes};
use fido_wire::webauthn::json::{
    AuthenticatorSelection, CreationOptionsJson, CredentialDescriptor, CredentialParameters,
    CredentialType, RelyingPartyEntity, RequestOptionsJson, ResidentKeyRequirement, UserEntity,
    UserVerificationRequirement,
};
use std::io::IsTerminal as _;
use std::time::Duration;

/// Where a key is: `udp:HOST:PORT` (a virtual key), an OS path
/// (`/dev/hidraw3`), a number from `keybench devices`, or nothing (the only
/// key plugged in).
pub fn open(spec: Option<&str>, recorder: Recorder) -> Result<Device<Box<dyn ReportTransport>>> {
    let transport: Box<dyn ReportTransport> = match spec {
        Some(s) if s.starts_with("udp:") => {
            let addr = s
                .trim_start_matches("udp:")
                .parse()
                .with_context(|| format!("{s:?}: expected udp:HOST:PORT"))?;
            Box::new(ctaphid::UdpReports::connect(addr)?)
        }
        other => hid_transport(other)?,
    };
    let device = Device::open(transport, recorder).context(
        "the key did not answer CTAPHID INIT (is it a FIDO2 key, and is a virtual key running there?)",
    )?;
    Ok(device)
}

#[cfg(feature = "hidapi")]
fn hid_transport(spec: Option<&str>) -> Result<Box<dyn ReportTransport>> {
    use ctap_client::hid;
    let (api, keys) = hid::discover()?;
    let path = match spec {
        Some(p) if p.parse::<usize>().is_ok() => {
            let n: usize = p.parse()?;
            keys.get(n).map(|k| k.path.clone()).with_context(|| {
                format!("no key number {n}: `keybench devices` lists {}", keys.len())
            })?
        }
        Some(p) => p.to_owned(),
        None => match keys.as_slice() {
            [only] => only.path.clone(),
            [] => bail!(
                "no FIDO key found; plug one in, or start a virtual key (`keybench virtual-key serve`) and pass udp:127.0.0.1:8111"
            ),
            _ => bail!(
                "{} keys are plugged in; name one (see `keybench devices`)",
                keys.len()
            ),
        },
    };
    Ok(Box::new(hid::HidapiTransport::open(&api, &path)?))
}

#[cfg(not(feature = "hidapi"))]
fn hid_transport(_spec: Option<&str>) -> Result<Box<dyn ReportTransport>> {
    bail!("this build has no USB HID support; use udp:HOST:PORT")
}

/// `keybench devices`.
#[cfg(feature = "hidapi")]
pub fn devices(json: bool, watch: bool) -> Result<()> {
    use ctap_client::hid;
    if watch {
        let events = hid::watch()?;
        eprintln!("watching for FIDO keys (Ctrl-C to stop)");
        for event in events {
            if json {
                println!("{}", serde_json::to_string(&event)?);
            } else {
                match event {
                    hid::KeyEvent::Added(k) => println!("+ {}", describe(&k)),
                    hid::KeyEvent::Removed(k) => println!("- {}", describe(&k)),
                }
            }
        }
        return Ok(());
    }
    let (_, keys) = hid::discover()?;
    if json {
        println!("{}", serde_json::to_string_pretty(&keys)?);
    } else if keys.is_empty() {
        println!("no FIDO keys found (a virtual key over UDP is not listed: pass udp:HOST:PORT)");
    } else {
        for (i, k) in keys.iter().enumerate() {
            println!("{i}: {}", describe(k));
        }
    }
    Ok(())
}

#[cfg(feature = "hidapi")]
fn describe(k: &ctap_client::hid::KeyDescriptor) -> String {
    format!(
        "{}  {:04x}:{:04x}  {} {}",
        k.path,
        k.vendor_id,
        k.product_id,
        k.manufacturer.as_deref().unwrap_or(""),
        k.product.as_deref().unwrap_or("")
    )
}

/// `keybench devices` without HID support.
#[cfg(not(feature = "hidapi"))]
pub fn devices(_json: bool, _watch: bool) -> Result<()> {
    bail!("this build has no USB HID support")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn print_info(info: &GetInfo) {
    println!("versions:           {}", info.versions.join(", "));
    println!("AAGUID:             {}", hex(&info.aaguid));
    println!(
        "algorithms:         {}",
        info.algorithms
            .iter()
            .map(|a| format!("{} ({})", a.alg.name().unwrap_or("?"), a.alg.0))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("extensions:         {}", info.extensions.join(", "));
    println!(
        "options:            {}",
        info.options
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let opt = |v: Option<u64>| v.map_or("-".to_owned(), |v| v.to_string());
    println!("maxMsgSize:         {}", opt(info.max_msg_size));
    println!(
        "pinUvAuthProtocols: {}",
        info.pin_uv_auth_protocols
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("minPINLength:       {}", opt(info.min_pin_length));
    println!(
        "forcePINChange:     {}",
        info.force_pin_change.unwrap_or(false)
    );
    println!("firmwareVersion:    {}", opt(info.firmware_version));
    println!("maxCredBlobLength:  {}", opt(info.max_cred_blob_length));
    println!(
        "remaining discoverable credentials: {}",
        opt(info.remaining_discoverable_credentials)
    );
    if !info.certifications.is_empty() {
        println!(
            "certifications:     {}",
            info.certifications
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !info.transports.is_empty() {
        println!("transports:         {}", info.transports.join(", "));
    }
}

fn info_json(info: &GetInfo) -> serde_json::Value {
    serde_json::json!({
        "versions": info.versions,
        "extensions": info.extensions,
        "aaguid": hex(&info.aaguid),
        "options": info.options.iter().map(|(k, v)| (k.clone(), serde_json::Value::Bool(*v))).collect::<serde_json::Map<_, _>>(),
        "maxMsgSize": info.max_msg_size,
        "pinUvAuthProtocols": info.pin_uv_auth_protocols,
        "maxCredentialCountInList": info.max_credential_count_in_list,
        "maxCredentialIdLength": info.max_credential_id_length,
        "transports": info.transports,
        "algorithms": info.algorithms.iter().map(|a| serde_json::json!({"type": a.kind, "alg": a.alg.0, "name": a.alg.name()})).collect::<Vec<_>>(),
        "minPINLength": info.min_pin_length,
        "forcePINChange": info.force_pin_change,
        "firmwareVersion": info.firmware_version,
        "maxCredBlobLength": info.max_cred_blob_length,
        "maxRPIDsForSetMinPINLength": info.max_rpids_for_set_min_pin_length,
        "remainingDiscoverableCredentials": info.remaining_discoverable_credentials,
        "certifications": info.certifications.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
    })
}

/// `keybench info`.
pub fn info(device: &mut Device<Box<dyn ReportTransport>>, json: bool) -> Result<()> {
    let info = device.get_info()?;
    if json {
        println!("{}", serde_json::to_string_pretty(&info_json(&info))?);
    } else {
        print_info(&info);
    }
    Ok(())
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
    device: &mut Device<Box<dyn ReportTransport>>,
    action: &str,
    pin: Option<String>,
    new_pin: Option<String>,
) -> Result<()> {
    match action {
        "retries" => {
            let r = device.pin_retries()?;
            println!("PIN retries left: {}", r.retries);
            if r.power_cycle_required {
                println!(
                    "too many wrong PINs in a row: unplug and re-insert the key before the next try"
                );
            }
        }
        "set" => {
            let new = read_pin(new_pin.or(pin), "new PIN: ")?;
            device.set_pin(&new)?;
            println!("PIN set");
        }
        "change" => {
            let current = read_pin(pin, "current PIN: ")?;
            let new = match new_pin {
                Some(p) => p,
                None => read_pin(None, "new PIN: ")?,
            };
            device.change_pin(&current, &new)?;
            println!("PIN changed");
        }
        other => bail!("unknown pin action {other:?}"),
    }
    Ok(())
}

/// `keybench credentials list|delete`.
pub fn credentials(
    device: &mut Device<Box<dyn ReportTransport>>,
    delete: Option<&str>,
    pin: Option<String>,
    json: bool,
) -> Result<()> {
    let pin = read_pin(pin, "PIN: ")?;
    let token = device.pin_token(&pin, Permissions(Permissions::CREDENTIAL_MANAGEMENT), None)?;
    if let Some(id) = delete {
        let id = base64url::decode(id).context("the credential id must be base64url")?;
        device.delete_credential(&token, &id)?;
        println!("deleted");
        return Ok(());
    }
    let meta = device.credentials_metadata(&token)?;
    let mut listed = Vec::new();
    for (rp, hash) in device.relying_parties(&token)? {
        for c in device.credentials(&token, &rp, &hash)? {
            listed.push(c);
        }
    }
    if json {
        let items: Vec<serde_json::Value> = listed
            .iter()
            .map(|c| {
                serde_json::json!({
                    "rpId": c.rp.id,
                    "credentialId": base64url::encode(&c.id),
                    "userId": base64url::encode(&c.user.id),
                    "userName": c.user.name,
                    "displayName": c.user.display_name,
                    "algorithm": c.public_key.as_ref().and_then(|k| k.alg).map(|a| a.0),
                    "credProtect": c.cred_protect,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "existing": meta.existing, "remaining": meta.remaining, "credentials": items
            }))?
        );
    } else {
        println!(
            "{} discoverable credentials ({} more fit)",
            meta.existing, meta.remaining
        );
        for c in &listed {
            println!(
                "{}  {}  user {} ({})  {}  credProtect {}",
                c.rp.id,
                base64url::encode(&c.id),
                c.user.name.as_deref().unwrap_or("?"),
                base64url::encode(&c.user.id),
                c.public_key
                    .as_ref()
                    .and_then(|k| k.alg)
                    .and_then(CoseAlgorithm::name)
                    .unwrap_or("?"),
                c.cred_protect.unwrap_or(1)
            );
        }
    }
    Ok(())
}

/// `keybench reset`.
pub fn reset(device: &mut Device<Box<dyn ReportTransport>>) -> Result<()> {
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
    println!("the key is reset");
    Ok(())
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
    if let Some(path) = file {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        return unwrap_public_key(&bytes);
    }
    Ok(CreationOptionsJson {
        rp: RelyingPartyEntity {
            id: Some(rp_id.to_owned()),
            name: "Keybench".into(),
        },
        user: UserEntity {
            id: Base64UrlBytes(random(16)?),
            name: user.to_owned(),
            display_name: user.to_owned(),
        },
        challenge: Base64UrlBytes(random(32)?),
        pub_key_cred_params: algorithms
            .iter()
            .map(|a| CredentialParameters::public_key(*a))
            .collect(),
        timeout: Some(120_000),
        exclude_credentials: vec![],
        authenticator_selection: Some(AuthenticatorSelection {
            resident_key: Some(if resident {
                ResidentKeyRequirement::Required
            } else {
                ResidentKeyRequirement::Discouraged
            }),
            user_verification: Some(UserVerificationRequirement::from(uv)),
            ..AuthenticatorSelection::default()
        }),
        hints: vec![],
        attestation: None,
        attestation_formats: vec![],
        extensions: None,
    })
}

/// Accepts options either bare or wrapped as `{"publicKey": ...}`.
fn unwrap_public_key<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).context("the options file is not JSON")?;
    let inner = match value.get("publicKey") {
        Some(pk) => serde_json::to_vec(pk)?,
        None => bytes.to_vec(),
    };
    fido_wire::webauthn::json::from_json(&inner)
        .context("the options are not valid PublicKeyCredential*OptionsJSON")
}

/// Authentication options: the given JSON file, or Keybench's own.
pub fn request_options(
    file: Option<&std::path::Path>,
    rp_id: &str,
    credential: Option<&str>,
    uv: &str,
) -> Result<RequestOptionsJson> {
    if let Some(path) = file {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        return unwrap_public_key(&bytes);
    }
    let allow = match credential {
        None => vec![],
        Some(id) => vec![CredentialDescriptor {
            kind: CredentialType::PublicKey,
            id: Base64UrlBytes(
                base64url::decode(id).context("the credential id must be base64url")?,
            ),
            transports: None,
        }],
    };
    Ok(RequestOptionsJson {
        challenge: Base64UrlBytes(random(32)?),
        timeout: Some(120_000),
        rp_id: Some(rp_id.to_owned()),
        allow_credentials: allow,
        user_verification: Some(UserVerificationRequirement::from(uv)),
        hints: vec![],
        extensions: None,
    })
}

fn random(n: usize) -> Result<Vec<u8>> {
    let mut v = vec![0u8; n];
    // A challenge of zeros would be predictable: no randomness is an error.
    aws_lc_rs::rand::fill(&mut v)
        .map_err(|_| anyhow::anyhow!("the OS gave no randomness for a challenge"))?;
    Ok(v)
}

/// Runs a ceremony with the PIN given (or in KEYBENCH_PIN); when the key
/// turns out to need one that was not given, asks for it and runs it again.
fn with_pin<R>(
    device: &mut Device<Box<dyn ReportTransport>>,
    origin: &str,
    pin: Option<String>,
    ceremony: impl Fn(
        &mut Device<Box<dyn ReportTransport>>,
        &mut ClientContext<'_>,
    ) -> Result<R, ctap_client::CtapError>,
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
    device: &mut Device<Box<dyn ReportTransport>>,
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
    device: &mut Device<Box<dyn ReportTransport>>,
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
    device: &mut Device<Box<dyn ReportTransport>>,
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
            bail!(
                "the relying party answered {status}: {} ({})",
                v.get("message")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("no message"),
                v.get("code")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("?")
            );
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
