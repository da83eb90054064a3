"""Statistics for repeated benchmark samples: medians with bootstrap CIs, before/after verdicts, noise.

Called by `bench.compare` and the figures; calls numpy and scipy only. Choices, and why:

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
- The minimum detectable effect uses the normal approximation for the median's variance
  (pi/2 * sigma^2 / n) with a robust spread (1.4826 * MAD), two-sided alpha 0.05 and power 0.8.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

IMPROVED, REGRESSED, NO_CHANGE, INCONCLUSIVE = "improved", "regressed", "no detectable change", "inconclusive"
VERDICTS = (IMPROVED, NO_CHANGE, REGRESSED, INCONCLUSIVE)
AGGREGATION = "median of per-sample values"
# 2,000 resamples: ample for 95 % percentile intervals (Efron & Tibshirani 1993, ch. 13: >= 1,000)
RESAMPLES = 2000


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
    res = sps.bootstrap(
        (data,), np.median, confidence_level=confidence, n_resamples=RESAMPLES, method="percentile", rng=seed
    )
    return Summary(
        int(data.size), median, float(res.confidence_interval.low), float(res.confidence_interval.high)
    )


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

    def ratio_of_medians(b: np.ndarray, a: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.median(a, axis=axis) / np.median(b, axis=axis)

    res = sps.bootstrap(
        (before, after),
        ratio_of_medians,
        paired=False,
        confidence_level=confidence,
        n_resamples=RESAMPLES,
        method="percentile",
        rng=seed,
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


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


def halves(values: Sequence[float]) -> tuple[list[float], list[float]]:
    """First and second half of a run in measurement order: an A/A split that also shows drift."""
    data = list(values)
    middle = len(data) // 2
    return data[:middle], data[middle:]
