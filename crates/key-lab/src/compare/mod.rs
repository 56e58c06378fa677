//! The comparison: what each algorithm costs on one key, per ceremony,
//! over N rounds — time on the key (touch wait apart), on the wire and in
//! the relying party's verification; bytes and HID reports each way; the
//! sizes of public key, signature, authenticatorData and attestation
//! object. Times and counts come from the transport's exchange meter
//! ([`ctap_client::meter`]), so they are what the real transport moved.
//!
//! Credentials are non-discoverable and made for the lab's own RP ID
//! ([`measure::RP_ID`]): nothing stays on the key.
//!
//! Modules: [`measure`] (one round), [`stats`] (median and p95),
//! [`render`] (the report section with its charts).

pub mod measure;
pub mod render;
pub mod stats;

use crate::compare::measure::{RoundError, Sample};
use crate::compare::stats::Stat;
use ctaphid::{CancelToken, KeepaliveStatus};
use fido_wire::cose::CoseAlgorithm;
use serde::{Deserialize, Serialize};

/// The algorithms compared when none are named: post-quantum first.
pub const DEFAULT_ALGORITHMS: [CoseAlgorithm; 5] = [
    CoseAlgorithm::ML_DSA_87,
    CoseAlgorithm::ML_DSA_65,
    CoseAlgorithm::ML_DSA_44,
    CoseAlgorithm::EDDSA,
    CoseAlgorithm::ES256,
];

/// Rounds when none are given.
pub const DEFAULT_ROUNDS: u32 = 10;
/// The most rounds one run makes (each makes a credential on the key).
pub const MAX_ROUNDS: u32 = 1000;

/// What to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompareSettings {
    /// The algorithms, in the order shown.
    pub algorithms: Vec<CoseAlgorithm>,
    /// Rounds per algorithm (each a registration and an authentication).
    pub rounds: u32,
}

impl Default for CompareSettings {
    fn default() -> Self {
        CompareSettings {
            algorithms: DEFAULT_ALGORITHMS.to_vec(),
            rounds: DEFAULT_ROUNDS,
        }
    }
}

/// Why a comparison cannot start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CompareError {
    /// No algorithm to compare.
    #[error("name at least one algorithm to compare")]
    NoAlgorithm,
    /// The same algorithm twice.
    #[error("{0} is named twice")]
    RepeatedAlgorithm(String),
    /// Rounds out of range.
    #[error("rounds must be 1 to {MAX_ROUNDS}, not {0}")]
    Rounds(u32),
    /// Cancelled by the user.
    #[error("the comparison was cancelled")]
    Cancelled,
    /// The key wants its PIN, or refused the one given: the run stops at
    /// once, so a wrong PIN is not tried again for every algorithm (each try
    /// costs one of the key's retries).
    #[error("{message}")]
    Pin {
        /// The key's code (`pin_required`, `ctap_pin_invalid`, …).
        code: String,
        /// What the key said.
        message: String,
    },
}

impl CompareError {
    /// A stable code (a PIN refusal keeps the key's own).
    pub fn code(&self) -> String {
        match self {
            CompareError::NoAlgorithm | CompareError::RepeatedAlgorithm(_) => {
                "bad_algorithm".into()
            }
            CompareError::Rounds(_) => "bad_rounds".into(),
            CompareError::Cancelled => "cancelled".into(),
            CompareError::Pin { code, .. } => code.clone(),
        }
    }
}

/// What a front end lends a run: the PIN (used only when the key wants
/// it), a progress feed, the KEEPALIVE statuses (to say "touch your key"),
/// and a Cancel.
#[derive(Default)]
pub struct Hooks<'a> {
    /// The key's PIN.
    pub pin: Option<&'a str>,
    /// Hears of each round before it runs.
    pub progress: Option<&'a mut dyn FnMut(&Progress)>,
    /// KEEPALIVE statuses of every exchange.
    pub on_status: Option<&'a mut dyn FnMut(KeepaliveStatus)>,
    /// Stops the run (the exchange under way gets CTAPHID_CANCEL).
    pub cancel: Option<&'a CancelToken>,
}

/// Where a run stands, for a live view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// The algorithm under way.
    pub algorithm: String,
    /// Its round about to run, from 1.
    pub round: u32,
    /// Rounds per algorithm.
    pub rounds: u32,
}

