//! The WebAuthn client role (WebAuthn L3 §5.1.3, §5.1.4 as a client
//! performs them over CTAP 2.1): from a relying party's options JSON build
//! clientDataJSON, decide on PIN/UV, map the client extensions to
//! authenticator extensions, run the ceremony on one key and return
//! `RegistrationResponseJSON` or `AuthenticationResponseJSON`.

use crate::device::Device;
use crate::error::CtapError;
use crate::pin::PinToken;
use crate::preview_sign;
use aws_lc_rs::digest::{SHA256, digest};
use ctaphid::{CancelToken, KeepaliveStatus, Transaction};
use fido_wire::cbor::{self, Value};
use fido_wire::cose::{CoseAlgorithm, CoseKey, KeyParams};
use fido_wire::ctap2::{
    Descriptor, GetAssertionRequest, MakeCredentialRequest, MakeCredentialResponse, Permissions,
    RequestOptions, StatusCode,
};
use fido_wire::webauthn::base64url::{self, Base64UrlBytes};
use fido_wire::webauthn::json::{
    AssertionResponseJson, AttestationConveyance, AttestationResponseJson,
    AuthenticationResponseJson, AuthenticatorAttachment, AuthenticatorSelection,
    AuthenticatorTransport, CreationOptionsJson, CredentialType, RegistrationResponseJson,
    RequestOptionsJson, ResidentKeyRequirement, UserVerificationRequirement,
};
use fido_wire::webauthn::{
    AttestedCredentialData, AuthenticatorData, CeremonyType, CollectedClientData,
};
use pin_uv_auth::SharedSecret;
use serde_json::{Map, Value as Json, json};
use std::time::Duration;

/// What the client knows that the options do not: where the page is, the
/// PIN the user typed, and how to show progress or cancel.
pub struct ClientContext<'a> {
    /// The calling page's origin, e.g. `https://example.org`.
    pub origin: String,
    /// crossOrigin, and the top-level origin when it is set.
    pub top_origin: Option<String>,
    /// The key's PIN, when the user gave it.
    pub pin: Option<&'a str>,
    /// KEEPALIVE statuses ("touch your key" only on UP_NEEDED).
    pub on_status: Option<&'a mut dyn FnMut(KeepaliveStatus)>,
    /// Cancels the ceremony (CTAPHID_CANCEL is sent).
    pub cancel: Option<&'a CancelToken>,
}

impl<'a> ClientContext<'a> {
    /// A context for `origin` with nothing else.
    pub fn new(origin: impl Into<String>) -> ClientContext<'a> {
        ClientContext {
            origin: origin.into(),
            top_origin: None,
            pin: None,
            on_status: None,
            cancel: None,
        }
    }

    /// The origin's host (no scheme, no port; IPv6 literals keep their
    /// brackets), parsed by the WHATWG URL rules.
    fn host(&self) -> Result<String, CtapError> {
        let url = url::Url::parse(&self.origin)
            .map_err(|e| CtapError::Options(format!("origin {:?}: {e}", self.origin)))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(CtapError::Options(format!(
                "origin {:?} is not http(s)",
                self.origin
            )));
        }
        url.host_str()
            .map(str::to_owned)
            .ok_or_else(|| CtapError::Options(format!("origin {:?} has no host", self.origin)))
    }

    /// The RP ID: the options' one, which must be the origin's host or a
    /// registrable suffix of it (§5.1.3 step 8, HTML's "is a registrable
    /// domain suffix of or is equal to"), else the host itself. A public
    /// suffix ("com", "co.uk", "github.io") would let one site claim the
    /// credentials of every site under it, so it is refused.
    fn rp_id(&self, requested: Option<&str>) -> Result<String, CtapError> {
        let host = self.host()?.to_ascii_lowercase();
        let Some(rp) = requested else {
            return Ok(host);
        };
        let rp = rp.to_ascii_lowercase();
        if host == rp {
            return Ok(rp);
        }
        // An IP address has no registrable suffixes: only itself.
        let is_ip = host.starts_with('[') || host.parse::<std::net::IpAddr>().is_ok();
        if rp.is_empty() || is_ip || !host.ends_with(&format!(".{rp}")) {
            return Err(CtapError::Options(format!(
                "RP ID {rp:?} is not the origin's host {host:?} or a suffix of it"
            )));
        }
        // Unknown names (localhost, .test) match only the list's implicit
        // "*" rule and are not treated as public suffixes.
        let known_suffix = |name: &str| {
            psl::suffix(name.as_bytes())
                .filter(|s| s.is_known())
                .and_then(|s| std::str::from_utf8(s.as_bytes()).ok().map(str::to_owned))
        };
        let rp_is_suffix = known_suffix(&rp).as_deref() == Some(rp.as_str());
        let within_host_suffix =
            known_suffix(&host).is_some_and(|s| s == rp || s.ends_with(&format!(".{rp}")));
        if rp_is_suffix || within_host_suffix {
            return Err(CtapError::RpIdIsPublicSuffix { rp_id: rp, host });
        }
        Ok(rp)
    }

    fn client_data(&self, ceremony: CeremonyType, challenge: &[u8]) -> Vec<u8> {
        let mut cd = CollectedClientData::new(ceremony, challenge, self.origin.clone());
        if let Some(top) = &self.top_origin {
            cd.cross_origin = Some(true);
            cd.top_origin = Some(top.clone());
        }
        cd.to_json()
    }

    fn transaction(&mut self, timeout_ms: Option<u32>) -> Transaction<'_> {
        Transaction {
            // WebAuthn's recommended default is 5 minutes; keys give up sooner.
            timeout: Duration::from_millis(
                u64::from(timeout_ms.unwrap_or(120_000)).clamp(5_000, 600_000),
            ),
            on_keepalive: match &mut self.on_status {
                Some(f) => Some(&mut **f),
                None => None,
            },
            cancel: self.cancel,
        }
    }
}

