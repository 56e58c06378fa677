//! What the relying party expects: its identity, the origins it serves, and
//! the policy values that decide the steps WebAuthn leaves to the relying
//! party (cross-origin use, user verification, counters, backup flags,
//! attestation trust).
//!
//! Every default is the strict choice. A relaxation is a named policy value
//! the caller has to spell out, and each one's documentation says what it
//! gives up.

use aws_lc_rs::digest::{SHA256, digest};

/// The relying party's fixed identity and origin rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpConfig {
    rp_id: String,
    rp_id_hash: [u8; 32],
    origins: Vec<String>,
    cross_origin: CrossOriginPolicy,
}

impl RpConfig {
    /// A relying party with RP ID `rp_id` accepting exactly `origins` (compared
    /// as exact strings, e.g. `https://example.org`; ports and schemes count).
    /// Same-origin use only.
    pub fn new(
        rp_id: impl Into<String>,
        origins: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        let rp_id = rp_id.into();
        let mut rp_id_hash = [0u8; 32];
        rp_id_hash.copy_from_slice(digest(&SHA256, rp_id.as_bytes()).as_ref());
        RpConfig {
            rp_id,
            rp_id_hash,
            origins: origins.into_iter().map(Into::into).collect(),
            cross_origin: CrossOriginPolicy::SameOriginOnly,
        }
    }

    /// Sets the cross-origin policy (default [`CrossOriginPolicy::SameOriginOnly`]).
    pub fn with_cross_origin(mut self, policy: CrossOriginPolicy) -> Self {
        self.cross_origin = policy;
        self
    }

    /// The RP ID.
    pub fn rp_id(&self) -> &str {
        &self.rp_id
    }

    /// SHA-256 of the RP ID, what `rpIdHash` must equal.
    pub fn rp_id_hash(&self) -> &[u8; 32] {
        &self.rp_id_hash
    }

    /// The origin allow-list. Empty allows nothing.
    pub fn origins(&self) -> &[String] {
        &self.origins
    }

    /// The cross-origin policy.
    pub fn cross_origin(&self) -> &CrossOriginPolicy {
        &self.cross_origin
    }

    /// Whether `origin` is on the allow-list.
    pub fn origin_allowed(&self, origin: &str) -> bool {
        self.origins.iter().any(|o| o == origin)
    }
}

/// Whether ceremonies may run inside a cross-origin iframe (§7.1 steps 10-11, §7.2 steps 13-14).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CrossOriginPolicy {
    /// Default: `crossOrigin: true` and any `topOrigin` are rejected.
    #[default]
    SameOriginOnly,
    /// Relaxation: the relying party is embedded by the listed top-level
    /// origins. `crossOrigin: true` is accepted; a `topOrigin`, when the
    /// client sends one, must be on this list (older clients send none, and
    /// then only the embedded origin is known).
    EmbeddedIn {
        /// Top-level origins allowed to frame the relying party.
        top_origins: Vec<String>,
    },
}

/// Whether user verification is required (§7.1 step 16, §7.2 step 17).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserVerification {
    /// The UV flag must be set. Default: Keybench registers passkeys.
    #[default]
    Required,
    /// Relaxation: UV was asked for as "preferred" or "discouraged"; its
    /// flag is reported, not required.
    NotRequired,
}

/// What to do when the signature counter does not advance (§7.2 step 22).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CounterPolicy {
    /// Default: a counter that does not advance (while either value is
    /// nonzero) fails the ceremony with [`crate::CeremonyError::CounterRegressed`].
    #[default]
    Reject,
    /// Relaxation: the ceremony succeeds and the outcome reports
    /// [`crate::CounterCheck::Regressed`]; the stored counter is not lowered.
    Report,
}

/// How backup eligibility is held against the credential record (§7.2 step 19).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackupEligibilityPolicy {
    /// Default: BE must equal the value recorded at registration (it is fixed
    /// for the credential's life, so a change means a different authenticator).
    #[default]
    MustMatchRecord,
    /// Relaxation: BE changes are reported, not rejected.
    Report,
}

/// Which attestation outcomes a registration accepts (§7.1 step 24).
///
/// The attestation statement is always verified: a statement that does not
/// verify always fails. This only decides what to do with a *valid*
/// statement that no trust anchor vouches for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AttestationPolicy {
    /// Default for a workbench: `none`, self attestation and chains that reach
    /// no configured anchor are accepted, and the outcome says so
    /// ([`crate::TrustOutcome`]). Nothing is ever reported as trusted unless
    /// an anchor vouched.
    #[default]
    ReportUntrusted,
    /// Only a certificate chain up to a configured trust anchor is accepted.
    RequireTrustedAnchor,
}

/// Whether TPM attestation signed with RS1 (RSASSA-PKCS1-v1_5 with SHA-1,
/// COSE -65535) is accepted. Older Windows Hello TPMs produce it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TpmSha1Policy {
    /// Default: rejected with [`crate::attestation::AttestationError::InsecureAlgorithm`].
    #[default]
    Reject,
    /// Relaxation: accepted for the TPM certInfo signature only (SHA-1 is
    /// broken for collisions; a TPM signs structures it builds itself, which
    /// limits but does not remove the risk). Never accepted for credentials.
    Accept,
}

/// The ceremony-wide policy values, all strict by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CeremonyPolicy {
    /// User verification.
    pub user_verification: UserVerification,
    /// Signature counter regressions.
    pub counter: CounterPolicy,
    /// Backup eligibility changes.
    pub backup_eligibility: BackupEligibilityPolicy,
    /// Attestation trust.
    pub attestation: AttestationPolicy,
    /// RS1 in TPM attestation.
    pub tpm_sha1: TpmSha1Policy,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rp_id_hash_and_exact_origins() {
        let rp = RpConfig::new("example.org", ["https://example.org"]);
        assert_eq!(
            hex::encode(rp.rp_id_hash()),
            // The WebAuthn L3 test vectors' rpIdHash for example.org.
            "bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b5"
        );
        assert!(rp.origin_allowed("https://example.org"));
        assert!(!rp.origin_allowed("https://example.org:443"));
        assert!(!rp.origin_allowed("http://example.org"));
        assert!(!rp.origin_allowed("https://evil.example.org"));
        let none = RpConfig::new("example.org", Vec::<String>::new());
        assert!(!none.origin_allowed("https://example.org"));
    }
}
