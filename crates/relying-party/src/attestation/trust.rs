//! Attestation trust (§7.1 steps 23-24): which anchors apply to a statement,
//! and whether its trust path reaches one. Nothing is trusted by default;
//! every outcome names the anchor that vouched, if any.

use super::{AttestationType, VerifiedStatement};
use crate::x509::{AnchorSource, Crl, TrustAnchor, TrustAnchors, UnixTime, crl};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

/// What a verified attestation statement established.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "camelCase")]
#[non_exhaustive]
pub enum TrustOutcome {
    /// "none" attestation: nothing to trust.
    NoAttestation,
    /// Self attestation: proves possession of the key, says nothing of the model.
    SelfAttestation,
    /// The trust path reaches this anchor.
    Trusted {
        /// The anchor's subject.
        anchor: String,
        /// Where the anchor came from.
        source: AnchorSource,
    },
    /// A valid statement no anchor vouches for.
    NotTrusted {
        /// Why (no anchors, expired, no path, ...).
        reason: String,
    },
}

impl TrustOutcome {
    /// Whether an anchor vouched.
    pub fn is_trusted(&self) -> bool {
        matches!(self, TrustOutcome::Trusted { .. })
    }

    /// In words, for verdicts and reports.
    pub fn describe(&self) -> String {
        match self {
            TrustOutcome::NoAttestation => "no attestation (\"none\")".into(),
            TrustOutcome::SelfAttestation => "self attestation".into(),
            TrustOutcome::Trusted { anchor, source } => {
                format!("trusted: chains to {anchor} ({source:?})")
            }
            TrustOutcome::NotTrusted { reason } => format!("not trusted: {reason}"),
        }
    }
}

/// Trust anchors: global ones, and ones that apply to one AAGUID (from FIDO
/// MDS3 statements or uploaded statements), plus AAGUIDs no anchor may vouch
/// for (models FIDO MDS3 reports revoked or compromised).
///
/// A store may extend a shared base ([`TrustStore::over`]): what the base
/// holds applies, and what is added goes to this store only, so a
/// server-wide store is shared behind an `Arc`, never copied, and one
/// session's uploaded statements stay that session's.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    base: Option<Arc<TrustStore>>,
    global: TrustAnchors,
    by_aaguid: HashMap<[u8; 16], TrustAnchors>,
    denied: HashMap<[u8; 16], String>,
    /// CRLs for attestation paths (RFC 5280 §5): a path whose certificates
    /// name CRL distribution points is checked against them.
    crls: Vec<Crl>,
}

impl TrustStore {
    /// A store that trusts nothing.
    pub fn new() -> TrustStore {
        TrustStore::default()
    }

    /// A store over `base` (shared, not copied): its anchors and denials
    /// apply, and those added later apply on top of them (a denial of the
    /// base stays first).
    pub fn over(base: Arc<TrustStore>) -> TrustStore {
        TrustStore {
            base: Some(base),
            ..TrustStore::default()
        }
    }

    /// Adds an anchor for every authenticator model.
    pub fn add_global(&mut self, anchor: TrustAnchor) {
        self.global.add(anchor);
    }

    /// Adds an anchor for one AAGUID.
    pub fn add_for_aaguid(&mut self, aaguid: [u8; 16], anchor: TrustAnchor) {
        self.by_aaguid.entry(aaguid).or_default().add(anchor);
    }

    /// Adds a CRL that attestation paths are checked against (the issuer's
    /// newest applies; see `x509::crl`).
    pub fn add_crl(&mut self, crl: Crl) {
        self.crls.push(crl);
    }

    /// Every CRL that applies: the base's, then this store's.
    fn all_crls(&self) -> Vec<Crl> {
        let mut all = self.base.as_ref().map(|b| b.all_crls()).unwrap_or_default();
        all.extend(self.crls.iter().cloned());
        all
    }

    /// Refuses trust for `aaguid` whatever anchor would vouch (a model whose
    /// MDS3 status reports a revocation or a key compromise). The first
    /// reason given is kept.
    pub fn deny_aaguid(&mut self, aaguid: [u8; 16], reason: impl Into<String>) {
        self.denied.entry(aaguid).or_insert_with(|| reason.into());
    }

    /// Why `aaguid` is denied, if it is.
    pub fn denied(&self, aaguid: &[u8; 16]) -> Option<&str> {
        self.base
            .as_ref()
            .and_then(|b| b.denied(aaguid))
            .or_else(|| self.denied.get(aaguid).map(String::as_str))
    }

    /// The anchors that apply to `aaguid` (§7.1 step 23): the base's first.
    pub fn anchors_for(&self, aaguid: &[u8; 16]) -> TrustAnchors {
        let mut all = match &self.base {
            Some(base) => {
                let mut all = base.anchors_for(aaguid);
                for a in self.global.anchors() {
                    all.add(a.clone());
                }
                all
            }
            None => self.global.clone(),
        };
        if let Some(specific) = self.by_aaguid.get(aaguid) {
            for a in specific.anchors() {
                all.add(a.clone());
            }
        }
        all
    }

    /// Assesses a verified statement (§7.1 step 24).
    pub fn assess(
        &self,
        statement: &VerifiedStatement,
        aaguid: &[u8; 16],
        at: UnixTime,
    ) -> TrustOutcome {
        match statement.attestation_type {
            AttestationType::None => return TrustOutcome::NoAttestation,
            AttestationType::SelfAttestation => return TrustOutcome::SelfAttestation,
            _ => {}
        }
        if let Some(reason) = self.denied(aaguid) {
            return TrustOutcome::NotTrusted {
                reason: reason.to_owned(),
            };
        }
        let anchors = self.anchors_for(aaguid);
        match anchors.verify(&statement.trust_path, at) {
            // A path that reaches an anchor is trusted only if none of its
            // certificates is revoked; a certificate that names a CRL the
            // store does not have is reported, never passed silently.
            Ok(chain) => match crl::check_path(
                &statement.trust_path,
                &chain.anchor.certificate,
                &self.all_crls(),
                at,
            ) {
                Ok(()) => TrustOutcome::Trusted {
                    anchor: chain.anchor.subject.clone(),
                    source: chain.anchor.source.clone(),
                },
                Err(e) => TrustOutcome::NotTrusted {
                    reason: format!("the attestation path reaches an anchor, but {e}"),
                },
            },
            Err(e) => TrustOutcome::NotTrusted {
                reason: e.to_string(),
            },
        }
    }
}
