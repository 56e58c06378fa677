//! The relying-party endpoints (docs/API.md, "Relying party"): registration
//! and authentication (simple and advanced), the signed-in user, their
//! credentials, uploaded metadata, the decoder and logout.
//!
//! Every ceremony: the session engine binds a fresh challenge to the
//! session, ceremony, RP ID, origin and user; the options the ceremony chose
//! are kept in the session under that challenge; on completion the challenge
//! is consumed first (one use, precise refusal reasons), then the relying
//! party verifies every §7.1/§7.2 step, and a success signs the session in
//! with a new id.

use crate::accounts::{Accounts, StoredCredential};
use crate::app::{App, Topic};
use crate::error::ApiError;
use crate::request::{Known, Reply, RequestInfo};
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fido_wire::cose::CoseAlgorithm;
use fido_wire::webauthn::json::{
    AttestationConveyance, AuthenticationResponseJson, AuthenticatorAttachment,
    PublicKeyCredentialHint, RegistrationResponseJson, ResidentKeyRequirement,
    UserEntity as JsonUser, UserVerificationRequirement,
};
use fido_wire::webauthn::{Base64UrlBytes, CollectedClientData};
use relying_party::mds;
use relying_party::{TrustOutcome, TrustStore};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json, json};
use session_engine::{
    Binding, Ceremony, CheckedChallenge, EndpointClass, Opened, Session, SignInError, StateChange,
};
use session_store::BackendState;
use std::sync::Arc;
use std::time::SystemTime;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The options one ceremony chose, stored with its challenge (the session
/// engine's challenge context) and returned when the challenge is consumed.
/// The user the ceremony named is the challenge binding's own (not stored
/// twice). A context in any other shape (one written before this form, say)
/// is refused as an unknown challenge.
#[derive(Debug, Serialize, Deserialize)]
#[serde(
    tag = "ceremony",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
enum PendingCeremony {
    /// A registration: which account, under which handle, with which
    /// requirements.
    Registration {
        /// Whose account the credential goes to.
        target: RegistrationTarget,
        /// The user handle the options carried.
        user_handle: Base64UrlBytes,
        /// The display name the options carried.
        display_name: String,
        /// Whether the UV flag must be set.
        uv_required: bool,
        /// The algorithms offered (pubKeyCredParams).
        algorithms: Vec<CoseAlgorithm>,
        /// The client extension inputs sent, judged against the outputs.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        extensions: Option<Map<String, Json>>,
        /// The attestation conveyance the options asked for (absent in
        /// contexts written before this member: "direct", what they sent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attestation: Option<AttestationConveyance>,
    },
    /// An authentication: its requirement and the allowCredentials sent.
    Authentication {
        /// Whether the UV flag must be set.
        uv_required: bool,
        /// allowCredentials (empty: a discoverable login).
        allow: Vec<Base64UrlBytes>,
        /// The client extension inputs sent, judged against the outputs.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        extensions: Option<Map<String, Json>>,
    },
}

/// A consumed challenge: its bytes, the user its binding named, and what
/// the ceremony chose.
struct Consumed {
    challenge: Vec<u8>,
    username: Option<String>,
    pending: PendingCeremony,
}

/// Uploaded metadata statements one session may keep.
const MAX_METADATA_PER_SESSION: usize = 20;

/// The account a registration's credential goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
enum RegistrationTarget {
    /// A name nobody had when the ceremony began: a new account.
    NewAccount,
    /// The account the session was signed in as when the ceremony began.
    SignedInAccount,
}

fn signed_in_as(session: &Session, username: &str) -> bool {
    session.record.is_authenticated() && session.record.user.as_deref() == Some(username)
}

fn username_taken() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "username_taken",
        "this user name is taken: sign in as that user to add a key",
    )
}

/// The origin the request came from, which must be allowed.
fn request_origin(app: &App, req: &RequestInfo) -> Result<String, ApiError> {
    let origin = req.origin().ok_or_else(|| {
        ApiError::forbidden(
            "missing_origin",
            "a ceremony request must carry an Origin header",
        )
    })?;
    if !app.origins.iter().any(|o| o == origin) {
        return Err(ApiError::forbidden(
            "origin_not_allowed",
            format!("origin {origin} is not one this relying party serves"),
        ));
    }
    Ok(origin.to_owned())
}

/// The request's session, created when it has none — at the rate the
/// server allows one peer (a session is only created for something to keep:
/// a ceremony, an upload).
fn open_or_create_session(
    app: &App,
    req: &RequestInfo,
    class: EndpointClass,
) -> Result<Opened, ApiError> {
    match app.engine.open(&req.context(class))? {
        Some(opened) => Ok(opened),
        None => create_session(app, req, class),
    }
}

fn create_session(app: &App, req: &RequestInfo, class: EndpointClass) -> Result<Opened, ApiError> {
    if !app.session_limiter.allow(req.peer.ip()) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_sessions",
            "too many new sessions from this address: wait a minute, and keep the session cookie between requests",
        ));
    }
    Ok(app.engine.create(&req.context(class))?)
}

fn existing_session(
    app: &App,
    req: &RequestInfo,
    class: EndpointClass,
) -> Result<Opened, ApiError> {
    app.engine
        .open(&req.context(class))?
        .ok_or_else(|| {
            ApiError::bad_request(
                "no_session",
                "no session: begin the ceremony first (the session cookie is missing, expired or not valid)",
            )
        })
}

fn signed_in_user(app: &App, req: &RequestInfo) -> Result<(Opened, String), ApiError> {
    let opened = app.engine.open(&req.context(EndpointClass::Normal))?;
    match opened {
        Some(o) if o.session.record.is_authenticated() => {
            let user = o.session.record.user.clone().unwrap_or_default();
            Ok((o, user))
        }
        _ => Err(ApiError::unauthorized("not_signed_in", "sign in first")),
    }
}

fn csrf(
    app: &App,
    req: &RequestInfo,
    session: Option<&Session>,
    change: StateChange,
) -> Result<(), ApiError> {
    app.engine
        .check_csrf(&req.method, &req.headers, session, change)?;
    Ok(())
}

// ---- request bodies --------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SimpleRegisterBegin {
    username: String,
    display_name: Option<String>,
}

