//! The steps of §7.1 and §7.2 as values, and the observer the core tells
//! about each one.
//!
//! The core runs every check once. A [`StepObserver`] decides what a
//! verdict costs: [`FailFast`] (what `verify_registration` and
//! `verify_authentication` use) ignores passes, so the details a report
//! would show are never computed, and stops at the first failure; a
//! recording observer (the [`crate::report`] module) keeps every verdict with
//! the values compared and goes on to the next step it can still check.

use crate::error::CeremonyError;
use std::ops::Range;

/// Which ceremony a step belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Ceremony {
    /// §7.1 Registering a New Credential.
    Registration,
    /// §7.2 Verifying an Authentication Assertion.
    Authentication,
}

/// One rule the core checks. With a [`Ceremony`] it names a numbered step
/// of the specification ([`Step::number`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum Rule {
    /// The credential's `type` is "public-key" (§7.1/§7.2 step 3).
    CredentialType,
    /// allowCredentials names the credential (§7.2 step 5).
    AllowCredentials,
    /// The credential record is the user's (§7.2 step 6).
    UserAccount,
    /// authenticatorData decodes (§7.2 step 7).
    AuthenticatorData,
    /// clientDataJSON is UTF-8 JSON client data (§7.1 steps 5-6, §7.2 8-9).
    ClientData,
    /// `C.type` (§7.1 step 7, §7.2 step 10).
    CeremonyType,
    /// `C.challenge` (§7.1 step 8, §7.2 step 11).
    Challenge,
    /// `C.origin` (§7.1 step 9, §7.2 step 12).
    Origin,
    /// `C.crossOrigin` (§7.1 step 10, §7.2 step 13).
    CrossOrigin,
    /// `C.topOrigin` (§7.1 step 11, §7.2 step 14).
    TopOrigin,
    /// SHA-256 of clientDataJSON (§7.1 step 12, §7.2 step 20).
    ClientDataHash,
    /// The attestation object decodes (§7.1 step 13).
    AttestationObject,
    /// `rpIdHash` (§7.1 step 14, §7.2 step 15).
    RpIdHash,
    /// UP (§7.1 step 15, §7.2 step 16).
    UserPresent,
    /// UV when required (§7.1 step 16, §7.2 step 17).
    UserVerified,
    /// BS only with BE (§7.1 step 17, §7.2 step 18).
    BackupState,
    /// BE/BS evaluated by policy (§7.1 steps 18-19) or against the record (§7.2 step 19).
    BackupEligibility,
    /// The credential key's `alg` was offered (§7.1 step 20).
    Algorithm,
    /// `rawId` is the credential ID the authenticator attested (Keybench's rule before §7.1 step 21).
    CredentialId,
    /// `fmt` is a supported format (§7.1 step 21).
    AttestationFormat,
    /// The attestation statement verifies (§7.1 step 22).
    AttestationStatement,
    /// Trust anchors and trust assessment (§7.1 steps 23-24).
    AttestationTrust,
    /// credentialId ≤ 1023 bytes (§7.1 step 25).
    CredentialIdLength,
    /// credentialId not yet registered (§7.1 step 26).
    NotYetRegistered,
    /// The assertion signature (§7.2 step 21).
    Signature,
    /// The signature counter (§7.2 step 22).
    SignCount,
    /// Extension outputs (§7.1 step 28, §7.2 step 23).
    Extensions,
}

/// A step of one ceremony.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Step {
    /// Registration or authentication.
    pub ceremony: Ceremony,
    /// The rule.
    pub rule: Rule,
}

impl Step {
    /// A registration step.
    pub const fn registration(rule: Rule) -> Step {
        Step {
            ceremony: Ceremony::Registration,
            rule,
        }
    }

    /// An authentication step.
    pub const fn authentication(rule: Rule) -> Step {
        Step {
            ceremony: Ceremony::Authentication,
            rule,
        }
    }
}

/// Which input a byte range points into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Input {
    /// `response.clientDataJSON` (decoded bytes).
    #[serde(rename = "clientDataJSON")]
    ClientDataJson,
    /// `response.attestationObject`.
    #[serde(rename = "attestationObject")]
    AttestationObject,
    /// `response.authenticatorData`.
    #[serde(rename = "authenticatorData")]
    AuthenticatorData,
    /// `response.signature`.
    #[serde(rename = "signature")]
    Signature,
    /// `rawId`.
    #[serde(rename = "rawId")]
    RawId,
    /// `response.userHandle`.
    #[serde(rename = "userHandle")]
    UserHandle,
}

/// Where the bytes a verdict is about are: the input, a path in its decoded
/// structure and the byte range in the input.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Location {
    /// The input.
    pub input: Input,
    /// The path in the decoded structure, e.g. `authData.flags.UP`.
    pub path: String,
    /// Byte range in the input's bytes (start inclusive, end exclusive).
    pub range: Range<usize>,
}

/// The values a step compared.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct StepDetail {
    /// What the relying party expected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// What the response carries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found: Option<String>,
    /// The bytes the step is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

