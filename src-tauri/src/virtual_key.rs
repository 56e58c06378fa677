//! Virtual keys started from the panel: a `virtual-authenticator` served
//! over CTAPHID on a loopback UDP port (the same framing a USB key speaks),
//! so the app's client reaches it at `udp:127.0.0.1:PORT` exactly as it
//! reaches a plugged key. Presence "ask" turns each touch request into a
//! `presence-request` event that the UI answers; with a fingerprint sensor
//! the event says which finger ("Touch with finger N").

use crate::error::CommandError;
use crate::keys::{KeyEntry, Notify, events};
use fido_wire::cose::CoseAlgorithm;
use key_ops::virtual_key::Presence;
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use virtual_authenticator::{AttestationMode, PresenceRequest, PresenceResponder, StateStore};

type Pending = Arc<Mutex<HashMap<u64, PresenceResponder>>>;

/// A running virtual key.
pub struct VirtualKey {
    /// How the panel lists it.
    pub entry: KeyEntry,
    stop: Arc<AtomicBool>,
    pending: Pending,
}

impl VirtualKey {
    /// Creates the authenticator and serves it on 127.0.0.1 (a free port).
    pub fn start(
        algorithms: Vec<CoseAlgorithm>,
        presence: Presence,
        fingerprint: bool,
        notify: Arc<dyn Notify>,
    ) -> Result<VirtualKey, CommandError> {
        let pending: Pending = Arc::default();
        let transport =
            ctaphid::UdpReports::listen(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
                .map_err(|e| CommandError::new("transport", e.to_string()))?;
        let addr = transport
            .local_addr()
            .map_err(|e| CommandError::new("transport", e.to_string()))?;
        let id = format!("udp:{addr}");
        let names: Vec<String> = algorithms
            .iter()
            .map(|a| key_ops::algorithms::algorithm_name(*a))
            .collect();
        let policy = presence.policy(|| ask_prompt(id.clone(), pending.clone(), notify));
        let mut authenticator = key_ops::virtual_key::build(
            algorithms,
            policy,
            AttestationMode::PackedSelf,
            StateStore::Memory,
        )?;
        authenticator.set_fingerprint_sensor(fingerprint);
        let stop = Arc::new(AtomicBool::new(false));
        let stop_serve = stop.clone();
        std::thread::Builder::new()
            .name(format!("virtual key {addr}"))
            .spawn(move || {
                // The loop ends when `stop` is set; a transport error ends it too
                // and the key simply stops answering.
                let _ = ctaphid::serve::serve(
                    transport,
                    key_ops::virtual_key::IDENTITY,
                    authenticator,
                    stop_serve,
                );
            })
            .map_err(|e| CommandError::new("virtual_key", e.to_string()))?;
        Ok(VirtualKey {
            entry: KeyEntry {
                label: format!(
                    "Virtual key ({}){} on {addr}",
                    names.join(", "),
                    if fingerprint {
                        " with a fingerprint sensor"
                    } else {
                        ""
                    }
                ),
                id,
                kind: "virtual",
                vendor_id: None,
                product_id: None,
                algorithms: names,
                presence: Some(presence.name().to_owned()),
            },
            stop,
            pending,
        })
    }

    /// Answers prompt `id`; false when it is no longer waiting.
    pub fn answer(&self, id: u64, touched: bool) -> bool {
        let responder = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        match responder {
            Some(r) => {
                r.answer(touched);
                true
            }
            None => false,
        }
    }

    /// Stops serving (the thread ends within its next transport wait).
    pub fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        // Unanswered prompts are refusals.
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

/// A prompt that parks each responder under a fresh id and tells the UI.
fn ask_prompt(
    key: String,
    pending: Pending,
    notify: Arc<dyn Notify>,
) -> Arc<dyn virtual_authenticator::PresencePrompt> {
    let (tx, rx) = std::sync::mpsc::channel::<(PresenceRequest, PresenceResponder)>();
    let next = AtomicU64::new(1);
    std::thread::spawn(move || {
        for (request, responder) in rx {
            let id = next.fetch_add(1, Ordering::Relaxed);
            pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id, responder);
            notify.emit(
                events::PRESENCE_REQUEST,
                json!({
                    "promptId": id,
                    "key": key,
                    "operation": request.operation,
                    "rpId": request.rp_id,
                    "fingerprint": request.fingerprint.map(|f| f.instruction()),
                }),
            );
        }
    });
    Arc::new(tx)
}
