//! Extension outputs (§7.1 step 28, §7.2 step 23) against the client
//! extension inputs the relying party sent: credProps, credProtect
//! (`credentialProtectionPolicy`), hmac-secret and prf, largeBlob, credBlob
//! and minPinLength (WebAuthn L3 §10, CTAP 2.1 §12). An output of the wrong
//! type or length, or a credential protection policy below one the relying
//! party enforced, fails the step; an output nobody asked for, or a request
//! the authenticator did not act upon, is reported (the specification lets
//! a relying party ignore both).

use super::steps::{Step, StepDetail, StepObserver, check};
use crate::error::CeremonyError;
use fido_wire::cbor::Value;
use fido_wire::webauthn::Flags;
use serde_json::{Map, Value as Json};

/// What one extension's outputs were found to be.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ExtensionStatus {
    /// Requested, and the outputs are what the extension defines.
    Ok,
    /// Requested, and no output came back (extensions are optional).
    NotActedUpon,
    /// An output the relying party did not ask for.
    Unrequested,
    /// An output that breaks the extension's definition.
    Invalid,
}

/// The verdict on one extension.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExtensionVerdict {
    /// The extension identifier (client or authenticator name).
    pub name: String,
    /// The verdict.
    pub status: ExtensionStatus,
    /// What was found, in words (never a secret value: outputs are shown by length).
    pub detail: String,
}

impl ExtensionVerdict {
    fn new(name: &str, status: ExtensionStatus, detail: impl Into<String>) -> ExtensionVerdict {
        ExtensionVerdict {
            name: name.to_owned(),
            status,
            detail: detail.into(),
        }
    }
}

/// The credential protection levels by their WebAuthn names (CTAP 2.1 §12.1).
fn cred_protect_level(name: &str) -> Option<i64> {
    match name {
        "userVerificationOptional" => Some(1),
        "userVerificationOptionalWithCredentialIDList" => Some(2),
        "userVerificationRequired" => Some(3),
        _ => None,
    }
}

/// Bytes in a client output: base64url text in the JSON forms.
fn json_bytes_len(v: &Json) -> Option<usize> {
    v.as_str()
        .and_then(|s| fido_wire::webauthn::base64url::decode(s).ok())
        .map(|b| b.len())
}

/// Collects verdicts over the three sources.
struct Checker<'a> {
    registration: bool,
    inputs: Option<&'a Map<String, Json>>,
    authenticator: Vec<(String, &'a Value)>,
    client: Option<&'a Map<String, Json>>,
    verdicts: Vec<ExtensionVerdict>,
}

