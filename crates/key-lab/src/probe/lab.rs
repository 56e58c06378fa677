//! The bench a probe runs on: the open key, the options, the results so
//! far, and the helpers checks share (running one check and capturing its
//! traffic, raw CTAP2 requests, test credentials under the probe's RP IDs).

use super::result::{Category, CheckResult, MAX_EVIDENCE, Outcome};
use super::{ProbeEvent, ProbeOptions};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use ctap_client::{CtapError, Device};
use ctaphid::{KeepaliveStatus, Transaction};
use fido_wire::cbor::Value;
use fido_wire::cose::CoseAlgorithm;
use fido_wire::ctap2::{
    GetAssertionRequest, GetAssertionResponse, MakeCredentialRequest, MakeCredentialResponse,
    Permissions, RequestOptions, StatusCode,
};
use std::time::Duration;

/// The RP ID of the probe's non-discoverable test credentials. `.invalid`
/// (RFC 6761) can never be a real relying party's.
pub const PROBE_RP_ID: &str = "probe.keybench.invalid";
/// The RP ID of the discoverable credentials of the ceremony checks.
pub const DISCOVERABLE_RP_ID: &str = "discoverable.probe.keybench.invalid";
/// The RP ID of the discoverable credentials of the extension checks.
pub const EXTENSIONS_RP_ID: &str = "extensions.probe.keybench.invalid";
/// The RP ID of the request the CANCEL check cancels: a person is asked
/// not to touch the key for this one.
pub const CANCEL_RP_ID: &str = "cancel.probe.keybench.invalid";
/// Every RP ID the probe creates credentials under ends with this.
pub const PROBE_RP_SUFFIX: &str = "probe.keybench.invalid";

/// How long a request that needs a touch may wait for it.
pub const TOUCH_WAIT: Duration = Duration::from_secs(30);
/// How long a request that needs none may take.
pub const QUICK_WAIT: Duration = Duration::from_secs(10);

/// A check's verdict before it becomes a [`CheckResult`].
#[derive(Debug)]
pub enum Verdict {
    /// As the spec asks.
    Pass,
    /// As the spec asks, with a remark.
    PassNote(String),
    /// Not as the spec asks.
    Fail {
        /// What the spec asks.
        expected: String,
        /// What the key did.
        actual: String,
    },
    /// Could not run here.
    Skip(String),
}

/// A check body's result: `Err` ends it early with that verdict, so `?`
/// works on the key's calls.
pub type Step<T> = Result<T, Verdict>;

/// A failure: expected vs actual.
pub fn fail(expected: impl Into<String>, actual: impl Into<String>) -> Verdict {
    Verdict::Fail {
        expected: expected.into(),
        actual: actual.into(),
    }
}

/// Passes when `ok`, else fails with expected vs actual.
pub fn verdict(ok: bool, expected: impl Into<String>, actual: impl Into<String>) -> Verdict {
    if ok {
        Verdict::Pass
    } else {
        fail(expected, actual)
    }
}

/// What a check is, for its result.
pub struct Meta {
    /// Stable id.
    pub id: String,
    /// What it checks.
    pub title: String,
    /// Its group.
    pub category: Category,
    /// The section it tests.
    pub spec: &'static str,
}

/// Shorthand for a check's [`Meta`].
pub fn meta(
    id: impl Into<String>,
    title: impl Into<String>,
    category: Category,
    spec: &'static str,
) -> Meta {
    Meta {
        id: id.into(),
        title: title.into(),
        category,
        spec,
    }
}

/// The name a status code is shown by.
pub fn status_name(status: StatusCode) -> String {
    status.to_string()
}

/// A credential the probe made.
pub struct Created {
    /// Its id.
    pub id: Vec<u8>,
    /// Its RP ID.
    pub rp_id: String,
    /// Whether it stays on the key (discoverable).
    pub discoverable: bool,
}

