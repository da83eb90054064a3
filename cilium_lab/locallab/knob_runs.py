"""Run local-lab knobs: fresh topology per knob, interleaved A/B samples, statistics, result records.

Called by `cilium_lab.locallab.run` (notebooks) and `cilium-lab local`; calls `locallab.probe`,
`locallab.topology`, the knobs' steps, and the statistics and results store the cluster benchmarks
use (`cilium_lab.results`). Every sample is a store row labelled LOCAL KERNEL, appended as soon as it
is measured (phase "A" or "B", scenario = the knob, nodes = the node namespaces), with one fingerprint
per knob and arm saying what the arm was and on which kernel. Results are real packets between
namespaces on this host, never a cluster measurement and never SIMULATED.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from statistics import median

from cilium_lab.errors import InputError
from cilium_lab.locallab import knobs as knob_registry
from cilium_lab.locallab import probe, topology
from cilium_lab.locallab.measure import TESTS
from cilium_lab.locallab.topology import Topology
from cilium_lab.results import stats
from cilium_lab.results.labels import LOCAL_KERNEL
from cilium_lab.results.store import ResultStore, SampleRow, check_word

LABEL = LOCAL_KERNEL
# 8 pairs: enough for a CI off 1 on the ~8 % effects (conntrack CRR, VXLAN throughput) of a quiet 2-vCPU host,
# where 5 often straddled 1; all knobs in ~5 minutes there
DEFAULT_SAMPLES, DEFAULT_SECONDS = 8, 1
DEFAULT_RESULTS_DIR = "runs"  # as the labs' results_dir and `cilium-lab bench`
ARMS = (("a", "A"), ("b", "B"))  # the knob's arm -> the store's phase

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
    run_id: str = ""  # the results store's run holding the samples
    counter: str = (
        ""  # a kernel counter read around each sample (the knob's Counter), on its first test's row
    )
    counter_a: float | None = None  # median growth per sample with A
    counter_b: float | None = None  # ... with B

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
    store: ResultStore | None = None,
    lab: str = "local",
) -> list[KnobResult]:
    """Measure each knob (all when empty) on this host; knobs this host can't run come back skipped.
    Every sample goes to `store` (default: a new run under runs/) as soon as it is measured."""
    check_run(samples, duration)
    check_word(lab, "lab")
    chosen = knob_registry.resolve(tuple(knobs))
    say = progress or (lambda _msg: None)
    with topology.interrupt_on_term():  # from the first namespace the probe makes, not only the topology's
        return _run(chosen, samples, duration, say, store, lab)


def check_run(samples: int, duration: int) -> None:
    """Refuse sample counts and durations that cannot give a paired CI, before anything is made."""
    if samples < 2:
        raise InputError(f"samples must be at least 2 per arm (got {samples}): a CI needs spread")
    if duration < 1 or int(duration) != duration:
        raise InputError(f"duration must be a whole number of seconds >= 1 (got {duration})")


def _run(
    chosen: Sequence[knob_registry.Knob],
    samples: int,
    duration: int,
    say: Progress,
    store: ResultStore | None,
    lab: str,
) -> list[KnobResult]:
    features = probe.detect()
    host = probe.host()  # once per run: the same for every knob and arm
    support = probe.support(chosen, features)
    results: list[KnobResult] = []
    for knob in chosen:
        reason = support[knob.name]
        if reason:
            say(f"{knob.name}: skipped: {reason}")
            results += [_skipped(knob, test, reason, samples) for test in knob.tests]
            continue
        store = store or ResultStore(DEFAULT_RESULTS_DIR)  # made only once something is measured
        say(f"{knob.name}: {knob.a_label} vs {knob.b_label}, {samples} x {duration} s each, interleaved")
        for arm, phase in ARMS:
            store.add_fingerprint(lab=lab, phase=phase, fingerprint=_fingerprint(knob, arm, features, host))
        values = measure_knob(
            knob, samples=samples, seconds=int(duration), progress=say, store=store, lab=lab
        )
        results += [_compare(knob, test, values, samples, store.run_id) for test in knob.tests]
    return results


def _fingerprint(
    knob: knob_registry.Knob, arm: str, features: probe.Features, host: dict[str, object]
) -> dict[str, object]:
    """What one arm was and where it ran: enough to tell two stored runs apart."""
    return {
        "label": LABEL,
        "knob": knob.name,
        "arm": knob.a_label if arm == "a" else knob.b_label,
        **host,
        "note": knob.note,
        "features": {name: reason or "yes" for name, reason in features.items()},
    }


def measure_knob(
    knob: knob_registry.Knob,
    *,
    samples: int,
    seconds: int,
    progress: Progress,
    store: ResultStore | None = None,
    lab: str = "local",
) -> dict[str, dict[str, list[float]]]:
    """Raw values per arm and test: {'a': {test: [...]}, 'b': {...}}, pair i of each list measured back to
    back (order alternating AB, BA, ...) in one topology. Each value is appended to `store` at once."""
    values: dict[str, dict[str, list[float]]] = {
        "a": {t: [] for t in knob.tests},
        "b": {t: [] for t in knob.tests},
    }
    first = _next_index(store, lab, knob.name) if store is not None else 0
    with Topology() as topo:
        knob.setup(topo)
        arms = (("a", knob.apply_a), ("b", knob.apply_b))
        for i in range(samples):
            for arm, apply in arms if i % 2 == 0 else arms[::-1]:  # A B, B A, ...: cancels linear drift
                apply(topo)
                before = knob.counter.read(topo) if knob.counter else 0
                for test, value in knob.sample(topo, arm, seconds=seconds).items():
                    values[arm][test].append(value)
                    if store is not None:
                        store.append(_row(store, lab, knob, arm, test, value, first + i, seconds))
                if knob.counter:
                    grown = knob.counter.read(topo) - before
                    values[arm].setdefault(knob.counter.metric, []).append(grown)
                    if store is not None:
                        row = _row(store, lab, knob, arm, knob.tests[0], grown, first + i, seconds)
                        store.append(replace(row, metric=knob.counter.metric, unit=knob.counter.unit))
            progress(f"  sample {i + 1}/{samples} done")
    return values


def _row(
    store: ResultStore,
    lab: str,
    knob: knob_registry.Knob,
    arm: str,
    test: str,
    value: float,
    index: int,
    seconds: int,
) -> SampleRow:
    spec = TESTS[test]
    return SampleRow(
        run_id=store.run_id,
        lab=lab,
        phase=dict(ARMS)[arm],
        scenario=knob.name,
        test=test,
        streams=1,
        metric=spec.metric,
        value=value,
        unit=spec.unit,
        client_node=knob.client.node,
        server_node=knob.server.node,
        sample=index,
        timestamp=time.time(),
        ok=True,
        reason="",
        simulated=False,
        duration=seconds,
        label=LABEL,
    )


def _next_index(store: ResultStore, lab: str, knob: str) -> int:
    """Sample indices continue across runs of one knob in one store, so pairs stay apart."""
    frame = store.frame()
    mine = frame[(frame["lab"] == lab) & (frame["scenario"] == knob)]
    return int(mine["sample"].max()) + 1 if not mine.empty else 0


def _compare(
    knob: knob_registry.Knob, test: str, values: dict[str, dict[str, list[float]]], n: int, run_id: str
) -> KnobResult:
    a, b = values["a"][test], values["b"][test]
    spec = TESTS[test]
    ci = stats.paired_ratio(a, b)
    return KnobResult(
        knob.name,
        test,
        spec.metric,
        spec.unit,
        knob.a_label,
        knob.b_label,
        n,
        values_a=tuple(a),
        values_b=tuple(b),
        median_a=median(a),
        median_b=median(b),
        ratio=ci.ratio,
        ci_low=ci.low,
        ci_high=ci.high,
        verdict=stats.ab_verdict(ci, higher_is_better=spec.higher_is_better, noise=spec.noise),
        pair_spread=stats.pair_spread(a, b),
        note=knob.note,
        source=knob.source,
        run_id=run_id,
        **_counter(knob, test, values),
    )


def _counter(knob: knob_registry.Knob, test: str, values: dict[str, dict[str, list[float]]]) -> dict:
    if knob.counter is None or test != knob.tests[0]:
        return {}
    grown = {arm: values[arm].get(knob.counter.metric) or [] for arm in ("a", "b")}
    if not (grown["a"] and grown["b"]):
        return {}
    return {"counter": knob.counter.metric, "counter_a": median(grown["a"]), "counter_b": median(grown["b"])}


def _skipped(knob: knob_registry.Knob, test: str, reason: str, n: int) -> KnobResult:
    spec = TESTS[test]
    return KnobResult(
        knob.name,
        test,
        spec.metric,
        spec.unit,
        knob.a_label,
        knob.b_label,
        n,
        verdict="skipped",
        reason=reason,
        note=knob.note,
        source=knob.source,
    )