/// The advanced registration's body. Enumerated options are fido-wire's
/// WebAuthn enums limited to the values it knows ([`Known`]): anything else
/// is refused as `invalid_option`, naming the allowed values.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AdvancedRegisterBegin {
    username: String,
    display_name: Option<String>,
    attestation: Option<Known<AttestationConveyance>>,
    resident_key: Option<Known<ResidentKeyRequirement>>,
    user_verification: Option<Known<UserVerificationRequirement>>,
    authenticator_attachment: Option<Known<AuthenticatorAttachment>>,
    algorithms: Option<Vec<CoseAlgorithm>>,
    extensions: Option<Map<String, Json>>,
    hints: Option<Vec<Known<PublicKeyCredentialHint>>>,
    timeout: Option<u32>,
    attestation_formats: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AuthenticateBegin {
    username: Option<String>,
    user_verification: Option<Known<UserVerificationRequirement>>,
    extensions: Option<Map<String, Json>>,
    hints: Option<Vec<Known<PublicKeyCredentialHint>>>,
    timeout: Option<u32>,
}

/// The hints a ceremony's request asked for, as the options carry them.
fn hints(hints: Option<Vec<Known<PublicKeyCredentialHint>>>) -> Vec<PublicKeyCredentialHint> {
    hints.into_iter().flatten().map(|Known(h)| h).collect()
}

/// A requested timeout, held between 10 s and 10 min.
fn timeout(ms: Option<u32>) -> Option<u32> {
    ms.map(|t| t.clamp(10_000, 600_000))
}

// ---- registration ----------------------------------------------------------

fn register_begin_with(
    app: &App,
    req: &RequestInfo,
    b: AdvancedRegisterBegin,
) -> Result<Reply, ApiError> {
    Accounts::validate_username(&b.username)?;
    let origin = request_origin(app, req)?;
    let current = app.engine.open(&req.context(EndpointClass::Normal))?;
    csrf(
        app,
        req,
        current.as_ref().map(|o| &o.session),
        StateChange::Ceremony,
    )?;
    let username = Accounts::canonical(&b.username);
    if let Some(d) = &b.display_name {
        // The same bounds as a user name: it is stored with the challenge
        // and the account.
        Accounts::validate_username(d).map_err(|_| {
            ApiError::bad_request(
                "invalid_display_name",
                "a display name is 1 to 64 characters, without control or invisible characters",
            )
        })?;
    }
    let display = b
        .display_name
        .clone()
        .unwrap_or_else(|| b.username.trim().to_owned());
    let requested_uv = b
        .user_verification
        .map_or(UserVerificationRequirement::Preferred, |Known(uv)| uv);
    let uv_asked = requested_uv == UserVerificationRequirement::Required;
    // A name that exists belongs to its account: only a session signed in
    // as that account may add a key to it, and then only with user
    // verification when the account already has a verified credential.
    // Anyone else learns nothing of the account (no handle, no ids).
    let signed_in = current
        .as_ref()
        .is_some_and(|o| signed_in_as(&o.session, &username));
    let (target, handle, exclude, uv_required) = match app.accounts.profile(&username)? {
        None => {
            let mut h = [0u8; 32];
            aws_lc_rs::rand::fill(&mut h).map_err(|_| ApiError::internal("no randomness"))?;
            (
                RegistrationTarget::NewAccount,
                h.to_vec(),
                Vec::new(),
                uv_asked,
            )
        }
        Some(profile) if signed_in => {
            // A key added to an account outlives the session: only a recent
            // sign-in may add one (a stolen cookie or an unlocked browser
            // left signed in for hours may not).
            let recent = current
                .as_ref()
                .and_then(|o| o.session.record.authenticated_ms)
                .is_some_and(|at| {
                    now_ms().saturating_sub(at)
                        <= u64::try_from(app.config.add_key_within.as_millis()).unwrap_or(u64::MAX)
                });
            if !recent {
                return Err(ApiError::forbidden(
                    "sign_in_again",
                    "sign in again to add a key to this account (adding a key needs a recent sign-in)",
                ));
            }
            let credentials = app.accounts.credentials(&username)?;
            let uv_required = uv_asked || credentials.iter().any(|c| c.user_verified);
            (
                RegistrationTarget::SignedInAccount,
                URL_SAFE_NO_PAD
                    .decode(&profile.user_handle)
                    .map_err(ApiError::internal)?,
                credentials.into_iter().map(|c| c.record.id.0).collect(),
                uv_required,
            )
        }
        Some(_) => return Err(username_taken()),
    };
    let uv = if uv_required {
        UserVerificationRequirement::Required
    } else {
        requested_uv
    };
    let algorithms = b.algorithms.unwrap_or_default();
    let rp = app.relying_party(uv_required, &algorithms);
    if let Some(bad) = algorithms.iter().find(|a| !rp.algorithms().contains(a)) {
        return Err(ApiError::bad_request(
            "unsupported_algorithm",
            format!("this relying party cannot verify algorithm {}", bad.0),
        ));
    }
    let opened = match current {
        Some(opened) => opened,
        None => create_session(app, req, EndpointClass::Normal)?,
    };
    let attestation = b
        .attestation
        .map_or(AttestationConveyance::Direct, |Known(a)| a);
    let pending = PendingCeremony::Registration {
        target,
        user_handle: handle.clone().into(),
        display_name: display.clone(),
        uv_required,
        algorithms: rp.algorithms().to_vec(),
        extensions: b.extensions.clone(),
        attestation: Some(attestation.clone()),
    };
    let issued = app.engine.issue_challenge_with(
        &Binding {
            session: opened.session.id.clone(),
            ceremony: Ceremony::Registration,
            rp_id: app.config.rp_id.clone(),
            origin,
            user: Some(username.clone()),
        },
        Some(&serde_json::to_string(&pending).map_err(ApiError::internal)?),
    )?;
    let mut options = rp.creation_options(
        &issued.bytes,
        JsonUser {
            id: handle.into(),
            name: username.clone(),
            display_name: display,
        },
        "Keybench",
        &exclude,
    );
    if let Some(sel) = &mut options.authenticator_selection {
        let rk = b
            .resident_key
            .map_or(ResidentKeyRequirement::Preferred, |Known(rk)| rk);
        sel.require_resident_key = rk == ResidentKeyRequirement::Required;
        sel.resident_key = Some(rk);
        sel.user_verification = Some(uv);
        sel.authenticator_attachment = b.authenticator_attachment.map(|Known(a)| a);
    }
    options.attestation = Some(attestation);
    options.extensions = b.extensions;
    options.hints = hints(b.hints);
    options.timeout = timeout(b.timeout).or(options.timeout);
    options.attestation_formats = b.attestation_formats.unwrap_or_default();
    Ok(Reply::ok(json!({ "publicKey": options })).with_cookie(opened.set_cookie))
}

