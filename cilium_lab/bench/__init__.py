"""Benchmarks between pods: netperf in labelled pods, repeated samples, CIs, a results store.

The public entry points for labs and the CLI (each a single call from a notebook cell):

- `measure(conn, lab=, phase=, store=, simulated=, tests=, scenario=, samples=, duration=, streams=)`
  deploys the benchmark pods, runs every test `samples` times and appends each sample to `store`
  as it finishes; the pods are removed at the end, on error and on Ctrl-C.
- `compare(store, lab, before="before", after="after")` gives one row per test, scenario and
  metric: medians, ratio after/before with a bootstrap CI, verdict and minimum detectable effect.
- `summary(store_or_frame)` gives medians with CIs per lab, phase, scenario, test and metric.

Modules: `netperf` (commands, parsing), `scenarios`, `pods` (deployment), `runner`, `tables` (summary,
compare), `fingerprint`; the statistics and the results store are `cilium_lab.results`.
"""

from cilium_lab.bench.netperf import TESTS
from cilium_lab.bench.runner import DEFAULT_TESTS, Measurement, measure
from cilium_lab.bench.scenarios import SCENARIOS
from cilium_lab.bench.tables import compare, summary
from cilium_lab.results.store import ResultStore, load_all, new_run_id

__all__ = [
    "DEFAULT_TESTS",
    "SCENARIOS",
    "TESTS",
    "Measurement",
    "ResultStore",
    "compare",
    "load_all",
    "measure",
    "new_run_id",
    "summary",
]
