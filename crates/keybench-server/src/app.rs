//! The server's shared state: configuration, the session engine, the
//! relying party's settings, accounts, the launch secret, and the live
//! update channel the dashboard listens to.

use crate::accounts::Accounts;
use relying_party::{CeremonyPolicy, RelyingParty, RpConfig, TrustStore, UserVerification};
use session_engine::SessionEngine;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::broadcast;

/// Where sessions and accounts are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageChoice {
    /// The embedded database (`session_store::EmbeddedStore`) under the data
    /// directory: the default.
    Local,
    /// One file per item under the data directory (`session_store::LocalStore`):
    /// slower, but every item can be read with ordinary tools.
    Files,
    /// A GCS bucket (with a local fallback in the data directory's `fallback/`,
    /// apart from `--storage local`'s accounts).
    Gcs {
        /// Bucket name.
        bucket: String,
        /// Service account key (JSON path), when not from the environment.
        service_account_key: Option<String>,
    },
    /// An S3 bucket (with a local fallback under the data directory).
    S3 {
        /// Bucket name.
        bucket: String,
        /// Region.
        region: String,
        /// Endpoint (for S3-compatible services).
        endpoint: Option<String>,
    },
}

impl StorageChoice {
    /// The bucket's client settings, for GCS and S3 (`None` for local
    /// storage): credentials from the configuration or the standard
    /// environment variables, plain HTTP only towards an explicit
    /// `http://` endpoint (an emulator).
    pub fn remote_config(&self) -> Option<session_store::RemoteConfig> {
        match self {
            StorageChoice::Local | StorageChoice::Files => None,
            StorageChoice::Gcs {
                bucket,
                service_account_key,
            } => Some(session_store::RemoteConfig::Gcs {
                bucket: bucket.clone(),
                service_account_key: service_account_key.clone(),
            }),
            StorageChoice::S3 {
                bucket,
                region,
                endpoint,
            } => Some(session_store::RemoteConfig::S3 {
                bucket: bucket.clone(),
                region: region.clone(),
                endpoint: endpoint.clone(),
                access_key_id: None,
                secret_access_key: None,
                allow_http: endpoint
                    .as_deref()
                    .is_some_and(|e| e.starts_with("http://")),
            }),
        }
    }
}

/// Cleanup's default budgets: 50,000 sessions, 256 MiB of session items.
/// Past the count an emergency sweep removes the oldest unauthenticated
/// sessions first; every sweep keeps the bytes under their budget.
pub const DEFAULT_SESSION_BUDGET: (usize, u64) = (50_000, 256 * 1024 * 1024);

/// Server settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on (port 0 picks one).
    pub listen: SocketAddr,
    /// Data directory: sessions, accounts, the key file.
    pub data_dir: PathBuf,
    /// The RP ID (default `localhost`).
    pub rp_id: String,
    /// Origins allowed besides the server's own loopback ones.
    pub extra_origins: Vec<String>,
    /// Host names the inspection API answers besides loopback.
    pub extra_hosts: Vec<String>,
    /// Proxies whose X-Forwarded-Proto is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// Storage backend.
    pub storage: StorageChoice,
    /// Skip the OS keyring (tests; a key file is used instead).
    pub no_keyring: bool,
    /// Trust anchors for attestation (DER certificates).
    pub trust_anchors: Vec<Vec<u8>>,
    /// CRLs (DER) attestation paths are checked against, besides those in
    /// the metadata cache.
    pub crls: Vec<Vec<u8>>,
    /// Challenge lifetime (default 5 minutes).
    pub challenge_ttl: Option<std::time::Duration>,
    /// How fast one peer address may make the server create sessions.
    pub session_creation: crate::limit::RateLimit,
    /// Cleanup's budgets: sessions at most, and bytes over all their items
    /// (docs/API.md, "Cleanup").
    pub session_budget: (usize, u64),
    /// Connection deadlines and limits.
    pub connections: crate::listen::ConnectionLimits,
    /// How recent a sign-in must be to add a key to the account (default
    /// 5 minutes).
    pub add_key_within: std::time::Duration,
    /// FIDO metadata: a BLOB to install into the data directory's cache,
    /// and who may sign it.
    pub mds: crate::metadata::MdsSettings,
    /// With a bucket: how long after an outage the local fallback serves
    /// before the bucket is tried again (default 60 seconds).
    pub storage_retry: std::time::Duration,
}

impl ServerConfig {
    /// Loopback on `port`, data in `data_dir`, RP ID `localhost`.
    pub fn local(listen: SocketAddr, data_dir: PathBuf) -> Self {
        ServerConfig {
            listen,
            data_dir,
            rp_id: "localhost".into(),
            extra_origins: Vec::new(),
            extra_hosts: Vec::new(),
            trusted_proxies: Vec::new(),
            storage: StorageChoice::Local,
            no_keyring: false,
            trust_anchors: Vec::new(),
            crls: Vec::new(),
            challenge_ttl: None,
            session_creation: crate::limit::RateLimit::default(),
            session_budget: DEFAULT_SESSION_BUDGET,
            connections: crate::listen::ConnectionLimits::default(),
            add_key_within: std::time::Duration::from_secs(300),
            mds: crate::metadata::MdsSettings::default(),
            storage_retry: std::time::Duration::from_secs(60),
        }
    }
}