/// `POST /api/register/begin`.
pub fn register_begin(app: &App, req: &RequestInfo) -> Result<Reply, ApiError> {
    let b: SimpleRegisterBegin = req.json()?;
    register_begin_with(
        app,
        req,
        AdvancedRegisterBegin {
            username: b.username,
            display_name: b.display_name,
            ..AdvancedRegisterBegin::default()
        },
    )
}

/// `POST /api/advanced/register/begin`.
pub fn advanced_register_begin(app: &App, req: &RequestInfo) -> Result<Reply, ApiError> {
    let b: AdvancedRegisterBegin = req.json()?;
    register_begin_with(app, req, b)
}

/// A completion's response body, parsed as the WebAuthn JSON form `what`.
fn parse_response<T: serde::de::DeserializeOwned>(
    req: &RequestInfo,
    what: &str,
) -> Result<T, ApiError> {
    fido_wire::webauthn::json::from_json(&req.body)
        .map_err(|e| ApiError::bad_request("invalid_response", format!("not {what}: {e}")))
}

/// What every completion checks before verifying: an allowed origin, the
/// caller's session, CSRF, and the session's challenge consumed (once).
fn completion(
    app: &App,
    req: &RequestInfo,
    client_data_json: &[u8],
    ceremony: Ceremony,
) -> Result<(Opened, Consumed), ApiError> {
    let origin = request_origin(app, req)?;
    let opened = existing_session(app, req, EndpointClass::Critical)?;
    csrf(app, req, Some(&opened.session), StateChange::Ceremony)?;
    let consumed = consume(app, &opened.session, client_data_json, ceremony, &origin)?;
    Ok((opened, consumed))
}

/// Reads clientDataJSON's challenge, consumes it against the expected
/// binding, and returns the ceremony's pending options.
fn consume(
    app: &App,
    session: &Session,
    client_data_json: &[u8],
    ceremony: Ceremony,
    origin: &str,
) -> Result<Consumed, ApiError> {
    let (checked, consumed) = check(app, session, client_data_json, ceremony, origin)?;
    app.engine.consume_checked(checked, &session.id)?;
    Ok(consumed)
}

/// Reads clientDataJSON's challenge and checks it against the expected
/// binding without consuming it; returns it with the ceremony's pending
/// options.
fn check(
    app: &App,
    session: &Session,
    client_data_json: &[u8],
    ceremony: Ceremony,
    origin: &str,
) -> Result<(CheckedChallenge, Consumed), ApiError> {
    let cd = CollectedClientData::parse(client_data_json).map_err(|e| {
        ApiError::bad_request("invalid_client_data", format!("clientDataJSON: {e}"))
    })?;
    let challenge = cd.challenge_bytes().map_err(|e| {
        ApiError::bad_request(
            "invalid_client_data",
            format!("clientDataJSON challenge: {e}"),
        )
    })?;
    let binding = Binding {
        session: session.id.clone(),
        ceremony,
        rp_id: app.config.rp_id.clone(),
        origin: origin.to_owned(),
        // The user the ceremony named is in the challenge's own record.
        user: None,
    };
    let checked = app.engine.check_challenge(&challenge, &binding)?;
    let issued = checked.consumed();
    let pending: PendingCeremony = issued
        .context
        .as_deref()
        .and_then(|c| serde_json::from_str(c).ok())
        .ok_or_else(|| {
            ApiError::bad_request(
                "challenge_unknown",
                "no ceremony of this session used that challenge",
            )
        })?;
    let username = issued.user.clone();
    Ok((
        checked,
        Consumed {
            challenge,
            username,
            pending,
        },
    ))
}

fn wrong_ceremony() -> ApiError {
    ApiError::bad_request(
        "challenge_wrong_ceremony",
        "the challenge was issued for another ceremony",
    )
}

/// An uploaded metadata statement as the session keeps it: what trust
/// needs of it and what the metadata list shows, parsed once at upload.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StoredMetadata {
    /// How many statements the upload held.
    entries: usize,
    /// What each contributes to trust.
    models: Vec<mds::ModelTrust>,
}

impl StoredMetadata {
    fn of(entries: &[mds::MetadataEntry]) -> StoredMetadata {
        StoredMetadata {
            entries: entries.len(),
            models: entries.iter().filter_map(mds::ModelTrust::of).collect(),
        }
    }

    /// Reads a stored statement: this form, or an upload an earlier build
    /// kept as sent (parsed now).
    fn read(bytes: &[u8]) -> Option<StoredMetadata> {
        serde_json::from_slice(bytes).ok().or_else(|| {
            mds::parse_uploaded(bytes)
                .ok()
                .map(|entries| StoredMetadata::of(&entries))
        })
    }

    /// The first statement's AAGUID and description, as the API shows them.
    fn summary(&self) -> (Option<String>, Option<String>) {
        let first = self.models.first();
        (
            first.map(|m| relying_party::decoder::uuid_string(&m.aaguid)),
            first.map(|m| m.description.clone()),
        )
    }
}

/// The trust store for this session: the server's (shared, not copied),
/// with the metadata statements this session uploaded on top ("uploaded,
/// not MDS-trusted").
fn session_trust(app: &App, session: &Session) -> Arc<TrustStore> {
    let items = app.engine.items(session);
    let mut trust: Option<TrustStore> = None;
    if let Ok(list) = items.list() {
        for meta in list
            .iter()
            .filter(|m| m.name.as_str().starts_with("metadata-"))
        {
            if let Ok(Some(bytes)) = items.get(meta.name.as_str())
                && let Some(stored) = StoredMetadata::read(&bytes)
            {
                let trust = trust.get_or_insert_with(|| TrustStore::over(app.trust()));
                mds::apply_uploaded_models(&stored.models, trust);
            }
        }
    }
    trust.map_or_else(|| app.trust(), Arc::new)
}

