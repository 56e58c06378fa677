//! The test harness the HTTP tests share: a server on loopback with its
//! own data directory, a cookie-keeping client, and an in-process virtual
//! key driven by Keybench's WebAuthn client.

#![allow(dead_code)]

use ctap_client::webauthn::{self, ClientContext};
use ctap_client::{Device, Recorder};
use keybench_server::ServerConfig;
use reqwest::blocking::Client;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use virtual_authenticator::{Authenticator, Config};

pub struct Server {
    /// Reloads the FIDO metadata from the data directory's cache.
    pub metadata: keybench_server::metadata::Reloader,
    pub base: String,
    pub secret: String,
    pub data: std::path::PathBuf,
    _dir: Option<tempfile::TempDir>,
    _runtime: tokio::runtime::Runtime,
}

pub fn server(ttl: Option<Duration>) -> Server {
    server_with(ttl, keybench_server::StorageChoice::Local)
}

pub fn server_with(ttl: Option<Duration>, storage: keybench_server::StorageChoice) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut srv = server_in(dir.path().to_owned(), ttl, storage);
    srv._dir = Some(dir);
    srv
}

/// A server with settings changed by `configure`.
pub fn server_configured(configure: impl FnOnce(&mut ServerConfig)) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut srv = start(dir.path().to_owned(), configure);
    srv._dir = Some(dir);
    srv
}

/// A server on the data directory `data` (kept when the server stops).
pub fn server_in(
    data: std::path::PathBuf,
    ttl: Option<Duration>,
    storage: keybench_server::StorageChoice,
) -> Server {
    start(data, |config| {
        config.challenge_ttl = ttl;
        config.storage = storage;
    })
}

/// A server on `data` (kept), with settings changed by `configure`.
pub fn server_at(data: std::path::PathBuf, configure: impl FnOnce(&mut ServerConfig)) -> Server {
    start(data, configure)
}

/// A virtual key served in-process.
pub type Key = Device;

fn start(data: std::path::PathBuf, configure: impl FnOnce(&mut ServerConfig)) -> Server {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut config = ServerConfig::local(([127, 0, 0, 1], 0).into(), data.clone());
    config.no_keyring = true;
    configure(&mut config);
    let running = runtime.block_on(keybench_server::start(config)).unwrap();
    let base = format!("http://localhost:{}", running.addr.port());
    let secret = running.launch_secret.clone();
    let metadata = running.metadata();
    runtime.spawn(running.wait());
    Server {
        metadata,
        base,
        secret,
        data,
        _dir: None,
        _runtime: runtime,
    }
}

pub fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

pub fn virtual_key() -> (Device, Arc<AtomicBool>) {
    virtual_key_with(Authenticator::new(Config::default()).unwrap())
}

/// `key` served in-process, driven by Keybench's client.
pub fn virtual_key_with(key: Authenticator) -> (Device, Arc<AtomicBool>) {
    let (host, end) = ctaphid::pipe();
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let identity = ctaphid::DeviceIdentity {
        version: (0, 1, 0),
        capabilities: 0x0d,
    };
    std::thread::spawn(move || ctaphid::serve::serve(end, identity, key, s));
    (Device::open(host, Recorder::default()).unwrap(), stop)
}

/// A server that runs elsewhere (another process): its base URL.
#[derive(Debug, Clone)]
pub struct Remote {
    pub base: String,
}

impl Remote {
    /// POSTs JSON from the server's own origin: the status and the body
    /// (`Err` when the server cannot be reached, e.g. killed).
    pub fn try_post(&self, c: &Client, path: &str, body: &Value) -> reqwest::Result<(u16, Value)> {
        let r = c
            .post(format!("{}{path}", self.base))
            .header("Origin", &self.base)
            .json(body)
            .send()?;
        let status = r.status().as_u16();
        Ok((status, r.json().unwrap_or(Value::Null)))
    }

    /// A registration of `user` with `key`: status, answer, the response sent.
    pub fn try_register(
        &self,
        c: &Client,
        key: &mut Device,
        user: &str,
    ) -> reqwest::Result<(u16, Value, Value)> {
        let (s, options) = self.try_post(c, "/api/register/begin", &json!({ "username": user }))?;
        if s != 200 {
            return Ok((s, options, Value::Null));
        }
        let options = fido_wire::webauthn::json::from_json(
            &serde_json::to_vec(&options["publicKey"]).unwrap(),
        )
        .unwrap();
        let response =
            webauthn::register(key, &options, &mut ClientContext::new(self.base.clone())).unwrap();
        let body = serde_json::to_value(&response).unwrap();
        let (s, v) = self.try_post(c, "/api/register/complete", &body)?;
        Ok((s, v, body))
    }

    /// A sign-in (`user` named, or discoverable): status, answer, the
    /// response sent.
    pub fn try_login(
        &self,
        c: &Client,
        key: &mut Device,
        user: Option<&str>,
    ) -> reqwest::Result<(u16, Value, Value)> {
        let (s, options) = self.try_post(
            c,
            "/api/authenticate/begin",
            &user.map_or(json!({}), |u| json!({ "username": u })),
        )?;
        if s != 200 {
            return Ok((s, options, Value::Null));
        }
        let options = fido_wire::webauthn::json::from_json(
            &serde_json::to_vec(&options["publicKey"]).unwrap(),
        )
        .unwrap();
        let response =
            webauthn::authenticate(key, &options, &mut ClientContext::new(self.base.clone()))
                .unwrap();
        let body = serde_json::to_value(&response).unwrap();
        let (s, v) = self.try_post(c, "/api/authenticate/complete", &body)?;
        Ok((s, v, body))
    }
}

impl Server {
    fn remote(&self) -> Remote {
        Remote {
            base: self.base.clone(),
        }
    }

    pub fn post(&self, c: &Client, path: &str, body: &Value) -> (u16, Value) {
        self.remote().try_post(c, path, body).unwrap()
    }

    pub fn get(&self, c: &Client, path: &str) -> (u16, Value) {
        let r = c.get(format!("{}{path}", self.base)).send().unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    pub fn inspect(&self, c: &Client, path: &str) -> (u16, Value) {
        let r = c
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.secret)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    pub fn register(&self, c: &Client, key: &mut Device, user: &str) -> (u16, Value, Value) {
        let (s, v, body) = self.remote().try_register(c, key, user).unwrap();
        assert!(!body.is_null(), "register/begin: {s} {v}");
        (s, v, body)
    }

    pub fn login(&self, c: &Client, key: &mut Device, user: Option<&str>) -> (u16, Value, Value) {
        let (s, v, body) = self.remote().try_login(c, key, user).unwrap();
        assert!(!body.is_null(), "authenticate/begin: {s} {v}");
        (s, v, body)
    }
}
