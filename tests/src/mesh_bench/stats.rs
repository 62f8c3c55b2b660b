//! Percentiles and summaries of samples (latencies, publish calls).

use serde::{Deserialize, Serialize};

/// The nearest-rank `p`-th percentile (0 ≤ `p` ≤ 100) of `sorted`, which
/// must be sorted ascending; `None` if it is empty. Nearest rank, not
/// interpolation, so every figure printed is a value that was measured.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let p = p.clamp(0.0, 100.0);
    // rank = ceil(p/100 · n), 1-based; p = 0 is the smallest sample.
    let rank = (p / 100.0 * sorted.len() as f64).ceil();
    // `rank` is a whole number in 0..=n (p is clamped), so the cast is exact.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let index = (rank as usize).saturating_sub(1).min(last);
    sorted.get(index).copied()
}

/// Percentiles of a set of samples, in the samples' unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// How many samples.
    pub count: usize,
    /// Their mean.
    pub mean: f64,
    /// The median.
    pub p50: f64,
    /// The 95th percentile.
    pub p95: f64,
    /// The 99th percentile.
    pub p99: f64,
    /// The largest sample.
    pub max: f64,
}

impl Summary {
    /// The summary of `samples` (sorted in place), or `None` if there are
    /// none. Samples that are not numbers are dropped.
    pub fn of(samples: &mut Vec<f64>) -> Option<Summary> {
        samples.retain(|s| !s.is_nan());
        samples.sort_by(f64::total_cmp);
        let count = samples.len();
        let mean = samples.iter().sum::<f64>() / count.max(1) as f64;
        Some(Summary {
            count,
            mean,
            p50: percentile(samples, 50.0)?,
            p95: percentile(samples, 95.0)?,
            p99: percentile(samples, 99.0)?,
            max: *samples.last()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles_of_one_to_a_hundred() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&samples, 50.0), Some(50.0));
        assert_eq!(percentile(&samples, 95.0), Some(95.0));
        assert_eq!(percentile(&samples, 99.0), Some(99.0));
        assert_eq!(percentile(&samples, 100.0), Some(100.0));
        assert_eq!(percentile(&samples, 0.0), Some(1.0));
    }

    #[test]
    fn percentiles_of_few_samples_are_samples() {
        let samples = [3.0, 7.0, 10.0];
        assert_eq!(percentile(&samples, 50.0), Some(7.0));
        assert_eq!(percentile(&samples, 99.0), Some(10.0));
        assert_eq!(percentile(&[4.0], 50.0), Some(4.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn a_summary_sorts_and_ignores_nan() {
        let mut samples = vec![5.0, f64::NAN, 1.0, 3.0];
        let s = Summary::of(&mut samples).expect("three samples");
        assert_eq!(s.count, 3);
        assert_eq!(s.p50, 3.0);
        assert_eq!(s.max, 5.0);
        assert!((s.mean - 3.0).abs() < 1e-9);
        assert_eq!(Summary::of(&mut Vec::new()), None);
    }
}
