"""Statistics for local-lab comparisons: bootstrap CI of the paired ratio B/A, and a verdict.

Called by `locallab.runner`; calls scipy.stats.bootstrap. Written here because the benchmark
engine's `cilium_lab.bench.stats` did not exist yet when the local lab was built.

Why paired: the lab samples A and B back to back (A/B/A/B), and on a shared 2-vCPU host the level
drifts by 2x within a minute (kernel-lab.md §1 "Noise"; other load on the host). The ratio within a
pair cancels that drift, so the statistic is the median of the per-pair ratios B_i/A_i, with a
percentile bootstrap CI that resamples pairs. With no drift it equals the ratio of medians.

Verdict rule (kernel-lab.md §1 "Rules for the lab"): an effect is claimed ("better"/"worse") only if the
confidence interval excludes 1 *and* the ratio's distance from 1 exceeds the test's noise floor on this
host (10% RR/CRR, 25% throughput). A CI that excludes 1 with a smaller effect is "slightly better"/
"slightly worse": real in this run's pairs, too small to rely on across runs (the floors come from
level drift between runs, which pairing cancels within one). A CI that contains 1 is "within noise".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from cilium_lab.errors import InputError

BETTER, WORSE, WITHIN_NOISE = "better", "worse", "within noise"
SLIGHTLY_BETTER, SLIGHTLY_WORSE = "slightly better", "slightly worse"


@dataclass(frozen=True)
class RatioCI:
    """A ratio B/A with the bounds of its bootstrap confidence interval."""

    ratio: float
    low: float
    high: float


def paired_ratio(
    a: Sequence[float], b: Sequence[float], *, confidence: float = 0.95, seed: int = 0
) -> RatioCI:
    """Median of b[i]/a[i] over pairs measured back to back, with a bootstrap CI over the pairs."""
    if len(a) != len(b):
        raise InputError(f"paired samples need equal counts (A has {len(a)}, B has {len(b)})")
    if len(a) < 2:
        raise InputError("need at least 2 samples per arm for a confidence interval: raise --samples")
    if min(*a, *b) <= 0:
        raise InputError("a ratio needs positive measurements")
    ratios = np.asarray(b, float) / np.asarray(a, float)
    point = float(np.median(ratios))
    if np.all(ratios == ratios[0]):
        return RatioCI(point, point, point)  # no spread to resample
    res = stats.bootstrap(
        (ratios,),
        np.median,
        n_resamples=4000,
        confidence_level=confidence,
        method="percentile",
        vectorized=True,
        random_state=np.random.default_rng(seed),
    )
    return RatioCI(point, float(res.confidence_interval.low), float(res.confidence_interval.high))


def pair_spread(a: Sequence[float], b: Sequence[float]) -> float:
    """Interquartile range of the per-pair ratios over their median: how much the host's own noise
    moves one pair. A quiet 2-vCPU VM gives ~0.02-0.05 for pinned CRR; heavy other load gives 0.2+."""
    ratios = np.asarray(b, float) / np.asarray(a, float)
    q1, mid, q3 = np.percentile(ratios, [25, 50, 75])
    return float((q3 - q1) / mid)


def verdict(ci: RatioCI, *, higher_is_better: bool, noise: float) -> str:
    """B relative to A: 'better' / 'worse', 'slightly better' / 'slightly worse', or 'within noise'."""
    if ci.low > 1:
        up = ci.ratio - 1 > noise
        if higher_is_better:
            return BETTER if up else SLIGHTLY_BETTER
        return WORSE if up else SLIGHTLY_WORSE
    if ci.high < 1:
        down = 1 - ci.ratio > noise
        if higher_is_better:
            return WORSE if down else SLIGHTLY_WORSE
        return BETTER if down else SLIGHTLY_BETTER
    return WITHIN_NOISE
