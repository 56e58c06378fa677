//! CTAP2 status codes (CTAP 2.1 §8.2) with their names and, for the ones a
//! user can act on, what to do.

use std::fmt;

/// A CTAP2 status byte: the first byte of every authenticator response.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusCode(pub u8);

macro_rules! status_codes {
    ($($name:ident = $value:literal),+ $(,)?) => {
        impl StatusCode {
            $(
                #[doc = concat!("CTAP2 status ", stringify!($name), ".")]
                pub const $name: StatusCode = StatusCode($value);
            )+

            /// The status name (`CTAP2_ERR_…` without the prefix), if known.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some(stringify!($name)),)+
                    _ => None,
                }
            }
        }
    };
}

status_codes! {
    OK = 0x00,
    INVALID_COMMAND = 0x01,
    INVALID_PARAMETER = 0x02,
    INVALID_LENGTH = 0x03,
    INVALID_SEQ = 0x04,
    TIMEOUT = 0x05,
    CHANNEL_BUSY = 0x06,
    LOCK_REQUIRED = 0x0a,
    INVALID_CHANNEL = 0x0b,
    CBOR_UNEXPECTED_TYPE = 0x11,
    INVALID_CBOR = 0x12,
    MISSING_PARAMETER = 0x14,
    LIMIT_EXCEEDED = 0x15,
    FP_DATABASE_FULL = 0x17,
    LARGE_BLOB_STORAGE_FULL = 0x18,
    CREDENTIAL_EXCLUDED = 0x19,
    PROCESSING = 0x21,
    INVALID_CREDENTIAL = 0x22,
    USER_ACTION_PENDING = 0x23,
    OPERATION_PENDING = 0x24,
    NO_OPERATIONS = 0x25,
    UNSUPPORTED_ALGORITHM = 0x26,
    OPERATION_DENIED = 0x27,
    KEY_STORE_FULL = 0x28,
    UNSUPPORTED_OPTION = 0x2b,
    INVALID_OPTION = 0x2c,
    KEEPALIVE_CANCEL = 0x2d,
    NO_CREDENTIALS = 0x2e,
    USER_ACTION_TIMEOUT = 0x2f,
    NOT_ALLOWED = 0x30,
    PIN_INVALID = 0x31,
    PIN_BLOCKED = 0x32,
    PIN_AUTH_INVALID = 0x33,
    PIN_AUTH_BLOCKED = 0x34,
    PIN_NOT_SET = 0x35,
    PUAT_REQUIRED = 0x36,
    PIN_POLICY_VIOLATION = 0x37,
    REQUEST_TOO_LARGE = 0x39,
    ACTION_TIMEOUT = 0x3a,
    UP_REQUIRED = 0x3b,
    UV_BLOCKED = 0x3c,
    INTEGRITY_FAILURE = 0x3d,
    INVALID_SUBCOMMAND = 0x3e,
    UV_INVALID = 0x3f,
    UNAUTHORIZED_PERMISSION = 0x40,
    OTHER = 0x7f,
}

impl StatusCode {
    /// What a user can do about this status, when there is something to do.
    pub fn advice(self) -> Option<&'static str> {
        Some(match self {
            Self::PIN_INVALID => "the PIN is wrong; the key counts down its retries",
            Self::PIN_AUTH_BLOCKED => {
                "too many wrong PINs in a row: unplug and re-insert the key, then try again"
            }
            Self::PIN_BLOCKED => {
                "the PIN is blocked for good: only a reset (which deletes every credential) makes the key usable again"
            }
            Self::PIN_NOT_SET => "set a PIN on the key first (keybench pin set)",
            Self::PIN_POLICY_VIOLATION => {
                "the new PIN breaks the key's PIN policy (too short or too simple)"
            }
            Self::PUAT_REQUIRED => "this operation needs the PIN (or built-in user verification)",
            Self::UV_BLOCKED => "built-in user verification is blocked: use the PIN instead",
            Self::CREDENTIAL_EXCLUDED => "this key already holds a credential for this account",
            Self::NO_CREDENTIALS => "this key holds no credential for this site",
            Self::UNSUPPORTED_ALGORITHM => "the key supports none of the algorithms offered",
            Self::KEY_STORE_FULL => "the key has no room for another discoverable credential",
            Self::OPERATION_DENIED => "the user declined, or the key refused the operation",
            Self::USER_ACTION_TIMEOUT | Self::ACTION_TIMEOUT => {
                "nobody touched the key in time: try again and touch it when it blinks"
            }
            Self::KEEPALIVE_CANCEL => "the operation was cancelled",
            Self::REQUEST_TOO_LARGE => "the request is larger than the key's maxMsgSize",
            Self::NOT_ALLOWED => {
                "not allowed now (for reset: only within 10 seconds of plugging the key in)"
            }
            _ => return None,
        })
    }
}

impl fmt::Debug for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name}(0x{:02x})", self.0),
            None => write!(f, "StatusCode(0x{:02x})", self.0),
        }
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) if self.0 == 0 => write!(f, "CTAP2_{name} (0x00)"),
            Some(name) => write!(f, "CTAP2_ERR_{name} (0x{:02x})", self.0),
            None => write!(f, "unknown CTAP2 status 0x{:02x}", self.0),
        }?;
        if let Some(advice) = self.advice() {
            write!(f, ": {advice}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_advice() {
        assert_eq!(StatusCode(0x34).name(), Some("PIN_AUTH_BLOCKED"));
        assert!(
            StatusCode::PIN_AUTH_BLOCKED
                .to_string()
                .contains("unplug and re-insert")
        );
        assert_eq!(StatusCode(0x99).name(), None);
        assert_eq!(StatusCode::OK.to_string(), "CTAP2_OK (0x00)");
    }
}
