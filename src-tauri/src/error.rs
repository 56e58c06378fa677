//! The one error every desktop command returns: `{code, message}`, the same
//! shape as the HTTP API's errors (docs/API.md), converted once here from
//! the library errors. Messages never carry a PIN, a token or key material:
//! the library errors they come from do not hold any.

use ctap_client::CtapError;
use key_ops::KeyOpError;
use serde::Serialize;

/// A command's failure as the UI sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct CommandError {
    /// A stable snake_case code the UI can branch on (`pin_required`, ...).
    pub code: String,
    /// What went wrong and, where the user can act, what to do.
    pub message: String,
}

impl CommandError {
    /// An error with this code and message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        CommandError {
            code: code.into(),
            message: message.into(),
        }
    }
}

impl From<KeyOpError> for CommandError {
    fn from(e: KeyOpError) -> Self {
        // A key the OS will not open for this user: say how to allow it.
        #[cfg(feature = "hidapi")]
        if let KeyOpError::Hid(ctap_client::hid::HidapiError::Open { path, reason }) = &e
            && crate::platform::is_permission_denied(reason)
        {
            return CommandError::new(
                "hid_permission_denied",
                crate::platform::permission_denied_advice(path),
            );
        }
        CommandError::new(e.code(), e.to_string())
    }
}

impl From<CtapError> for CommandError {
    fn from(e: CtapError) -> Self {
        KeyOpError::from(e).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fido_wire::ctap2::StatusCode;

    #[test]
    fn ctap_statuses_become_snake_case_codes() {
        let e = CommandError::from(CtapError::Status {
            command: "authenticatorClientPIN",
            status: StatusCode::PIN_INVALID,
        });
        assert_eq!(e.code, "ctap_pin_invalid");
        assert!(e.message.contains("PIN_INVALID"), "{}", e.message);
        assert_eq!(
            CommandError::from(CtapError::PinRequired).code,
            "pin_required"
        );
        assert_eq!(
            CommandError::from(CtapError::Hid(ctaphid::ClientError::Cancelled)).code,
            "cancelled"
        );
    }

    #[test]
    fn serializes_as_code_and_message_only() {
        let v = serde_json::to_value(CommandError::new("x", "y")).unwrap();
        assert_eq!(v, serde_json::json!({"code": "x", "message": "y"}));
    }
}
