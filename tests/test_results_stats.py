"""Medians with bootstrap CIs, before/after verdicts by metric direction, noise, detectable effect, and
the paired ratio of interleaved A/B runs."""

import math

import numpy as np
import pytest

from cilium_lab.errors import InputError
from cilium_lab.results import stats


def normal(mean: float, sd: float, n: int, seed: int) -> list[float]:
    return list(np.random.default_rng(seed).normal(mean, sd, n))


def test_summary_ci_brackets_the_median_and_narrows_with_more_samples():
    few = stats.summarize(normal(100, 5, 6, 1))
    many = stats.summarize(normal(100, 5, 60, 1))
    for s in (few, many):
        assert s.ci_low <= s.median <= s.ci_high
    assert (many.ci_high - many.ci_low) < (few.ci_high - few.ci_low)


def test_summary_of_one_or_no_values_has_no_ci():
    one = stats.summarize([42.0])
    assert (one.n, one.median) == (1, 42.0) and math.isnan(one.ci_low)
    assert stats.summarize([]).n == 0


def test_summary_ignores_nan_and_handles_constant_values():
    s = stats.summarize([7.0, 7.0, float("nan"), 7.0])
    assert (s.n, s.median, s.ci_low, s.ci_high) == (3, 7.0, 7.0, 7.0)


def test_a_clear_throughput_gain_is_improved_with_a_ratio_near_the_truth():
    change = stats.compare_samples(normal(1000, 20, 8, 1), normal(1500, 30, 8, 2))
    assert change.verdict == stats.IMPROVED
    assert change.ci_low <= change.ratio <= change.ci_high
    assert change.ratio == pytest.approx(1.5, rel=0.05)


def test_latency_going_down_is_improved_and_going_up_is_regressed():
    lower = stats.compare_samples(normal(50, 1, 8, 1), normal(30, 1, 8, 2), lower_is_better=True)
    higher = stats.compare_samples(normal(50, 1, 8, 1), normal(70, 1, 8, 2), lower_is_better=True)
    assert lower.verdict == stats.IMPROVED and lower.ratio < 1
    assert higher.verdict == stats.REGRESSED


def test_throughput_going_down_is_regressed():
    assert stats.compare_samples(normal(1000, 10, 8, 1), normal(700, 10, 8, 2)).verdict == stats.REGRESSED


def test_a_over_a_with_low_noise_says_no_detectable_change():
    change = stats.compare_samples(normal(1000, 10, 10, 1), normal(1000, 10, 10, 2), tolerance=0.05)
    assert change.verdict == stats.NO_CHANGE
    assert change.mde < 0.05


def test_too_noisy_for_the_tolerance_is_inconclusive_not_no_change():
    change = stats.compare_samples([700, 1000, 1300], [800, 1000, 1250], tolerance=0.02)
    assert change.verdict == stats.INCONCLUSIVE
    assert change.mde > 0.02


def test_fewer_than_two_samples_is_inconclusive():
    change = stats.compare_samples([1.0], [2.0, 2.1])
    assert change.verdict == stats.INCONCLUSIVE and change.ratio == pytest.approx(2.05)


def test_the_bootstrap_is_seeded():
    before, after = normal(10, 1, 6, 3), normal(11, 1, 6, 4)
    assert stats.compare_samples(before, after, seed=7) == stats.compare_samples(before, after, seed=7)


def test_min_detectable_effect_shrinks_with_samples_and_grows_with_noise():
    assert stats.min_detectable_effect(0.05, 20, 20) < stats.min_detectable_effect(0.05, 5, 5)
    assert stats.min_detectable_effect(0.10, 5, 5) == pytest.approx(
        2 * stats.min_detectable_effect(0.05, 5, 5)
    )
    assert math.isnan(stats.min_detectable_effect(0.05, 1, 5))


def test_relative_noise_estimates_the_coefficient_of_variation():
    assert stats.relative_noise(normal(100, 3, 4000, 1)) == pytest.approx(0.03, rel=0.1)


@pytest.mark.parametrize(
    ("ratio", "low", "high", "lower_is_better", "expected"),
    [
        (
            1.02,
            0.99,
            1.07,
            False,
            stats.NO_CHANGE,
        ),  # CI contains 1, and a 5 % change would have shown (mde 3 %)
        (1.30, 1.20, 1.40, False, stats.IMPROVED),
        (1.30, 1.20, 1.40, True, stats.REGRESSED),
        (0.70, 0.60, 0.80, True, stats.IMPROVED),
        (1.01, 0.98, 1.03, False, stats.NO_CHANGE),
        (1.03, 1.01, 1.04, False, stats.NO_CHANGE),  # real but inside the tolerance
        (1.04, 1.01, 1.08, False, stats.INCONCLUSIVE),  # real, maybe beyond the tolerance
        (math.nan, math.nan, math.nan, False, stats.INCONCLUSIVE),
    ],
)
def test_verdict_table(ratio, low, high, lower_is_better, expected):
    assert (
        stats.verdict(ratio, low, high, lower_is_better=lower_is_better, tolerance=0.05, mde=0.03) == expected
    )