/// Where a trust anchor came from, for people.
fn anchor_source_text(source: &relying_party::x509::AnchorSource) -> String {
    use relying_party::x509::AnchorSource;
    match source {
        AnchorSource::Configured => "configured".to_owned(),
        AnchorSource::FidoMds { description } => format!("FIDO MDS: {description}"),
        // Its description says "(uploaded, not MDS-trusted)" already.
        AnchorSource::Uploaded { description } => description.clone(),
        _ => "another source".to_owned(),
    }
}

/// The JSON view of a stored credential (docs/API.md `Credential`).
pub fn credential_view(
    c: &StoredCredential,
    metadata: &relying_party::mds::LoadedMetadata,
) -> Json {
    let r = &c.record;
    let (trust, anchor, reason) = match &r.attestation_trust {
        TrustOutcome::NoAttestation => ("none", None, None),
        TrustOutcome::SelfAttestation => ("self", None, None),
        TrustOutcome::Trusted { anchor, source } => (
            "trusted",
            Some(format!("{anchor} ({})", anchor_source_text(source))),
            None,
        ),
        TrustOutcome::NotTrusted { reason } => ("not trusted", None, Some(reason.clone())),
        // An outcome this build does not know is not shown as trusted.
        _ => ("unknown", None, None),
    };
    let aaguid_bytes = <[u8; 16]>::try_from(r.aaguid.0.as_slice()).ok();
    let aaguid = aaguid_bytes
        .map(|a| relying_party::decoder::uuid_string(&a))
        .unwrap_or_default();
    // The model as the FIDO metadata describes it now (a status report
    // after the registration shows here, not only in new verdicts).
    let model = aaguid_bytes.and_then(|a| metadata.model(&a));
    json!({
        "id": URL_SAFE_NO_PAD.encode(&r.id.0),
        "algorithm": r.algorithm.0,
        "algorithmName": r.algorithm.name(),
        "created": c.created_ms,
        "signCount": r.sign_count,
        "userVerified": c.user_verified,
        "backupEligible": r.backup_eligible,
        "backedUp": r.backup_state,
        "aaguid": aaguid,
        "transports": r.transports.iter().map(|t| t.as_str().to_owned()).collect::<Vec<_>>(),
        "attestation": {
            "format": r.attestation_format,
            "trust": trust,
            "anchor": anchor,
            "reason": reason,
            // The same as "format" (kept for clients that read it): the
            // record's, not the attestation object decoded again.
            "fmt": r.attestation_format,
        },
        "attestationObject": c.attestation_object,
        "publicKeyBytes": r.public_key.0.len(),
        "model": model,
    })
}

/// `POST /api/register/complete`.
pub fn register_complete(app: &App, req: &RequestInfo) -> Result<Reply, ApiError> {
    let response: RegistrationResponseJson = parse_response(req, "a RegistrationResponseJSON")?;
    let (
        opened,
        Consumed {
            challenge,
            username,
            pending,
        },
    ) = completion(
        app,
        req,
        &response.response.client_data_json.0,
        Ceremony::Registration,
    )?;
    let PendingCeremony::Registration {
        target,
        user_handle,
        display_name,
        uv_required,
        algorithms,
        extensions,
        attestation,
    } = pending
    else {
        return Err(wrong_ceremony());
    };
    let attestation = attestation.unwrap_or(AttestationConveyance::Direct);
    // A registration's binding always names its user.
    let username = username.ok_or_else(|| {
        ApiError::bad_request(
            "challenge_unknown",
            "no ceremony of this session used that challenge",
        )
    })?;
    let handle_text = URL_SAFE_NO_PAD.encode(user_handle.as_slice());
    let rp = app
        .relying_party(uv_required, &algorithms)
        .with_trust(session_trust(app, &opened.session))
        .with_requested_extensions(extensions)
        .with_requested_attestation(attestation.clone());
    let accounts = &app.accounts;
    let outcome = rp.finish_registration(&challenge, user_handle.as_slice(), &response, &|id| {
        accounts.is_registered(id).unwrap_or(true)
    })?;
    let profile = match target {
        RegistrationTarget::NewAccount => {
            let profile = accounts.profile_or_create_with_handle(
                &username,
                &display_name,
                &handle_text,
                now_ms(),
            )?;
            if profile.user_handle != handle_text {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "account_changed",
                    "the account was created by another registration meanwhile; register again",
                ));
            }
            profile
        }
        // Still signed in as the account, which is still the one the
        // ceremony named.
        RegistrationTarget::SignedInAccount => match accounts.profile(&username)? {
            Some(p) if signed_in_as(&opened.session, &username) && p.user_handle == handle_text => {
                p
            }
            _ => return Err(username_taken()),
        },
    };
    let stored = StoredCredential {
        record: outcome.credential.record().clone(),
        created_ms: now_ms(),
        attestation_object: URL_SAFE_NO_PAD.encode(&response.response.attestation_object.0),
        user_verified: outcome.user_verified,
    };
    accounts.add_credential(&profile.username, &stored)?;
    let signed_in = app.engine.authenticate(
        &req.context(EndpointClass::Critical),
        &opened.session,
        &Accounts::canonical(&profile.username),
        vec!["user".into()],
    )?;
    Ok(Reply::ok(json!({
        "status": "ok",
        "username": profile.username,
        "credential": credential_view(&stored, &app.metadata()),
        "extensions": outcome.extension_verdicts,
        "enterpriseAttestation": outcome.enterprise_attestation,
        "enterpriseAttestationBasis": enterprise_attestation_basis(&attestation, &outcome),
    }))
    .with_cookie(signed_in.set_cookie))
}

