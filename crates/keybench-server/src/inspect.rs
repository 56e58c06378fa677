//! The inspection API (docs/API.md, "Inspection"): what the session-security
//! dashboard shows — sessions, bound challenges, cookie policy per context,
//! cleanup, the secret key, security events, storage — and its live stream.
//!
//! Only Keybench's own UI may call it: the Host must be one of the server's
//! own names (DNS rebinding), a cross-origin request is refused, and the
//! per-launch secret must come as a bearer token.

use crate::app::{App, Topic};
use crate::error::ApiError;
use crate::request::{Reply, RequestInfo};
use crate::views;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use serde_json::Value as Json;
use session_engine::{CookieLifetime, EndpointClass, RequestContext, Scheme};
use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// How long the stream gathers changes before it sends their snapshots.
const COALESCE: Duration = Duration::from_millis(250);

/// The distinct topics that change next: waits for one, then gathers what
/// else arrives within [`COALESCE`]. `None` when the server is going away.
async fn next_changes(rx: &mut broadcast::Receiver<Topic>) -> Option<Vec<Topic>> {
    let mut changed = HashSet::new();
    match rx.recv().await {
        Ok(t) => {
            changed.insert(t);
        }
        // Missed some: every topic may have changed.
        Err(broadcast::error::RecvError::Lagged(_)) => changed.extend(Topic::ALL),
        Err(broadcast::error::RecvError::Closed) => return None,
    }
    tokio::time::sleep(COALESCE).await;
    loop {
        match rx.try_recv() {
            Ok(t) => {
                changed.insert(t);
            }
            Err(broadcast::error::TryRecvError::Lagged(_)) => changed.extend(Topic::ALL),
            Err(_) => break,
        }
    }
    Some(
        Topic::ALL
            .into_iter()
            .filter(|t| changed.contains(t))
            .collect(),
    )
}

/// Checks Host, Origin and the launch secret.
pub fn guard(app: &App, headers: &HeaderMap) -> Result<(), ApiError> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !app.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
        return Err(ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            "foreign_host",
            "this API answers only requests addressed to Keybench's own address",
        ));
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let own = app
            .hosts
            .iter()
            .any(|h| origin == format!("http://{h}") || origin == format!("https://{h}"));
        if !own {
            return Err(ApiError::forbidden(
                "cross_origin",
                "the inspection API is not available to other web origins",
            ));
        }
    }
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if aws_lc_rs::constant_time::verify_slices_are_equal(
        presented.as_bytes(),
        app.launch_secret.as_bytes(),
    )
    .is_err()
    {
        return Err(ApiError::unauthorized(
            "launch_secret_required",
            "open the dashboard from the address Keybench printed at start (it carries this launch's secret)",
        ));
    }
    Ok(())
}

fn to_json(view: impl serde::Serialize) -> Json {
    serde_json::to_value(view).unwrap_or(Json::Null)
}

/// The JSON of one topic, as the matching GET returns it.
pub fn snapshot(app: &App, topic: Topic, current: Option<&RequestInfo>) -> Result<Json, ApiError> {
    let engine = &app.engine;
    Ok(match topic {
        Topic::Sessions => {
            let idle = Duration::from_secs(engine.cleanup_status().idle_limit_secs);
            let current_tag = current
                .and_then(|r| {
                    engine
                        .open(&r.context(EndpointClass::Normal))
                        .ok()
                        .flatten()
                })
                .map(|o| session_engine::session::session_tag(&o.session.id));
            let list = session_engine::session::list_sessions(&**engine.storage(), idle)?;
            to_json(
                list.iter()
                    .map(|s| views::Session::of(s, current_tag.as_deref() == Some(s.tag.as_str())))
                    .collect::<Vec<_>>(),
            )
        }
        Topic::Challenges => to_json(
            session_engine::challenge::list(&**engine.storage(), engine.clock().now())?
                .into_iter()
                .map(views::Challenge::from)
                .collect::<Vec<_>>(),
        ),
        Topic::Cleanup => to_json(views::Cleanup::from(&engine.cleanup_status())),
        Topic::Key => to_json(views::Key::from(&engine.key_status())),
        Topic::Events => to_json(
            engine
                .events()
                .snapshot()
                .iter()
                .map(views::Event::from)
                .collect::<Vec<_>>(),
        ),
        Topic::Storage => to_json(views::Storage::from(&engine.storage_status())),
    })
}