fn sha256(data: &[u8]) -> Vec<u8> {
    digest(&SHA256, data).as_ref().to_vec()
}

/// Whether the ceremony needs a pinUvAuthToken, given the RP's wish and
/// what the key demands (CTAP 2.1 §6.1.2 steps 5–6, WebAuthn §6.2.2).
fn needs_token(
    device: &Device,
    uv: &UserVerificationRequirement,
    discoverable_registration: Option<bool>,
) -> Result<bool, CtapError> {
    let info = device.info();
    // Protected by some form of UV: a PIN, or an enrolled finger.
    let protected = info.option("clientPin") == Some(true) || info.option("uv") == Some(true);
    let always_uv = info.option("alwaysUv") == Some(true);
    let wanted = matches!(
        uv,
        UserVerificationRequirement::Required | UserVerificationRequirement::Preferred
    );
    if *uv == UserVerificationRequirement::Required && !protected {
        return Err(CtapError::Options(
            "the relying party requires user verification and this key has no PIN set (keybench pin set) and no enrolled finger (keybench bio enroll)".into(),
        ));
    }
    let key_demands = match discoverable_registration {
        // makeCredential: without makeCredUvNotRqd every credential needs UV
        // once the key is protected; with it, discoverable ones still do.
        Some(rk) => protected && (rk || info.option("makeCredUvNotRqd") != Some(true)),
        None => false,
    };
    Ok(protected && (wanted || key_demands || always_uv))
}

