//! The API's error codes are a contract (docs/API.md, "Error codes"): this
//! test collects every code the server can answer — its own, and those of
//! the relying-party core, the challenge binding and the CSRF check, each
//! written out by a `code()` — pins the list, and checks that the docs list
//! each one. A renamed variant cannot change a code silently, and a new
//! code cannot ship undocumented.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeSet;

/// Codes written as literals in the server's sources: the first string
/// argument of every `ApiError` / `Self` constructor.
fn server_codes() -> BTreeSet<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut codes = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for ctor in [
            "::new(",
            "::bad_request(",
            "::unauthorized(",
            "::forbidden(",
            "::not_found(",
            "::incident(",
        ] {
            for prefix in ["ApiError", "Self", "error::ApiError"] {
                let needle = format!("{prefix}{ctor}");
                let mut rest = text.as_str();
                while let Some(at) = rest.find(&needle) {
                    rest = &rest[at + needle.len()..];
                    let mut args = rest.trim_start();
                    if !args.starts_with('"') {
                        // A status first: the code is the second argument.
                        let Some(comma) = args.find(',') else {
                            continue;
                        };
                        args = args[comma + 1..].trim_start();
                    }
                    if let Some(lit) = args.strip_prefix('"') {
                        let code = &lit[..lit.find('"').unwrap()];
                        if code
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
                        {
                            codes.insert(code.to_owned());
                        }
                    }
                }
            }
        }
    }
    codes
}

fn all_codes() -> BTreeSet<String> {
    let mut codes = server_codes();
    codes.extend(
        relying_party::CeremonyError::CODES
            .iter()
            .map(|c| (*c).to_owned()),
    );
    codes.extend(
        relying_party::report::InputError::CODES
            .iter()
            .map(|c| (*c).to_owned()),
    );
    codes.extend(
        session_engine::CsrfRejection::CODES
            .iter()
            .map(|c| (*c).to_owned()),
    );
    codes.extend(
        session_engine::ChallengeRejection::CODES
            .iter()
            .map(|c| format!("challenge_{c}")),
    );
    codes
}

/// The list as of this version. Changing it changes the API: update
/// docs/API.md with it.
const PINNED: &[&str] = &[
    "account_changed",
    "algorithm_not_offered",
    "attestation",
    "attestation_not_trusted",
    "attestation_object",
    "authenticator_data",
    "backup_eligibility_changed",
    "backup_state_without_eligibility",
    "bad_aaguid",
    "bad_options",
    "bad_public_key",
    "bad_response",
    "bad_token",
    "bad_trust_anchor",
    "body_rejected",
    "challenge_expired",
    "challenge_malformed",
    "challenge_mismatch",
    "challenge_other_session",
    "challenge_reused",
    "challenge_storage",
    "challenge_unknown",
    "challenge_wrong_ceremony",
    "challenge_wrong_origin",
    "challenge_wrong_rp_id",
    "challenge_wrong_user",
    "client_data",
    "counter_regressed",
    "credential_already_registered",
    "credential_conflict",
    "credential_deleted",
    "credential_id_mismatch",
    "credential_id_too_long",
    "credential_not_allowed",
    "credential_record_mismatch",
    "credential_registered",
    "cross_origin",
    "cross_origin_not_allowed",
    "duplicate_origin",
    "extension_output",
    "foreign_host",
    "internal",
    "invalid_client_data",
    "invalid_display_name",
    "invalid_id",
    "invalid_json",
    "invalid_kind",
    "invalid_metadata",
    "invalid_option",
    "invalid_response",
    "invalid_username",
    "json_required",
    "key_from_environment",
    "launch_secret_required",
    "malformed_origin",
    "metadata_limit",
    "missing_input",
    "missing_origin",
    "missing_token",
    "no_session",
    "no_such_credential",
    "no_such_endpoint",
    "no_such_metadata",
    "no_such_model",
    "no_such_page",
    "not_signed_in",
    "null_origin",
    "origin_not_allowed",
    "public_key",
    "referer_not_allowed",
    "rp_id_hash_mismatch",
    "sign_in_again",
    "signature",
    "storage_full",
    "storage_unavailable",
    "too_many_sessions",
    "top_origin_not_allowed",
    "top_origin_not_expected",
    "undecodable",
    "unknown_credential",
    "unsupported_algorithm",
    "unsupported_attestation_format",
    "user_handle_mismatch",
    "user_handle_missing",
    "user_not_present",
    "user_not_verified",
    "username_taken",
    "wrong_ceremony_type",
    "wrong_credential_type",
];

#[test]
fn the_error_codes_are_pinned_and_documented() {
    let codes = all_codes();
    let listed: Vec<&str> = codes.iter().map(String::as_str).collect();
    assert_eq!(
        listed, PINNED,
        "the API's error codes changed; update PINNED and docs/API.md:\n{listed:#?}"
    );
    let docs = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/API.md"),
    )
    .unwrap();
    let section = &docs[docs
        .find("## Error codes")
        .expect("docs/API.md has an Error codes section")..];
    let missing: Vec<&str> = listed
        .iter()
        .copied()
        .filter(|c| !section.contains(&format!("`{c}`")))
        .collect();
    assert!(missing.is_empty(), "docs/API.md does not list {missing:?}");
}
