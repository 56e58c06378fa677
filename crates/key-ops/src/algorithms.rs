//! Algorithms as people name them: a COSE name (`ML-DSA-65`, `ES256`) or
//! number (`-49`).

use crate::error::KeyOpError;
use fido_wire::cose::CoseAlgorithm;

/// An algorithm by name or COSE number.
pub fn parse_algorithm(name: &str) -> Result<CoseAlgorithm, KeyOpError> {
    CoseAlgorithm::from_name(name)
        .or_else(|| name.trim().parse::<i64>().ok().map(CoseAlgorithm))
        .ok_or_else(|| KeyOpError::UnknownAlgorithm(name.to_owned()))
}

/// An algorithm the virtual key can create credentials with.
pub fn virtual_key_algorithm(name: &str) -> Result<CoseAlgorithm, KeyOpError> {
    let alg = parse_algorithm(name)?;
    if virtual_authenticator::keys::SUPPORTED.contains(&alg) {
        Ok(alg)
    } else {
        Err(KeyOpError::AlgorithmNotSupported(alg))
    }
}

/// An algorithm's name, or its number when Keybench has no name for it.
pub fn algorithm_name(alg: CoseAlgorithm) -> String {
    alg.name().map_or_else(|| alg.0.to_string(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(parse_algorithm("ML-DSA-65").unwrap(), CoseAlgorithm(-49));
        assert_eq!(parse_algorithm("-7").unwrap(), CoseAlgorithm::ES256);
        assert_eq!(parse_algorithm("RS1x").unwrap_err().code(), "bad_algorithm");
        assert_eq!(
            virtual_key_algorithm("ES256").unwrap(),
            CoseAlgorithm::ES256
        );
        assert_eq!(
            virtual_key_algorithm("-999").unwrap_err().code(),
            "bad_algorithm"
        );
        assert_eq!(algorithm_name(CoseAlgorithm(-49)), "ML-DSA-65");
        assert_eq!(algorithm_name(CoseAlgorithm(-999)), "-999");
    }
}
