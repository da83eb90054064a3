"""Statistics for repeated samples: medians with bootstrap CIs, before/after verdicts, noise, and the
paired A/B ratio of interleaved runs.

Called by `bench.tables` (cluster benchmarks), `locallab.knob_runs` (the local kernel lab) and the
figures; calls numpy and scipy only. Choices, and why:

- Location is the median of per-sample values (robust to one disturbed run). For latency
  percentiles that means the median of per-sample p99 (never the mean of p99s, the k8s-netperf
  pitfall in shared/reference/netbench.md §8.1); every result says which aggregation it used.
- Before against after is the ratio of medians (after / before) with a percentile bootstrap CI
  from `scipy.stats.bootstrap`, resampling the two samples independently, seeded. Percentile rather
  than BCa because BCa's jackknife is unreliable for medians at the small sample counts labs use.
- The verdict accounts for the metric's direction and a practical tolerance (±X %): "improved" and
  "regressed" need a CI that excludes no change and a point estimate beyond the tolerance; "no
  detectable change" needs either the whole CI inside ±X %, or a CI that contains no change while
  the minimum detectable effect is at most X % (the run could have seen a change of X % and did
  not); anything else is "inconclusive" (too noisy for that tolerance: take more samples), the
  honest answer the anchors never give.
- Interleaved A/B runs (the local kernel lab samples A and B back to back, AB, BA, ...) compare by
  the median of the per-pair ratios B_i/A_i with a percentile bootstrap CI that resamples pairs: on a
  shared 2-vCPU host the level drifts by 2x within a minute (shared/reference/kernel-lab.md §1
  "Noise"), and the ratio within a pair cancels that drift. With no drift it equals the ratio of
  medians. Their verdict (`ab_verdict`) follows kernel-lab.md §1 "Rules for the lab": "better"/"worse"
  needs a CI that excludes 1 and an effect beyond the host's noise floor (10 % RR/CRR, 25 %
  throughput); a CI off 1 with a smaller effect is "slightly better"/"slightly worse" (real in this
  run's pairs, too small to rely on across runs: the floors come from drift between runs, which
  pairing cancels within one); a CI that contains 1 is "within noise".
- The minimum detectable effect uses the normal approximation for the median's variance
  (pi/2 * sigma^2 / n) with a robust spread (1.4826 * MAD), two-sided alpha 0.05 and power 0.8.
- Intervals are scipy.stats.bootstrap's, each memoised on its exact inputs (values, confidence, seed:
  the bootstrap is deterministic for them): the summary tables and the journey across labs ask for the
  same ones again.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from cilium_lab.errors import InputError

BETTER, WORSE, WITHIN_NOISE = "better", "worse", "within noise"
SLIGHTLY_BETTER, SLIGHTLY_WORSE = "slightly better", "slightly worse"
IMPROVED, REGRESSED, NO_CHANGE, INCONCLUSIVE = "improved", "regressed", "no detectable change", "inconclusive"
VERDICTS = (IMPROVED, NO_CHANGE, REGRESSED, INCONCLUSIVE)
AGGREGATION = "median of per-sample values"
# 2,000 resamples: ample for 95 % percentile intervals (Efron & Tibshirani 1993, ch. 13: >= 1,000)
RESAMPLES = 2000
# intervals kept (a few hundred bytes each): a series of 17 labs asks for ~1,200 distinct ones
CACHED_INTERVALS = 8192


@dataclass(frozen=True)
class Summary:
    """The median of per-sample values with its bootstrap CI."""

    n: int
    median: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class Change:
    """After against before for one metric: ratio of medians (after / before) with its CI."""

    n_before: int
    n_after: int
    median_before: float
    median_after: float
    ratio: float
    ci_low: float
    ci_high: float
    verdict: str
    mde: float  # smallest relative change (0.05 = 5 %) these sample counts would detect given the noise
    tolerance: float
    noise_cv: float


def _clean(values: Sequence[float]) -> np.ndarray:
    array = np.asarray(list(values), dtype=float)
    return array[np.isfinite(array)]


def summarize(values: Sequence[float], *, confidence: float = 0.95, seed: int = 0) -> Summary:
    """Median and its percentile-bootstrap CI; with fewer than two values the CI is NaN."""
    data = _clean(values)
    if data.size == 0:
        return Summary(0, math.nan, math.nan, math.nan)
    median = float(np.median(data))
    if data.size < 2 or np.ptp(data) == 0:
        ci = (math.nan, math.nan) if data.size < 2 else (median, median)
        return Summary(int(data.size), median, *ci)
    low, high = _interval("median", (data,), confidence, seed)
    return Summary(int(data.size), median, low, high)


def _ratio_of_medians(b: np.ndarray, a: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.median(a, axis=axis) / np.median(b, axis=axis)


STATISTICS: dict[str, Callable[..., np.ndarray]] = {
    "median": np.median,
    "ratio_of_medians": _ratio_of_medians,
}


def _interval(
    statistic: str, samples: tuple[np.ndarray, ...], confidence: float, seed: int
) -> tuple[float, float]:
    """The percentile-bootstrap interval, memoised on the samples' exact bits (not their float equality,
    which would take -0.0 for 0.0)."""
    key = tuple(np.ascontiguousarray(sample, dtype=float).tobytes() for sample in samples)
    return _cached_interval(statistic, key, float(confidence), int(seed))


@functools.lru_cache(maxsize=CACHED_INTERVALS)
def _cached_interval(
    statistic: str, samples: tuple[bytes, ...], confidence: float, seed: int
) -> tuple[float, float]:
    arrays = tuple(np.frombuffer(sample, dtype=float) for sample in samples)
    return percentile_bootstrap(arrays, STATISTICS[statistic], confidence=confidence, seed=seed)


def percentile_bootstrap(
    samples: Sequence[np.ndarray], statistic: Callable[..., np.ndarray], *, confidence: float, seed: int
) -> tuple[float, float]:
    """Two-sided percentile-bootstrap CI of `statistic(*samples, axis=-1)` (scipy.stats.bootstrap), each
    sample resampled on its own, RESAMPLES times, from `seed`."""
    res = sps.bootstrap(
        tuple(samples),
        statistic,
        paired=False,
        confidence_level=confidence,
        n_resamples=RESAMPLES,
        method="percentile",
        rng=seed,
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def relative_noise(*groups: Sequence[float]) -> float:
    """Robust coefficient of variation (1.4826 * MAD / median) pooled over groups measured alike."""
    deviations = []
    for group in groups:
        data = _clean(group)
        if data.size >= 2 and np.median(data) != 0:
            deviations.extend(np.abs(data - np.median(data)) / abs(np.median(data)))
    return float(1.4826 * np.median(deviations)) if deviations else math.nan


def min_detectable_effect(
    noise_cv: float, n_before: int, n_after: int, *, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Smallest relative change in the median these sample counts detect (normal approximation)."""
    if n_before < 2 or n_after < 2 or not math.isfinite(noise_cv):
        return math.nan
    z = sps.norm.ppf(1 - alpha / 2) + sps.norm.ppf(power)
    return float(z * math.sqrt(math.pi / 2) * noise_cv * math.sqrt(1 / n_before + 1 / n_after))