/// The probe's bench.
pub struct Lab<'a> {
    /// The key.
    pub device: &'a mut Device,
    /// What was asked.
    pub options: &'a ProbeOptions,
    /// Results so far.
    pub results: Vec<CheckResult>,
    /// Credentials made so far.
    pub created: Vec<Created>,
    /// The key's PIN when the probe knows it: given, or set by the
    /// destructive checks. Never reported.
    pub pin: Option<String>,
    /// Where progress goes.
    pub(crate) on_event: &'a mut dyn FnMut(ProbeEvent),
    rng: SystemRandom,
}

impl<'a> Lab<'a> {
    /// A bench for `device`.
    pub fn new(
        device: &'a mut Device,
        options: &'a ProbeOptions,
        on_event: &'a mut dyn FnMut(ProbeEvent),
    ) -> Self {
        Lab {
            device,
            options,
            results: Vec::new(),
            created: Vec::new(),
            pin: options.pin.clone(),
            on_event,
            rng: SystemRandom::new(),
        }
    }

    /// Tells the front end something.
    pub fn notify(&mut self, event: ProbeEvent) {
        (self.on_event)(event);
    }

    /// Runs one check: announces it, runs `body`, keeps the traffic of a
    /// failure as evidence, and reports the result.
    pub fn check(&mut self, meta: Meta, body: impl FnOnce(&mut Self) -> Step<Verdict>) {
        let cancelled = self.options.cancel.is_cancelled();
        self.notify(ProbeEvent::Running {
            id: meta.id.clone(),
            title: meta.title.clone(),
        });
        let started = std::time::Instant::now();
        let first_seq = self.device.recorder().next_seq();
        let verdict = if cancelled {
            Verdict::Skip("the probe was cancelled before this check".into())
        } else {
            match body(self).unwrap_or_else(|v| v) {
                // A failure caused by the cancellation itself says nothing of the key.
                Verdict::Fail { .. } if self.options.cancel.is_cancelled() => {
                    Verdict::Skip("the probe was cancelled while this check ran".into())
                }
                v => v,
            }
        };
        let (outcome, expected, actual, note) = match verdict {
            Verdict::Pass => (Outcome::Pass, None, None, None),
            Verdict::PassNote(n) => (Outcome::Pass, None, None, Some(n)),
            Verdict::Fail { expected, actual } => {
                (Outcome::Fail, Some(expected), Some(actual), None)
            }
            Verdict::Skip(reason) => (Outcome::Skip, None, None, Some(reason)),
        };
        let evidence = if outcome == Outcome::Fail {
            let mut events = self.device.recorder().events_since(first_seq);
            let excess = events.len().saturating_sub(MAX_EVIDENCE);
            events.drain(..excess);
            events
        } else {
            Vec::new()
        };
        let result = CheckResult {
            id: meta.id,
            title: meta.title,
            category: meta.category,
            spec: meta.spec.to_owned(),
            outcome,
            expected,
            actual,
            note,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            evidence,
        };
        self.notify(ProbeEvent::Finished {
            result: result.clone(),
        });
        self.results.push(result);
    }

    /// `n` random bytes.
    pub fn random(&self, n: usize) -> Step<Vec<u8>> {
        let mut out = vec![0u8; n];
        self.rng
            .fill(&mut out)
            .map_err(|_| Verdict::Skip("the OS gave no randomness".into()))?;
        Ok(out)
    }

    /// A CTAPHID INIT nonce.
    pub fn nonce(&self) -> Step<[u8; 8]> {
        let mut n = [0u8; 8];
        self.rng
            .fill(&mut n)
            .map_err(|_| Verdict::Skip("the OS gave no randomness".into()))?;
        Ok(n)
    }

    /// The first algorithm the key advertises (ES256 when it lists none,
    /// as CTAP 2.0 keys do).
    pub fn first_algorithm(&self) -> CoseAlgorithm {
        self.device
            .info()
            .algorithms
            .first()
            .map_or(CoseAlgorithm::ES256, |a| a.alg)
    }

