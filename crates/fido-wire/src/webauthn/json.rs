//! The WebAuthn Level 3 JSON forms (§5.1.8, §5.1.9, §5.4, §5.5):
//! creation and request options as a relying party sends them, and the
//! responses `PublicKeyCredential.toJSON()` produces. Binary members are
//! unpadded base64url. Enumerated strings keep values this crate does not
//! know (the specification tells clients to ignore, not reject, them).

use super::base64url::Base64UrlBytes;
use crate::cose::CoseAlgorithm;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value as Json};

/// The largest options or response JSON accepted: an ML-DSA-87 registration
/// is about 10 KiB in base64url; allow generous headroom but stay bounded.
pub const MAX_JSON_LEN: usize = 256 * 1024;

/// An enumerated WebAuthn string whose unknown values are kept (as
/// `Other`): what it knows, for a party that must refuse the rest (a server
/// validating its own API's input, say).
pub trait KnownValues {
    /// The wire strings this crate knows.
    const KNOWN: &'static [&'static str];
    /// The wire string.
    fn as_str(&self) -> &str;
    /// Whether the value is one of [`KnownValues::KNOWN`].
    fn is_known(&self) -> bool;
}

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* #[doc = concat!("\"", $wire, "\"")] $variant,)+
            /// A value this crate does not know, kept as sent.
            Other(String),
        }

        impl $name {
            /// The wire strings of the values this crate knows, in the
            /// specification's order.
            pub const KNOWN: &'static [&'static str] = &[$($wire),+];

            /// The wire string.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $wire,)+
                    $name::Other(s) => s,
                }
            }

            /// Whether this is one of [`Self::KNOWN`] (not `Other`).
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Other(_))
            }
        }

        impl KnownValues for $name {
            const KNOWN: &'static [&'static str] = $name::KNOWN;

            fn as_str(&self) -> &str {
                $name::as_str(self)
            }

            fn is_known(&self) -> bool {
                $name::is_known(self)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $($wire => $name::$variant,)+
                    other => $name::Other(other.to_owned()),
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Ok($name::from(&*s))
            }
        }
    };
}

string_enum!(
    /// `PublicKeyCredentialType`.
    CredentialType { PublicKey = "public-key" }
);
string_enum!(
    /// `ResidentKeyRequirement`.
    ResidentKeyRequirement { Discouraged = "discouraged", Preferred = "preferred", Required = "required" }
);
string_enum!(
    /// `UserVerificationRequirement`.
    UserVerificationRequirement { Required = "required", Preferred = "preferred", Discouraged = "discouraged" }
);
string_enum!(
    /// `AttestationConveyancePreference`.
    AttestationConveyance { None = "none", Indirect = "indirect", Direct = "direct", Enterprise = "enterprise" }
);
string_enum!(
    /// `AuthenticatorAttachment`.
    AuthenticatorAttachment { Platform = "platform", CrossPlatform = "cross-platform" }
);
string_enum!(
    /// `AuthenticatorTransport`.
    AuthenticatorTransport { Usb = "usb", Nfc = "nfc", Ble = "ble", SmartCard = "smart-card", Hybrid = "hybrid", Internal = "internal" }
);
string_enum!(
    /// `PublicKeyCredentialHint`.
    PublicKeyCredentialHint { SecurityKey = "security-key", ClientDevice = "client-device", Hybrid = "hybrid" }
);

fn is_false(b: &bool) -> bool {
    !*b
}

/// `PublicKeyCredentialRpEntity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelyingPartyEntity {
    /// RP ID; absent means the caller's effective domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Human-palatable name.
    pub name: String,
}

/// `PublicKeyCredentialUserEntityJSON`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserEntity {
    /// User handle (at most 64 bytes).
    pub id: Base64UrlBytes,
    /// Account name.
    pub name: String,
    /// Display name.
    pub display_name: String,
}

/// `PublicKeyCredentialParameters`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialParameters {
    /// Always "public-key" today.
    #[serde(rename = "type")]
    pub kind: CredentialType,
    /// COSE algorithm identifier.
    pub alg: CoseAlgorithm,
}

impl CredentialParameters {
    /// A public-key credential with algorithm `alg`.
    pub fn public_key(alg: CoseAlgorithm) -> Self {
        CredentialParameters {
            kind: CredentialType::PublicKey,
            alg,
        }
    }
}