def ratio_ci(before: np.ndarray, after: np.ndarray, *, confidence: float, seed: int) -> tuple[float, float]:
    """Percentile-bootstrap CI of median(after) / median(before), the two resampled independently."""
    if np.ptp(before) == 0 and np.ptp(after) == 0:
        ratio = float(np.median(after) / np.median(before))
        return ratio, ratio

    return _interval("ratio_of_medians", (before, after), confidence, seed)


def verdict(
    ratio: float,
    ci_low: float,
    ci_high: float,
    *,
    lower_is_better: bool,
    tolerance: float,
    mde: float = math.nan,
) -> str:
    """Name the outcome from the CI of after/before, oriented so that a gain is above 1."""
    if not all(map(math.isfinite, (ratio, ci_low, ci_high))):
        return INCONCLUSIVE
    if lower_is_better:
        ratio, ci_low, ci_high = 1 / ratio, 1 / ci_high, 1 / ci_low
    if ci_low > 1 and ratio > 1 + tolerance:
        return IMPROVED
    if ci_high < 1 and ratio < 1 - tolerance:
        return REGRESSED
    if 1 - tolerance <= ci_low and ci_high <= 1 + tolerance:
        return NO_CHANGE
    if ci_low <= 1 <= ci_high and mde <= tolerance:  # NaN compares False: unknown noise never passes
        return NO_CHANGE
    return INCONCLUSIVE


