//! Which members of a CTAP2 request or response are secret, and the decoded
//! message with each of them replaced by a marker ("<redacted 32 bytes>"),
//! so traffic views and record files keep the shape of every exchange but
//! none of its secrets: PIN ciphertexts, key agreement keys, pinUvAuthParams,
//! pinUvAuthTokens, hmac-secret salts and outputs, credBlob, largeBlobKey,
//! and the large-blob array's bytes (each credential's encrypted blob).

use fido_wire::cbor::{self, Value};
use fido_wire::ctap2::command;
use fido_wire::webauthn::AuthenticatorData;

/// bioEnrollment (CTAP 2.1 §6.7) and its 2.1-PRE prototype.
const BIO_ENROLLMENT: u8 = 0x09;
const PROTOTYPE_BIO_ENROLLMENT: u8 = 0x40;

/// clientPIN subcommands whose exchange carries nothing secret.
const PIN_GET_RETRIES: i64 = 0x01;
const PIN_GET_UV_RETRIES: i64 = 0x07;

/// Extensions whose inputs or outputs are secrets (when not a plain flag).
const SECRET_EXTENSIONS: [&str; 5] = [
    "hmac-secret",
    "hmac-secret-mc",
    "credBlob",
    "largeBlobKey",
    "largeBlob",
];

/// A message as it may be shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    /// The decoded message, secrets replaced by markers.
    pub value: Value,
    /// Whether anything was replaced.
    pub had_secret: bool,
}

/// The marker that stands for a secret member.
fn marker(secret: &Value) -> Value {
    let len = match secret {
        Value::Bytes(b) => b.len(),
        other => cbor::to_canonical_vec(other).len(),
    };
    Value::Text(format!("<redacted {len} bytes>"))
}

/// Replaces the members of map `value` whose integer keys are in `keys`.
fn redact_int_keys(value: &mut Value, keys: &[i64], had_secret: &mut bool) {
    if let Value::Map(entries) = value {
        for (k, v) in entries.iter_mut() {
            if k.as_i64().is_some_and(|k| keys.contains(&k)) {
                *v = marker(v);
                *had_secret = true;
            }
        }
    }
}

/// Redacts the secret members of an extensions map (inputs or outputs).
/// A boolean ("hmac-secret": true, "credBlob": false) is a flag, not a secret.
fn redact_extensions(value: &mut Value, had_secret: &mut bool) {
    if let Value::Map(entries) = value {
        for (k, v) in entries.iter_mut() {
            let secret = k.as_text().is_some_and(|k| SECRET_EXTENSIONS.contains(&k));
            if secret && !matches!(v, Value::Bool(_)) {
                *v = marker(v);
                *had_secret = true;
            }
        }
    }
}

/// Redacts the member at integer key `key` of a map as an extensions map.
fn redact_extensions_at(value: &mut Value, key: i64, had_secret: &mut bool) {
    if let Value::Map(entries) = value {
        for (k, v) in entries.iter_mut() {
            if k.as_i64() == Some(key) {
                redact_extensions(v, had_secret);
            }
        }
    }
}

/// Authenticator data whose extension outputs carry a secret (an hmac-secret
/// output, a credBlob) is shown as its length and its redacted outputs: its
/// bytes would carry the secret. Data that does not parse is not shown.
fn redact_auth_data_at(value: &mut Value, key: i64, had_secret: &mut bool) {
    let Value::Map(entries) = value else {
        return;
    };
    for (k, v) in entries.iter_mut() {
        if k.as_i64() != Some(key) {
            continue;
        }
        let Value::Bytes(bytes) = v else {
            continue;
        };
        let Ok(parsed) = AuthenticatorData::parse(bytes) else {
            *v = marker(v);
            *had_secret = true;
            continue;
        };
        let Some(mut extensions) = parsed.extensions else {
            continue;
        };
        let mut secret = false;
        redact_extensions(&mut extensions, &mut secret);
        if secret {
            *v = Value::Text(format!(
                "<redacted {} bytes of authenticator data; extensions {extensions}>",
                bytes.len()
            ));
            *had_secret = true;
        }
    }
}

