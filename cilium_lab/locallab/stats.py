"""Statistics for local-lab comparisons: bootstrap CI of the ratio of medians (B over A) and a verdict.

Called by `locallab.runner`; calls scipy.stats.bootstrap. Written here because the benchmark
engine's `cilium_lab.bench.stats` did not exist yet when the local lab was built; it is small on
purpose so the two can be merged.

Verdict rule (kernel-lab.md §1 "Rules for the lab"): an effect counts only if the confidence interval
of the ratio excludes 1 *and* the ratio's distance from 1 exceeds the test's noise floor on this host
(10% RR/CRR, 25% throughput); otherwise it is "within noise".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

import numpy as np
from scipy import stats

from cilium_lab.errors import InputError

BETTER, WORSE, WITHIN_NOISE = "better", "worse", "within noise"


@dataclass(frozen=True)
class RatioCI:
    """Ratio of medians median(b)/median(a) with a bootstrap confidence interval."""

    ratio: float
    low: float
    high: float


def ratio_of_medians(
    a: Sequence[float], b: Sequence[float], *, confidence: float = 0.95, seed: int = 0
) -> RatioCI:
    """Percentile bootstrap CI of median(b)/median(a), resampling each arm independently."""
    if len(a) < 2 or len(b) < 2:
        raise InputError("need at least 2 samples per arm for a confidence interval: raise --samples")
    if min(*a, *b) <= 0:
        raise InputError("ratio of medians needs positive measurements")
    point = median(b) / median(a)
    if len(set(a)) == 1 and len(set(b)) == 1:
        return RatioCI(point, point, point)  # no spread to resample

    def statistic(xa: np.ndarray, xb: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.median(xb, axis=axis) / np.median(xa, axis=axis)

    res = stats.bootstrap(
        (np.asarray(a, float), np.asarray(b, float)),
        statistic,
        n_resamples=4000,
        confidence_level=confidence,
        method="percentile",
        vectorized=True,
        random_state=np.random.default_rng(seed),
    )
    return RatioCI(point, float(res.confidence_interval.low), float(res.confidence_interval.high))


def verdict(ci: RatioCI, *, higher_is_better: bool, noise: float) -> str:
    """'better' / 'worse' (for B relative to A) or 'within noise'."""
    if ci.low > 1 and ci.ratio - 1 > noise:
        return BETTER if higher_is_better else WORSE
    if ci.high < 1 and 1 - ci.ratio > noise:
        return WORSE if higher_is_better else BETTER
    return WITHIN_NOISE