/// What a registration verdict's `enterpriseAttestation` rests on, for
/// people: what the options asked for and what the key's statement
/// carried. CTAP's epAtt stays between key and client, so the relying
/// party's evidence is a verified certificate-backed statement given when
/// it asked for "enterprise" (WebAuthn L3 §5.4.7).
fn enterprise_attestation_basis(
    asked: &AttestationConveyance,
    outcome: &relying_party::RegistrationOutcome,
) -> String {
    let format = outcome.statement.format.identifier();
    let chain = outcome.statement.trust_path.len();
    if *asked != AttestationConveyance::Enterprise {
        format!(
            "not asked for: the options asked for \"{}\" attestation",
            asked.as_str()
        )
    } else if outcome.enterprise_attestation {
        format!(
            "asked for \"enterprise\", and the key answered a verified {format} attestation statement with a {chain}-certificate chain (x5c), which may identify this one device"
        )
    } else {
        format!(
            "asked for \"enterprise\", but the key answered a {format} attestation statement with no certificate chain: no enterprise attestation was given"
        )
    }
}

// ---- authentication --------------------------------------------------------

fn authenticate_begin_with(
    app: &App,
    req: &RequestInfo,
    b: AuthenticateBegin,
) -> Result<Reply, ApiError> {
    let origin = request_origin(app, req)?;
    let opened = open_or_create_session(app, req, EndpointClass::Normal)?;
    csrf(app, req, Some(&opened.session), StateChange::Ceremony)?;
    let username = b
        .username
        .as_deref()
        .filter(|u| !u.trim().is_empty())
        .map(|u| Accounts::validate_username(u).map(|()| Accounts::canonical(u)))
        .transpose()?;
    // A name without an account gets a decoy list, the same on every
    // request, so the answer does not tell who has an account.
    let allow: Vec<Vec<u8>> = match &username {
        Some(u) => {
            // While a remote store is unreachable its accounts read as
            // empty: only a list read on the primary store (before and
            // after) may say "no account" and earn the name a decoy list.
            let on_primary =
                || matches!(app.engine.storage().status().state, BackendState::Primary);
            let primary_before = on_primary();
            let ids: Vec<Vec<u8>> = app
                .accounts
                .credentials(u)?
                .into_iter()
                .map(|c| c.record.id.0)
                .collect();
            if ids.is_empty() && !(primary_before && on_primary()) {
                return Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_unavailable",
                    "the accounts' storage is unreachable: sign-in is possible again once it is back",
                ));
            }
            if ids.is_empty() {
                app.decoys
                    .credential_ids(app.engine.storage().as_ref(), u)?
            } else {
                ids
            }
        }
        None => Vec::new(),
    };
    let uv = b
        .user_verification
        .map_or(UserVerificationRequirement::Preferred, |Known(uv)| uv);
    let uv_required = uv == UserVerificationRequirement::Required;
    let rp = app.relying_party(uv_required, &[]);
    let pending = PendingCeremony::Authentication {
        uv_required,
        allow: allow.iter().map(|id| id.as_slice().into()).collect(),
        extensions: b.extensions.clone(),
    };
    let issued = app.engine.issue_challenge_with(
        &Binding {
            session: opened.session.id.clone(),
            ceremony: Ceremony::Authentication,
            rp_id: app.config.rp_id.clone(),
            origin,
            user: username,
        },
        Some(&serde_json::to_string(&pending).map_err(ApiError::internal)?),
    )?;
    let mut options = rp.request_options(&issued.bytes, &allow);
    options.user_verification = Some(uv);
    options.extensions = b.extensions;
    options.hints = hints(b.hints);
    options.timeout = timeout(b.timeout).or(options.timeout);
    Ok(Reply::ok(json!({ "publicKey": options })).with_cookie(opened.set_cookie))
}

/// `POST /api/authenticate/begin`.
pub fn authenticate_begin(app: &App, req: &RequestInfo) -> Result<Reply, ApiError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Simple {
        username: Option<String>,
    }
    let b: Simple = req.json()?;
    authenticate_begin_with(
        app,
        req,
        AuthenticateBegin {
            username: b.username,
            ..AuthenticateBegin::default()
        },
    )
}

/// `POST /api/advanced/authenticate/begin`.
pub fn advanced_authenticate_begin(app: &App, req: &RequestInfo) -> Result<Reply, ApiError> {
    let b: AuthenticateBegin = req.json()?;
    authenticate_begin_with(app, req, b)
}

/// `POST /api/authenticate/complete`. The challenge is checked first and
/// consumed last: with the credential's counter and the session's rotation
/// in one durable commit when the assertion verifies, on its own when it
/// does not (a failed attempt uses up its challenge too).
pub fn authenticate_complete(app: &App, req: &RequestInfo) -> Result<Reply, ApiError> {
    let response: AuthenticationResponseJson =
        parse_response(req, "an AuthenticationResponseJSON")?;
    let origin = request_origin(app, req)?;
    let opened = existing_session(app, req, EndpointClass::Critical)?;
    csrf(app, req, Some(&opened.session), StateChange::Ceremony)?;
    let (checked, consumed) = check(
        app,
        &opened.session,
        &response.response.client_data_json.0,
        Ceremony::Authentication,
        &origin,
    )?;
    let verified = match verify_assertion(app, &response, consumed) {
        Ok(verified) => verified,
        Err(e) => {
            // Already refused: the assertion's error is the answer.
            let _ = app.engine.consume_checked(checked, &opened.session.id);
            return Err(e);
        }
    };
    let update =
        match app
            .accounts
            .prepare_update(&verified.owner, &verified.read, &verified.stored)
        {
            Ok(update) => update,
            Err(e) => {
                let _ = app.engine.consume_checked(checked, &opened.session.id);
                return Err(e.into());
            }
        };
    let signed_in = app
        .engine
        .sign_in(
            &req.context(EndpointClass::Critical),
            checked,
            &opened.session,
            &verified.owner,
            vec!["user".into()],
            &[update.write()],
        )
        .map(|(_, signed_in)| signed_in)
        .map_err(|e| match e {
            SignInError::Challenge(rejection) => ApiError::from(rejection),
            SignInError::Refused { why, .. } => update.refused(why).into(),
            SignInError::Engine(e) => e.into(),
        })?;
    let outcome = &verified.outcome;
    Ok(Reply::ok(json!({
        "status": "ok",
        "username": verified.username,
        "credential": credential_view(&verified.stored, &app.metadata()),
        "signCount": outcome.sign_count,
        "userVerified": outcome.user_verified,
        "extensions": outcome.extension_verdicts,
        "counter": match outcome.counter {
            relying_party::CounterCheck::NotUsed => "notUsed",
            relying_party::CounterCheck::Advanced => "advanced",
            relying_party::CounterCheck::Regressed { .. } => "regressed",
        },
    }))
    .with_cookie(signed_in.set_cookie))
}

