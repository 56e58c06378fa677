//! The client's errors: one variant per way a call can fail, with the CTAP
//! status named and, where the user can act, what to do.

use ctaphid::ClientError as HidError;
use fido_wire::ctap2::{Ctap2Error, StatusCode};
use pin_uv_auth::PinUvAuthError;

/// Why a CTAP call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CtapError {
    /// The CTAPHID exchange failed (transport, framing, timeout, cancel).
    #[error(transparent)]
    Hid(#[from] HidError),
    /// The NFC / smart-card exchange failed (reader, APDU, timeout, cancel).
    #[error(transparent)]
    Nfc(#[from] ctap_nfc::NfcError),
    /// The authenticator answered with an error status (its Display names
    /// the status and what to do about it, once).
    #[error("{command}: the key answered {status}")]
    Status {
        /// The command that failed.
        command: &'static str,
        /// The status byte.
        status: StatusCode,
    },
    /// The response is not a valid CTAP2 structure.
    #[error("{command}: malformed response: {source}")]
    Response {
        /// The command.
        command: &'static str,
        /// What is wrong.
        source: Ctap2Error,
    },
    /// A request larger than the key accepts was not sent.
    #[error(
        "{command}: the request is {len} bytes, over this key's maxMsgSize of {max}; it was not sent"
    )]
    RequestTooLarge {
        /// The command.
        command: &'static str,
        /// The encoded request length.
        len: usize,
        /// The key's limit.
        max: u64,
    },
    /// PIN/UV auth protocol failure (bad key agreement key, PIN rules).
    #[error(transparent)]
    PinUvAuth(#[from] PinUvAuthError),
    /// The key lacks something the operation needs.
    #[error("this key does not support {0}")]
    Unsupported(&'static str),
    /// The operation needs a PIN and none was given.
    #[error("this key requires its PIN for this operation; none was given")]
    PinRequired,
    /// The options' RP ID is a public suffix of the origin's host (it would
    /// cover every site under that suffix).
    #[error(
        "RP ID {rp_id:?} is a public suffix, not a registrable domain of the origin's host {host:?}"
    )]
    RpIdIsPublicSuffix {
        /// The RP ID asked for.
        rp_id: String,
        /// The origin's host.
        host: String,
    },
    /// A large-blob array or blob could not be used (CTAP 2.1 §6.10.3).
    #[error(transparent)]
    LargeBlob(crate::large_blobs::LargeBlobError),
    /// A fingerprint enrolment was given up after too many poor samples
    /// (the key was told to cancel it).
    #[error(
        "fingerprint enrolment abandoned after too many poor samples (last: {last_status}); lift the finger and place it again, covering the sensor"
    )]
    EnrollmentAbandoned {
        /// The last sample's status name.
        last_status: &'static str,
    },
    /// The relying party's options cannot be used.
    #[error("invalid options: {0}")]
    Options(String),
}

impl CtapError {
    /// The CTAP status, when the key answered with one.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            CtapError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}
