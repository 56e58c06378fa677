//! The client-data steps both ceremonies share: §7.1 steps 5-11 and §7.2
//! steps 8-14 (decode, type, challenge, origin, crossOrigin, topOrigin).

use crate::error::CeremonyError;
use crate::policy::{CrossOriginPolicy, RpConfig};
use aws_lc_rs::constant_time::verify_slices_are_equal;
use fido_wire::webauthn::{CeremonyType, CollectedClientData, base64url};

/// A UTF-8 byte order mark, which UTF-8 decode strips (§7.1 step 5 note).
const BOM: &[u8] = &[0xef, 0xbb, 0xbf];

pub(super) fn check(
    rp: &RpConfig,
    client_data_json: &[u8],
    ceremony: CeremonyType,
    expected_challenge: &[u8],
) -> Result<CollectedClientData, CeremonyError> {
    // Steps 5-6 (§7.2 8-9): UTF-8 decode (BOM stripped) and parse.
    let json = client_data_json
        .strip_prefix(BOM)
        .unwrap_or(client_data_json);
    let c = CollectedClientData::parse(json)?;

    // Step 7 (§7.2 10): "Verify that the value of C.type is webauthn.create" (or .get).
    if c.ceremony != ceremony {
        return Err(CeremonyError::WrongCeremonyType {
            expected: match ceremony {
                CeremonyType::Create => "webauthn.create",
                _ => "webauthn.get",
            },
            found: c.ceremony.as_str().to_owned(),
        });
    }

    // Step 8 (§7.2 11): "C.challenge equals the base64url encoding of
    // options.challenge". Compared as strings (so a non-canonical encoding
    // fails too), in constant time: the challenge is the ceremony's secret.
    let expected = base64url::encode(expected_challenge);
    if verify_slices_are_equal(expected.as_bytes(), c.challenge.as_bytes()).is_err() {
        return Err(CeremonyError::ChallengeMismatch);
    }

    // Step 9 (§7.2 12): "C.origin is an origin expected by the Relying Party."
    if !rp.origin_allowed(&c.origin) {
        return Err(CeremonyError::OriginNotAllowed(c.origin));
    }

    // Step 10 (§7.2 13): "If C.crossOrigin is present and set to true, verify
    // that the Relying Party expects ... an iframe that is not same-origin
    // with its ancestors."
    let framed = matches!(rp.cross_origin(), CrossOriginPolicy::EmbeddedIn { .. });
    if c.cross_origin == Some(true) && !framed {
        return Err(CeremonyError::CrossOriginNotAllowed);
    }

    // Step 11 (§7.2 14): "If C.topOrigin is present: ... expects ... an
    // iframe ... [and] C.topOrigin matches the origin of a page that the
    // Relying Party expects to be sub-framed within."
    if let Some(top) = &c.top_origin {
        match rp.cross_origin() {
            CrossOriginPolicy::SameOriginOnly => return Err(CeremonyError::TopOriginNotExpected),
            CrossOriginPolicy::EmbeddedIn { top_origins } => {
                if !top_origins.iter().any(|t| t == top) {
                    return Err(CeremonyError::TopOriginNotAllowed(top.clone()));
                }
            }
        }
    }
    Ok(c)
}
