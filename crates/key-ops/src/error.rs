//! Why a key operation failed: one variant per cause, each with a stable
//! snake_case [`KeyOpError::code`] that every front end shows beside the
//! message (the desktop sends both to its window, the CLI prints both).

use ctap_client::CtapError;
use fido_wire::cose::CoseAlgorithm;

/// A failed key operation. Messages never carry a PIN, token or key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyOpError {
    /// The key or the client refused (CTAP status, transport, PIN rules).
    #[error(transparent)]
    Ctap(#[from] CtapError),
    /// Listing or opening USB keys failed.
    #[cfg(feature = "hidapi")]
    #[error(transparent)]
    Hid(#[from] ctap_client::hid::HidapiError),
    /// Listing or opening smart-card readers failed.
    #[cfg(feature = "pcsc")]
    #[error(transparent)]
    Pcsc(#[from] ctap_client::pcsc::PcscError),
    /// This build cannot reach smart-card readers.
    #[error("this build has no PC/SC (smart-card and NFC reader) support")]
    NoPcscSupport,
    /// Not a key name this knows.
    #[error(
        "{0:?}: expected udp:HOST:PORT, pcsc:READER, a hidraw path or a number from `keybench devices`"
    )]
    BadKeyName(String),
    /// No key is plugged in.
    #[error(
        "no FIDO key found; plug one in, or start a virtual key (`keybench virtual-key serve`) and pass udp:127.0.0.1:8111"
    )]
    NoKey,
    /// Several keys are plugged in and none was named.
    #[error("{0} keys are plugged in; name one (see `keybench devices`)")]
    ManyKeys(usize),
    /// A key number past the list.
    #[error("no key number {number}: `keybench devices` lists {count}")]
    NoSuchKeyNumber {
        /// The number given.
        number: usize,
        /// How many keys there are.
        count: usize,
    },
    /// The UDP socket could not be opened.
    #[error("UDP transport: {0}")]
    Udp(String),
    /// Nothing answered CTAPHID INIT.
    #[error(
        "the key did not answer CTAPHID INIT ({0}); is it a FIDO2 key, still plugged in or running?"
    )]
    NoAnswer(String),
    /// This build cannot reach USB keys.
    #[error("this build has no USB HID support; use udp:HOST:PORT")]
    NoHidSupport,
    /// Not an algorithm name or number.
    #[error(
        "unknown algorithm {0:?} (a COSE name like ML-DSA-65 or ES256, or its number; see `keybench algorithms`)"
    )]
    UnknownAlgorithm(String),
    /// An algorithm the virtual key cannot create credentials with.
    #[error("the virtual key cannot create {0} credentials")]
    AlgorithmNotSupported(CoseAlgorithm),
    /// A virtual key needs at least one algorithm.
    #[error("choose at least one algorithm for the virtual key")]
    NoAlgorithm,
    /// The virtual key could not be made (its state file, its keys).
    #[error("the virtual key: {0}")]
    VirtualKey(String),
    /// Not a presence policy.
    #[error("presence {0:?}: expected approve, deny, delay or ask")]
    BadPresence(String),
    /// Ceremony options that are not the WebAuthn JSON forms.
    #[error("not valid PublicKeyCredential options JSON: {0}")]
    BadOptions(String),
    /// A credential id that is not base64url.
    #[error("the credential id must be base64url")]
    BadCredentialId,
    /// No discoverable credential with that id has a largeBlobKey.
    #[error(
        "no discoverable credential {0} with a largeBlobKey on this key (register it with the largeBlob extension)"
    )]
    NoLargeBlobKey(String),
    /// The credential has no blob in the large-blob array.
    #[error("credential {0} has no large blob")]
    NoLargeBlob(String),
    /// A fingerprint template id that is not hex.
    #[error("the fingerprint id must be hex, as `keybench bio list` shows it")]
    BadTemplateId,
    /// No enrolled finger has that template id.
    #[error("no enrolled finger {0} on this key (see `keybench bio list`)")]
    NoSuchFingerprint(String),
    /// A friendly name longer than the key keeps.
    #[error("the name is {len} bytes; this key keeps at most {max}")]
    FingerprintNameTooLong {
        /// The name's length in bytes of UTF-8.
        len: usize,
        /// maxTemplateFriendlyName.
        max: u64,
    },
    /// The OS gave no randomness (a challenge of zeros would be predictable).
    #[error("the OS gave no randomness for a challenge")]
    NoRandomness,
    /// A file given by the user could not be read or is not what it should be.
    #[error("{path}: {reason}")]
    BadFile {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// FIDO metadata refused (the code is the metadata refusal's own,
    /// `mds_stale`, `mds_chain`, …).
    #[error("FIDO metadata: {message}")]
    Metadata {
        /// The stable code.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl KeyOpError {
    /// The stable code front ends show: CTAP statuses as `ctap_<name>`
    /// (`ctap_pin_invalid`), the rest by cause.
    pub fn code(&self) -> String {
        use ctaphid::ClientError;
        let fixed = match self {
            KeyOpError::Ctap(e) => {
                return match e {
                    CtapError::Status { status, .. } => match status.name() {
                        Some(name) => format!("ctap_{}", name.to_ascii_lowercase()),
                        None => format!("ctap_status_0x{:02x}", status.0),
                    },
                    other => match other {
                        CtapError::PinRequired => "pin_required",
                        CtapError::Hid(ClientError::Cancelled) => "cancelled",
                        CtapError::Hid(ClientError::Timeout { .. }) => "timeout",
                        CtapError::Hid(ClientError::Busy { .. }) => "key_busy",
                        CtapError::Hid(_) => "transport",
                        CtapError::Nfc(ctap_nfc_error) => nfc_code(ctap_nfc_error),
                        CtapError::Response { .. } => "malformed_response",
                        CtapError::RequestTooLarge { .. } => "request_too_large",
                        CtapError::PinUvAuth(_) => "pin_rule",
                        CtapError::Unsupported(_) => "unsupported",
                        CtapError::Options(_) => "bad_options",
                        CtapError::EnrollmentAbandoned { .. } => "enrollment_abandoned",
                        _ => "ctap",
                    }
                    .to_owned(),
                };
            }
            #[cfg(feature = "hidapi")]
            KeyOpError::Hid(ctap_client::hid::HidapiError::Open { .. }) => "hid_open",
            #[cfg(feature = "hidapi")]
            KeyOpError::Hid(_) => "hid_enumerate",
            #[cfg(feature = "pcsc")]
            KeyOpError::Pcsc(e) => e.code(),
            KeyOpError::NoPcscSupport => "unsupported",
            KeyOpError::BadKeyName(_) => "bad_key_id",
            KeyOpError::NoKey => "no_key",
            KeyOpError::ManyKeys(_) => "many_keys",
            KeyOpError::NoSuchKeyNumber { .. } => "no_such_key",
            KeyOpError::Udp(_) => "transport",
            KeyOpError::NoAnswer(_) => "no_answer",
            KeyOpError::NoHidSupport => "unsupported",
            KeyOpError::UnknownAlgorithm(_)
            | KeyOpError::AlgorithmNotSupported(_)
            | KeyOpError::NoAlgorithm => "bad_algorithm",
            KeyOpError::VirtualKey(_) => "virtual_key",
            KeyOpError::BadPresence(_) => "bad_presence",
            KeyOpError::BadOptions(_) => "bad_options",
            KeyOpError::BadCredentialId => "bad_credential_id",
            KeyOpError::NoLargeBlobKey(_) => "no_large_blob_key",
            KeyOpError::NoLargeBlob(_) => "no_large_blob",
            KeyOpError::BadTemplateId => "bad_template_id",
            KeyOpError::NoSuchFingerprint(_) => "no_such_fingerprint",
            KeyOpError::FingerprintNameTooLong { .. } => "fingerprint_name_too_long",
            KeyOpError::NoRandomness => "no_randomness",
            KeyOpError::BadFile { .. } => "bad_file",
            KeyOpError::Metadata { code, .. } => code,
        };
        fixed.to_owned()
    }
}

/// An NFC exchange's failure as the codes the HID path uses.
fn nfc_code(e: &ctap_client::nfc::NfcError) -> &'static str {
    use ctap_client::nfc::NfcError;
    match e {
        NfcError::Cancelled => "cancelled",
        NfcError::Timeout(_) => "timeout",
        NfcError::NoFidoApplet(_) => "no_fido_applet",
        _ => "transport",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fido_wire::ctap2::StatusCode;

    #[test]
    fn ctap_statuses_become_snake_case_codes() {
        let e = KeyOpError::from(CtapError::Status {
            command: "authenticatorClientPIN",
            status: StatusCode::PIN_INVALID,
        });
        assert_eq!(e.code(), "ctap_pin_invalid");
        assert!(e.to_string().contains("PIN_INVALID"), "{e}");
        // The advice is said once (the status's own text carries it).
        let text = KeyOpError::from(CtapError::Status {
            command: "authenticatorClientPIN",
            status: StatusCode::PIN_NOT_SET,
        })
        .to_string();
        let advice = StatusCode::PIN_NOT_SET.advice().unwrap();
        assert_eq!(text.matches(advice).count(), 1, "{text}");
        assert_eq!(
            KeyOpError::from(CtapError::PinRequired).code(),
            "pin_required"
        );
        assert_eq!(
            KeyOpError::from(CtapError::Hid(ctaphid::ClientError::Cancelled)).code(),
            "cancelled"
        );
        assert_eq!(KeyOpError::BadCredentialId.code(), "bad_credential_id");
    }
}
