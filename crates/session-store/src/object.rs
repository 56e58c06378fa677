//! The object-storage backend: Google Cloud Storage or S3 through the
//! `object_store` crate.
//!
//! Layout: `<prefix>/<kind>/<owner>/<item>`, one object per item. Writes are
//! single PUTs (atomic per object on both services); a conditional create is
//! a PUT with `ifGenerationMatch=0` (GCS) or `If-None-Match: *` (S3), which
//! the service decides atomically, so two processes sharing a bucket get
//! exactly one winner. A compare-and-swap reads the object with its
//! generation (GCS) or ETag (S3), compares the bytes, and writes with
//! `ifGenerationMatch` / `If-Match` ([`PutMode::Update`]), so a change or a
//! delete in between makes the write fail instead of winning. Transient failures are retried with exponential
//! backoff by `object_store` (bounded by [`ObjectStoreOptions::max_retries`]
//! and [`ObjectStoreOptions::retry_timeout`]); each call also has an overall
//! deadline, after which it reports [`StoreError::Unavailable`] so that a
//! [`crate::FallbackStore`] can switch to local storage.
//!
//! The async client runs on a runtime this backend owns, so the blocking
//! [`Storage`] calls work from any thread, including from inside another
//! tokio runtime (the calling thread blocks; async servers call the store
//! from `spawn_blocking`).

use crate::name::{ItemName, Kind, OwnerId, Scope};
use crate::storage::Backend;
use crate::storage::{
    BackendState, BackendStatus, Created, DEFAULT_MAX_ITEM_BYTES, ItemMeta, StoreError, Swapped,
    check_size,
};
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload,
    RetryConfig, UpdateVersion,
};
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Which service and how to reach it.
#[derive(Clone)]
#[non_exhaustive]
pub enum RemoteConfig {
    /// Google Cloud Storage.
    Gcs {
        /// Bucket name.
        bucket: String,
        /// Service account key JSON. For an emulator (fake-gcs-server) use
        /// `{"gcs_base_url": "http://127.0.0.1:4443", "disable_oauth": true,
        /// "client_email": "", "private_key": "", "private_key_id": ""}`.
        /// `None` means application default credentials.
        service_account_key: Option<String>,
    },
    /// Amazon S3 or an S3-compatible service.
    S3 {
        /// Bucket name.
        bucket: String,
        /// Region.
        region: String,
        /// Endpoint URL for S3-compatible services (MinIO, moto, R2).
        endpoint: Option<String>,
        /// Access key id; `None` uses the environment / instance metadata.
        access_key_id: Option<String>,
        /// Secret access key.
        secret_access_key: Option<String>,
        /// Allow plain-HTTP endpoints (emulators only).
        allow_http: bool,
    },
}

impl fmt::Debug for RemoteConfig {
    // Keys and secrets never reach Debug output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemoteConfig::Gcs {
                bucket,
                service_account_key,
            } => f
                .debug_struct("Gcs")
                .field("bucket", bucket)
                .field(
                    "service_account_key",
                    &service_account_key.as_ref().map(|_| "<redacted>"),
                )
                .finish(),
            RemoteConfig::S3 {
                bucket,
                region,
                endpoint,
                access_key_id,
                allow_http,
                ..
            } => f
                .debug_struct("S3")
                .field("bucket", bucket)
                .field("region", region)
                .field("endpoint", endpoint)
                .field(
                    "access_key_id",
                    &access_key_id.as_ref().map(|_| "<redacted>"),
                )
                .field("secret_access_key", &"<redacted>")
                .field("allow_http", allow_http)
                .finish(),
        }
    }
}

/// Options of an [`ObjectStorage`].
#[derive(Debug, Clone)]
pub struct ObjectStoreOptions {
    /// Object name prefix, `/`-separated segments each a valid item name
    /// (default `keybench`).
    pub prefix: String,
    /// Retries per request on transient failures.
    pub max_retries: usize,
    /// No retry starts after this long since the first attempt.
    pub retry_timeout: Duration,
    /// Timeout of one HTTP request.
    pub request_timeout: Duration,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Deadline of one storage call, retries included.
    pub call_deadline: Duration,
    /// Largest item accepted.
    pub max_item_bytes: usize,
}

impl Default for ObjectStoreOptions {
    fn default() -> Self {
        ObjectStoreOptions {
            prefix: "keybench".to_owned(),
            max_retries: 3,
            retry_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(2),
            call_deadline: Duration::from_secs(15),
            max_item_bytes: DEFAULT_MAX_ITEM_BYTES,
        }
    }
}

