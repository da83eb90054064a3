"""Run local-lab knobs: fresh topology per knob, interleaved A/B samples, statistics, result records.

Called by `cilium_lab.locallab.run` (notebooks) and `cilium-lab local`; calls `locallab.probe`,
`locallab.topology`, the knobs' steps and `locallab.stats`. Results are LOCAL KERNEL measurements:
real packets between namespaces on this host, never a cluster measurement and never SIMULATED.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from statistics import median

from cilium_lab.errors import InputError
from cilium_lab.locallab import knobs as knob_registry
from cilium_lab.locallab import probe, stats, topology
from cilium_lab.locallab.measure import TESTS
from cilium_lab.locallab.topology import Topology

LABEL = "LOCAL KERNEL"
DEFAULT_SAMPLES, DEFAULT_SECONDS = 5, 1  # all knobs in ~3 minutes on 2 cores

Progress = Callable[[str], None]


@dataclass(frozen=True)
class KnobResult:
    """One test of one knob: A against B; ratio = median of the per-pair ratios B_i/A_i (pairs measured
    back to back) with a bootstrap CI; median_a/median_b are the arms' own medians."""

    knob: str
    test: str
    metric: str
    unit: str
    a: str
    b: str
    samples: int
    values_a: tuple[float, ...] = ()
    values_b: tuple[float, ...] = ()
    median_a: float | None = None
    median_b: float | None = None
    ratio: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    verdict: str = ""
    pair_spread: float | None = None  # IQR/median of the per-pair ratios: the host's noise during the run
    label: str = LABEL
    note: str = ""
    source: str = ""
    reason: str = ""  # why the knob was skipped, when it was

    def record(self) -> dict[str, object]:
        """A JSON-ready dict."""
        out = asdict(self)
        out["values_a"], out["values_b"] = list(self.values_a), list(self.values_b)
        return out


def run(
    knobs: Sequence[str] = (),
    *,
    samples: int = DEFAULT_SAMPLES,
    duration: int = DEFAULT_SECONDS,
    progress: Progress | None = None,
) -> list[KnobResult]:
    """Measure each knob (all when empty) on this host; knobs this host can't run come back skipped."""
    if samples < 2:
        raise InputError(f"samples must be at least 2 per arm (got {samples}): a CI needs spread")
    if duration < 1 or int(duration) != duration:
        raise InputError(f"duration must be a whole number of seconds >= 1 (got {duration})")
    chosen = knob_registry.resolve(tuple(knobs))
    say = progress or (lambda _msg: None)
    with topology.interrupt_on_term():  # from the first namespace the probe makes, not only the topology's
        return _run(chosen, samples, duration, say)


def _run(
    chosen: Sequence[knob_registry.Knob], samples: int, duration: int, say: Progress
) -> list[KnobResult]:
    support = probe.support(chosen, probe.detect())
    results: list[KnobResult] = []
    for knob in chosen:
        reason = support[knob.name]
        if reason:
            say(f"{knob.name}: skipped: {reason}")
            results += [_skipped(knob, test, reason, samples) for test in knob.tests]
            continue
        say(f"{knob.name}: {knob.a_label} vs {knob.b_label}, {samples} x {duration} s each, interleaved")
        values = measure_knob(knob, samples=samples, seconds=int(duration), progress=say)
        results += [_compare(knob, test, values, samples) for test in knob.tests]
    return results


def measure_knob(
    knob: knob_registry.Knob, *, samples: int, seconds: int, progress: Progress
) -> dict[str, dict[str, list[float]]]:
    """Raw values per arm and test: {'a': {test: [...]}, 'b': {...}}, pair i of each list measured back to
    back (order alternating AB, BA, ...) in one topology."""
    values: dict[str, dict[str, list[float]]] = {
        "a": {t: [] for t in knob.tests},
        "b": {t: [] for t in knob.tests},
    }
    with Topology() as topo:
        knob.setup(topo)
        arms = (("a", knob.apply_a), ("b", knob.apply_b))
        for i in range(samples):
            for arm, apply in arms if i % 2 == 0 else arms[::-1]:  # A B, B A, ...: cancels linear drift
                apply(topo)
                for test, value in knob.sample(topo, arm, seconds=seconds).items():
                    values[arm][test].append(value)
            progress(f"  sample {i + 1}/{samples} done")
    return values


def _compare(
    knob: knob_registry.Knob, test: str, values: dict[str, dict[str, list[float]]], n: int
) -> KnobResult:
    a, b = values["a"][test], values["b"][test]
    spec = TESTS[test]
    ci = stats.paired_ratio(a, b)
    return KnobResult(
        knob.name, test, spec.metric, spec.unit, knob.a_label, knob.b_label, n,
        values_a=tuple(a), values_b=tuple(b), median_a=median(a), median_b=median(b),
        ratio=ci.ratio, ci_low=ci.low, ci_high=ci.high,
        verdict=stats.verdict(ci, higher_is_better=spec.higher_is_better, noise=spec.noise),
        pair_spread=stats.pair_spread(a, b),
        note=knob.note, source=knob.source,
    )  # fmt: skip


def _skipped(knob: knob_registry.Knob, test: str, reason: str, n: int) -> KnobResult:
    spec = TESTS[test]
    return KnobResult(
        knob.name, test, spec.metric, spec.unit, knob.a_label, knob.b_label, n,
        verdict="skipped", reason=reason, note=knob.note, source=knob.source,
    )  # fmt: skip