/// The pinUvAuthToken for a ceremony, as browsers get it: built-in UV
/// first when the key has it configured (up to its
/// preferredPlatformUvAttempts matches), then the PIN — when UV is
/// blocked, keeps failing, or the key has none.
fn token(
    device: &mut Device,
    ctx: &mut ClientContext<'_>,
    permission: u64,
    rp_id: &str,
    timeout_ms: Option<u32>,
) -> Result<PinToken, CtapError> {
    if device.built_in_uv_ready() {
        let attempts = device
            .info()
            .preferred_platform_uv_attempts
            .unwrap_or(1)
            .clamp(1, 5);
        let mut failure = None;
        for _ in 0..attempts {
            let tx = ctx.transaction(timeout_ms);
            match device.uv_token(Permissions(permission), Some(rp_id), tx) {
                Ok(token) => return Ok(token),
                Err(e) if e.status() == Some(StatusCode::UV_INVALID) => failure = Some(e),
                Err(e) if e.status() == Some(StatusCode::UV_BLOCKED) => {
                    failure = Some(e);
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        // No PIN to fall back on: the finger's failure is the answer.
        if device.info().option("clientPin") != Some(true)
            && let Some(failure) = failure
        {
            return Err(failure);
        }
    }
    let pin = ctx.pin.ok_or(CtapError::PinRequired)?;
    device.pin_token(pin, Permissions(permission), Some(rp_id))
}

/// SubjectPublicKeyInfo DER for `getPublicKey()` (§5.2.1.1), for the key
/// types a client is expected to know; `None` for others.
pub fn spki_der(key: &CoseKey) -> Option<Vec<u8>> {
    fn der_len(len: usize, out: &mut Vec<u8>) {
        if len < 0x80 {
            out.push(len as u8);
        } else if len < 0x100 {
            out.extend_from_slice(&[0x81, len as u8]);
        } else {
            out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
        }
    }
    fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        der_len(body.len(), &mut out);
        out.extend_from_slice(body);
        out
    }
    // AlgorithmIdentifier contents (OIDs and parameters), DER.
    const EC_P256: &[u8] = &[
        0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
        0x3d, 0x03, 0x01, 0x07,
    ];
    const ED25519: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
    // id-ecPublicKey, then the named curve (secp384r1, secp521r1, secp256k1).
    let ec = |curve: u8| {
        vec![
            0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b, 0x81, 0x04,
            0x00, curve,
        ]
    };
    // rsaEncryption with NULL parameters (also for PS256 keys, as platforms
    // export them).
    const RSA: &[u8] = &[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    // A DER INTEGER from unsigned big-endian bytes.
    let unsigned = |bytes: &[u8]| {
        let trimmed = match bytes.iter().position(|&b| b != 0) {
            Some(i) => bytes.get(i..).unwrap_or_default(),
            None => &[0u8][..],
        };
        let body = if trimmed.first().is_some_and(|b| b & 0x80 != 0) {
            [&[0u8][..], trimmed].concat()
        } else {
            trimmed.to_vec()
        };
        tlv(0x02, &body)
    };
    let ml_dsa = |last: u8| {
        vec![
            0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, last,
        ]
    };
    let (alg_id, public): (Vec<u8>, Vec<u8>) = match (&key.params, key.alg) {
        (KeyParams::Ec2 { x, y, .. }, Some(CoseAlgorithm::ES256)) => {
            (EC_P256.to_vec(), [&[0x04u8][..], x, y].concat())
        }
        (KeyParams::Ec2 { x, y, .. }, Some(alg)) => {
            let curve = match alg {
                CoseAlgorithm::ES384 => 0x22,
                CoseAlgorithm::ES512 => 0x23,
                CoseAlgorithm::ES256K => 0x0a,
                _ => return None,
            };
            (ec(curve), [&[0x04u8][..], x, y].concat())
        }
        (KeyParams::Rsa { n, e }, Some(CoseAlgorithm::RS256 | CoseAlgorithm::PS256)) => (
            RSA.to_vec(),
            tlv(0x30, &[unsigned(n), unsigned(e)].concat()),
        ),
        (KeyParams::Okp { x, .. }, Some(CoseAlgorithm::EDDSA | CoseAlgorithm::ED25519)) => {
            (ED25519.to_vec(), x.clone())
        }
        (KeyParams::Akp { public, .. }, Some(CoseAlgorithm::ML_DSA_44)) => {
            (ml_dsa(0x11), public.clone())
        }
        (KeyParams::Akp { public, .. }, Some(CoseAlgorithm::ML_DSA_65)) => {
            (ml_dsa(0x12), public.clone())
        }
        (KeyParams::Akp { public, .. }, Some(CoseAlgorithm::ML_DSA_87)) => {
            (ml_dsa(0x13), public.clone())
        }
        _ => return None,
    };
    let bit_string = tlv(0x03, &[&[0u8][..], &public].concat());
    Some(tlv(0x30, &[tlv(0x30, &alg_id), bit_string].concat()))
}

const PROTECTION_POLICIES: [&str; 3] = [
    "userVerificationOptional",
    "userVerificationOptionalWithCredentialIDList",
    "userVerificationRequired",
];

/// What an enterprise may configure in its platform (the browser or OS)
/// rather than per ceremony.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlatformPolicy {
    /// RP IDs this platform permits platform-managed enterprise attestation
    /// for (CTAP 2.1 §7.1.2). `None`: the platform manages no list, and
    /// `attestation: "enterprise"` asks for vendor-facilitated enterprise
    /// attestation, which the key grants only to the RP IDs it was
    /// configured with (§7.1.1).
    pub enterprise_rp_ids: Option<Vec<String>>,
}

impl PlatformPolicy {
    /// The makeCredential enterpriseAttestation value for `rp_id` when the
    /// options asked for "enterprise" (WebAuthn L3 §5.1.3 step 20's
    /// enterpriseAttestationPossible): 2 for an RP on the platform's list, 1
    /// when the platform keeps no list, none otherwise; none on a key whose
    /// getInfo `ep` is not true (the key would refuse it).
    pub fn enterprise_attestation(
        &self,
        attestation: Option<&AttestationConveyance>,
        key_ep: Option<bool>,
        rp_id: &str,
    ) -> Option<u64> {
        if attestation != Some(&AttestationConveyance::Enterprise) || key_ep != Some(true) {
            return None;
        }
        match &self.enterprise_rp_ids {
            None => Some(1),
            Some(list) => list.iter().any(|id| id == rp_id).then_some(2),
        }
    }
}

/// Runs a registration: `navigator.credentials.create()` on one key, by a
/// platform with no enterprise policy.
pub fn register(
    device: &mut Device,
    options: &CreationOptionsJson,
    ctx: &mut ClientContext<'_>,
) -> Result<RegistrationResponseJson, CtapError> {
    register_as(device, options, ctx, &PlatformPolicy::default())
}

/// [`register`] by a platform with this policy.
pub fn register_as(
    device: &mut Device,
    options: &CreationOptionsJson,
    ctx: &mut ClientContext<'_>,
    platform: &PlatformPolicy,
) -> Result<RegistrationResponseJson, CtapError> {
    let rp_id = ctx.rp_id(options.rp.id.as_deref())?;
    let client_data_json = ctx.client_data(CeremonyType::Create, &options.challenge.0);
    let client_data_hash = sha256(&client_data_json);
    let selection = options.authenticator_selection.clone().unwrap_or_default();
    let rk = resident_key(&selection, device)?;
    let uv = selection
        .user_verification
        .clone()
        .unwrap_or(UserVerificationRequirement::Preferred);
    let inputs = options.extensions.clone().unwrap_or_default();
    let mut extensions = CreationExtensions::from_inputs(&inputs, device, rk)?;
    let token = if needs_token(device, &uv, Some(rk))? {
        Some(token(
            device,
            ctx,
            Permissions::MAKE_CREDENTIAL,
            &rp_id,
            options.timeout,
        )?)
    } else {
        None
    };
    extensions.prf_at_creation(&inputs, device)?;
    extensions.preview_sign(&inputs, device, &uv)?;
    let enterprise_attestation = platform.enterprise_attestation(
        options.attestation.as_ref(),
        device.info().option("ep"),
        &rp_id,
    );
    let req = MakeCredentialRequest {
        client_data_hash: client_data_hash.clone(),
        rp_id,
        rp_name: Some(options.rp.name.clone()),
        user_id: options.user.id.0.clone(),
        user_name: Some(options.user.name.clone()),
        user_display_name: Some(options.user.display_name.clone()),
        pub_key_cred_params: options
            .pub_key_cred_params
            .iter()
            .map(|p| (p.kind.as_str().to_owned(), p.alg))
            .collect(),
        exclude_list: options
            .exclude_credentials
            .iter()
            .map(|d| Descriptor::public_key(d.id.0.clone()))
            .collect(),
        extensions: extensions.authenticator_inputs(),
        options: RequestOptions {
            rk: rk.then_some(true),
            up: None,
            uv: None,
        },
        pin_uv_auth_param: token.as_ref().map(|t| t.authenticate(&client_data_hash)),
        pin_uv_auth_protocol: token.as_ref().map(|t| t.protocol().id()),
        enterprise_attestation,
        attestation_formats_preference: Vec::new(),
    };
    let tx = ctx.transaction(options.timeout);
    let response = device.make_credential(&req, tx)?;
    let auth_data = AuthenticatorData::parse(&response.auth_data).map_err(|e| {
        CtapError::Options(format!("the key's authenticator data does not parse: {e}"))
    })?;
    let attested = auth_data
        .attested_credential
        .as_ref()
        .ok_or_else(|| CtapError::Options("the key returned no attested credential".into()))?;
    let outputs = extensions.outputs(auth_data.extensions.as_ref(), &response)?;
    Ok(registration_response(
        client_data_json,
        &response,
        attested,
        outputs,
    ))
}

/// Whether the credential is to be discoverable (WebAuthn L3 §6.3.2 step
/// 4 with authenticatorSelection's residentKey, or the older
/// requireResidentKey); refused when the key cannot make one.
fn resident_key(selection: &AuthenticatorSelection, device: &Device) -> Result<bool, CtapError> {
    let supports_rk = device.info().option("rk") == Some(true);
    let rk = match selection.resident_key {
        Some(ResidentKeyRequirement::Required) => true,
        Some(ResidentKeyRequirement::Preferred) => supports_rk,
        Some(_) => false,
        None => selection.require_resident_key,
    };
    if rk && !supports_rk {
        return Err(CtapError::Unsupported("discoverable credentials"));
    }
    Ok(rk)
}

/// A registration's extensions: the client inputs mapped to the key's
/// (only those the key offers), and what the client reports back.
struct CreationExtensions {
    /// Authenticator extension inputs, in the order they were added.
    inputs: Vec<(Value, Value)>,
    /// Client extension outputs known before the key answers (credProps).
    outputs: Map<String, Json>,
    wants_prf: bool,
    large_blob: bool,
    /// prf.eval's salts sent through hmac-secret-mc.
    hmac_mc: Option<HmacSecretRequest>,
    /// previewSign's generateKey was sent.
    preview_sign: bool,
}

impl CreationExtensions {
    /// Maps credProtect, hmac-secret/prf, credBlob, largeBlob,
    /// minPinLength and credProps (WebAuthn L3 §10, CTAP 2.1 §12).
    fn from_inputs(
        inputs: &Map<String, Json>,
        device: &Device,
        rk: bool,
    ) -> Result<Self, CtapError> {
        let has = |name: &str| has_ext(device, name);
        let mut ext: Vec<(Value, Value)> = Vec::new();
        let mut outputs = Map::new();
        if let Some(policy) = inputs
            .get("credentialProtectionPolicy")
            .and_then(Json::as_str)
        {
            let level = PROTECTION_POLICIES
                .iter()
                .position(|p| *p == policy)
                .ok_or_else(|| {
                    CtapError::Options(format!("unknown credentialProtectionPolicy {policy:?}"))
                })?;
            let enforce = inputs
                .get("enforceCredentialProtectionPolicy")
                .and_then(Json::as_bool)
                .unwrap_or(false);
            if has("credProtect") {
                ext.push((Value::text("credProtect"), Value::int(level as u64 + 1)));
            } else if enforce && level > 0 {
                return Err(CtapError::Unsupported("credProtect"));
            }
        }
        let wants_prf = inputs.contains_key("prf");
        if (wants_prf || inputs.get("hmacCreateSecret") == Some(&Json::Bool(true)))
            && has("hmac-secret")
        {
            ext.push((Value::text("hmac-secret"), Value::Bool(true)));
        }
        if let Some(blob) = inputs.get("credBlob").and_then(Json::as_str) {
            let blob = base64url::decode(blob)
                .map_err(|e| CtapError::Options(format!("credBlob: {e}")))?;
            if has("credBlob") && rk {
                ext.push((Value::text("credBlob"), Value::bytes(blob)));
            }
        }
        let large_blob = inputs.contains_key("largeBlob") && has("largeBlobKey") && rk;
        if large_blob {
            ext.push((Value::text("largeBlobKey"), Value::Bool(true)));
        }
        if inputs.get("minPinLength") == Some(&Json::Bool(true)) && has("minPinLength") {
            ext.push((Value::text("minPinLength"), Value::Bool(true)));
        }
        if is_payment(inputs) && has("thirdPartyPayment") {
            ext.push((Value::text("thirdPartyPayment"), Value::Bool(true)));
        }
        if inputs.get("credProps") == Some(&Json::Bool(true)) {
            outputs.insert("credProps".into(), json!({ "rk": rk }));
        }
        Ok(CreationExtensions {
            inputs: ext,
            outputs,
            wants_prf,
            large_blob,
            hmac_mc: None,
            preview_sign: false,
        })
    }

    /// previewSign.generateKey (the sign extension): the algorithms go to
    /// the key as they are; the key's policy asks for user verification
    /// when the RP requires it, for presence otherwise (as python-fido2's
    /// client does).
    fn preview_sign(
        &mut self,
        inputs: &Map<String, Json>,
        device: &Device,
        uv: &UserVerificationRequirement,
    ) -> Result<(), CtapError> {
        let Some(generate) = inputs
            .get(preview_sign::NAME)
            .and_then(|s| s.get("generateKey"))
        else {
            return Ok(());
        };
        let algorithms = generate
            .get("algorithms")
            .and_then(Json::as_array)
            .ok_or_else(|| {
                CtapError::Options("previewSign.generateKey.algorithms must be a list".into())
            })?
            .iter()
            .map(|a| {
                a.as_i64().ok_or_else(|| {
                    CtapError::Options(
                        "previewSign.generateKey.algorithms holds COSE numbers".into(),
                    )
                })
            })
            .collect::<Result<Vec<i64>, CtapError>>()?;
        if !has_ext(device, preview_sign::NAME) {
            return Ok(());
        }
        let flags = if *uv == UserVerificationRequirement::Required {
            preview_sign::FLAG_UP | preview_sign::FLAG_UV
        } else {
            preview_sign::FLAG_UP
        };
        let input = preview_sign::GenerateKeyInput { algorithms, flags };
        self.inputs
            .push((Value::text(preview_sign::NAME), input.to_value()));
        self.preview_sign = true;
        Ok(())
    }

    /// prf.eval at creation (WebAuthn L3 §10.1.4) through CTAP 2.2's
    /// hmac-secret-mc, on keys that offer it: the salts go with
    /// hmac-secret. After the PIN token, as its key agreement is its own.
    fn prf_at_creation(
        &mut self,
        inputs: &Map<String, Json>,
        device: &mut Device,
    ) -> Result<(), CtapError> {
        if let Some(eval) = inputs.get("prf").and_then(|p| p.get("eval"))
            && has_ext(device, "hmac-secret")
            && has_ext(device, "hmac-secret-mc")
        {
            let salts = prf_salts(eval)?;
            let (input, state) = hmac_secret_input(device, &salts, true)?;
            self.inputs.push((Value::text("hmac-secret-mc"), input));
            self.hmac_mc = Some(state);
        }
        Ok(())
    }

    /// The makeCredential extensions map, if any.
    fn authenticator_inputs(&self) -> Option<Value> {
        (!self.inputs.is_empty()).then(|| Value::Map(self.inputs.clone()))
    }

    /// The client extension outputs from the key's answer.
    fn outputs(
        self,
        ext: Option<&Value>,
        response: &MakeCredentialResponse,
    ) -> Result<Map<String, Json>, CtapError> {
        let mut outputs = self.outputs;
        if let Some(ext) = ext {
            if self.wants_prf {
                let enabled = ext.get_text("hmac-secret").and_then(Value::as_bool) == Some(true);
                let mut prf = Map::new();
                prf.insert("enabled".into(), Json::Bool(enabled));
                if let (Some(state), Some(enc)) = (
                    &self.hmac_mc,
                    ext.get_text("hmac-secret-mc").and_then(Value::as_bytes),
                ) {
                    prf.insert(
                        "results".into(),
                        Json::Object(hmac_results(state, enc)?.prf),
                    );
                }
                outputs.insert("prf".into(), Json::Object(prf));
            } else if let Some(created) = ext.get_text("hmac-secret").and_then(Value::as_bool) {
                outputs.insert("hmacCreateSecret".into(), Json::Bool(created));
            }
            if let Some(stored) = ext.get_text("credBlob").and_then(Value::as_bool) {
                outputs.insert("credBlob".into(), Json::Bool(stored));
            }
        } else if self.wants_prf {
            outputs.insert("prf".into(), json!({ "enabled": false }));
        }
        if self.large_blob {
            outputs.insert(
                "largeBlob".into(),
                json!({ "supported": response.large_blob_key.is_some() }),
            );
        }
        if self.preview_sign
            && let Some(key) = preview_sign::GeneratedKey::from_outputs(
                ext,
                response.unsigned_extension_outputs.as_ref(),
            )
            .map_err(|e| CtapError::Options(e.to_string()))?
        {
            outputs.insert(
                preview_sign::NAME.into(),
                json!({ "generatedKey": {
                    "keyHandle": base64url::encode(&key.key_handle),
                    "publicKey": base64url::encode(&key.public_key_cbor),
                    "algorithm": key.algorithm,
                    "attestationObject": base64url::encode(&key.attestation_object),
                }}),
            );
        }
        Ok(outputs)
    }
}

/// RegistrationResponseJSON (WebAuthn L3 §5.1) from the key's answer.
fn registration_response(
    client_data_json: Vec<u8>,
    response: &MakeCredentialResponse,
    attested: &AttestedCredentialData,
    outputs: Map<String, Json>,
) -> RegistrationResponseJson {
    let public_key = CoseKey::from_cbor(&attested.public_key_cbor).ok();
    let attestation_object = cbor::to_vec(&Value::map([
        (Value::text("fmt"), Value::text(response.fmt.clone())),
        (Value::text("attStmt"), response.att_stmt.clone()),
        (
            Value::text("authData"),
            Value::bytes(response.auth_data.clone()),
        ),
    ]));
    let id = attested.credential_id.clone();
    RegistrationResponseJson {
        id: base64url::encode(&id),
        raw_id: Base64UrlBytes(id),
        response: AttestationResponseJson {
            client_data_json: Base64UrlBytes(client_data_json),
            authenticator_data: Some(Base64UrlBytes(response.auth_data.clone())),
            transports: vec![AuthenticatorTransport::Usb],
            public_key: public_key.as_ref().and_then(spki_der).map(Base64UrlBytes),
            public_key_algorithm: public_key.as_ref().and_then(|k| k.alg),
            attestation_object: Base64UrlBytes(attestation_object),
        },
        authenticator_attachment: Some(AuthenticatorAttachment::CrossPlatform),
        client_extension_results: outputs,
        kind: CredentialType::PublicKey,
    }
}

/// Secure Payment Confirmation's `payment` client extension with
/// `isPayment: true`: sent to the key as CTAP 2.2's thirdPartyPayment
/// (§12.9). The payment data itself is the client's business
/// (collectedClientPaymentData), not the key's; there is no client output.
fn is_payment(inputs: &Map<String, Json>) -> bool {
    inputs
        .get("payment")
        .and_then(|p| p.get("isPayment"))
        .and_then(Json::as_bool)
        == Some(true)
}

/// The PRF extension's salt for one input (WebAuthn L3 §10.1.4).
pub fn prf_salt(input: &[u8]) -> Vec<u8> {
    sha256(&[b"WebAuthn PRF".as_slice(), &[0], input].concat())
}

/// hmac-secret request state: our key agreement and the salts sent.
struct HmacSecretRequest {
    shared: SharedSecret,
    two: bool,
    prf: bool,
}

fn hmac_secret_input(
    device: &mut Device,
    salts: &[Vec<u8>],
    prf: bool,
) -> Result<(Value, HmacSecretRequest), CtapError> {
    let protocol = device.pin_protocol()?;
    let (platform_key, shared) = device.key_agreement(protocol)?;
    let salt_bytes = salts.concat();
    let salt_enc = shared.encrypt(&salt_bytes)?;
    let salt_auth = shared.authenticate(&salt_enc);
    let mut input = vec![
        (Value::int(1), platform_key.to_value()),
        (Value::int(2), Value::bytes(salt_enc)),
        (Value::int(3), Value::bytes(salt_auth)),
    ];
    if protocol != pin_uv_auth::Protocol::One {
        input.push((Value::int(4), Value::int(protocol.id())));
    }
    Ok((
        Value::Map(input),
        HmacSecretRequest {
            shared,
            two: salts.len() == 2,
            prf,
        },
    ))
}

fn has_ext(device: &Device, name: &str) -> bool {
    device.info().extensions.iter().any(|e| e == name)
}

/// prf.eval's inputs as hmac-secret salts: first, then second if given.
fn prf_salts(eval: &Json) -> Result<Vec<Vec<u8>>, CtapError> {
    let mut salts = vec![prf_salt(&json_bytes(
        eval.get("first").unwrap_or(&Json::Null),
        "prf.eval.first",
    )?)];
    if let Some(second) = eval.get("second") {
        salts.push(prf_salt(&json_bytes(second, "prf.eval.second")?));
    }
    Ok(salts)
}

/// Decrypted hmac-secret outputs in both client forms.
struct HmacResults {
    /// prf's results: {first, second}.
    prf: Map<String, Json>,
    /// hmacGetSecret's: {output1, output2}.
    legacy: Map<String, Json>,
}

/// Decrypts hmac-secret (or hmac-secret-mc) outputs.
fn hmac_results(state: &HmacSecretRequest, enc: &[u8]) -> Result<HmacResults, CtapError> {
    let plain = state.shared.decrypt(enc)?;
    let first = plain.get(..32).unwrap_or_default();
    let second = state.two.then(|| plain.get(32..64).unwrap_or_default());
    let enc = |b: &[u8]| Json::String(base64url::encode(b));
    let (mut prf, mut legacy) = (Map::new(), Map::new());
    prf.insert("first".into(), enc(first));
    legacy.insert("output1".into(), enc(first));
    if let Some(s) = second {
        prf.insert("second".into(), enc(s));
        legacy.insert("output2".into(), enc(s));
    }
    Ok(HmacResults { prf, legacy })
}

/// previewSign.signByCredential (the sign extension): the inputs for the
/// one credential of allowCredentials — the key signs with the credential
/// it picks, so the client names exactly one.
fn sign_by_credential(
    inputs: &Map<String, Json>,
    options: &RequestOptionsJson,
) -> Result<Option<preview_sign::SignInput>, CtapError> {
    let Some(by_credential) = inputs
        .get(preview_sign::NAME)
        .and_then(|s| s.get("signByCredential"))
    else {
        return Ok(None);
    };
    let [allowed] = options.allow_credentials.as_slice() else {
        return Err(CtapError::Options(
            "previewSign.signByCredential needs exactly one credential in allowCredentials".into(),
        ));
    };
    let id = base64url::encode(&allowed.id.0);
    let entry = by_credential.get(&id).ok_or_else(|| {
        CtapError::Options(format!(
            "previewSign.signByCredential has no entry for the allowed credential {id}"
        ))
    })?;
    let field = |name: &str| -> Result<Option<Vec<u8>>, CtapError> {
        entry
            .get(name)
            .map(|v| json_bytes(v, &format!("previewSign.signByCredential.{name}")))
            .transpose()
    };
    let missing =
        |name: &str| CtapError::Options(format!("previewSign.signByCredential needs {name}"));
    Ok(Some(preview_sign::SignInput {
        key_handle: field("keyHandle")?.ok_or_else(|| missing("keyHandle"))?,
        tbs: field("tbs")?.ok_or_else(|| missing("tbs"))?,
        additional_args: field("additionalArgs")?,
    }))
}

fn json_bytes(v: &Json, what: &str) -> Result<Vec<u8>, CtapError> {
    v.as_str()
        .ok_or_else(|| CtapError::Options(format!("{what} must be a base64url string")))
        .and_then(|s| base64url::decode(s).map_err(|e| CtapError::Options(format!("{what}: {e}"))))
}

/// Runs an authentication: `navigator.credentials.get()` on one key. With
/// several discoverable credentials the most recent one answers (the CLI
/// and UI list the others through credential management).
pub fn authenticate(
    device: &mut Device,
    options: &RequestOptionsJson,
    ctx: &mut ClientContext<'_>,
) -> Result<AuthenticationResponseJson, CtapError> {
    let rp_id = ctx.rp_id(options.rp_id.as_deref())?;
    let client_data_json = ctx.client_data(CeremonyType::Get, &options.challenge.0);
    let client_data_hash = sha256(&client_data_json);
    let uv = options
        .user_verification
        .clone()
        .unwrap_or(UserVerificationRequirement::Preferred);
    let inputs = options.extensions.clone().unwrap_or_default();
    let has = |device: &Device, name: &str| device.info().extensions.iter().any(|e| e == name);

    let mut ext: Vec<(Value, Value)> = Vec::new();
    let mut hmac = None;
    let prf_eval = inputs.get("prf").and_then(|p| p.get("eval")).cloned();
    if let Some(eval) = prf_eval {
        let salts = prf_salts(&eval)?;
        if has(device, "hmac-secret") {
            let (input, state) = hmac_secret_input(device, &salts, true)?;
            ext.push((Value::text("hmac-secret"), input));
            hmac = Some(state);
        }
    } else if let Some(get) = inputs.get("hmacGetSecret") {
        let mut salts = vec![json_bytes(
            get.get("salt1").unwrap_or(&Json::Null),
            "hmacGetSecret.salt1",
        )?];
        if let Some(s2) = get.get("salt2") {
            salts.push(json_bytes(s2, "hmacGetSecret.salt2")?);
        }
        if salts.iter().any(|s| s.len() != 32) {
            return Err(CtapError::Options(
                "hmacGetSecret salts must be 32 bytes".into(),
            ));
        }
        if has(device, "hmac-secret") {
            let (input, state) = hmac_secret_input(device, &salts, false)?;
            ext.push((Value::text("hmac-secret"), input));
            hmac = Some(state);
        }
    }
    let get_cred_blob = inputs.get("getCredBlob") == Some(&Json::Bool(true));
    if get_cred_blob && has(device, "credBlob") {
        ext.push((Value::text("credBlob"), Value::Bool(true)));
    }
    if inputs.contains_key("largeBlob") && has(device, "largeBlobKey") {
        ext.push((Value::text("largeBlobKey"), Value::Bool(true)));
    }
    if is_payment(&inputs) && has(device, "thirdPartyPayment") {
        ext.push((Value::text("thirdPartyPayment"), Value::Bool(true)));
    }
    let sign = sign_by_credential(&inputs, options)?;
    if let Some(input) = &sign
        && has(device, preview_sign::NAME)
    {
        ext.push((Value::text(preview_sign::NAME), input.to_value()));
    }

    let token = if needs_token(device, &uv, None)? {
        Some(token(
            device,
            ctx,
            Permissions::GET_ASSERTION,
            &rp_id,
            options.timeout,
        )?)
    } else {
        None
    };
    let req = GetAssertionRequest {
        rp_id,
        client_data_hash: client_data_hash.clone(),
        allow_list: options
            .allow_credentials
            .iter()
            .map(|d| Descriptor::public_key(d.id.0.clone()))
            .collect(),
        extensions: (!ext.is_empty()).then_some(Value::Map(ext)),
        options: RequestOptions::default(),
        pin_uv_auth_param: token.as_ref().map(|t| t.authenticate(&client_data_hash)),
        pin_uv_auth_protocol: token.as_ref().map(|t| t.protocol().id()),
    };
    let tx = ctx.transaction(options.timeout);
    let response = device.get_assertion(&req, tx)?;
    let auth_data = response.parsed_auth_data().map_err(|e| {
        CtapError::Options(format!("the key's authenticator data does not parse: {e}"))
    })?;
    let mut outputs = Map::new();
    if let (Some(state), Some(enc)) = (
        &hmac,
        auth_data
            .extensions
            .as_ref()
            .and_then(|e| e.get_text("hmac-secret"))
            .and_then(Value::as_bytes),
    ) {
        let results = hmac_results(state, enc)?;
        if state.prf {
            outputs.insert("prf".into(), json!({ "results": results.prf }));
        } else {
            outputs.insert("hmacGetSecret".into(), Json::Object(results.legacy));
        }
    }
    if get_cred_blob {
        let blob = auth_data
            .extensions
            .as_ref()
            .and_then(|e| e.get_text("credBlob"))
            .and_then(Value::as_bytes)
            .unwrap_or_default();
        outputs.insert("getCredBlob".into(), Json::String(base64url::encode(blob)));
    }
    if sign.is_some()
        && let Some(signature) = preview_sign::signature(auth_data.extensions.as_ref())
            .map_err(|e| CtapError::Options(e.to_string()))?
    {
        outputs.insert(
            preview_sign::NAME.into(),
            json!({ "signature": base64url::encode(&signature) }),
        );
    }
    let id = response
        .credential_id
        .clone()
        .or_else(|| options.allow_credentials.first().map(|d| d.id.0.clone()))
        .ok_or_else(|| CtapError::Options("the key named no credential".into()))?;
    Ok(AuthenticationResponseJson {
        id: base64url::encode(&id),
        raw_id: Base64UrlBytes(id),
        response: AssertionResponseJson {
            client_data_json: Base64UrlBytes(client_data_json),
            authenticator_data: Base64UrlBytes(response.auth_data.clone()),
            signature: Base64UrlBytes(response.signature.clone()),
            user_handle: response.user.as_ref().map(|u| Base64UrlBytes(u.id.clone())),
            attestation_object: None,
        },
        authenticator_attachment: Some(AuthenticatorAttachment::CrossPlatform),
        client_extension_results: outputs,
        kind: CredentialType::PublicKey,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rp_id_comes_from_the_origin_host() {
        let rp =
            |origin: &str, requested: Option<&str>| ClientContext::new(origin).rp_id(requested);
        assert_eq!(rp("https://example.org", None).unwrap(), "example.org");
        assert_eq!(rp("http://localhost:8765", None).unwrap(), "localhost");
        assert_eq!(
            rp("https://Login.Example.org:443/path", Some("example.org")).unwrap(),
            "example.org"
        );
        assert_eq!(rp("http://[::1]:8765", None).unwrap(), "[::1]");
        assert!(rp("https://example.org", Some("evil.example")).is_err());
        assert!(rp("https://notexample.org", Some("example.org")).is_err());
        assert!(rp("ftp://example.org", None).is_err());
        assert!(rp("not a url", None).is_err());
        assert!(rp("http://127.0.0.1", Some("0.0.1")).is_err());
    }

    #[test]
    fn a_public_suffix_is_never_an_rp_id() {
        let rp =
            |origin: &str, requested: Option<&str>| ClientContext::new(origin).rp_id(requested);
        for (origin, suffix) in [
            ("https://example.com", "com"),
            ("https://login.example.co.uk", "co.uk"),
            ("https://login.example.co.uk", "uk"),
            ("https://alice.github.io", "github.io"),
        ] {
            let err = rp(origin, Some(suffix)).unwrap_err();
            assert!(
                matches!(&err, CtapError::RpIdIsPublicSuffix { rp_id, .. } if rp_id == suffix),
                "{origin} {suffix}: {err:?}"
            );
        }
        assert_eq!(
            rp("https://login.example.co.uk", Some("example.co.uk")).unwrap(),
            "example.co.uk"
        );
        assert_eq!(
            rp("https://alice.github.io", Some("alice.github.io")).unwrap(),
            "alice.github.io"
        );
        // Not on the list: a local name is its own registrable domain.
        assert_eq!(
            rp("http://app.localhost:8765", Some("localhost")).unwrap(),
            "localhost"
        );
    }
}