/// Items in a GCS or S3 bucket.
pub struct ObjectStorage {
    store: Arc<dyn ObjectStore>,
    runtime: Option<tokio::runtime::Runtime>,
    prefix: Vec<String>,
    backend: &'static str,
    location: String,
    options: ObjectStoreOptions,
}

impl fmt::Debug for ObjectStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStorage")
            .field("backend", &self.backend)
            .field("location", &self.location)
            .finish()
    }
}

impl Drop for ObjectStorage {
    fn drop(&mut self) {
        // A runtime dropped inside another runtime's context would panic;
        // shutting it down in the background never does.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

fn unavailable(backend: &'static str, e: impl fmt::Display) -> StoreError {
    StoreError::Unavailable {
        backend,
        reason: e.to_string(),
    }
}

fn classify(backend: &'static str, e: object_store::Error) -> StoreError {
    match e {
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => StoreError::Denied {
            backend,
            reason: e.to_string(),
        },
        // Not an outage: a fallback would not help.
        object_store::Error::NotImplemented { .. } => StoreError::Unsupported {
            backend,
            reason: e.to_string(),
        },
        other => unavailable(backend, other),
    }
}

impl ObjectStorage {
    /// Connects to the configured service. Nothing is requested yet; a
    /// missing bucket shows up on the first call.
    pub fn connect(
        config: RemoteConfig,
        options: ObjectStoreOptions,
    ) -> Result<ObjectStorage, StoreError> {
        let prefix: Vec<String> = options
            .prefix
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| ItemName::new(s).map(|n| n.as_str().to_owned()))
            .collect::<Result<_, _>>()?;
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(50),
                max_backoff: Duration::from_secs(2),
                base: 2.0,
            },
            max_retries: options.max_retries,
            retry_timeout: options.retry_timeout,
        };
        let client = ClientOptions::new()
            .with_timeout(options.request_timeout)
            .with_connect_timeout(options.connect_timeout);
        let (store, backend, location): (Arc<dyn ObjectStore>, _, _) = match config {
            RemoteConfig::Gcs {
                bucket,
                service_account_key,
            } => {
                let allow_http = gcs_emulator_over_http(service_account_key.as_deref());
                let mut b = object_store::gcp::GoogleCloudStorageBuilder::new()
                    .with_bucket_name(&bucket)
                    .with_retry(retry)
                    .with_client_options(client.with_allow_http(allow_http));
                if let Some(key) = service_account_key {
                    b = b.with_service_account_key(key);
                }
                let store = b.build().map_err(|e| classify("gcs", e))?;
                (
                    Arc::new(store),
                    "gcs",
                    format!("gs://{bucket}/{}", prefix.join("/")),
                )
            }
            RemoteConfig::S3 {
                bucket,
                region,
                endpoint,
                access_key_id,
                secret_access_key,
                allow_http,
            } => {
                // Credentials, session token and the like from the standard
                // AWS_* variables; what the configuration names wins.
                let mut b = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(&bucket)
                    .with_region(region)
                    .with_retry(retry)
                    // In the client options: set apart, `with_client_options`
                    // would replace it and refuse every http:// endpoint.
                    .with_client_options(client.with_allow_http(allow_http));
                if let Some(endpoint) = endpoint {
                    b = b.with_endpoint(endpoint);
                }
                if let (Some(id), Some(secret)) = (access_key_id, secret_access_key) {
                    b = b.with_access_key_id(id).with_secret_access_key(secret);
                }
                let store = b.build().map_err(|e| classify("s3", e))?;
                (
                    Arc::new(store),
                    "s3",
                    format!("s3://{bucket}/{}", prefix.join("/")),
                )
            }
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("session-store-io")
            .enable_all()
            .build()
            .map_err(|e| unavailable(backend, format!("cannot start the I/O runtime: {e}")))?;
        Ok(ObjectStorage {
            store,
            runtime: Some(runtime),
            prefix,
            backend,
            location,
            options,
        })
    }