/// The comparison of every algorithm asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comparison {
    /// The RP ID the credentials were made for.
    pub rp_id: String,
    /// Rounds per algorithm.
    pub rounds: u32,
    /// One entry per algorithm, in the order asked.
    pub algorithms: Vec<AlgorithmResult>,
}

/// One algorithm's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlgorithmResult {
    /// Its name (`ML-DSA-65`).
    pub algorithm: String,
    /// Its COSE identifier.
    pub cose: i64,
    /// What happened.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// What happened for one algorithm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum Outcome {
    /// Every round ran.
    Measured {
        /// The registrations.
        registration: Box<CeremonyStats>,
        /// The authentications.
        authentication: Box<CeremonyStats>,
    },
    /// Not tried: the key does not offer it.
    Skipped {
        /// Why.
        reason: String,
    },
    /// A round failed; the rest were not run.
    Failed {
        /// The round that failed, from 1.
        round: u32,
        /// A stable code.
        code: String,
        /// What went wrong.
        message: String,
    },
}

/// One ceremony over the rounds. Times in milliseconds, sizes in bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CeremonyStats {
    /// Time on the key: request sent to answer started, less touch wait.
    pub key_ms: Stat,
    /// Time the key waited for a touch (KEEPALIVE UP_NEEDED).
    pub touch_wait_ms: Stat,
    /// Time on the wire: the request's and the answer's reports moving.
    pub wire_ms: Stat,
    /// The relying-party core's verification.
    pub rp_verify_ms: Stat,
    /// The exchange from first report out to last report in.
    pub total_ms: Stat,
    /// Request message bytes (host to key).
    pub bytes_out: Stat,
    /// Response message bytes (key to host).
    pub bytes_in: Stat,
    /// HID reports host to key.
    pub reports_out: Stat,
    /// HID reports key to host (KEEPALIVEs included).
    pub reports_in: Stat,
    /// The credential public key (COSE_Key), registration only.
    pub public_key_bytes: Option<Stat>,
    /// The signature (attestation's or assertion's).
    pub signature_bytes: Option<Stat>,
    /// authenticatorData.
    pub authenticator_data_bytes: Stat,
    /// The attestation object, registration only.
    pub attestation_object_bytes: Option<Stat>,
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn count(n: impl TryInto<u32>) -> f64 {
    f64::from(n.try_into().unwrap_or(u32::MAX))
}

impl CeremonyStats {
    /// The summary of `samples` (`None` when there are none).
    pub fn of(samples: &[Sample]) -> Option<CeremonyStats> {
        let stat = |f: &dyn Fn(&Sample) -> f64| Stat::of(samples.iter().map(f));
        let size = |f: &dyn Fn(&Sample) -> Option<usize>| {
            let values: Option<Vec<f64>> = samples.iter().map(|s| f(s).map(count)).collect();
            values.and_then(Stat::of)
        };
        Some(CeremonyStats {
            key_ms: stat(&|s| ms(s.exchange.key))?,
            touch_wait_ms: stat(&|s| ms(s.exchange.touch_wait))?,
            wire_ms: stat(&|s| ms(s.exchange.wire()))?,
            rp_verify_ms: stat(&|s| ms(s.rp_verify))?,
            total_ms: stat(&|s| ms(s.exchange.total))?,
            bytes_out: stat(&|s| count(s.exchange.request_bytes))?,
            bytes_in: stat(&|s| count(s.exchange.response_bytes))?,
            reports_out: stat(&|s| count(s.exchange.reports_out))?,
            reports_in: stat(&|s| count(s.exchange.reports_in))?,
            public_key_bytes: size(&|s| s.sizes.public_key),
            signature_bytes: size(&|s| s.sizes.signature),
            authenticator_data_bytes: stat(&|s| count(s.sizes.authenticator_data))?,
            attestation_object_bytes: size(&|s| s.sizes.attestation_object),
        })
    }
}

/// Checks the settings before anything is sent to a key.
pub fn check(settings: &CompareSettings) -> Result<(), CompareError> {
    if settings.algorithms.is_empty() {
        return Err(CompareError::NoAlgorithm);
    }
    for (i, a) in settings.algorithms.iter().enumerate() {
        if settings.algorithms.iter().skip(i + 1).any(|b| b == a) {
            return Err(CompareError::RepeatedAlgorithm(
                key_ops::algorithms::algorithm_name(*a),
            ));
        }
    }
    if settings.rounds == 0 || settings.rounds > MAX_ROUNDS {
        return Err(CompareError::Rounds(settings.rounds));
    }
    Ok(())
}