/// Every byte string, anywhere: for messages whose layout is not known.
fn redact_all_bytes(value: &mut Value, had_secret: &mut bool) {
    match value {
        Value::Bytes(_) => {
            *value = marker(value);
            *had_secret = true;
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| redact_all_bytes(v, had_secret)),
        Value::Map(entries) => entries
            .iter_mut()
            .for_each(|(_, v)| redact_all_bytes(v, had_secret)),
        Value::Tag(_, inner) => redact_all_bytes(inner, had_secret),
        _ => {}
    }
}

fn sub_command(params: Option<&Value>, key: i64) -> Option<i64> {
    params?.get_int(key)?.as_i64()
}

/// A request's parameters with their secrets redacted.
pub fn request(cmd: u8, params: Option<&Value>) -> Redacted {
    let mut had_secret = false;
    let mut value = params.cloned().unwrap_or(Value::Null);
    match cmd {
        command::GET_INFO | command::RESET | command::SELECTION | command::GET_NEXT_ASSERTION => {}
        command::MAKE_CREDENTIAL => {
            redact_int_keys(&mut value, &[0x08], &mut had_secret);
            redact_extensions_at(&mut value, 0x06, &mut had_secret);
        }
        command::GET_ASSERTION => {
            redact_int_keys(&mut value, &[0x06], &mut had_secret);
            redact_extensions_at(&mut value, 0x04, &mut had_secret);
        }
        // keyAgreement, pinUvAuthParam, newPinEnc, pinHashEnc.
        command::CLIENT_PIN => redact_int_keys(&mut value, &[3, 4, 5, 6], &mut had_secret),
        command::CREDENTIAL_MANAGEMENT
        | command::PROTOTYPE_CREDENTIAL_MANAGEMENT
        | command::CONFIG => redact_int_keys(&mut value, &[0x04], &mut had_secret),
        // set (the blob array) and pinUvAuthParam.
        command::LARGE_BLOBS => redact_int_keys(&mut value, &[0x02, 0x05], &mut had_secret),
        BIO_ENROLLMENT | PROTOTYPE_BIO_ENROLLMENT => {
            redact_int_keys(&mut value, &[0x05], &mut had_secret);
        }
        _ => redact_all_bytes(&mut value, &mut had_secret),
    }
    Redacted { value, had_secret }
}

/// A response body with its secrets redacted.
pub fn response(cmd: u8, body: Option<&Value>) -> Redacted {
    let mut had_secret = false;
    let mut value = body.cloned().unwrap_or(Value::Null);
    match cmd {
        command::GET_INFO | command::RESET | command::SELECTION | command::CONFIG => {}
        command::MAKE_CREDENTIAL => {
            redact_int_keys(&mut value, &[0x05], &mut had_secret);
            redact_auth_data_at(&mut value, 0x02, &mut had_secret);
            redact_extensions_at(&mut value, 0x06, &mut had_secret);
        }
        command::GET_ASSERTION | command::GET_NEXT_ASSERTION => {
            redact_int_keys(&mut value, &[0x07], &mut had_secret);
            redact_auth_data_at(&mut value, 0x02, &mut had_secret);
            redact_extensions_at(&mut value, 0x08, &mut had_secret);
        }
        // keyAgreement, pinUvAuthToken.
        command::CLIENT_PIN => redact_int_keys(&mut value, &[1, 2], &mut had_secret),
        // largeBlobKey.
        command::CREDENTIAL_MANAGEMENT | command::PROTOTYPE_CREDENTIAL_MANAGEMENT => {
            redact_int_keys(&mut value, &[0x0b], &mut had_secret);
        }
        command::LARGE_BLOBS => redact_int_keys(&mut value, &[0x01], &mut had_secret),
        _ => redact_all_bytes(&mut value, &mut had_secret),
    }
    Redacted { value, had_secret }
}