    /// Runs one call on the owned runtime and waits for it, at most
    /// `call_deadline`.
    fn run<T: Send + 'static>(
        &self,
        fut: impl Future<Output = Result<T, StoreError>> + Send + 'static,
    ) -> Result<T, StoreError> {
        let backend = self.backend;
        let rt = self
            .runtime
            .as_ref()
            .ok_or_else(|| unavailable(backend, "runtime stopped"))?;
        let deadline = self.options.call_deadline;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        rt.spawn(async move {
            let out = match tokio::time::timeout(deadline, fut).await {
                Ok(r) => r,
                Err(_) => Err(unavailable(
                    backend,
                    format!("no answer within {deadline:?}"),
                )),
            };
            let _ = tx.send(out);
        });
        rx.recv()
            .map_err(|_| unavailable(backend, "the I/O task stopped"))?
    }

    /// Where the items live (`s3://bucket/prefix`, `gs://bucket/prefix`).
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Checks the bucket as a diagnosis does: writes a small probe object
    /// under `<prefix>/probe/`, reads its metadata back (the service's
    /// Last-Modified: its clock) and deletes it. Nothing else is touched.
    /// An error says whether the credentials were refused
    /// ([`StoreError::Denied`]) or the service could not be reached or
    /// refused otherwise ([`StoreError::Unavailable`]).
    pub fn probe(&self) -> Result<BucketProbe, StoreError> {
        let mut nonce = [0u8; 8];
        aws_lc_rs::rand::fill(&mut nonce)
            .map_err(|_| unavailable(self.backend, "no randomness for the probe's name"))?;
        let name: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
        let mut parts: Vec<&str> = self.prefix.iter().map(String::as_str).collect();
        parts.push("probe");
        let probe_name = format!("doctor-{name}");
        parts.push(&probe_name);
        let path = Path::from_iter(parts);
        let (store, backend) = (self.store.clone(), self.backend);
        let object = path.to_string();
        self.run(async move {
            let sent = SystemTime::now();
            store
                .put(&path, PutPayload::from_static(b"keybench doctor probe"))
                .await
                .map_err(|e| classify(backend, e))?;
            let answered = SystemTime::now();
            let head = store.head(&path).await;
            // Deleted whatever the head said, so no probe object stays.
            let deleted = store.delete(&path).await;
            let meta = head.map_err(|e| classify(backend, e))?;
            deleted.map_err(|e| classify(backend, e))?;
            let server_ms = meta.last_modified.timestamp_millis();
            Ok(BucketProbe {
                object,
                server_time: u64::try_from(server_ms)
                    .ok()
                    .map(|ms| SystemTime::UNIX_EPOCH + Duration::from_millis(ms)),
                sent,
                answered,
            })
        })
    }

    fn scope_path(&self, kind: &Kind, owner: Option<&OwnerId>) -> Path {
        let mut parts: Vec<&str> = self.prefix.iter().map(String::as_str).collect();
        parts.push(kind.as_str());
        if let Some(owner) = owner {
            parts.push(owner.as_str());
        }
        Path::from_iter(parts)
    }

    fn item_path(&self, scope: &Scope, item: &ItemName) -> Path {
        self.scope_path(&scope.kind, Some(&scope.owner))
            .join(item.as_str())
    }
}

/// The calls as the backend makes them; [`Storage`] redacts their errors.
impl Backend for ObjectStorage {
    fn raw_get(&self, scope: &Scope, item: &ItemName) -> Result<Option<Vec<u8>>, StoreError> {
        let (store, path, backend, max) = (
            self.store.clone(),
            self.item_path(scope, item),
            self.backend,
            self.options.max_item_bytes,
        );
        self.run(async move {
            let got = match store.get(&path).await {
                Ok(g) => g,
                Err(object_store::Error::NotFound { .. }) => return Ok(None),
                Err(e) => return Err(classify(backend, e)),
            };
            if got.meta.size > max as u64 {
                return Err(StoreError::TooLarge {
                    len: got.meta.size,
                    max,
                });
            }
            match got.bytes().await {
                Ok(b) => Ok(Some(b.to_vec())),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(classify(backend, e)),
            }
        })
    }

    fn raw_put(&self, scope: &Scope, item: &ItemName, value: &[u8]) -> Result<(), StoreError> {
        check_size(value.len(), self.options.max_item_bytes)?;
        let (store, path, backend) = (
            self.store.clone(),
            self.item_path(scope, item),
            self.backend,
        );
        let payload = PutPayload::from(value.to_vec());
        self.run(async move {
            store
                .put(&path, payload)
                .await
                .map(|_| ())
                .map_err(|e| classify(backend, e))
        })
    }

    fn raw_create(
        &self,
        scope: &Scope,
        item: &ItemName,
        value: &[u8],
    ) -> Result<Created, StoreError> {
        check_size(value.len(), self.options.max_item_bytes)?;
        let (store, path, backend) = (
            self.store.clone(),
            self.item_path(scope, item),
            self.backend,
        );
        let payload = PutPayload::from(value.to_vec());
        self.run(async move {
            let opts = PutOptions {
                mode: PutMode::Create,
                ..PutOptions::default()
            };
            match store.put_opts(&path, payload, opts).await {
                Ok(_) => Ok(Created::Created),
                Err(object_store::Error::AlreadyExists { .. })
                | Err(object_store::Error::Precondition { .. }) => Ok(Created::AlreadyExists),
                Err(e) => Err(classify(backend, e)),
            }
        })
    }

