//! Random bytes from the system CSPRNG (aws-lc-rs), and constant-time
//! comparison. Nothing here is hand-made crypto.

/// `N` random bytes. If the OS CSPRNG fails three times in a row the
/// process aborts: continuing with predictable ids or challenges would be
/// worse. The fallible form is [`try_bytes`].
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    // aws-lc-rs's `fill` fails only if the OS has no entropy source, where
    // nothing secure is possible.
    for _ in 0..3 {
        if aws_lc_rs::rand::fill(&mut out).is_ok() {
            return out;
        }
    }
    tracing::error!("system CSPRNG unavailable; refusing to continue");
    std::process::abort()
}

/// `N` random bytes, or an error if the CSPRNG is unavailable.
pub fn try_bytes<const N: usize>() -> Result<[u8; N], aws_lc_rs::error::Unspecified> {
    let mut out = [0u8; N];
    aws_lc_rs::rand::fill(&mut out)?;
    Ok(out)
}

/// Constant-time equality of two byte strings (length is not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}
