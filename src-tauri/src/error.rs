//! The one error every desktop command returns: `{code, message}`, the same
//! shape as the HTTP API's errors (docs/API.md), converted once here from
//! the library errors. Messages never carry a PIN, a token or key material:
//! the library errors they come from do not hold any.

use ctap_client::CtapError;
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

impl From<CtapError> for CommandError {
    fn from(e: CtapError) -> Self {
        use ctaphid::ClientError;
        let code = match &e {
            CtapError::PinRequired => "pin_required".to_owned(),
            CtapError::Status { status, .. } => match status.name() {
                Some(name) => format!("ctap_{}", name.to_ascii_lowercase()),
                None => format!("ctap_status_0x{:02x}", status.0),
            },
            CtapError::Hid(ClientError::Cancelled) => "cancelled".to_owned(),
            CtapError::Hid(ClientError::Timeout { .. }) => "timeout".to_owned(),
            CtapError::Hid(ClientError::Busy { .. }) => "key_busy".to_owned(),
            CtapError::Hid(_) => "transport".to_owned(),
            CtapError::Response { .. } => "malformed_response".to_owned(),
            CtapError::RequestTooLarge { .. } => "request_too_large".to_owned(),
            CtapError::PinUvAuth(_) => "pin_rule".to_owned(),
            CtapError::Unsupported(_) => "unsupported".to_owned(),
            CtapError::Options(_) => "bad_options".to_owned(),
            _ => "ctap".to_owned(),
        };
        CommandError::new(code, e.to_string())
    }
}

#[cfg(feature = "hidapi")]
impl From<ctap_client::hid::HidapiError> for CommandError {
    fn from(e: ctap_client::hid::HidapiError) -> Self {
        use ctap_client::hid::HidapiError;
        match &e {
            HidapiError::Open { path, reason } if crate::platform::is_permission_denied(reason) => {
                CommandError::new(
                    "hid_permission_denied",
                    crate::platform::permission_denied_advice(path),
                )
            }
            HidapiError::Open { .. } => CommandError::new("hid_open", e.to_string()),
            _ => CommandError::new("hid_enumerate", e.to_string()),
        }
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