/// Whether the raw frames of this exchange must be kept out of the record:
/// when the request carries a secret, or the response may (decided before
/// sending, as the frames are recorded while they pass).
/// `after_secret_assertion` tells whether getNextAssertion follows a
/// getAssertion that asked for secret extension outputs.
pub fn frames_are_secret(cmd: u8, params: Option<&Value>, after_secret_assertion: bool) -> bool {
    if request(cmd, params).had_secret {
        return true;
    }
    match cmd {
        command::GET_INFO | command::RESET | command::SELECTION | command::CONFIG => false,
        command::CLIENT_PIN => !matches!(
            sub_command(params, 0x02),
            Some(PIN_GET_RETRIES | PIN_GET_UV_RETRIES)
        ),
        // Any extension may ask for a secret output (largeBlobKey: true).
        command::MAKE_CREDENTIAL => params.is_some_and(|p| p.get_int(0x06).is_some()),
        command::GET_ASSERTION => params.is_some_and(|p| p.get_int(0x04).is_some()),
        command::GET_NEXT_ASSERTION => after_secret_assertion,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_keep_lengths_and_flags_stay() {
        let mc = Value::map([
            (Value::int(1), Value::bytes(vec![1; 32])),
            (
                Value::int(6),
                Value::map([
                    (Value::text("credBlob"), Value::bytes(vec![9; 16])),
                    (Value::text("hmac-secret"), Value::Bool(true)),
                ]),
            ),
            (Value::int(8), Value::bytes(vec![7; 32])),
        ]);
        let r = request(command::MAKE_CREDENTIAL, Some(&mc));
        assert!(r.had_secret);
        let shown = r.value.to_string();
        assert_eq!(
            shown,
            "{1: h'0101010101010101010101010101010101010101010101010101010101010101', \
             6: {\"credBlob\": \"<redacted 16 bytes>\", \"hmac-secret\": true}, \
             8: \"<redacted 32 bytes>\"}"
        );
        assert!(frames_are_secret(
            command::MAKE_CREDENTIAL,
            Some(&mc),
            false
        ));
        let plain = Value::map([(Value::int(1), Value::bytes(vec![1; 32]))]);
        assert!(!frames_are_secret(
            command::MAKE_CREDENTIAL,
            Some(&plain),
            false
        ));
        // Unknown commands show no bytes at all.
        let vendor = request(0x50, Some(&mc));
        assert!(!vendor.value.to_string().contains("0101"));
        assert!(frames_are_secret(0x50, None, false));
    }

    #[test]
    fn pin_retries_are_plain_and_every_other_pin_exchange_is_not() {
        let retries = Value::map([
            (Value::int(1), Value::int(2)),
            (Value::int(2), Value::int(PIN_GET_RETRIES)),
        ]);
        assert!(!frames_are_secret(
            command::CLIENT_PIN,
            Some(&retries),
            false
        ));
        let agreement = Value::map([
            (Value::int(1), Value::int(2)),
            (Value::int(2), Value::int(2)),
        ]);
        assert!(frames_are_secret(
            command::CLIENT_PIN,
            Some(&agreement),
            false
        ));
        let answer = Value::map([(Value::int(2), Value::bytes(vec![5; 48]))]);
        let r = response(command::CLIENT_PIN, Some(&answer));
        assert_eq!(r.value.to_string(), "{2: \"<redacted 48 bytes>\"}");
    }

    /// authenticatorLargeBlobs (CTAP 2.1 §6.10): the pinUvAuthParam is a
    /// secret; the array's bytes (set, config) are kept out too, as every
    /// credential's blob in them is; offsets and lengths stay readable.
    #[test]
    fn large_blobs_hide_the_param_and_the_array_bytes() {
        let set = fido_wire::ctap2::LargeBlobsRequest {
            pin_uv_auth_param: Some(fido_wire::ctap2::PinUvAuthParam(vec![3; 32])),
            protocol: Some(2),
            ..fido_wire::ctap2::LargeBlobsRequest::set(0, vec![0x80; 40], Some(40))
        }
        .to_value();
        let r = request(command::LARGE_BLOBS, Some(&set));
        assert!(r.had_secret);
        assert_eq!(
            r.value.to_string(),
            "{2: \"<redacted 40 bytes>\", 3: 0, 4: 40, 5: \"<redacted 32 bytes>\", 6: 2}"
        );
        assert!(frames_are_secret(command::LARGE_BLOBS, Some(&set), false));
        let get = fido_wire::ctap2::LargeBlobsRequest::get(17, 100).to_value();
        let r = request(command::LARGE_BLOBS, Some(&get));
        assert!(!r.had_secret);
        assert_eq!(r.value.to_string(), "{1: 100, 3: 17}");
        // The answer carries array bytes: its frames are kept out too.
        assert!(frames_are_secret(command::LARGE_BLOBS, Some(&get), false));
        let answer = Value::map([(Value::int(1), Value::bytes(vec![0x80; 17]))]);
        let r = response(command::LARGE_BLOBS, Some(&answer));
        assert_eq!(r.value.to_string(), "{1: \"<redacted 17 bytes>\"}");
    }
}