/// What changed, for the live stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Sessions.
    Sessions,
    /// Bound challenges.
    Challenges,
    /// Cleanup status.
    Cleanup,
    /// Secret key status.
    Key,
    /// Security events.
    Events,
    /// Storage backend status.
    Storage,
}

impl Topic {
    /// Every topic.
    pub const ALL: [Topic; 6] = [
        Topic::Sessions,
        Topic::Challenges,
        Topic::Cleanup,
        Topic::Key,
        Topic::Events,
        Topic::Storage,
    ];

    /// The SSE event name.
    pub fn name(self) -> &'static str {
        match self {
            Topic::Sessions => "sessions",
            Topic::Challenges => "challenges",
            Topic::Cleanup => "cleanup",
            Topic::Key => "key",
            Topic::Events => "events",
            Topic::Storage => "storage",
        }
    }
}

/// The dashboard topics an engine event changes.
pub fn topics_of(kind: session_engine::EventKind) -> &'static [Topic] {
    use session_engine::EventKind as K;
    match kind {
        K::KeyResolved | K::KeyringFallback | K::KeyRotated | K::PreviousKeyRevoked => {
            &[Topic::Key, Topic::Events]
        }
        K::SessionCreated | K::SessionRotated | K::SessionDestroyed => {
            &[Topic::Sessions, Topic::Events]
        }
        K::ChallengeIssued | K::ChallengeConsumed | K::ChallengeRejected => {
            &[Topic::Challenges, Topic::Sessions, Topic::Events]
        }
        K::CleanupRun | K::EmergencySweep => &[
            Topic::Cleanup,
            Topic::Sessions,
            Topic::Challenges,
            Topic::Events,
        ],
        K::StorageFallback => &[Topic::Storage, Topic::Events],
        _ => &[Topic::Events],
    }
}

/// Shared state.
pub struct App {
    /// Settings.
    pub config: ServerConfig,
    /// The session engine.
    pub engine: Arc<SessionEngine>,
    /// Accounts and credentials (in the same storage as sessions).
    pub accounts: Accounts,
    /// Attestation trust: shared by every ceremony (sessions' uploaded
    /// statements go on a store over it), never copied.
    /// Swapped whole when the FIDO metadata is reloaded.
    pub trust: std::sync::RwLock<Arc<TrustStore>>,
    /// FIDO metadata in force (its BLOB is in `trust` already).
    pub metadata: std::sync::RwLock<Arc<relying_party::mds::LoadedMetadata>>,
    /// Origins the RP and CSRF checks accept.
    pub origins: Vec<String>,
    /// Host header values the inspection API answers.
    pub hosts: Vec<String>,
    /// The per-launch secret for the inspection API.
    pub launch_secret: String,
    /// Live updates.
    pub live: broadcast::Sender<Topic>,
    /// The key decoy credential lists are derived with.
    pub decoys: crate::decoy::DecoyKey,
    /// How fast one peer may make the server create sessions.
    pub session_limiter: crate::limit::CreationLimiter,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("config", &self.config)
            .field("origins", &self.origins)
            .field("launch_secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl App {
    /// A relying party for one ceremony: the configured RP ID and origins,
    /// the trust store, and UV required or not as the ceremony asked.
    pub fn relying_party(
        &self,
        uv_required: bool,
        algorithms: &[fido_wire::cose::CoseAlgorithm],
    ) -> RelyingParty {
        let policy = CeremonyPolicy {
            user_verification: if uv_required {
                UserVerification::Required
            } else {
                UserVerification::NotRequired
            },
            ..CeremonyPolicy::default()
        };
        let rp = RelyingParty::new(RpConfig::new(
            self.config.rp_id.clone(),
            self.origins.clone(),
        ))
        .with_policy(policy)
        .with_trust(self.trust());
        if algorithms.is_empty() {
            rp
        } else {
            rp.with_algorithms(algorithms)
        }
    }

    /// The trust store in force.
    pub fn trust(&self) -> Arc<TrustStore> {
        // A poisoned lock still holds a whole Arc (it is only ever swapped).
        Arc::clone(
            &self
                .trust
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// The FIDO metadata in force.
    pub fn metadata(&self) -> Arc<relying_party::mds::LoadedMetadata> {
        Arc::clone(
            &self
                .metadata
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Tells the dashboard that something changed.
    pub fn notify(&self, topics: &[Topic]) {
        for t in topics {
            // No subscriber is fine: nobody is watching.
            let _ = self.live.send(*t);
        }
    }
}
