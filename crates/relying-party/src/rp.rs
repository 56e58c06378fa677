//! The safe front: a [`RelyingParty`] holding a strict configuration, whose
//! `finish_*` calls run the whole ceremony. Relaxations exist only as
//! explicit [`CeremonyPolicy`] values (see [`crate::policy`]).

use crate::attestation::TrustStore;
use crate::ceremony::{
    AuthenticationExpectations, AuthenticationOutcome, AuthenticationResponse, CeremonyContext,
    RegistrationExpectations, RegistrationOutcome, RegistrationResponse, verify_authentication,
    verify_registration,
};
use crate::credential::Credential;
use crate::error::CeremonyError;
use crate::policy::{CeremonyPolicy, RpConfig, UserVerification};
use crate::verifier::SUPPORTED_ALGORITHMS;
use crate::x509::UnixTime;
use fido_wire::cose::CoseAlgorithm;
use fido_wire::webauthn::Base64UrlBytes;
use fido_wire::webauthn::json::{
    AttestationConveyance, AuthenticationResponseJson, AuthenticatorSelection, CreationOptionsJson,
    CredentialDescriptor, CredentialParameters, CredentialType, RegistrationResponseJson,
    RelyingPartyEntity, RequestOptionsJson, ResidentKeyRequirement, UserEntity,
    UserVerificationRequirement,
};
use std::sync::Arc;

/// Where the relying party reads the time for certificate validity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Clock {
    #[default]
    System,
    Fixed(UnixTime),
}

/// A relying party: configuration, policy and trust anchors.
#[derive(Debug, Clone)]
pub struct RelyingParty {
    config: RpConfig,
    policy: CeremonyPolicy,
    trust: Arc<TrustStore>,
    clock: Clock,
    algorithms: Vec<CoseAlgorithm>,
    extensions: Option<serde_json::Map<String, serde_json::Value>>,
    attestation: AttestationConveyance,
}

impl RelyingParty {
    /// A relying party with the strict default policy, every supported
    /// algorithm offered (ML-DSA first), and no trust anchors.
    pub fn new(config: RpConfig) -> RelyingParty {
        RelyingParty {
            config,
            policy: CeremonyPolicy::default(),
            trust: Arc::new(TrustStore::new()),
            clock: Clock::System,
            algorithms: SUPPORTED_ALGORITHMS.to_vec(),
            extensions: None,
            attestation: AttestationConveyance::Direct,
        }
    }

    /// The client extension inputs the ceremony's options carried, so the
    /// `finish_*` calls judge the extension outputs against them (§7.1 step
    /// 28, §7.2 step 23). Without them an output is only reported as
    /// unrequested.
    pub fn with_requested_extensions(
        mut self,
        extensions: Option<serde_json::Map<String, serde_json::Value>>,
    ) -> RelyingParty {
        self.extensions = extensions;
        self
    }

    /// The attestation conveyance the ceremony's options asked for (the
    /// default is "direct"). With "enterprise", [`Self::creation_options`]
    /// ask for it and [`Self::finish_registration`] says whether the
    /// registration carries an enterprise attestation.
    pub fn with_requested_attestation(
        mut self,
        attestation: AttestationConveyance,
    ) -> RelyingParty {
        self.attestation = attestation;
        self
    }

    /// Replaces the policy.
    pub fn with_policy(mut self, policy: CeremonyPolicy) -> RelyingParty {
        self.policy = policy;
        self
    }

    /// Replaces the trust anchors. A store shared behind an `Arc` (a
    /// server's, used by every ceremony) is shared, not copied.
    pub fn with_trust(mut self, trust: impl Into<Arc<TrustStore>>) -> RelyingParty {
        self.trust = trust.into();
        self
    }

    /// Offers only these algorithms, in this order (unsupported ones are dropped).
    pub fn with_algorithms(mut self, algorithms: &[CoseAlgorithm]) -> RelyingParty {
        self.algorithms = algorithms
            .iter()
            .copied()
            .filter(|a| SUPPORTED_ALGORITHMS.contains(a))
            .collect();
        self
    }

    /// Checks certificates at a fixed time instead of the system clock
    /// (tests, replays of recorded attestations).
    pub fn with_fixed_time(mut self, at: UnixTime) -> RelyingParty {
        self.clock = Clock::Fixed(at);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &RpConfig {
        &self.config
    }

    /// The policy.
    pub fn policy(&self) -> &CeremonyPolicy {
        &self.policy
    }

    /// The algorithms offered.
    pub fn algorithms(&self) -> &[CoseAlgorithm] {
        &self.algorithms
    }

    fn context(&self) -> CeremonyContext<'_> {
        CeremonyContext {
            rp: &self.config,
            policy: self.policy,
            trust: &self.trust,
            now: match self.clock {
                Clock::System => UnixTime::now(),
                Clock::Fixed(t) => t,
            },
        }
    }