/// A verified assertion: whose credential, as read and as updated.
struct VerifiedAssertion {
    owner: String,
    username: String,
    read: StoredCredential,
    stored: StoredCredential,
    outcome: relying_party::AuthenticationOutcome,
}

/// Verifies an assertion against the ceremony its challenge was issued
/// for and the stored credential; writes nothing.
fn verify_assertion(
    app: &App,
    response: &AuthenticationResponseJson,
    Consumed {
        challenge,
        username,
        pending,
    }: Consumed,
) -> Result<VerifiedAssertion, ApiError> {
    let PendingCeremony::Authentication {
        uv_required,
        allow,
        extensions,
    } = pending
    else {
        return Err(wrong_ceremony());
    };
    let unknown = || {
        ApiError::bad_request(
            "unknown_credential",
            "this credential is not registered here",
        )
    };
    let owner = app
        .accounts
        .owner_of(&response.raw_id.0)?
        .ok_or_else(unknown)?;
    if let Some(expected) = &username
        && *expected != owner
    {
        return Err(unknown());
    }
    let profile = app.accounts.profile(&owner)?.ok_or_else(unknown)?;
    let handle = URL_SAFE_NO_PAD
        .decode(&profile.user_handle)
        .map_err(ApiError::internal)?;
    let (mut credential, mut stored) = app
        .accounts
        .verifying_credential(&owner, &response.raw_id.0)?
        .ok_or_else(unknown)?;
    let allow_refs: Vec<&[u8]> = allow.iter().map(Base64UrlBytes::as_slice).collect();
    let rp = app
        .relying_party(uv_required, &[])
        .with_requested_extensions(extensions);
    // With a user named before the ceremony, that user's handle is expected;
    // in a discoverable login the response's userHandle must be the owner's.
    let outcome = rp.finish_authentication(
        &challenge,
        username.as_ref().map(|_| handle.as_slice()),
        &allow_refs,
        response,
        &credential,
    )?;
    if username.is_none()
        && response
            .response
            .user_handle
            .as_ref()
            .map(|h| h.0.as_slice())
            != Some(handle.as_slice())
    {
        return Err(ApiError::bad_request(
            "user_handle_mismatch",
            "the userHandle does not belong to the credential's owner",
        ));
    }
    credential.apply(&outcome);
    let read = stored.clone();
    stored.record = credential.record().clone();
    Ok(VerifiedAssertion {
        owner,
        username: profile.username,
        read,
        stored,
        outcome,
    })
}

// ---- session, user, credentials, metadata, decoder, logout -----------------

/// `GET /api/session`: the caller's session, if it has one. A request
/// without one gets `signedIn: false` and no token, and no session is
/// created (nothing would be kept in it).
pub fn session_info(app: &App, req: &RequestInfo) -> Result<Reply, ApiError> {
    let Some(opened) = app.engine.open(&req.context(EndpointClass::Normal))? else {
        return Ok(Reply::ok(json!({
            "csrfToken": null,
            "signedIn": false,
            "username": null,
        })));
    };
    let r = &opened.session.record;
    let body = json!({
        "csrfToken": r.csrf_token,
        "signedIn": r.is_authenticated(),
        "username": r.user,
    });
    Ok(Reply::ok(body).with_cookie(opened.set_cookie))
}

/// `GET /api/me`.
pub fn me(app: &App, req: &RequestInfo) -> Result<Reply, ApiError> {
    let (opened, user) = signed_in_user(app, req)?;
    let count = app.accounts.credentials(&user)?.len();
    let name = app.accounts.profile(&user)?.map_or(user, |p| p.username);
    Ok(Reply::ok(json!({ "username": name, "credentials": count })).with_cookie(opened.set_cookie))
}

/// `GET /api/credentials`.
pub fn credentials(app: &App, req: &RequestInfo) -> Result<Reply, ApiError> {
    let (opened, user) = signed_in_user(app, req)?;
    let metadata = app.metadata();
    let list: Vec<Json> = app
        .accounts
        .credentials(&user)?
        .iter()
        .map(|c| credential_view(c, &metadata))
        .collect();
    Ok(Reply::ok(Json::Array(list)).with_cookie(opened.set_cookie))
}

/// `DELETE /api/credentials/{id}`.
pub fn delete_credential(app: &App, req: &RequestInfo) -> Result<Reply, ApiError> {
    let (opened, user) = signed_in_user(app, req)?;
    csrf(app, req, Some(&opened.session), StateChange::Other)?;
    let id = URL_SAFE_NO_PAD
        .decode(req.param.as_deref().unwrap_or_default())
        .map_err(|_| ApiError::bad_request("invalid_id", "the credential id must be base64url"))?;
    if !app.accounts.delete_credential(&user, &id)? {
        return Err(ApiError::not_found(
            "no_such_credential",
            "you have no credential with this id",
        ));
    }
    Ok(Reply::ok(json!({ "status": "ok" })).with_cookie(opened.set_cookie))
}

/// `POST /api/logout`.
pub fn logout(app: &App, req: &RequestInfo) -> Result<Reply, ApiError> {
    let opened = existing_session(app, req, EndpointClass::Critical)?;
    csrf(app, req, Some(&opened.session), StateChange::Other)?;
    let clear = app
        .engine
        .logout(&req.context(EndpointClass::Critical), &opened.session)?;
    Ok(Reply::ok(json!({ "status": "ok" })).with_cookie(Some(clear)))
}

