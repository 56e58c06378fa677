//! Untrusted signature-check inputs: any bytes as a credential public key
//! (what a registration sends) decode to a verifier or a precise error, and
//! any bytes as a signature against real keys of every family (ECDSA,
//! Ed25519, Ed448, ML-DSA) give a verdict, never a panic or a hang.
#![no_main]
use libfuzzer_sys::fuzz_target;
use relying_party::PublicKeyVerifier;
use std::sync::OnceLock;

fn keys() -> &'static [PublicKeyVerifier] {
    static KEYS: OnceLock<Vec<PublicKeyVerifier>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let cose = |hex: &str| {
            let bytes: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            PublicKeyVerifier::from_cose_bytes(&bytes).unwrap()
        };
        let mut keys = vec![
            // ES256 and Ed25519 from the WebAuthn L3 test vectors.
            cose("a5010203262001215820afefa16f97ca9b2d23eb86ccb64098d20db90856062eb249c33a9b672f26df61225820930a56b87a2fca66334b03458abf879717c12cc68ed73290af2e2664796b9220"),
            cose("a401010327200621582044e06ddd331c36a8dc667bab52bcae63486c916aa5e339e6acebaa84934bf832"),
            // Ed448 (-53), RFC 8032 §7.4 "1 octet".
            cose("a40101033834200721583943ba28f430cdff456ae531545f7ecd0ac834a55d9358c0372bfa0c6c6798c0866aea01eb00742802b8438ea4cb82169c235160627b4c3a9480"),
        ];
        // ML-DSA-44: a key of the right size (its content does not matter
        // for robustness).
        let mut mldsa = vec![0xa3, 0x01, 0x07, 0x03, 0x38, 0x2f, 0x20, 0x59, 0x05, 0x20];
        mldsa.extend(std::iter::repeat_n(0x5a, 1312));
        keys.push(PublicKeyVerifier::from_cose_bytes(&mldsa).unwrap());
        keys
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = PublicKeyVerifier::from_cose_bytes(data) {
        let _ = v.verify(b"message", data);
    }
    let (message, signature) = data.split_at(data.len().min(37));
    for key in keys() {
        let _ = key.verify(message, signature);
    }
});