def compare_samples(
    before: Sequence[float],
    after: Sequence[float],
    *,
    lower_is_better: bool = False,
    tolerance: float = 0.05,
    confidence: float = 0.95,
    seed: int = 0,
    noise_cv: float | None = None,
) -> Change:
    """Compare two sets of samples of one metric. `noise_cv` (e.g. from an A/A run) overrides the
    noise estimated from the two groups themselves."""
    b, a = _clean(before), _clean(after)
    noise = relative_noise(b, a) if noise_cv is None else noise_cv
    mde = min_detectable_effect(noise, b.size, a.size)
    if b.size < 2 or a.size < 2:
        med_b = float(np.median(b)) if b.size else math.nan
        med_a = float(np.median(a)) if a.size else math.nan
        ratio = med_a / med_b if b.size and a.size else math.nan
        return Change(
            b.size, a.size, med_b, med_a, ratio, math.nan, math.nan, INCONCLUSIVE, mde, tolerance, noise
        )
    med_b, med_a = float(np.median(b)), float(np.median(a))
    ratio = med_a / med_b
    low, high = ratio_ci(b, a, confidence=confidence, seed=seed)
    name = verdict(ratio, low, high, lower_is_better=lower_is_better, tolerance=tolerance, mde=mde)
    return Change(int(b.size), int(a.size), med_b, med_a, ratio, low, high, name, mde, tolerance, noise)


@dataclass(frozen=True)
class PairedRatio:
    """The median of per-pair ratios B_i/A_i with the bounds of its bootstrap CI."""

    ratio: float
    low: float
    high: float


def paired_ratio(
    a: Sequence[float], b: Sequence[float], *, confidence: float = 0.95, seed: int = 0
) -> PairedRatio:
    """Median of b[i]/a[i] over pairs measured back to back, with a bootstrap CI over the pairs."""
    if len(a) != len(b):
        raise InputError(f"paired samples need equal counts (A has {len(a)}, B has {len(b)})")
    if len(a) < 2:
        raise InputError("need at least 2 samples per arm for a confidence interval: raise --samples")
    if min(*a, *b) <= 0:
        raise InputError("a ratio needs positive measurements")
    ratios = np.asarray(b, float) / np.asarray(a, float)
    point = float(np.median(ratios))
    if np.ptp(ratios) == 0:
        return PairedRatio(point, point, point)  # no spread to resample
    low, high = _interval("median", (ratios,), confidence, seed)
    return PairedRatio(point, low, high)


def pair_spread(a: Sequence[float], b: Sequence[float]) -> float:
    """Interquartile range of the per-pair ratios over their median: how much the host's own noise
    moves one pair. A quiet 2-vCPU VM gives ~0.02-0.05 for pinned CRR; heavy other load gives 0.2+."""
    ratios = np.asarray(b, float) / np.asarray(a, float)
    q1, mid, q3 = np.percentile(ratios, [25, 50, 75])
    return float((q3 - q1) / mid)


def ab_verdict(ci: PairedRatio, *, higher_is_better: bool, noise: float) -> str:
    """B relative to A: 'better' / 'worse', 'slightly better' / 'slightly worse', or 'within noise'."""
    if ci.low > 1:
        gain, big = higher_is_better, ci.ratio - 1 > noise
    elif ci.high < 1:
        gain, big = not higher_is_better, 1 - ci.ratio > noise
    else:
        return WITHIN_NOISE
    if gain:
        return BETTER if big else SLIGHTLY_BETTER
    return WORSE if big else SLIGHTLY_WORSE


def halves(values: Sequence[float]) -> tuple[list[float], list[float]]:
    """First and second half of a run in measurement order: an A/A split that also shows drift."""
    data = list(values)
    middle = len(data) // 2
    return data[:middle], data[middle:]