/// `POST /api/metadata`.
pub fn upload_metadata(app: &App, req: &RequestInfo) -> Result<Reply, ApiError> {
    // A session that exists guards its uploads with its CSRF token; a
    // request without one gets the origin check, then a session of its own.
    let opened = match app.engine.open(&req.context(EndpointClass::Normal))? {
        Some(opened) => {
            csrf(app, req, Some(&opened.session), StateChange::Other)?;
            opened
        }
        None => {
            csrf(app, req, None, StateChange::Ceremony)?;
            create_session(app, req, EndpointClass::Normal)?
        }
    };
    let entries = mds::parse_uploaded(&req.body).map_err(|e| {
        ApiError::bad_request(
            "invalid_metadata",
            format!("not a usable metadata statement: {e}"),
        )
    })?;
    // A session keeps a bounded number of statements (each up to 1 MiB).
    let kept = app
        .engine
        .items(&opened.session)
        .list()?
        .iter()
        .filter(|m| m.name.as_str().starts_with("metadata-"))
        .count();
    if kept >= MAX_METADATA_PER_SESSION {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "metadata_limit",
            format!(
                "a session keeps at most {MAX_METADATA_PER_SESSION} uploaded statements: delete one first"
            ),
        ));
    }
    let mut id = [0u8; 12];
    aws_lc_rs::rand::fill(&mut id).map_err(|_| ApiError::internal("no randomness"))?;
    let id = URL_SAFE_NO_PAD.encode(id);
    // Kept parsed: registrations read what trust needs, not the statement.
    let stored = StoredMetadata::of(&entries);
    app.engine.items(&opened.session).put(
        &format!("metadata-{id}"),
        &serde_json::to_vec(&stored).map_err(ApiError::internal)?,
    )?;
    let (aaguid, description) = stored.summary();
    // No engine event covers an upload: the session's items changed.
    app.notify(&[Topic::Sessions]);
    Ok(Reply {
        status: StatusCode::CREATED,
        body: json!({
            "id": id,
            "aaguid": aaguid,
            "description": description,
            "entries": stored.entries,
            "trust": "uploaded, not MDS-trusted",
        }),
        cookies: Vec::new(),
    }
    .with_cookie(opened.set_cookie))
}

/// `GET /api/mds`: the FIDO metadata in force (docs/API.md).
pub fn mds_status(app: &App, _req: &RequestInfo) -> Result<Reply, ApiError> {
    Ok(Reply::ok(json!(app.metadata().status)))
}

/// `GET /api/mds/{aaguid}`: the model card the BLOB has for an AAGUID.
pub fn mds_model(app: &App, req: &RequestInfo) -> Result<Reply, ApiError> {
    let param = req.param.as_deref().unwrap_or_default();
    let aaguid = relying_party::mds::parse_aaguid_typed(param).ok_or_else(|| {
        ApiError::bad_request("bad_aaguid", "an AAGUID is 8-4-4-4-12 or 32 hex digits")
    })?;
    let model = app.metadata().model(&aaguid).ok_or_else(|| {
        ApiError::not_found(
            "no_such_model",
            "the FIDO metadata has no entry for this AAGUID",
        )
    })?;
    Ok(Reply::ok(json!(model)))
}

/// `GET /api/metadata`.
pub fn list_metadata(app: &App, req: &RequestInfo) -> Result<Reply, ApiError> {
    let Some(opened) = app.engine.open(&req.context(EndpointClass::Normal))? else {
        return Ok(Reply::ok(Json::Array(Vec::new())));
    };
    let items = app.engine.items(&opened.session);
    let mut out = Vec::new();
    for meta in items.list()? {
        let Some(id) = meta.name.as_str().strip_prefix("metadata-") else {
            continue;
        };
        let (aaguid, description) = items
            .get(meta.name.as_str())?
            .and_then(|b| StoredMetadata::read(&b))
            .map(|s| s.summary())
            .unwrap_or_default();
        out.push(json!({
            "id": id,
            "aaguid": aaguid,
            "description": description,
            "uploaded": meta.modified.and_then(|m| m.duration_since(SystemTime::UNIX_EPOCH).ok()).map(|d| d.as_millis() as u64),
            "trust": "uploaded, not MDS-trusted",
        }));
    }
    Ok(Reply::ok(Json::Array(out)).with_cookie(opened.set_cookie))
}

/// `DELETE /api/metadata/{id}`.
pub fn delete_metadata(app: &App, req: &RequestInfo) -> Result<Reply, ApiError> {
    let opened = existing_session(app, req, EndpointClass::Normal)?;
    csrf(app, req, Some(&opened.session), StateChange::Other)?;
    let id = req.param.clone().unwrap_or_default();
    let name = format!("metadata-{id}");
    let items = app.engine.items(&opened.session);
    // The id goes through the store's name validation before any access.
    match items.get(&name) {
        Ok(Some(_)) => {}
        Ok(None) => {
            return Err(ApiError::not_found(
                "no_such_metadata",
                "no uploaded statement with this id",
            ));
        }
        Err(_) => return Err(ApiError::bad_request("invalid_id", "not a metadata id")),
    }
    items.delete(&name)?;
    Ok(Reply::ok(json!({ "status": "ok" })))
}

/// `POST /api/decode`.
pub fn decode(app: &App, req: &RequestInfo) -> Result<Reply, ApiError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        input: String,
        kind: Option<String>,
    }
    let _ = app;
    let b: Body = req.json()?;
    use relying_party::decoder::{self, InputKind};
    let kind = match b.kind.as_deref() {
        None | Some("auto") => None,
        Some("attestationObject") => Some(InputKind::AttestationObject),
        Some("authenticatorData") => Some(InputKind::AuthenticatorData),
        Some("clientDataJSON") => Some(InputKind::ClientDataJson),
        Some("coseKey") => Some(InputKind::CoseKey),
        Some("certificate") => Some(InputKind::Certificate),
        Some("cbor") => Some(InputKind::Cbor),
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_kind",
                format!("unknown kind {other:?}"),
            ));
        }
    };
    let decoded = match kind {
        None => decoder::decode_text(&b.input),
        Some(k) => decoder::text_bytes(&b.input).and_then(|bytes| decoder::decode(k, &bytes)),
    }
    .map_err(|e| ApiError::bad_request("undecodable", e.to_string()))?;
    Ok(Reply::ok(decoded))
}