/// Whether the key offers `alg` (getInfo's list; ES256 alone when it has
/// none, as CTAP 2.1 §6.4 says).
fn offered(info: &fido_wire::ctap2::GetInfo, alg: CoseAlgorithm) -> bool {
    if info.algorithms.is_empty() {
        return alg == CoseAlgorithm::ES256;
    }
    info.algorithms.iter().any(|p| p.alg == alg)
}

/// Runs the comparison on an open key.
pub fn run(
    device: &mut ctap_client::Device,
    settings: &CompareSettings,
    hooks: &mut Hooks<'_>,
) -> Result<Comparison, CompareError> {
    check(settings)?;
    let mut algorithms = Vec::new();
    for &alg in &settings.algorithms {
        let name = key_ops::algorithms::algorithm_name(alg);
        let outcome = if offered(device.info(), alg) {
            measure_algorithm(device, alg, &name, settings.rounds, hooks)?
        } else {
            Outcome::Skipped {
                reason: "the key does not offer it (getInfo algorithms)".into(),
            }
        };
        algorithms.push(AlgorithmResult {
            algorithm: name,
            cose: alg.0,
            outcome,
        });
    }
    Ok(Comparison {
        rp_id: measure::RP_ID.into(),
        rounds: settings.rounds,
        algorithms,
    })
}

fn measure_algorithm(
    device: &mut ctap_client::Device,
    alg: CoseAlgorithm,
    name: &str,
    rounds: u32,
    hooks: &mut Hooks<'_>,
) -> Result<Outcome, CompareError> {
    let rp = measure::relying_party(alg);
    let mut created = Vec::new();
    let mut asserted = Vec::new();
    let cancelled = |hooks: &Hooks<'_>| hooks.cancel.is_some_and(CancelToken::is_cancelled);
    for round in 1..=rounds {
        if cancelled(hooks) {
            return Err(CompareError::Cancelled);
        }
        if let Some(progress) = hooks.progress.as_mut() {
            progress(&Progress {
                algorithm: name.to_owned(),
                round,
                rounds,
            });
        }
        match measure::round(device, &rp, alg, hooks) {
            Ok((c, a)) => {
                created.push(c);
                asserted.push(a);
            }
            Err(_) if cancelled(hooks) => return Err(CompareError::Cancelled),
            Err(e) if is_pin_refusal(&e.code()) => {
                return Err(CompareError::Pin {
                    code: e.code(),
                    message: e.to_string(),
                });
            }
            Err(e) => return Ok(failed(round, &e)),
        }
    }
    Ok(
        match (CeremonyStats::of(&created), CeremonyStats::of(&asserted)) {
            (Some(registration), Some(authentication)) => Outcome::Measured {
                registration: Box::new(registration),
                authentication: Box::new(authentication),
            },
            _ => Outcome::Failed {
                round: rounds,
                code: "no_samples".into(),
                message: "no round produced a measurement".into(),
            },
        },
    )
}

/// A refusal about the PIN: needed, wrong, blocked.
fn is_pin_refusal(code: &str) -> bool {
    code == "pin_required" || code.starts_with("ctap_pin_")
}

fn failed(round: u32, e: &RoundError) -> Outcome {
    Outcome::Failed {
        round,
        code: e.code(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked() {
        assert_eq!(check(&CompareSettings::default()), Ok(()));
        let with = |algorithms: Vec<CoseAlgorithm>, rounds| CompareSettings { algorithms, rounds };
        assert_eq!(check(&with(vec![], 1)).unwrap_err().code(), "bad_algorithm");
        assert_eq!(
            check(&with(vec![CoseAlgorithm::ES256, CoseAlgorithm::ES256], 1))
                .unwrap_err()
                .code(),
            "bad_algorithm"
        );
        assert_eq!(
            check(&with(vec![CoseAlgorithm::ES256], 0)).unwrap_err(),
            CompareError::Rounds(0)
        );
        assert_eq!(
            check(&with(vec![CoseAlgorithm::ES256], MAX_ROUNDS + 1))
                .unwrap_err()
                .code(),
            "bad_rounds"
        );
        assert!(is_pin_refusal("pin_required") && is_pin_refusal("ctap_pin_invalid"));
        assert!(!is_pin_refusal("ctap_operation_denied"));
    }
}