    /// Whether getInfo lists option `name` as true.
    pub fn option(&self, name: &str) -> bool {
        self.device.info().option(name) == Some(true)
    }

    /// Whether getInfo lists extension `name`.
    pub fn has_extension(&self, name: &str) -> bool {
        self.device.info().extensions.iter().any(|e| e == name)
    }

    /// A makeCredential request for the probe: the first advertised
    /// algorithm, a random clientDataHash, a user of its own.
    pub fn make_credential_request(
        &self,
        rp_id: &str,
        user_id: &[u8],
        discoverable: bool,
    ) -> Step<MakeCredentialRequest> {
        Ok(MakeCredentialRequest {
            client_data_hash: self.random(32)?,
            rp_id: rp_id.to_owned(),
            rp_name: Some("Keybench probe".into()),
            user_id: user_id.to_vec(),
            user_name: Some("probe".into()),
            user_display_name: Some("Keybench probe".into()),
            pub_key_cred_params: vec![("public-key".into(), self.first_algorithm())],
            exclude_list: Vec::new(),
            extensions: None,
            options: RequestOptions {
                rk: discoverable.then_some(true),
                up: None,
                uv: None,
            },
            pin_uv_auth_param: None,
            pin_uv_auth_protocol: None,
            enterprise_attestation: None,
            attestation_formats_preference: Vec::new(),
        })
    }

    /// A getAssertion request for `rp_id` allowing `allow` (empty: the
    /// discoverable credentials).
    pub fn get_assertion_request(&self, rp_id: &str, allow: &[&[u8]]) -> Step<GetAssertionRequest> {
        Ok(GetAssertionRequest {
            rp_id: rp_id.to_owned(),
            client_data_hash: self.random(32)?,
            allow_list: allow
                .iter()
                .map(|id| fido_wire::ctap2::Descriptor::public_key(id.to_vec()))
                .collect(),
            extensions: None,
            options: RequestOptions::default(),
            pin_uv_auth_param: None,
            pin_uv_auth_protocol: None,
        })
    }

    /// authenticatorMakeCredential, recording the credential for cleanup.
    /// A discoverable credential on a key with a PIN needs user
    /// verification: with the PIN given, the request gets a pinUvAuthParam.
    pub fn make_credential(
        &mut self,
        req: &MakeCredentialRequest,
    ) -> Result<MakeCredentialResponse, CtapError> {
        let mut verified;
        let req = match (&self.pin, req.options.rk) {
            (Some(pin), Some(true))
                if req.pin_uv_auth_param.is_none() && self.option("clientPin") =>
            {
                let token = self.device.pin_token(
                    pin,
                    Permissions(Permissions::MAKE_CREDENTIAL),
                    Some(&req.rp_id),
                )?;
                verified = req.clone();
                verified.pin_uv_auth_param = Some(token.authenticate(&req.client_data_hash));
                verified.pin_uv_auth_protocol = Some(token.protocol().id());
                &verified
            }
            _ => req,
        };
        let Lab {
            device,
            on_event,
            options,
            ..
        } = self;
        let mut prompt = touch_prompt(on_event);
        let response =
            device.make_credential(req, touch_transaction(&mut prompt, &options.cancel))?;
        if let Ok(data) = fido_wire::webauthn::AuthenticatorData::parse(&response.auth_data)
            && let Some(att) = data.attested_credential
        {
            self.created.push(Created {
                id: att.credential_id,
                rp_id: req.rp_id.clone(),
                discoverable: req.options.rk == Some(true),
            });
        }
        Ok(response)
    }

    /// authenticatorGetAssertion.
    pub fn get_assertion(
        &mut self,
        req: &GetAssertionRequest,
    ) -> Result<GetAssertionResponse, CtapError> {
        let Lab {
            device,
            on_event,
            options,
            ..
        } = self;
        let mut prompt = touch_prompt(on_event);
        device.get_assertion(req, touch_transaction(&mut prompt, &options.cancel))
    }