/// The cookie the engine sets in each context, for each endpoint class and
/// lifetime: plain HTTP, HTTPS (through a trusted proxy) and an untrusted
/// proxy claiming HTTPS.
fn cookie_table(app: &App, req: &RequestInfo) -> Json {
    let mut rows = Vec::new();
    // Direct TLS, plain HTTP, a trusted proxy saying https (when one is
    // configured) and an untrusted peer claiming https (ignored).
    let trusted_peer = app.config.trusted_proxies.first().copied();
    let contexts: Vec<(&str, Scheme, Option<&str>, Option<std::net::IpAddr>)> = vec![
        ("http", Scheme::Http, None, Some([127, 0, 0, 1].into())),
        ("https", Scheme::Https, None, Some([127, 0, 0, 1].into())),
        ("proxy (trusted)", Scheme::Http, Some("https"), trusted_peer),
        (
            "proxy (untrusted)",
            Scheme::Http,
            Some("https"),
            Some([203, 0, 113, 7].into()),
        ),
    ];
    for (label, scheme, forwarded, peer) in contexts {
        if label == "proxy (trusted)" && peer.is_none() {
            continue;
        }
        let mut headers = HeaderMap::new();
        if let Some(proto) = forwarded
            && let Ok(v) = proto.parse()
        {
            headers.insert("x-forwarded-proto", v);
        }
        for (endpoint, class) in [
            ("normal", EndpointClass::Normal),
            ("critical", EndpointClass::Critical),
        ] {
            for lifetime in [CookieLifetime::Metadata, CookieLifetime::Authenticated] {
                let ctx = RequestContext {
                    scheme,
                    peer,
                    headers: &headers,
                    endpoint: class,
                };
                let p = app.engine.cookie_policy(&ctx, lifetime);
                rows.push(views::CookieRow {
                    context: label,
                    endpoint,
                    lifetime,
                    header: p.set_cookie("<sealed>"),
                    name: p.name,
                    http_only: p.http_only,
                    secure: p.secure,
                    same_site: p.same_site,
                    max_age: p.max_age_secs,
                    path: p.path,
                    host_prefix: p.host_prefix,
                    basis: p.basis,
                });
            }
        }
    }
    // The asking request's context: the rows whose Secure has the same basis.
    let current = app
        .engine
        .cookie_policy(
            &req.context(EndpointClass::Normal),
            CookieLifetime::Metadata,
        )
        .basis;
    let current = rows.iter().find(|r| r.basis == current).map(|r| r.context);
    to_json(views::Cookies {
        rows,
        current,
        trusted_proxy_configured: !app.config.trusted_proxies.is_empty(),
    })
}

fn guarded(app: &App, req: &RequestInfo, topic: Topic) -> Result<Reply, ApiError> {
    guard(app, &req.headers)?;
    Ok(Reply::ok(snapshot(app, topic, Some(req))?))
}

/// `GET /api/inspect/sessions`.
pub fn sessions(app: &App, req: &RequestInfo) -> Result<Reply, ApiError> {
    guarded(app, req, Topic::Sessions)
}

/// `GET /api/inspect/challenges`.
pub fn challenges(app: &App, req: &RequestInfo) -> Result<Reply, ApiError> {
    guarded(app, req, Topic::Challenges)
}

/// `GET /api/inspect/cleanup`.
pub fn cleanup(app: &App, req: &RequestInfo) -> Result<Reply, ApiError> {
    guarded(app, req, Topic::Cleanup)
}

/// `POST /api/inspect/cleanup`: a sweep now.
pub fn cleanup_now(app: &App, req: &RequestInfo) -> Result<Reply, ApiError> {
    guard(app, &req.headers)?;
    // No report when a sweep was already running: the status says so.
    let _ = app.engine.sweep_now();
    // The status; its last run is this sweep.
    Ok(Reply::ok(to_json(views::Cleanup::from(
        &app.engine.cleanup_status(),
    ))))
}

/// `GET /api/inspect/key`.
pub fn key(app: &App, req: &RequestInfo) -> Result<Reply, ApiError> {
    guarded(app, req, Topic::Key)
}

/// `POST /api/inspect/key/rotate`.
pub fn rotate_key(app: &App, req: &RequestInfo) -> Result<Reply, ApiError> {
    guard(app, &req.headers)?;
    let status = app.engine.rotate_key()?;
    Ok(Reply::ok(to_json(views::Key::from(&status))))
}

/// `POST /api/inspect/key/revoke-previous`: cookies sealed under the
/// previous key stop opening now.
pub fn revoke_previous_key(app: &App, req: &RequestInfo) -> Result<Reply, ApiError> {
    guard(app, &req.headers)?;
    let status = app.engine.revoke_previous_key()?;
    Ok(Reply::ok(to_json(views::Key::from(&status))))
}

/// `GET /api/inspect/events`.
pub fn events(app: &App, req: &RequestInfo) -> Result<Reply, ApiError> {
    guarded(app, req, Topic::Events)
}

/// `GET /api/inspect/storage`.
pub fn storage(app: &App, req: &RequestInfo) -> Result<Reply, ApiError> {
    guarded(app, req, Topic::Storage)
}

/// `GET /api/inspect/cookies`.
pub fn cookies(app: &App, req: &RequestInfo) -> Result<Reply, ApiError> {
    guard(app, &req.headers)?;
    Ok(Reply::ok(cookie_table(app, req)))
}

/// `GET /api/inspect/stream`: every topic at once, then each topic again
/// whenever it changes.
pub async fn stream(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if let Err(e) = guard(&app, &headers) {
        return e.into_response();
    }
    let rx = app.live.subscribe();
    // Every topic first, then the topics that changed, each at most once
    // per coalescing window: a burst of new sessions costs one listing per
    // open dashboard, not one per session.
    let state = (app, rx, Topic::ALL.to_vec());
    let events = stream::unfold(state, |(app, mut rx, mut pending)| async move {
        if pending.is_empty() {
            pending = next_changes(&mut rx).await?;
        }
        let topic = pending.remove(0);
        let snapshot_app = app.clone();
        let data = tokio::task::spawn_blocking(move || snapshot(&snapshot_app, topic, None))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(Json::Null);
        let event = Event::default().event(topic.name()).data(data.to_string());
        Some((Ok::<Event, Infallible>(event), (app, rx, pending)))
    });
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}
