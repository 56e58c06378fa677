//! The Keybench local relying party on HTTP (axum on tokio): the WebAuthn
//! endpoints, which join the relying-party core and the session engine; the
//! inspection API with its live event stream; and the embedded web UI.
//! docs/API.md is the contract.
//!
//! Modules: [`app`] (configuration and shared state), `request` (how a
//! request reaches blocking logic and becomes a response), `rp_api` (the
//! relying-party endpoints), `inspect` (the dashboard's API), `assets` (the
//! embedded UI), [`error`] (the `{code, message}` error).

#![forbid(unsafe_code)]

pub mod accounts;
pub mod app;
mod assets;
mod decoy;
pub mod error;
mod inspect;
pub mod limit;
pub mod listen;
pub mod logging;
pub mod metadata;
#[macro_use]
mod request;
mod rp_api;
pub mod views;

pub use app::{ServerConfig, StorageChoice, Topic};

use crate::accounts::Accounts;
use app::App;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};
use relying_party::x509::UnixTime;
use session_engine::{
    CleanupConfig, EngineConfig, KeyringChoice, OriginAllowList, PolicyConfig, SecretKeyConfig,
    SessionEngine, SlewedClock,
};
use session_store::Storage;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, oneshot};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The listen address is not available.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// Storage could not be opened.
    #[error("storage: {0}")]
    Storage(#[from] session_store::StoreError),
    /// The session engine could not start (secret key).
    #[error(transparent)]
    Engine(#[from] session_engine::EngineError),
    /// A configured value is not usable.
    #[error("configuration: {0}")]
    Config(String),
}

/// A running server.
pub struct Running {
    /// The bound address.
    pub addr: SocketAddr,
    /// The address to open: the UI, with this launch's secret in the fragment.
    pub url: String,
    /// The launch secret (for the desktop shell's own requests).
    pub launch_secret: String,
    reloader: metadata::Reloader,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Running {
    /// A handle that reloads the FIDO metadata from the data directory's
    /// cache (after a front end installed a BLOB there).
    pub fn metadata(&self) -> metadata::Reloader {
        self.reloader.clone()
    }

    /// Stops accepting, lets requests in flight finish (their storage
    /// writes included), and returns when the server is down.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }

    /// Waits until the server stops (on its own, or by [`Running::shutdown`]).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

fn random_secret() -> Result<String, StartError> {
    use base64::Engine as _;
    let mut b = [0u8; 32];
    aws_lc_rs::rand::fill(&mut b).map_err(|_| StartError::Config("no randomness".into()))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
}

/// Creates the data directory (and missing parents) owner-only: it holds
/// the session key file and the accounts. An existing one keeps its mode
/// (`keybench doctor` reports a wider one).
fn create_data_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

fn open_storage(config: &ServerConfig) -> Result<Arc<dyn Storage>, StartError> {
    // The embedded store (one file, group commit) unless files were asked
    // for: see session_store::embedded for why not one file per item.
    let local: Arc<dyn Storage> = match config.storage {
        StorageChoice::Files => Arc::new(session_store::LocalStore::open(
            config.data_dir.join("files"),
        )?),
        // A bucket's fallback has a directory of its own: the local store's
        // accounts (from runs with `--storage local`) must not shadow the
        // bucket's, which the fallback would serve as scopes it holds.
        StorageChoice::Gcs { .. } | StorageChoice::S3 { .. } => Arc::new(
            session_store::EmbeddedStore::open(config.data_dir.join("fallback"))?,
        ),
        StorageChoice::Local => {
            let store = session_store::EmbeddedStore::open(config.data_dir.join("store"))?;
            // A data directory an earlier Keybench used keeps its accounts.
            store.adopt_file_layout()?;
            Arc::new(store)
        }
    };
    let Some(remote) = config.storage.remote_config() else {
        return Ok(local);
    };
    let primary: Arc<dyn Storage> = Arc::new(session_store::ObjectStorage::connect(
        remote,
        session_store::ObjectStoreOptions::default(),
    )?);
    Ok(Arc::new(session_store::FallbackStore::new(
        primary,
        local,
        config.storage_retry,
    )))
}

/// The router over `app` (tests build their own `App`s through [`start`]).
fn router(app: Arc<App>) -> Router {
    let small = DefaultBodyLimit::max(request::BODY_LIMIT);
    let large = DefaultBodyLimit::max(request::LARGE_BODY_LIMIT);
    Router::new()
        .route(
            "/api/register/begin",
            post(endpoint!(rp_api::register_begin)),
        )
        .route(
            "/api/register/complete",
            post(endpoint!(rp_api::register_complete)),
        )
        .route(
            "/api/authenticate/begin",
            post(endpoint!(rp_api::authenticate_begin)),
        )
        .route(
            "/api/authenticate/complete",
            post(endpoint!(rp_api::authenticate_complete)),
        )
        .route(
            "/api/advanced/register/begin",
            post(endpoint!(rp_api::advanced_register_begin)),
        )
        .route(
            "/api/advanced/authenticate/begin",
            post(endpoint!(rp_api::advanced_authenticate_begin)),
        )
        .route("/api/session", get(endpoint!(rp_api::session_info)))
        .route("/api/me", get(endpoint!(rp_api::me)))
        .route("/api/credentials", get(endpoint!(rp_api::credentials)))
        .route(
            "/api/credentials/{id}",
            delete(endpoint!(rp_api::delete_credential, param)),
        )
        .route("/api/logout", post(endpoint!(rp_api::logout)))
        .route("/api/metadata", get(endpoint!(rp_api::list_metadata)))
        .route("/api/mds", get(endpoint!(rp_api::mds_status)))
        .route(
            "/api/mds/{aaguid}",
            get(endpoint!(rp_api::mds_model, param)),
        )
        .route(
            "/api/metadata/{id}",
            delete(endpoint!(rp_api::delete_metadata, param)),
        )
        .route("/api/inspect/sessions", get(endpoint!(inspect::sessions)))
        .route(
            "/api/inspect/challenges",
            get(endpoint!(inspect::challenges)),
        )
        .route("/api/inspect/cookies", get(endpoint!(inspect::cookies)))
        .route(
            "/api/inspect/cleanup",
            get(endpoint!(inspect::cleanup)).post(endpoint!(inspect::cleanup_now)),
        )
        .route("/api/inspect/key", get(endpoint!(inspect::key)))
        .route(
            "/api/inspect/key/rotate",
            post(endpoint!(inspect::rotate_key)),
        )
        .route(
            "/api/inspect/key/revoke-previous",
            post(endpoint!(inspect::revoke_previous_key)),
        )
        .route("/api/inspect/events", get(endpoint!(inspect::events)))
        .route("/api/inspect/storage", get(endpoint!(inspect::storage)))
        .route("/api/inspect/stream", get(inspect::stream))
        .layer(small)
        .merge(
            Router::new()
                .route("/api/metadata", post(endpoint!(rp_api::upload_metadata)))
                .route("/api/decode", post(endpoint!(rp_api::decode)))
                .route("/api/verify", post(endpoint!(rp_api::verify)))
                .layer(large),
        )
        .route(
            "/api/{*rest}",
            axum::routing::any(|| async {
                error::ApiError::not_found(
                    "no_such_endpoint",
                    "no API endpoint here (see docs/API.md)",
                )
            }),
        )
        .fallback(assets::serve)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            request::security_headers,
        ))
        .with_state(app)
}

/// Starts the server on the tokio runtime this is called from.
pub async fn start(config: ServerConfig) -> Result<Running, StartError> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Listen {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen {
        addr: config.listen,
        source,
    })?;
    let port = addr.port();
    let mut hosts = vec![
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
    ];
    hosts.extend(config.extra_hosts.iter().cloned());
    let mut origins = vec![format!("http://localhost:{port}")];
    origins.extend(config.extra_origins.iter().cloned());
    let allowed = OriginAllowList::new(
        origins
            .iter()
            .cloned()
            .chain([format!("http://127.0.0.1:{port}")]),
    )
    .map_err(StartError::Config)?;
    let engine_config = EngineConfig {
        policy: PolicyConfig {
            trusted_proxies: config.trusted_proxies.clone(),
            ..PolicyConfig::default()
        },
        allowed_origins: allowed,
        challenge_ttl: config
            .challenge_ttl
            .unwrap_or(EngineConfig::default().challenge_ttl),
        cleanup: CleanupConfig {
            max_sessions: Some(config.session_budget.0),
            max_bytes: Some(config.session_budget.1),
            ..CleanupConfig::default()
        },
        ..EngineConfig::default()
    };
    let config_limit = config.session_creation;
    let limits = config.connections;
    let mut secret = SecretKeyConfig::from_env(Some(config.data_dir.join("secret.key")));
    if config.no_keyring {
        secret.keyring = KeyringChoice::Disabled;
    }
    // What can fail without touching anything comes first: a failure after
    // the storage is open would close it (joining its writer thread) here.
    let mut trust = metadata::configured_trust(&config.trust_anchors, &config.crls)
        .map_err(StartError::Config)?;
    let launch_secret = random_secret()?;
    // Everything that touches the disk, the keyring (D-Bus) or the network
    // runs on the blocking pool: the data directory, the storage (the
    // embedded store's open and its import of the file layout), the session
    // engine's secret key. A runtime thread stays free for other tasks
    // meanwhile, also on a current-thread runtime.
    let (store, engine, trust, metadata) = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || -> Result<_, StartError> {
            create_data_dir(&config.data_dir).map_err(|e| {
                StartError::Config(format!("data directory {}: {e}", config.data_dir.display()))
            })?;
            // Metadata before the storage: a refused --mds file stops
            // start-up before anything is opened.
            let metadata =
                metadata::load(&config.mds, &config.data_dir, &mut trust, UnixTime::now())
                    .map_err(StartError::Config)?;
            let store = open_storage(&config)?;
            let engine = SessionEngine::new(
                engine_config,
                store.clone(),
                Arc::new(SlewedClock::system()),
                &secret,
            )?;
            Ok((store, Arc::new(engine), trust, Arc::new(metadata)))
        })
        .await
        .map_err(|e| StartError::Config(format!("start-up was interrupted: {e}")))??
    };
    let cleanup = engine.spawn_cleanup(Duration::from_secs(30));
    let (live, _) = broadcast::channel(256);
    let app = Arc::new(App {
        config,
        engine: engine.clone(),
        accounts: Accounts::new(store),
        trust: std::sync::RwLock::new(Arc::new(trust)),
        metadata: std::sync::RwLock::new(metadata),
        origins,
        hosts,
        launch_secret: launch_secret.clone(),
        live,
        decoys: decoy::DecoyKey::default(),
        session_limiter: limit::CreationLimiter::new(config_limit),
    });
    // Every change the engine makes records an event: the stream hears of
    // each (cleanup sweeps and key rotations included) as it happens.
    {
        let live = app.live.clone();
        app.engine.events().subscribe(move |event| {
            for topic in app::topics_of(event.kind) {
                // No subscriber is fine: nobody is watching.
                let _ = live.send(*topic);
            }
        });
    }
    let reloader = metadata::Reloader::new(&app);
    let refresh = reloader.spawn_refresh();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        listen::serve(listener, router(app.clone()), limits, rx).await;
        // Every connection has ended (serve waits for them, or aborts what
        // outlives the grace period), so this is the state's last owner
        // but for request logic still finishing on the blocking pool.
        // Dropping the cleanup handle joins its thread (maybe mid-sweep),
        // and the last of the state closes the embedded store, which joins
        // its writer thread after the queued commits: blocking work, so it
        // happens on the blocking pool, not on a runtime thread.
        let _ = tokio::task::spawn_blocking(move || {
            drop(refresh);
            drop(cleanup);
            drop(app);
        })
        .await;
    });
    Ok(Running {
        reloader,
        addr,
        url: format!("http://localhost:{port}/#launch={launch_secret}"),
        launch_secret,
        shutdown: Some(tx),
        task,
    })
}