def test_a_ci_that_spans_no_change_is_inconclusive_when_the_run_could_not_see_the_tolerance():
    assert (
        stats.verdict(1.02, 0.99, 1.07, lower_is_better=False, tolerance=0.05, mde=0.08) == stats.INCONCLUSIVE
    )
    assert stats.verdict(1.02, 0.99, 1.07, lower_is_better=False, tolerance=0.05) == stats.INCONCLUSIVE


def test_halves_keep_measurement_order():
    assert stats.halves([1, 2, 3, 4, 5]) == ([1, 2], [3, 4, 5])


# --- interleaved A/B runs (the local kernel lab) ---


def test_paired_ratio_brackets_the_median_pair_ratio():
    ci = stats.paired_ratio([100, 102, 98, 101, 99], [50, 52, 49, 51, 48])
    assert ci.ratio == pytest.approx(0.5, abs=0.01)
    assert 0.47 < ci.low <= ci.ratio <= ci.high < 0.53


def test_paired_ratio_cancels_drift_between_pairs():
    # the host's level halves mid-run; B is 10% above A in every pair
    a = [100, 100, 50, 50, 100, 50]
    b = [110, 110, 55, 55, 110, 55]
    ci = stats.paired_ratio(a, b)
    assert ci.ratio == pytest.approx(1.1) and ci.low == pytest.approx(1.1) and ci.high == pytest.approx(1.1)


def test_verdict_claims_an_effect_only_with_the_ci_off_one_and_above_the_noise_floor():
    big_rise = stats.PairedRatio(3.0, 2.5, 3.5)
    small_rise = stats.PairedRatio(1.05, 1.01, 1.09)
    straddles = stats.PairedRatio(1.5, 0.8, 2.0)
    assert stats.ab_verdict(big_rise, higher_is_better=True, noise=0.1) == "better"
    assert stats.ab_verdict(big_rise, higher_is_better=False, noise=0.1) == "worse"
    assert stats.ab_verdict(small_rise, higher_is_better=True, noise=0.1) == "slightly better"
    assert stats.ab_verdict(small_rise, higher_is_better=False, noise=0.1) == "slightly worse"
    small_fall = stats.PairedRatio(0.84, 0.81, 0.86)  # VXLAN throughput on the project's VM
    assert stats.ab_verdict(small_fall, higher_is_better=True, noise=0.25) == "slightly worse"
    assert stats.ab_verdict(small_fall, higher_is_better=False, noise=0.25) == "slightly better"
    assert stats.ab_verdict(straddles, higher_is_better=True, noise=0.1) == "within noise"
    assert stats.ab_verdict(stats.PairedRatio(0.3, 0.2, 0.4), higher_is_better=True, noise=0.25) == "worse"


def test_pair_spread_is_zero_for_constant_ratios_and_grows_with_noise():
    assert stats.pair_spread([100, 50, 80, 60], [110, 55, 88, 66]) == pytest.approx(0.0, abs=1e-12)
    assert stats.pair_spread([100, 100, 100, 100], [80, 100, 120, 140]) > 0.2


def test_paired_ratio_refuses_unpaired_or_too_few_samples():
    with pytest.raises(InputError, match="at least 2 samples"):
        stats.paired_ratio([1.0], [2.0])
    with pytest.raises(InputError, match="equal counts"):
        stats.paired_ratio([1.0, 2.0], [2.0, 3.0, 4.0])


def test_intervals_are_memoised_on_their_exact_inputs():
    stats._cached_interval.cache_clear()
    values = normal(100, 5, 9, 2)
    first = stats.summarize(values, seed=3)
    assert stats.summarize(list(values), seed=3) == first
    assert stats._cached_interval.cache_info().hits == 1
    uncached = stats.percentile_bootstrap(
        (np.asarray(values),), np.median, confidence=0.95, seed=3
    )  # the same interval computed afresh
    assert (first.ci_low, first.ci_high) == uncached
    changed = [  # any input changed is a miss, computed for those inputs
        (values, 4, 0.95),
        (values, 3, 0.9),
        ([*values[:-1], values[-1] + 1e-9], 3, 0.95),
        (values[::-1], 3, 0.95),  # the same values in another order resample otherwise
    ]
    for vals, seed, confidence in changed:
        got = stats.summarize(vals, seed=seed, confidence=confidence)
        fresh = stats.percentile_bootstrap((np.asarray(vals),), np.median, confidence=confidence, seed=seed)
        assert (got.ci_low, got.ci_high) == fresh
    assert stats._cached_interval.cache_info().hits == 1
    assert stats._cached_interval.cache_info().misses == 5
    ratio = stats.ratio_ci(np.asarray(values[:4]), np.asarray(values[4:]), confidence=0.95, seed=0)
    swapped = stats.ratio_ci(np.asarray(values[4:]), np.asarray(values[:4]), confidence=0.95, seed=0)
    assert stats._cached_interval.cache_info().misses == 7 and ratio != swapped
