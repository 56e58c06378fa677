//! Statistical checks of session-id randomness on 20,000 ids (5.12 Mbit):
//! uniqueness, monobit frequency, byte-value and per-position character
//! chi-square, runs, and bit-position balance. Thresholds sit near p = 1e-6,
//! so a healthy CSPRNG fails about once in a million runs, while a biased or
//! structured generator (a counter, a timestamp, a weak PRNG) fails at once.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use session_engine::SessionId;
use std::collections::HashSet;

const N: usize = 20_000;

fn ids() -> Vec<(String, Vec<u8>)> {
    (0..N)
        .map(|_| {
            let id = SessionId::generate();
            let s = id.expose().to_owned();
            let bytes = URL_SAFE_NO_PAD.decode(&s).unwrap();
            assert_eq!(bytes.len(), 32);
            (s, bytes)
        })
        .collect()
}

/// Upper critical value of chi-square with `df` degrees of freedom at
/// about p = 1e-6 (Wilson–Hilferty approximation, z = 4.753).
fn chi2_critical(df: f64) -> f64 {
    let z = 4.753;
    df * (1.0 - 2.0 / (9.0 * df) + z * (2.0 / (9.0 * df)).sqrt()).powi(3)
}

fn chi2(counts: &[u64], expected: f64) -> f64 {
    counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum()
}

#[test]
fn session_ids_look_random() {
    let ids = ids();
    // Uniqueness (a collision among 20,000 256-bit values is impossible).
    let set: HashSet<_> = ids.iter().map(|(s, _)| s.clone()).collect();
    assert_eq!(set.len(), N);

    let bits = (N * 256) as f64;
    // Monobit: the count of ones is Binomial(n, 1/2); |z| < 4.9 (p ~ 1e-6).
    let ones: u64 = ids
        .iter()
        .flat_map(|(_, b)| b.iter())
        .map(|b| u64::from(b.count_ones()))
        .sum();
    let z = (ones as f64 - bits / 2.0) / (bits / 4.0).sqrt();
    assert!(z.abs() < 4.9, "monobit z = {z}");

    // Byte values: 256 bins.
    let mut counts = vec![0u64; 256];
    for (_, b) in &ids {
        for &x in b {
            counts[x as usize] += 1;
        }
    }
    let c = chi2(&counts, (N * 32) as f64 / 256.0);
    assert!(
        c < chi2_critical(255.0),
        "byte chi-square {c} >= {}",
        chi2_critical(255.0)
    );

    // Each of the 32 byte positions separately (catches a fixed or
    // counter-like byte, e.g. a timestamp prefix).
    for pos in 0..32 {
        let mut counts = vec![0u64; 256];
        for (_, b) in &ids {
            counts[b[pos] as usize] += 1;
        }
        let c = chi2(&counts, N as f64 / 256.0);
        assert!(c < chi2_critical(255.0), "position {pos}: chi-square {c}");
    }

    // Characters 0..42 carry 6 full bits each: uniform over 64 symbols.
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut counts = vec![0u64; 64];
    for (s, _) in &ids {
        for &ch in &s.as_bytes()[..42] {
            counts[alphabet.iter().position(|&a| a == ch).unwrap()] += 1;
        }
    }
    let c = chi2(&counts, (N * 42) as f64 / 64.0);
    assert!(c < chi2_critical(63.0), "character chi-square {c}");

    // Runs test over the whole bit stream (Wald–Wolfowitz, p = 1/2).
    let mut runs = 1u64;
    let mut prev = None;
    for (_, b) in &ids {
        for &x in b {
            for i in 0..8 {
                let bit = (x >> i) & 1;
                if prev.is_some_and(|p| p != bit) {
                    runs += 1;
                }
                prev = Some(bit);
            }
        }
    }
    let pi = ones as f64 / bits;
    let expected = 2.0 * bits * pi * (1.0 - pi) + 1.0;
    let sd = 2.0 * (2.0 * bits).sqrt() * pi * (1.0 - pi);
    let z = (runs as f64 - expected) / sd;
    assert!(z.abs() < 4.9, "runs z = {z}");

    // Every bit position is balanced over the ids.
    for bit in 0..256 {
        let ones = ids
            .iter()
            .filter(|(_, b)| b[bit / 8] >> (bit % 8) & 1 == 1)
            .count() as f64;
        let z = (ones - N as f64 / 2.0) / (N as f64 / 4.0).sqrt();
        assert!(z.abs() < 5.5, "bit {bit}: z = {z}");
    }
}

/// The tests above do fail on a generator with a visible flaw.
#[test]
fn the_checks_catch_a_biased_generator() {
    // One byte position fixed: the per-position chi-square explodes.
    let mut counts = vec![0u64; 256];
    counts[0x42] = N as u64;
    assert!(chi2(&counts, N as f64 / 256.0) > chi2_critical(255.0));
    // Slightly biased bits (51 % ones): the monobit z is far out.
    let bits = (N * 256) as f64;
    let z = (0.51 * bits - bits / 2.0) / (bits / 4.0).sqrt();
    assert!(z > 4.9);
}