impl<'a> Checker<'a> {
    fn asked(&self, input: &str) -> Option<&'a Json> {
        self.inputs.and_then(|m| m.get(input))
    }

    fn auth_out(&self, name: &str) -> Option<&'a Value> {
        self.authenticator
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| *v)
    }

    fn client_out(&self, name: &str) -> Option<&'a Json> {
        self.client.and_then(|m| m.get(name))
    }

    fn push(&mut self, name: &str, status: ExtensionStatus, detail: impl Into<String>) {
        self.verdicts
            .push(ExtensionVerdict::new(name, status, detail));
    }

    fn cred_props(&mut self) {
        if self.asked("credProps").and_then(Json::as_bool) != Some(true) {
            return;
        }
        match self.client_out("credProps") {
            None => self.push(
                "credProps",
                ExtensionStatus::NotActedUpon,
                "no credProps output",
            ),
            Some(out) => match out.get("rk") {
                None => self.push(
                    "credProps",
                    ExtensionStatus::Ok,
                    "credProps without rk (the client does not know)",
                ),
                Some(Json::Bool(rk)) => self.push(
                    "credProps",
                    ExtensionStatus::Ok,
                    format!(
                        "rk {rk}: the credential is {}discoverable",
                        if *rk { "" } else { "not " }
                    ),
                ),
                Some(_) => self.push(
                    "credProps",
                    ExtensionStatus::Invalid,
                    "credProps.rk is not a boolean",
                ),
            },
        }
    }

    fn cred_protect(&mut self, flags: Option<Flags>) {
        let Some(policy) = self.asked("credentialProtectionPolicy") else {
            return;
        };
        let Some(requested) = policy.as_str().and_then(cred_protect_level) else {
            self.push(
                "credProtect",
                ExtensionStatus::Invalid,
                "credentialProtectionPolicy in the options is not a known policy",
            );
            return;
        };
        let enforce = self
            .asked("enforceCredentialProtectionPolicy")
            .and_then(Json::as_bool)
            .unwrap_or(false);
        let ed = flags.is_none_or(|f| f.extension_data());
        match self.auth_out("credProtect").map(Value::as_i64) {
            None if enforce && requested > 1 => self.push(
                "credProtect",
                ExtensionStatus::Invalid,
                format!(
                    "policy {requested} was enforced but authenticatorData carries no credProtect{}",
                    if ed { "" } else { " (ED flag clear)" }
                ),
            ),
            None => self.push(
                "credProtect",
                ExtensionStatus::NotActedUpon,
                format!("policy {requested} requested; no credProtect in authenticatorData"),
            ),
            Some(Some(level @ 1..=3)) if level >= requested => self.push(
                "credProtect",
                ExtensionStatus::Ok,
                format!("policy {level} in authenticatorData (requested {requested})"),
            ),
            Some(Some(level @ 1..=3)) if enforce => self.push(
                "credProtect",
                ExtensionStatus::Invalid,
                format!("policy {level} in authenticatorData, below the enforced {requested}"),
            ),
            Some(Some(level @ 1..=3)) => self.push(
                "credProtect",
                ExtensionStatus::NotActedUpon,
                format!(
                    "policy {level} in authenticatorData, below the requested {requested} (not enforced)"
                ),
            ),
            Some(_) => self.push(
                "credProtect",
                ExtensionStatus::Invalid,
                "credProtect in authenticatorData is not 1, 2 or 3",
            ),
        }
    }

    fn hmac_secret(&mut self) {
        if self.registration {
            if self.asked("hmacCreateSecret").and_then(Json::as_bool) == Some(true) {
                let auth = self.auth_out("hmac-secret");
                let client = self.client_out("hmacCreateSecret");
                match (auth, client) {
                    (Some(Value::Bool(_)) | None, Some(Json::Bool(b))) => self.push(
                        "hmacCreateSecret",
                        ExtensionStatus::Ok,
                        format!("hmacCreateSecret {b}"),
                    ),
                    (Some(Value::Bool(b)), None) => self.push(
                        "hmac-secret",
                        ExtensionStatus::Ok,
                        format!("hmac-secret {b} in authenticatorData"),
                    ),
                    (None, None) => self.push(
                        "hmacCreateSecret",
                        ExtensionStatus::NotActedUpon,
                        "no hmac-secret output",
                    ),
                    _ => self.push(
                        "hmacCreateSecret",
                        ExtensionStatus::Invalid,
                        "hmac-secret must be a boolean at registration",
                    ),
                }
            }
            return;
        }
        let Some(get) = self.asked("hmacGetSecret") else {
            return;
        };
        let two = get.get("salt2").is_some();
        match self.auth_out("hmac-secret") {
            None => self.push(
                "hmacGetSecret",
                ExtensionStatus::NotActedUpon,
                "no hmac-secret output in authenticatorData",
            ),
            Some(Value::Bytes(b)) => {
                // Protocol 1: 32 or 64 bytes; protocol 2 prepends a 16-byte IV.
                let ok = if two {
                    matches!(b.len(), 64 | 80)
                } else {
                    matches!(b.len(), 32 | 48)
                };
                let status = if ok {
                    ExtensionStatus::Ok
                } else {
                    ExtensionStatus::Invalid
                };
                self.push(
                    "hmac-secret",
                    status,
                    format!(
                        "{} bytes of encrypted output for {} salt(s) (32/48 for one, 64/80 for two)",
                        b.len(),
                        if two { 2 } else { 1 }
                    ),
                );
            }
            Some(_) => self.push(
                "hmac-secret",
                ExtensionStatus::Invalid,
                "hmac-secret output is not a byte string",
            ),
        }
        if let Some(out) = self.client_out("hmacGetSecret") {
            let first = out.get("output1").and_then(json_bytes_len);
            let second = out.get("output2").and_then(json_bytes_len);
            let ok = first == Some(32) && (!two || second == Some(32));
            self.push(
                "hmacGetSecret",
                if ok {
                    ExtensionStatus::Ok
                } else {
                    ExtensionStatus::Invalid
                },
                format!(
                    "output1 {} bytes{} (32 each)",
                    first.unwrap_or(0),
                    if two {
                        format!(", output2 {} bytes", second.unwrap_or(0))
                    } else {
                        String::new()
                    }
                ),
            );
        }
    }

    fn prf(&mut self) {
        let Some(input) = self.asked("prf") else {
            return;
        };
        let two = input.get("eval").is_some_and(|e| e.get("second").is_some());
        let evaluated = input.get("eval").is_some() || input.get("evalByCredential").is_some();
        let Some(out) = self.client_out("prf") else {
            let detail = if self.auth_out("hmac-secret").is_some() {
                "hmac-secret in authenticatorData but no prf client output"
            } else {
                "no prf output"
            };
            self.push("prf", ExtensionStatus::NotActedUpon, detail);
            return;
        };
        if let Some(enabled) = out.get("enabled")
            && !enabled.is_boolean()
        {
            self.push(
                "prf",
                ExtensionStatus::Invalid,
                "prf.enabled is not a boolean",
            );
            return;
        }
        match out.get("results") {
            None if evaluated && !self.registration => self.push(
                "prf",
                ExtensionStatus::NotActedUpon,
                "eval requested but no prf.results",
            ),
            None => self.push(
                "prf",
                ExtensionStatus::Ok,
                format!(
                    "enabled {}",
                    out.get("enabled")
                        .and_then(Json::as_bool)
                        .map_or("not reported".into(), |b| b.to_string())
                ),
            ),
            Some(results) => {
                let first = results.get("first").and_then(json_bytes_len);
                let second = results.get("second").and_then(json_bytes_len);
                let ok = evaluated
                    && first == Some(32)
                    && (if two {
                        second == Some(32)
                    } else {
                        second.is_none()
                    });
                let detail = format!(
                    "results.first {} bytes{} (32 each{})",
                    first.unwrap_or(0),
                    second.map_or(String::new(), |n| format!(", results.second {n} bytes")),
                    if two {
                        ", two requested"
                    } else {
                        ", one requested"
                    }
                );
                self.push(
                    "prf",
                    if ok {
                        ExtensionStatus::Ok
                    } else {
                        ExtensionStatus::Invalid
                    },
                    detail,
                );
            }
        }
    }

    fn large_blob(&mut self) {
        let Some(input) = self.asked("largeBlob") else {
            return;
        };
        let out = self.client_out("largeBlob");
        let Some(out) = out else {
            self.push(
                "largeBlob",
                ExtensionStatus::NotActedUpon,
                "no largeBlob output",
            );
            return;
        };
        let (ok, detail) = if self.registration {
            match out.get("supported") {
                Some(Json::Bool(b)) => (true, format!("supported {b}")),
                _ => (false, "largeBlob.supported must be a boolean".to_owned()),
            }
        } else if input.get("read").and_then(Json::as_bool) == Some(true) {
            match out.get("blob") {
                None => (true, "no blob stored for this credential".to_owned()),
                Some(b) => match json_bytes_len(b) {
                    Some(n) => (true, format!("blob of {n} bytes")),
                    None => (false, "largeBlob.blob is not base64url bytes".to_owned()),
                },
            }
        } else if input.get("write").is_some() {
            match out.get("written") {
                Some(Json::Bool(b)) => (true, format!("written {b}")),
                _ => (false, "largeBlob.written must be a boolean".to_owned()),
            }
        } else {
            (
                false,
                "largeBlob output without read or write requested".to_owned(),
            )
        };
        self.push(
            "largeBlob",
            if ok {
                ExtensionStatus::Ok
            } else {
                ExtensionStatus::Invalid
            },
            detail,
        );
    }

    fn cred_blob(&mut self) {
        let input = if self.registration {
            "credBlob"
        } else {
            "getCredBlob"
        };
        if self.asked(input).is_none() {
            return;
        }
        match (self.registration, self.auth_out("credBlob")) {
            (_, None) => self.push(
                input,
                ExtensionStatus::NotActedUpon,
                "no credBlob in authenticatorData",
            ),
            (true, Some(Value::Bool(b))) => {
                self.push(input, ExtensionStatus::Ok, format!("credBlob stored: {b}"))
            }
            (false, Some(Value::Bytes(b))) => self.push(
                input,
                ExtensionStatus::Ok,
                format!("credBlob of {} bytes", b.len()),
            ),
            (true, Some(_)) => self.push(
                input,
                ExtensionStatus::Invalid,
                "credBlob must be a boolean at registration",
            ),
            (false, Some(_)) => self.push(
                input,
                ExtensionStatus::Invalid,
                "credBlob must be a byte string in an assertion",
            ),
        }
    }

    fn min_pin_length(&mut self) {
        if self.asked("minPinLength").and_then(Json::as_bool) != Some(true) {
            return;
        }
        match self.auth_out("minPinLength").map(Value::as_u64) {
            None => self.push(
                "minPinLength",
                ExtensionStatus::NotActedUpon,
                "no minPinLength in authenticatorData (the RP ID may not be on the key's list)",
            ),
            Some(Some(n @ 4..=63)) => self.push(
                "minPinLength",
                ExtensionStatus::Ok,
                format!("minimum PIN length {n}"),
            ),
            Some(_) => self.push(
                "minPinLength",
                ExtensionStatus::Invalid,
                "minPinLength must be an unsigned integer from 4 to 63",
            ),
        }
    }

    /// Outputs no input asked for.
    fn unrequested(&mut self) {
        let asked = |c: &Checker<'_>, names: &[&str]| names.iter().any(|n| c.asked(n).is_some());
        let auth_names: Vec<String> = self.authenticator.iter().map(|(k, _)| k.clone()).collect();
        for name in auth_names {
            let requested = match name.as_str() {
                "credProtect" => asked(self, &["credentialProtectionPolicy"]),
                "hmac-secret" => asked(self, &["hmacCreateSecret", "hmacGetSecret", "prf"]),
                "hmac-secret-mc" => asked(self, &["prf", "hmacGetSecret"]),
                "credBlob" => asked(self, &["credBlob", "getCredBlob"]),
                "minPinLength" => asked(self, &["minPinLength"]),
                "thirdPartyPayment" => asked(self, &["payment"]),
                other => asked(self, &[other]),
            };
            if !requested {
                self.push(
                    &name,
                    ExtensionStatus::Unrequested,
                    "in authenticatorData, not asked for in options.extensions",
                );
            }
        }
        let client_names: Vec<String> = self
            .client
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        for name in client_names {
            if self.asked(&name).is_none() {
                self.push(
                    &name,
                    ExtensionStatus::Unrequested,
                    "in clientExtensionResults, not asked for in options.extensions",
                );
            }
        }
    }
}

