"""Seeded measurement noise: one netperf run drawn from an `Expectation`.

Draws from the cluster's seeded `random.Random`, so the same seed and the same sequence of commands give the
same numbers. The spread comes from (data/perfmodel.yaml `noise:`). Simplification: one log-normal draw per
run for the rate plus rare slow outliers; the latency percentiles are shaped from the run's mean by fixed
ratios fitted to real netperf output, widened by the path's jitter and load, not drawn from a histogram.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from cilium_lab.sim.perf import constants
from cilium_lab.sim.perf.network_model import Expectation


@dataclass(frozen=True)
class Sample:
    """One run's numbers, in netperf's units (rate: 10^6bits/s for STREAM, transactions/s otherwise)."""

    rate: float
    mean_us: float
    min_us: int
    p50_us: int
    p90_us: int
    p99_us: int
    max_us: int
    stddev_us: float
    retransmits: int


def sample(expectation: Expectation, rng: random.Random, duration: float = 10.0) -> Sample:
    """Draw one run of `duration` seconds."""
    noise = constants.value("noise")
    rate = expectation.rate * _lognormal(rng, expectation.cv)
    if rng.random() < noise["outlier_probability"]:
        rate *= rng.uniform(noise["outlier_low"], noise["outlier_high"])
    mean = expectation.latency_us * expectation.rate / rate
    return _shape(expectation, rng, rate, mean, duration)


def _lognormal(rng: random.Random, cv: float) -> float:
    """A multiplier with mean 1 and the given coefficient of variation."""
    sigma = math.sqrt(math.log(1 + cv * cv))
    return rng.lognormvariate(-sigma * sigma / 2, sigma)


def _shape(expectation: Expectation, rng: random.Random, rate: float, mean: float, duration: float) -> Sample:
    shape = constants.value("noise", "latency_shape")
    tail = expectation.tail
    p50 = mean * shape["p50"]
    p90 = max(p50, mean * (1 + shape["p90_excess"] * tail) * expectation.p90_load)
    p99 = max(p90, mean * (1 + shape["p99_excess"] * tail) * expectation.p99_load)
    peak = max(p99, mean * shape["max_median"] * tail * _lognormal(rng, 0.8))
    # STREAM latencies are per send() call: most calls return at once (netperf prints min 0 or 1)
    low = mean * (0.02 if expectation.kind == "stream" else shape["min"]) * rng.uniform(0.9, 1.1)
    retransmits = expectation.retransmits_per_s * duration * _lognormal(rng, 0.3)
    return Sample(
        rate=rate,
        mean_us=mean,
        min_us=int(low),  # netperf prints the integer part of its histogram bucket
        p50_us=round(p50),
        p90_us=round(p90),
        p99_us=round(p99),
        max_us=round(peak),
        stddev_us=mean * shape["stddev"] * tail * max(1.0, expectation.p99_load**0.5),
        retransmits=round(retransmits),
    )
