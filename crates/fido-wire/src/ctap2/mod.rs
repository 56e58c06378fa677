//! CTAP2 messages as both ends write and read them: command bytes, status
//! codes, and the request and response maps (CTAP 2.1 §6, CTAP 2.2):
//! makeCredential, getAssertion, getInfo, clientPIN, credentialManagement
//! authenticatorConfig, authenticatorLargeBlobs and authenticatorBioEnrollment.
//!
//! Responses are decoded in any key order (real authenticators do not all
//! sort) but under the CTAP limits; what this crate encodes is always
//! CTAP2 canonical.

mod bio_enrollment;
mod client_pin;
mod cred_mgmt;
mod fields;
mod get_info;
mod large_blobs;
mod requests;
mod responses;
mod status;

pub use bio_enrollment::{
    BioEnrollmentRequest, BioEnrollmentResponse, BioParams, BioSubCommand, FINGERPRINT_KIND_TOUCH,
    MODALITY_FINGERPRINT, SampleStatus, TemplateInfo,
};
pub use client_pin::{ClientPinRequest, ClientPinResponse, Encrypted, Permissions, PinSubCommand};
pub use cred_mgmt::{
    ConfigRequest, ConfigSubCommand, CredMgmtParams, CredMgmtRequest, CredMgmtResponse,
    CredMgmtSubCommand, MinPinLengthParams, RpEntity,
};
pub use fields::Ctap2Error;
pub use get_info::{AlgorithmEntry, GetInfo};
pub use large_blobs::{
    INITIAL_LARGE_BLOB_ARRAY, LARGE_BLOB_HASH_LEN, LargeBlobEntry, LargeBlobsRequest,
    LargeBlobsResponse, MIN_SERIALIZED_LARGE_BLOB_ARRAY, large_blob_write_message,
    max_fragment_length, split_serialized_large_blob_array,
};
pub use requests::{
    Descriptor, GetAssertionRequest, MakeCredentialRequest, PinUvAuthParam, RequestOptions,
    encode_request,
};
pub use responses::{
    GetAssertionResponse, MakeCredentialResponse, ToAttestationError, UserEntity, parse_response,
};
pub use status::StatusCode;

/// CTAP2 command bytes (the first byte of a CTAPHID_CBOR request).
pub mod command {
    /// authenticatorMakeCredential.
    pub const MAKE_CREDENTIAL: u8 = 0x01;
    /// authenticatorGetAssertion.
    pub const GET_ASSERTION: u8 = 0x02;
    /// authenticatorGetInfo.
    pub const GET_INFO: u8 = 0x04;
    /// authenticatorClientPIN.
    pub const CLIENT_PIN: u8 = 0x06;
    /// authenticatorReset.
    pub const RESET: u8 = 0x07;
    /// authenticatorGetNextAssertion.
    pub const GET_NEXT_ASSERTION: u8 = 0x08;
    /// authenticatorBioEnrollment.
    pub const BIO_ENROLLMENT: u8 = 0x09;
    /// authenticatorCredentialManagement.
    pub const CREDENTIAL_MANAGEMENT: u8 = 0x0a;
    /// authenticatorSelection.
    pub const SELECTION: u8 = 0x0b;
    /// authenticatorLargeBlobs.
    pub const LARGE_BLOBS: u8 = 0x0c;
    /// authenticatorConfig.
    pub const CONFIG: u8 = 0x0d;
    /// Pre-2.1 prototype of authenticatorBioEnrollment.
    pub const PROTOTYPE_BIO_ENROLLMENT: u8 = 0x40;
    /// Pre-2.1 prototype of authenticatorCredentialManagement.
    pub const PROTOTYPE_CREDENTIAL_MANAGEMENT: u8 = 0x41;
}
