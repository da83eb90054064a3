"""Medians with bootstrap CIs, before/after verdicts by metric direction, noise and detectable effect."""

import math

import numpy as np
import pytest

from cilium_lab.bench import stats


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