/// Checks every extension output; `flags` is Some at registration.
pub(super) fn check_outputs<O: StepObserver>(
    obs: &mut O,
    step: Step,
    inputs: Option<&Map<String, Json>>,
    authenticator: Option<&Value>,
    client: Option<&Map<String, Json>>,
    flags: Option<Flags>,
) -> Result<Vec<ExtensionVerdict>, CeremonyError> {
    let authenticator: Vec<(String, &Value)> = authenticator
        .and_then(Value::as_map)
        .unwrap_or_default()
        .iter()
        .map(|(k, v)| (k.as_text().unwrap_or("(non-text key)").to_owned(), v))
        .collect();
    if inputs.is_none_or(Map::is_empty)
        && authenticator.is_empty()
        && client.is_none_or(Map::is_empty)
    {
        obs.passed(step, || {
            StepDetail::found("no extensions asked for or returned")
        });
        return Ok(Vec::new());
    }
    let mut c = Checker {
        registration: flags.is_some(),
        inputs,
        authenticator,
        client,
        verdicts: Vec::new(),
    };
    c.cred_props();
    c.cred_protect(flags);
    c.hmac_secret();
    c.prf();
    c.large_blob();
    c.cred_blob();
    c.min_pin_length();
    c.unrequested();
    let verdicts = c.verdicts;
    let invalid = verdicts
        .iter()
        .find(|v| v.status == ExtensionStatus::Invalid)
        .map(|v| CeremonyError::ExtensionOutput {
            extension: v.name.clone(),
            reason: v.detail.clone(),
        });
    let result = match invalid {
        Some(e) => Err(e),
        None => Ok(()),
    };
    check(obs, step, result, || {
        let requested: Vec<&str> = inputs
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let found: Vec<String> = verdicts
            .iter()
            .map(|v| format!("{}: {:?}, {}", v.name, v.status, v.detail))
            .collect();
        StepDetail::compared(
            if requested.is_empty() {
                "no extensions requested".to_owned()
            } else {
                format!("outputs of {}", requested.join(", "))
            },
            found.join("; "),
        )
    })?;
    Ok(verdicts)
}