    /// A fresh non-discoverable test credential under [`PROBE_RP_ID`];
    /// returns its id.
    pub fn test_credential(&mut self) -> Step<Vec<u8>> {
        let user = self.random(16)?;
        let req = self.make_credential_request(PROBE_RP_ID, &user, false)?;
        let response = self
            .make_credential(&req)
            .map_err(|e| prerequisite("a test credential", &e))?;
        credential_id(&response.auth_data)
    }

    /// Sends a raw CTAP2 message (command byte and parameters as given,
    /// canonical or not) and returns the status and body. Bypasses the
    /// client's maxMsgSize check on purpose.
    pub fn raw_cbor(&mut self, request: &[u8], wait: Duration) -> Step<(StatusCode, Vec<u8>)> {
        let answer = self
            .device
            .raw_message(request, Transaction::with_timeout(wait))
            .map_err(|e| fail("an answer to the CTAP2 request", e.to_string()))?;
        match answer.split_first() {
            Some((&status, body)) => Ok((StatusCode(status), body.to_vec())),
            None => Err(fail("a status byte", "an empty answer")),
        }
    }

    /// Expects a raw CTAP2 request to be refused with `expected`.
    pub fn expect_status(&mut self, request: &[u8], expected: StatusCode) -> Step<Verdict> {
        let (status, _) = self.raw_cbor(request, TOUCH_WAIT)?;
        Ok(verdict(
            status == expected,
            status_name(expected),
            status_name(status),
        ))
    }
}

/// Tells the front end "touch your key" once, when the key first asks.
pub fn touch_prompt<'e>(
    on_event: &'e mut dyn FnMut(ProbeEvent),
) -> impl FnMut(KeepaliveStatus) + 'e {
    let mut shown = false;
    move |status| {
        if status == KeepaliveStatus::UpNeeded && !shown {
            shown = true;
            on_event(ProbeEvent::Touch);
        }
    }
}

/// A transaction that may wait for a touch, ended by `cancel`.
pub fn touch_transaction<'t>(
    prompt: &'t mut dyn FnMut(KeepaliveStatus),
    cancel: &'t ctaphid::CancelToken,
) -> Transaction<'t> {
    Transaction {
        timeout: TOUCH_WAIT,
        on_keepalive: Some(prompt),
        cancel: Some(cancel),
    }
}

/// A step that had to succeed for the check to say anything: its failure
/// is the check's failure, naming what could not be done.
pub fn prerequisite(what: &str, e: &CtapError) -> Verdict {
    if let Some(StatusCode::PUAT_REQUIRED | StatusCode::PIN_NOT_SET) = e.status() {
        return Verdict::Skip(format!(
            "{what} needs user verification on this key: give its PIN (--pin)"
        ));
    }
    fail(format!("{what} to be made"), e.to_string())
}

/// The credential id in makeCredential's authenticator data.
pub fn credential_id(auth_data: &[u8]) -> Step<Vec<u8>> {
    let data = fido_wire::webauthn::AuthenticatorData::parse(auth_data)
        .map_err(|e| fail("valid authenticator data", e.to_string()))?;
    data.attested_credential
        .map(|a| a.credential_id)
        .ok_or_else(|| fail("attested credential data", "none"))
}

/// The parsed authenticator data of a response.
pub fn auth_data(bytes: &[u8]) -> Step<fido_wire::webauthn::AuthenticatorData> {
    fido_wire::webauthn::AuthenticatorData::parse(bytes)
        .map_err(|e| fail("valid authenticator data", e.to_string()))
}

/// An extension output from authenticator data.
pub fn extension_output<'v>(
    data: &'v fido_wire::webauthn::AuthenticatorData,
    name: &str,
) -> Option<&'v Value> {
    data.extensions.as_ref().and_then(|e| e.get_text(name))
}