    fn raw_compare_and_swap(
        &self,
        scope: &Scope,
        item: &ItemName,
        expected: &[u8],
        value: &[u8],
    ) -> Result<Swapped, StoreError> {
        check_size(value.len(), self.options.max_item_bytes)?;
        let (store, path, backend, max) = (
            self.store.clone(),
            self.item_path(scope, item),
            self.backend,
            self.options.max_item_bytes,
        );
        let expected = expected.to_vec();
        let payload = PutPayload::from(value.to_vec());
        self.run(async move {
            let got = match store.get(&path).await {
                Ok(g) => g,
                Err(object_store::Error::NotFound { .. }) => return Ok(Swapped::Missing),
                Err(e) => return Err(classify(backend, e)),
            };
            if got.meta.size > max as u64 {
                return Ok(Swapped::Changed);
            }
            let version = UpdateVersion {
                e_tag: got.meta.e_tag.clone(),
                version: got.meta.version.clone(),
            };
            // GCS conditions on the generation, S3 on the ETag; without it
            // the write could not be conditional.
            let has_version = match backend {
                "gcs" => version.version.is_some(),
                _ => version.e_tag.is_some(),
            };
            if !has_version {
                return Err(StoreError::Unsupported {
                    backend,
                    reason: "the read returned no object version to condition the write on"
                        .to_owned(),
                });
            }
            let current = match got.bytes().await {
                Ok(b) => b,
                Err(object_store::Error::NotFound { .. }) => return Ok(Swapped::Missing),
                Err(e) => return Err(classify(backend, e)),
            };
            if current.as_ref() != expected.as_slice() {
                return Ok(Swapped::Changed);
            }
            let opts = PutOptions {
                mode: PutMode::Update(version),
                ..PutOptions::default()
            };
            match store.put_opts(&path, payload, opts).await {
                Ok(_) => Ok(Swapped::Swapped),
                // The object changed or went since the read; which one only
                // matters for the answer, never for what is stored.
                Err(object_store::Error::Precondition { .. })
                | Err(object_store::Error::NotFound { .. }) => match store.head(&path).await {
                    Ok(_) => Ok(Swapped::Changed),
                    Err(object_store::Error::NotFound { .. }) => Ok(Swapped::Missing),
                    Err(e) => Err(classify(backend, e)),
                },
                Err(e) => Err(classify(backend, e)),
            }
        })
    }

    fn raw_delete(&self, scope: &Scope, item: &ItemName) -> Result<(), StoreError> {
        let (store, path, backend) = (
            self.store.clone(),
            self.item_path(scope, item),
            self.backend,
        );
        self.run(async move {
            match store.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(classify(backend, e)),
            }
        })
    }

    fn raw_list(&self, scope: &Scope) -> Result<Vec<ItemMeta>, StoreError> {
        let (store, prefix, backend) = (
            self.store.clone(),
            self.scope_path(&scope.kind, Some(&scope.owner)),
            self.backend,
        );
        self.run(async move {
            let listed = store
                .list_with_delimiter(Some(&prefix))
                .await
                .map_err(|e| classify(backend, e))?;
            let mut items: Vec<ItemMeta> = listed
                .objects
                .into_iter()
                .filter_map(|o| {
                    let name = ItemName::new(o.location.filename()?).ok()?;
                    Some(ItemMeta {
                        name,
                        size: o.size,
                        modified: Some(SystemTime::from(o.last_modified)),
                    })
                })
                .collect();
            items.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(items)
        })
    }

    fn raw_owners(&self, kind: &Kind) -> Result<Vec<OwnerId>, StoreError> {
        let (store, prefix, backend) = (
            self.store.clone(),
            self.scope_path(kind, None),
            self.backend,
        );
        self.run(async move {
            let listed = store
                .list_with_delimiter(Some(&prefix))
                .await
                .map_err(|e| classify(backend, e))?;
            Ok(listed
                .common_prefixes
                .iter()
                .filter_map(|p| OwnerId::new(p.filename()?).ok())
                .collect())
        })
    }

    fn raw_remove_scope(&self, scope: &Scope) -> Result<usize, StoreError> {
        let (store, prefix, backend) = (
            self.store.clone(),
            self.scope_path(&scope.kind, Some(&scope.owner)),
            self.backend,
        );
        self.run(async move {
            let objects: Vec<_> = store
                .list(Some(&prefix))
                .try_collect()
                .await
                .map_err(|e| classify(backend, e))?;
            let mut removed = 0;
            for o in objects {
                match store.delete(&o.location).await {
                    Ok(()) => removed += 1,
                    Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(classify(backend, e)),
                }
            }
            Ok(removed)
        })
    }

    fn raw_status(&self) -> BackendStatus {
        BackendStatus {
            backend: self.backend,
            location: self.location.clone(),
            state: BackendState::Primary,
        }
    }
}