    fn uv_requirement(&self) -> UserVerificationRequirement {
        match self.policy.user_verification {
            UserVerification::Required => UserVerificationRequirement::Required,
            UserVerification::NotRequired => UserVerificationRequirement::Preferred,
        }
    }

    /// Creation options for a passkey, consistent with the policy: the
    /// algorithms offered, UV as the policy requires, discoverable
    /// credentials, direct attestation (it is verified and reported).
    pub fn creation_options(
        &self,
        challenge: &[u8],
        user: UserEntity,
        rp_name: &str,
        exclude: &[Vec<u8>],
    ) -> CreationOptionsJson {
        CreationOptionsJson {
            rp: RelyingPartyEntity {
                id: Some(self.config.rp_id().to_owned()),
                name: rp_name.to_owned(),
            },
            user,
            challenge: challenge.to_vec().into(),
            pub_key_cred_params: self
                .algorithms
                .iter()
                .map(|a| CredentialParameters::public_key(*a))
                .collect(),
            timeout: Some(300_000),
            exclude_credentials: exclude.iter().map(|id| descriptor(id)).collect(),
            authenticator_selection: Some(AuthenticatorSelection {
                authenticator_attachment: None,
                resident_key: Some(ResidentKeyRequirement::Required),
                require_resident_key: true,
                user_verification: Some(self.uv_requirement()),
            }),
            hints: Vec::new(),
            attestation: Some(self.attestation.clone()),
            attestation_formats: Vec::new(),
            extensions: None,
        }
    }

    /// Request options (empty `allow` = discoverable credentials).
    pub fn request_options(&self, challenge: &[u8], allow: &[Vec<u8>]) -> RequestOptionsJson {
        RequestOptionsJson {
            challenge: challenge.to_vec().into(),
            timeout: Some(300_000),
            rp_id: Some(self.config.rp_id().to_owned()),
            allow_credentials: allow.iter().map(|id| descriptor(id)).collect(),
            user_verification: Some(self.uv_requirement()),
            hints: Vec::new(),
            extensions: None,
        }
    }

    /// Finishes a registration (§7.1). `challenge` is the one the session
    /// engine bound to this ceremony; `is_registered` looks a credential ID
    /// up across all users.
    pub fn finish_registration(
        &self,
        challenge: &[u8],
        user_handle: &[u8],
        response: &RegistrationResponseJson,
        is_registered: &dyn Fn(&[u8]) -> bool,
    ) -> Result<RegistrationOutcome, CeremonyError> {
        let mut outcome = verify_registration(
            &self.context(),
            &RegistrationExpectations {
                challenge,
                user_handle,
                algorithms: &self.algorithms,
                conditional_mediation: false,
                extensions: self.extensions.as_ref(),
            },
            &RegistrationResponse::from_json(response),
            is_registered,
        )?;
        // CTAP's epAtt stays between key and client: what the relying party
        // sees of an enterprise attestation is a verified certificate-backed
        // statement given when it asked for one (WebAuthn L3 §5.4.7).
        outcome.enterprise_attestation = self.attestation == AttestationConveyance::Enterprise
            && !outcome.statement.trust_path.is_empty();
        Ok(outcome)
    }

    /// Finishes an authentication (§7.2) against the stored `credential` the
    /// caller looked up by `rawId`. `identified_user` is the user handle of
    /// a user identified before the ceremony, if any; `allow` the
    /// allowCredentials that were sent.
    pub fn finish_authentication(
        &self,
        challenge: &[u8],
        identified_user: Option<&[u8]>,
        allow: &[&[u8]],
        response: &AuthenticationResponseJson,
        credential: &Credential,
    ) -> Result<AuthenticationOutcome, CeremonyError> {
        verify_authentication(
            &self.context(),
            &AuthenticationExpectations {
                challenge,
                allow_credentials: allow,
                identified_user,
                extensions: self.extensions.as_ref(),
            },
            &AuthenticationResponse::from_json(response),
            credential,
        )
    }
}

fn descriptor(id: &[u8]) -> CredentialDescriptor {
    CredentialDescriptor {
        kind: CredentialType::PublicKey,
        id: Base64UrlBytes::from(id),
        transports: None,
    }
}
