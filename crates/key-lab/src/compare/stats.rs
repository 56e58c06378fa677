//! Summaries of a series of measurements: median and 95th percentile
//! (nearest rank), with the extremes.

use serde::{Deserialize, Serialize};

/// One quantity over the rounds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    /// The median (the mean of the middle two for an even count).
    pub median: f64,
    /// The 95th percentile, nearest rank.
    pub p95: f64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
}

impl Stat {
    /// The summary of `values`; `None` when there are none (or a NaN).
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Stat> {
        let mut v: Vec<f64> = values.into_iter().collect();
        if v.is_empty() || v.iter().any(|x| x.is_nan()) {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let at = |i: usize| v.get(i).copied();
        let median = if n % 2 == 1 {
            at(n / 2)?
        } else {
            (at(n / 2 - 1)? + at(n / 2)?) / 2.0
        };
        // Nearest rank: the smallest value with at least 95 % at or below it.
        let rank = (n * 95).div_ceil(100).max(1);
        Some(Stat {
            median,
            p95: at(rank - 1)?,
            min: at(0)?,
            max: at(n - 1)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_p95() {
        let s = Stat::of((1..=100).map(f64::from)).unwrap();
        assert_eq!(s.median, 50.5);
        assert_eq!(s.p95, 95.0);
        assert_eq!((s.min, s.max), (1.0, 100.0));
        let one = Stat::of([7.0]).unwrap();
        assert_eq!((one.median, one.p95), (7.0, 7.0));
        let three = Stat::of([3.0, 1.0, 2.0]).unwrap();
        assert_eq!((three.median, three.p95), (2.0, 3.0));
        assert!(Stat::of([]).is_none());
        assert!(Stat::of([1.0, f64::NAN]).is_none());
    }
}