/// Plain HTTP is allowed for GCS only towards an explicit emulator: a key
/// whose `gcs_base_url` is an `http://` address (fake-gcs-server) and that
/// has no OAuth at all (`disable_oauth: true`), so no signed token request
/// ever travels in clear. Anything else — the real service, even with a key
/// file naming an `http://` token URI — goes over HTTPS only.
/// What [`ObjectStorage::probe`] saw: the probe object written, read back
/// and deleted, and the service's clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketProbe {
    /// The probe object's name (deleted again).
    pub object: String,
    /// The service's time when it stored the object (its Last-Modified,
    /// whole seconds on S3 and GCS), when it gave a usable one.
    pub server_time: Option<SystemTime>,
    /// Local time the write was sent.
    pub sent: SystemTime,
    /// Local time its answer arrived.
    pub answered: SystemTime,
}

impl BucketProbe {
    /// How far the service's clock is from this machine's, in seconds
    /// (positive: the service is ahead): zero when its time falls within
    /// the write's round trip, widened by one second for Last-Modified's
    /// whole seconds. `None` without a server time.
    pub fn clock_skew_secs(&self) -> Option<i64> {
        let server = secs_f64(self.server_time?);
        let (sent, answered) = (secs_f64(self.sent), secs_f64(self.answered));
        // Last-Modified truncates to the second: the true time is in
        // [server, server + 1).
        let skew = if server + 1.0 < sent {
            server + 1.0 - sent
        } else if server > answered {
            server - answered
        } else {
            0.0
        };
        // Whole seconds; float-to-int saturates, never panics.
        Some(skew.trunc() as i64)
    }
}

fn secs_f64(t: SystemTime) -> f64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

fn gcs_emulator_over_http(service_account_key: Option<&str>) -> bool {
    service_account_key
        .and_then(|k| serde_json::from_str::<serde_json::Value>(k).ok())
        .is_some_and(|k| {
            let http_base = k
                .get("gcs_base_url")
                .and_then(serde_json::Value::as_str)
                .is_some_and(|u| u.starts_with("http://"));
            let no_oauth = k.get("disable_oauth") == Some(&serde_json::Value::Bool(true));
            http_base && no_oauth
        })
}

#[cfg(test)]
mod gcs_http_tests {
    #[test]
    fn plain_http_only_towards_an_explicit_gcs_emulator() {
        use super::gcs_emulator_over_http as http;
        assert!(http(Some(
            r#"{"gcs_base_url": "http://127.0.0.1:4443", "disable_oauth": true}"#
        )));
        assert!(!http(None));
        assert!(!http(Some(
            r#"{"gcs_base_url": "https://storage.example"}"#
        )));
        // A real key with an http token URI does not open plain HTTP.
        assert!(!http(Some(
            r#"{"type": "service_account", "token_uri": "http://evil.example/token", "private_key": "-----BEGIN PRIVATE KEY-----"}"#
        )));
        assert!(!http(Some("not json")));
        // An emulator address with OAuth left on would send a signed token
        // request in clear.
        assert!(!http(Some(
            r#"{"gcs_base_url": "http://10.0.0.5:4443", "private_key": "-----BEGIN PRIVATE KEY-----"}"#
        )));
    }
}

#[cfg(test)]
mod probe_tests {
    use super::BucketProbe;
    use std::time::{Duration, SystemTime};

    #[test]
    fn clock_skew_is_zero_inside_the_round_trip_and_signed_outside() {
        let at = |s: u64, ms: u64| {
            SystemTime::UNIX_EPOCH + Duration::from_secs(s) + Duration::from_millis(ms)
        };
        let probe = |server: SystemTime| BucketProbe {
            object: "p".into(),
            server_time: Some(server),
            sent: at(1000, 400),
            answered: at(1000, 900),
        };
        // Whole seconds: 1000 s covers [1000, 1001), within the round trip.
        assert_eq!(probe(at(1000, 0)).clock_skew_secs(), Some(0));
        assert_eq!(probe(at(1090, 0)).clock_skew_secs(), Some(89));
        assert_eq!(probe(at(900, 0)).clock_skew_secs(), Some(-99));
        let none = BucketProbe {
            server_time: None,
            ..probe(at(1000, 0))
        };
        assert_eq!(none.clock_skew_secs(), None);
    }
}