/// `POST /api/verify`: any relying party's ceremony, step by step
/// (`relying_party::report`). Stateless like the decoder: no session is
/// created or read; the request must come from an allowed origin.
pub fn verify(app: &App, req: &RequestInfo) -> Result<Reply, ApiError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Body {
        options: Option<Json>,
        response: Json,
        public_key: Option<Json>,
        origin: Option<String>,
        rp_id: Option<String>,
        challenge: Option<String>,
        #[serde(default)]
        top_origins: Vec<String>,
        #[serde(default)]
        trust_anchors: Vec<String>,
        at: Option<i64>,
    }
    csrf(app, req, None, StateChange::Ceremony)?;
    let b: Body = req.json()?;
    // Text is taken as pasted; an object is the JSON document itself.
    let bytes = |v: &Json| match v {
        Json::String(s) => s.as_bytes().to_vec(),
        other => other.to_string().into_bytes(),
    };
    let blank = |v: &Option<Json>| match v {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) if s.trim().is_empty() => None,
        Some(v) => Some(bytes(v)),
    };
    fn non_empty(s: &Option<String>) -> Option<&str> {
        s.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
    let options = blank(&b.options);
    let public_key = blank(&b.public_key);
    let response = bytes(&b.response);
    let anchors: Vec<Vec<u8>> = b
        .trust_anchors
        .iter()
        .filter(|a| !a.trim().is_empty())
        .map(|a| a.as_bytes().to_vec())
        .collect();
    let top_origins: Vec<String> = b
        .top_origins
        .iter()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    let report = relying_party::report::verify_ceremony(&relying_party::report::VerifyRequest {
        options: options.as_deref(),
        response: &response,
        public_key: public_key.as_deref(),
        origin: non_empty(&b.origin),
        rp_id: non_empty(&b.rp_id),
        challenge: non_empty(&b.challenge),
        top_origins: &top_origins,
        trust_anchors: &anchors,
        at: b.at.map(relying_party::x509::UnixTime),
    })
    .map_err(|e| ApiError::bad_request(e.code(), e.to_string()))?;
    let report = serde_json::to_value(&report).map_err(ApiError::internal)?;
    Ok(Reply::ok(report))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn pending_ceremonies_round_trip_tagged() {
        let registration = PendingCeremony::Registration {
            target: RegistrationTarget::NewAccount,
            user_handle: vec![1, 2, 3].into(),
            display_name: "Alice".into(),
            uv_required: true,
            algorithms: vec![CoseAlgorithm::ML_DSA_65, CoseAlgorithm(-7)],
            extensions: None,
            attestation: None,
        };
        let text = serde_json::to_string(&registration).unwrap();
        assert_eq!(
            text,
            r#"{"ceremony":"registration","target":"newAccount","userHandle":"AQID","displayName":"Alice","uvRequired":true,"algorithms":[-49,-7]}"#
        );
        assert!(matches!(
            serde_json::from_str(&text).unwrap(),
            PendingCeremony::Registration {
                uv_required: true,
                ..
            }
        ));
        // The attestation asked for travels with the challenge.
        let enterprise = PendingCeremony::Registration {
            target: RegistrationTarget::NewAccount,
            user_handle: vec![1].into(),
            display_name: "Alice".into(),
            uv_required: false,
            algorithms: vec![CoseAlgorithm(-7)],
            extensions: None,
            attestation: Some(AttestationConveyance::Enterprise),
        };
        let text = serde_json::to_string(&enterprise).unwrap();
        assert!(text.ends_with(r#","attestation":"enterprise"}"#), "{text}");
        assert!(matches!(
            serde_json::from_str(&text).unwrap(),
            PendingCeremony::Registration {
                attestation: Some(AttestationConveyance::Enterprise),
                ..
            }
        ));
        let authentication = PendingCeremony::Authentication {
            uv_required: false,
            allow: vec![vec![9u8; 4].into()],
            extensions: None,
        };
        let text = serde_json::to_string(&authentication).unwrap();
        assert_eq!(
            text,
            r#"{"ceremony":"authentication","uvRequired":false,"allow":["CQkJCQ"]}"#
        );
        assert!(matches!(
            serde_json::from_str(&text).unwrap(),
            PendingCeremony::Authentication { ref allow, .. } if allow.len() == 1
        ));
    }

    /// Uploaded metadata is kept parsed; an upload an earlier build kept as
    /// sent still reads (and says the same).
    #[test]
    fn stored_metadata_reads_both_forms() {
        let sent = br#"{"description": "Proto", "aaguid": "6b627669-7274-2d75-706c-6f61642d3031", "attestationRootCertificates": ["MIIB"], "icon": "data:,"}"#;
        let old = StoredMetadata::read(sent).unwrap();
        let kept =
            serde_json::to_vec(&StoredMetadata::of(&mds::parse_uploaded(sent).unwrap())).unwrap();
        assert!(kept.len() < sent.len() + 64);
        let new = StoredMetadata::read(&kept).unwrap();
        assert_eq!(old.models, new.models);
        assert_eq!((old.entries, new.entries), (1, 1));
        assert_eq!(
            new.summary(),
            (
                Some("6b627669-7274-2d75-706c-6f61642d3031".to_owned()),
                Some("Proto".to_owned())
            )
        );
        assert_eq!(new.models[0].root_certificates, ["MIIB"]);
        assert!(StoredMetadata::read(b"{}").is_none());
    }

    /// A challenge issued before the tagged form keeps its old context: it
    /// does not read as a ceremony (so its completion is `challenge_unknown`).
    #[test]
    fn the_old_context_form_is_not_a_ceremony() {
        for old in [
            r#"{"registration":true,"target":"newAccount","displayName":"Alice","userHandle":"AQID","uvRequired":false,"algorithms":[-49],"allow":[]}"#,
            r#"{"registration":false,"displayName":null,"userHandle":null,"uvRequired":false,"algorithms":[],"allow":["CQkJCQ"]}"#,
            // A registration missing what it needs, or with members of the other ceremony.
            r#"{"ceremony":"registration","uvRequired":false,"algorithms":[]}"#,
            r#"{"ceremony":"authentication","uvRequired":false,"allow":[],"target":"newAccount"}"#,
        ] {
            assert!(
                serde_json::from_str::<PendingCeremony>(old).is_err(),
                "{old}"
            );
        }
    }
}