/// `PublicKeyCredentialDescriptorJSON`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialDescriptor {
    /// Always "public-key" today.
    #[serde(rename = "type")]
    pub kind: CredentialType,
    /// Credential ID.
    pub id: Base64UrlBytes,
    /// Transport hints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transports: Option<Vec<AuthenticatorTransport>>,
}

/// `AuthenticatorSelectionCriteria`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticatorSelection {
    /// Platform or roaming authenticator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticator_attachment: Option<AuthenticatorAttachment>,
    /// Discoverable credential requirement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resident_key: Option<ResidentKeyRequirement>,
    /// Legacy form of `residentKey: "required"`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub require_resident_key: bool,
    /// User verification requirement (default "preferred").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_verification: Option<UserVerificationRequirement>,
}

/// `PublicKeyCredentialCreationOptionsJSON`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreationOptionsJson {
    /// Relying party.
    pub rp: RelyingPartyEntity,
    /// User account.
    pub user: UserEntity,
    /// Challenge.
    pub challenge: Base64UrlBytes,
    /// Acceptable algorithms, most preferred first.
    pub pub_key_cred_params: Vec<CredentialParameters>,
    /// Milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    /// Credentials that must not be registered again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_credentials: Vec<CredentialDescriptor>,
    /// Authenticator selection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticator_selection: Option<AuthenticatorSelection>,
    /// Hints, most preferred first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<PublicKeyCredentialHint>,
    /// Attestation conveyance (default "none").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<AttestationConveyance>,
    /// Acceptable attestation formats, most preferred first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attestation_formats: Vec<String>,
    /// Client extension inputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Map<String, Json>>,
}

/// `PublicKeyCredentialRequestOptionsJSON`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestOptionsJson {
    /// Challenge.
    pub challenge: Base64UrlBytes,
    /// Milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    /// RP ID; absent means the caller's effective domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rp_id: Option<String>,
    /// Acceptable credentials; empty means discoverable credentials.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_credentials: Vec<CredentialDescriptor>,
    /// User verification requirement (default "preferred").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_verification: Option<UserVerificationRequirement>,
    /// Hints, most preferred first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<PublicKeyCredentialHint>,
    /// Client extension inputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Map<String, Json>>,
}

/// `AuthenticatorAttestationResponseJSON`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttestationResponseJson {
    /// clientDataJSON bytes.
    #[serde(rename = "clientDataJSON")]
    pub client_data_json: Base64UrlBytes,
    /// Authenticator data (a convenience copy; the RP must use the attestation object's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticator_data: Option<Base64UrlBytes>,
    /// Transports the authenticator is believed to support.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transports: Vec<AuthenticatorTransport>,
    /// SubjectPublicKeyInfo of the credential key (a convenience; never trusted by Keybench).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<Base64UrlBytes>,
    /// COSE algorithm of the credential key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key_algorithm: Option<CoseAlgorithm>,
    /// The attestation object.
    pub attestation_object: Base64UrlBytes,
}

/// `RegistrationResponseJSON`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationResponseJson {
    /// base64url of `raw_id`.
    pub id: String,
    /// Credential ID.
    pub raw_id: Base64UrlBytes,
    /// The authenticator's response.
    pub response: AttestationResponseJson,
    /// Platform or cross-platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticator_attachment: Option<AuthenticatorAttachment>,
    /// Client extension outputs.
    #[serde(default)]
    pub client_extension_results: Map<String, Json>,
    /// "public-key".
    #[serde(rename = "type")]
    pub kind: CredentialType,
}

/// `AuthenticatorAssertionResponseJSON`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssertionResponseJson {
    /// clientDataJSON bytes.
    #[serde(rename = "clientDataJSON")]
    pub client_data_json: Base64UrlBytes,
    /// Authenticator data.
    pub authenticator_data: Base64UrlBytes,
    /// Assertion signature.
    pub signature: Base64UrlBytes,
    /// User handle, for discoverable credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_handle: Option<Base64UrlBytes>,
    /// Attestation object, when attestation was requested for an assertion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation_object: Option<Base64UrlBytes>,
}