impl StepDetail {
    /// Expected and found values.
    pub fn compared(expected: impl Into<String>, found: impl Into<String>) -> StepDetail {
        StepDetail {
            expected: Some(expected.into()),
            found: Some(found.into()),
            location: None,
        }
    }

    /// Only the value found.
    pub fn found(found: impl Into<String>) -> StepDetail {
        StepDetail {
            found: Some(found.into()),
            ..StepDetail::default()
        }
    }

    /// Adds where the bytes are.
    pub fn at(mut self, location: Option<Location>) -> StepDetail {
        self.location = location;
        self
    }
}

/// Told about every step the core checks.
pub trait StepObserver {
    /// Whether the core goes on after a failed step (as far as what it
    /// needs could still be decoded), or stops at the first.
    const KEEP_GOING: bool;

    /// A step passed; `detail` is called only if the observer wants it.
    fn passed(&mut self, step: Step, detail: impl FnOnce() -> StepDetail);

    /// A step failed.
    fn failed(&mut self, step: Step, error: &CeremonyError, detail: impl FnOnce() -> StepDetail);

    /// A step the core could not check with what it was given.
    fn not_checkable(&mut self, step: Step, why: &str);

    /// The first failure recorded, if the observer kept going past it.
    fn first_failure(&mut self) -> Option<CeremonyError>;
}

/// The observer of the plain verify calls: nothing recorded, stop at the
/// first failure.
#[derive(Debug, Clone, Copy, Default)]
pub struct FailFast;

impl StepObserver for FailFast {
    const KEEP_GOING: bool = false;

    #[inline(always)]
    fn passed(&mut self, _step: Step, _detail: impl FnOnce() -> StepDetail) {}

    #[inline(always)]
    fn failed(
        &mut self,
        _step: Step,
        _error: &CeremonyError,
        _detail: impl FnOnce() -> StepDetail,
    ) {
    }

    #[inline(always)]
    fn not_checkable(&mut self, _step: Step, _why: &str) {}

    #[inline(always)]
    fn first_failure(&mut self) -> Option<CeremonyError> {
        None
    }
}

/// Reports a checked step: a pass, or a failure that stops the core unless
/// the observer keeps going.
#[inline(always)]
pub(crate) fn check<O: StepObserver>(
    obs: &mut O,
    step: Step,
    result: Result<(), CeremonyError>,
    detail: impl FnOnce() -> StepDetail,
) -> Result<(), CeremonyError> {
    match result {
        Ok(()) => {
            obs.passed(step, detail);
            Ok(())
        }
        Err(e) => {
            obs.failed(step, &e, detail);
            if O::KEEP_GOING { Ok(()) } else { Err(e) }
        }
    }
}

/// Reports a failure after which the core cannot go on (what later steps
/// need did not decode), and returns the error to stop with.
#[cold]
pub(crate) fn fatal<O: StepObserver>(
    obs: &mut O,
    step: Step,
    error: CeremonyError,
    detail: impl FnOnce() -> StepDetail,
) -> CeremonyError {
    obs.failed(step, &error, detail);
    obs.first_failure().unwrap_or(error)
}

/// Where `needle` starts in `haystack` (the authenticator data inside an
/// attestation object). Only reports call it.
pub(crate) fn find_bytes(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > haystack.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The byte range of a top-level member's value in a JSON object (the
/// string with its quotes), found by a small scanner that respects string
/// escapes. Only reports call it.
pub(crate) fn json_member_range(json: &[u8], member: &str) -> Option<Range<usize>> {
    let mut i = 0;
    let mut depth = 0usize;
    let key = format!("\"{member}\"");
    while let Some(&b) = json.get(i) {
        match b {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'"' => {
                let end = string_end(json, i)?;
                if depth == 1 && json.get(i..end) == Some(key.as_bytes()) {
                    let mut j = end;
                    while json
                        .get(j)
                        .is_some_and(|c| c.is_ascii_whitespace() || *c == b':')
                    {
                        j += 1;
                    }
                    let value_end = match json.get(j) {
                        Some(b'"') => string_end(json, j)?,
                        Some(_) => {
                            let mut k = j;
                            while json
                                .get(k)
                                .is_some_and(|c| !matches!(c, b',' | b'}' | b']'))
                            {
                                k += 1;
                            }
                            k
                        }
                        None => return None,
                    };
                    return Some(j..value_end);
                }
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The index after the closing quote of the string opening at `start`.
fn string_end(json: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    loop {
        match json.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_members_are_found_at_the_top_level_only() {
        let json = br#"{"a":{"challenge":"no"},"challenge":"x\"y","crossOrigin" : true}"#;
        let r = json_member_range(json, "challenge").unwrap();
        assert_eq!(&json[r], br#""x\"y""#);
        let r = json_member_range(json, "crossOrigin").unwrap();
        assert_eq!(&json[r], b"true");
        assert_eq!(json_member_range(json, "origin"), None);
        assert_eq!(json_member_range(b"{\"a", "a"), None);
    }

    #[test]
    fn bytes_are_found() {
        assert_eq!(find_bytes(b"xxabcx", b"abc"), Some(2));
        assert_eq!(find_bytes(b"ab", b"abc"), None);
    }
}
