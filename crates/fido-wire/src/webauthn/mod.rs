//! WebAuthn structures: authenticator data, attestation objects, client data
//! and the Level 3 JSON forms.

pub mod attestation_object;
pub mod authdata;
pub mod base64url;
pub mod client_data;
pub mod json;

pub use attestation_object::{AttestationObject, AttestationObjectError};
pub use authdata::{AttestedCredentialData, AuthDataError, AuthenticatorData, Flags};
pub use base64url::{Base64UrlBytes, Base64UrlError};
pub use client_data::{CeremonyType, ClientDataError, CollectedClientData};
pub use json::{
    AuthenticationResponseJson, CreationOptionsJson, JsonFormError, RegistrationResponseJson,
    RequestOptionsJson,
};