/// `AuthenticationResponseJSON`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationResponseJson {
    /// base64url of `raw_id`.
    pub id: String,
    /// Credential ID.
    pub raw_id: Base64UrlBytes,
    /// The authenticator's response.
    pub response: AssertionResponseJson,
    /// Platform or cross-platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticator_attachment: Option<AuthenticatorAttachment>,
    /// Client extension outputs.
    #[serde(default)]
    pub client_extension_results: Map<String, Json>,
    /// "public-key".
    #[serde(rename = "type")]
    pub kind: CredentialType,
}

/// Why a JSON document is not an acceptable WebAuthn form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonFormError {
    /// Larger than [`MAX_JSON_LEN`].
    #[error("JSON is {len} bytes, over the limit of {max}")]
    TooLong {
        /// Length found.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not valid JSON for this form; the message names the member.
    #[error("{0}")]
    Invalid(String),
    /// `id` is not the base64url of `rawId`.
    #[error("\"id\" is not the base64url encoding of \"rawId\"")]
    IdMismatch,
}

/// Parses one of the JSON forms from bytes, bounded by [`MAX_JSON_LEN`].
pub fn from_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, JsonFormError> {
    if bytes.len() > MAX_JSON_LEN {
        return Err(JsonFormError::TooLong {
            len: bytes.len(),
            max: MAX_JSON_LEN,
        });
    }
    serde_json::from_slice(bytes).map_err(|e| JsonFormError::Invalid(e.to_string()))
}

impl RegistrationResponseJson {
    /// Checks that `id` encodes `rawId`.
    pub fn check_id(&self) -> Result<(), JsonFormError> {
        check_id(&self.id, &self.raw_id)
    }
}

impl AuthenticationResponseJson {
    /// Checks that `id` encodes `rawId`.
    pub fn check_id(&self) -> Result<(), JsonFormError> {
        check_id(&self.id, &self.raw_id)
    }
}

fn check_id(id: &str, raw_id: &Base64UrlBytes) -> Result<(), JsonFormError> {
    if super::base64url::encode(raw_id.as_slice()) == id {
        Ok(())
    } else {
        Err(JsonFormError::IdMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creation_options_round_trip_and_keep_unknown_values() {
        let json = r#"{"rp":{"id":"example.org","name":"Example"},"user":{"id":"AQID","name":"alice","displayName":"Alice"},"challenge":"AAEC","pubKeyCredParams":[{"type":"public-key","alg":-49},{"type":"public-key","alg":-7}],"timeout":60000,"authenticatorSelection":{"residentKey":"required","userVerification":"future-value"},"hints":["security-key"],"attestation":"direct","extensions":{"credProps":true}}"#;
        let opts: CreationOptionsJson = from_json(json.as_bytes()).unwrap();
        assert_eq!(opts.pub_key_cred_params[0].alg, CoseAlgorithm::ML_DSA_65);
        assert_eq!(
            opts.authenticator_selection
                .as_ref()
                .unwrap()
                .user_verification,
            Some(UserVerificationRequirement::Other("future-value".into()))
        );
        assert_eq!(serde_json::to_string(&opts).unwrap(), json);
    }

    #[test]
    fn known_values_are_listed_and_others_kept() {
        assert_eq!(
            AttestationConveyance::KNOWN,
            ["none", "indirect", "direct", "enterprise"]
        );
        let v: UserVerificationRequirement = serde_json::from_str("\"required\"").unwrap();
        assert!(v.is_known());
        let v: PublicKeyCredentialHint = serde_json::from_str("\"future\"").unwrap();
        assert!(!v.is_known());
        assert_eq!(v.as_str(), "future");
    }

    #[test]
    fn bad_base64url_names_the_problem() {
        let json = r#"{"challenge":"AAE=","rpId":"x"}"#;
        let err = from_json::<RequestOptionsJson>(json.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("unpadded"), "{err}");
    }

    #[test]
    fn id_must_match_raw_id() {
        let json = r#"{"id":"AQID","rawId":"AQID","response":{"clientDataJSON":"e30","authenticatorData":"AA","signature":"AA"},"clientExtensionResults":{},"type":"public-key"}"#;
        let mut r: AuthenticationResponseJson = from_json(json.as_bytes()).unwrap();
        assert_eq!(r.check_id(), Ok(()));
        r.id = "AQIE".into();
        assert_eq!(r.check_id(), Err(JsonFormError::IdMismatch));
    }
}
