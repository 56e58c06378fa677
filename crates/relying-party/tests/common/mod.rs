//! A browser-like client around the in-process virtual authenticator: it
//! builds clientDataJSON, drives makeCredential/getAssertion through CTAP2
//! CBOR, and returns the WebAuthn L3 JSON responses a relying party receives.

#![allow(dead_code)]

use ctaphid::serve::RequestContext;
use fido_wire::cose::CoseAlgorithm;
use fido_wire::ctap2::{
    Descriptor, GetAssertionRequest, GetAssertionResponse, MakeCredentialRequest,
    MakeCredentialResponse, RequestOptions, StatusCode, command, encode_request, parse_response,
};
use fido_wire::webauthn::json::{
    AssertionResponseJson, AttestationResponseJson, AuthenticationResponseJson, CredentialType,
    RegistrationResponseJson,
};
use fido_wire::webauthn::{CeremonyType, CollectedClientData, base64url};
use virtual_authenticator::{AttestationMode, Authenticator, Config};

pub const RP_ID: &str = "example.org";
pub const ORIGIN: &str = "https://example.org";
pub const USER: &[u8] = b"user-handle-alice";

pub const ALGORITHMS: [CoseAlgorithm; 10] = virtual_authenticator::keys::SUPPORTED;

/// SHA-256 computed by the test with aws-lc-rs directly.
pub fn sha256(data: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data)
        .as_ref()
        .to_vec()
}

pub struct Client {
    pub key: Authenticator,
    pub origin: String,
    pub rp_id: String,
    /// makeCredential's enterpriseAttestation parameter.
    pub enterprise_attestation: Option<u64>,
}

impl Client {
    pub fn new(attestation: AttestationMode) -> Client {
        Client {
            key: Authenticator::new(Config {
                attestation,
                ..Config::default()
            })
            .unwrap(),
            origin: ORIGIN.into(),
            rp_id: RP_ID.into(),
            enterprise_attestation: None,
        }
    }

    fn call(&mut self, cmd: u8, params: &fido_wire::cbor::Value) -> fido_wire::cbor::Value {
        let answer = self.key.process(
            &encode_request(cmd, Some(params)),
            &RequestContext::detached(),
        );
        let (status, body) = parse_response(&answer).unwrap();
        assert_eq!(status, StatusCode::OK);
        body.unwrap()
    }

    pub fn client_data(&self, ceremony: CeremonyType, challenge: &[u8]) -> Vec<u8> {
        CollectedClientData::new(ceremony, challenge, self.origin.clone()).to_json()
    }

    pub fn register(&mut self, alg: CoseAlgorithm, challenge: &[u8]) -> RegistrationResponseJson {
        let cdj = self.client_data(CeremonyType::Create, challenge);
        self.register_with_client_data(alg, cdj)
    }

    pub fn register_with_client_data(
        &mut self,
        alg: CoseAlgorithm,
        cdj: Vec<u8>,
    ) -> RegistrationResponseJson {
        let req = MakeCredentialRequest {
            client_data_hash: sha256(&cdj),
            rp_id: self.rp_id.clone(),
            rp_name: Some("Example".into()),
            user_id: USER.to_vec(),
            user_name: Some("alice".into()),
            user_display_name: Some("Alice".into()),
            pub_key_cred_params: vec![("public-key".into(), alg)],
            exclude_list: vec![],
            extensions: None,
            options: RequestOptions {
                rk: Some(true),
                ..Default::default()
            },
            pin_uv_auth_param: None,
            pin_uv_auth_protocol: None,
            enterprise_attestation: self.enterprise_attestation,
            attestation_formats_preference: vec![],
        };
        let body = self.call(command::MAKE_CREDENTIAL, &req.to_value());
        let att = MakeCredentialResponse::from_value(&body)
            .unwrap()
            .to_attestation_object()
            .unwrap();
        let id = att
            .auth_data
            .attested_credential
            .as_ref()
            .unwrap()
            .credential_id
            .clone();
        RegistrationResponseJson {
            id: base64url::encode(&id),
            raw_id: id.into(),
            response: AttestationResponseJson {
                client_data_json: cdj.into(),
                authenticator_data: None,
                transports: vec![],
                public_key: None,
                public_key_algorithm: Some(alg),
                attestation_object: att.to_cbor().into(),
            },
            authenticator_attachment: None,
            client_extension_results: Default::default(),
            kind: CredentialType::PublicKey,
        }
    }

    pub fn authenticate(
        &mut self,
        credential_id: &[u8],
        challenge: &[u8],
    ) -> AuthenticationResponseJson {
        let cdj = self.client_data(CeremonyType::Get, challenge);
        self.authenticate_with_client_data(credential_id, cdj)
    }

    pub fn authenticate_with_client_data(
        &mut self,
        credential_id: &[u8],
        cdj: Vec<u8>,
    ) -> AuthenticationResponseJson {
        self.authenticate_with(credential_id, cdj, RequestOptions::default())
    }

    pub fn authenticate_with(
        &mut self,
        credential_id: &[u8],
        cdj: Vec<u8>,
        options: RequestOptions,
    ) -> AuthenticationResponseJson {
        let req = GetAssertionRequest {
            rp_id: self.rp_id.clone(),
            client_data_hash: sha256(&cdj),
            allow_list: vec![Descriptor {
                kind: "public-key".into(),
                id: credential_id.to_vec(),
            }],
            extensions: None,
            options,
            pin_uv_auth_param: None,
            pin_uv_auth_protocol: None,
        };
        let body = self.call(command::GET_ASSERTION, &req.to_value());
        let resp = GetAssertionResponse::from_value(&body).unwrap();
        let id = resp
            .credential_id
            .clone()
            .unwrap_or_else(|| credential_id.to_vec());
        AuthenticationResponseJson {
            id: base64url::encode(&id),
            raw_id: id.into(),
            response: AssertionResponseJson {
                client_data_json: cdj.into(),
                authenticator_data: resp.auth_data.into(),
                signature: resp.signature.into(),
                user_handle: resp.user.map(|u| u.id.into()),
                attestation_object: None,
            },
            authenticator_attachment: None,
            client_extension_results: Default::default(),
            kind: CredentialType::PublicKey,
        }
    }
}
