"""One measurement: deploy the benchmark pods, run every test N times, store each sample as it ends.

Called by labs and the CLI through `bench.measure`; calls `bench.pods` (deployment), `cluster.exec`
(netperf in the client pod), `bench.netperf` (command and parsing), `results.store` (rows),
`bench.fingerprint` and `ui.progress`. Samples are interleaved (sample 1 of every test and
scenario, then sample 2, ...) so a slow drift of the cluster spreads over all tests instead of
biasing the last one. A failed sample is stored with its reason and the measurement goes on.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from cilium_lab import limits
from cilium_lab.bench import fingerprint, netperf, pods, scenarios, tables
from cilium_lab.cluster import exec as pod_exec
from cilium_lab.cluster import snapshot as cluster_snapshot
from cilium_lab.cluster.connect import Connection
from cilium_lab.errors import ClusterError, InputError
from cilium_lab.results.labels import LIVE, SIMULATED
from cilium_lab.results.store import ResultStore, SampleRow, check_word
from cilium_lab.ui import progress

DEFAULT_TESTS = ("TCP_STREAM", "TCP_RR", "TCP_CRR")
EXEC_GRACE = 60.0  # s on top of the netperf duration before an exec counts as hung


@dataclass(frozen=True)
class Measurement:
    """What one `measure` call stored: its rows, their summary, and where they live."""

    store: ResultStore
    lab: str
    phase: str
    simulated: bool
    client_node: str
    server_node: str
    samples: pd.DataFrame  # the rows this call appended

    @functools.cached_property
    def summary(self) -> pd.DataFrame:
        """Computed once (bootstrap CIs are not free): callers read it, none changes it."""
        return tables.summary(self.samples)

    @property
    def failed(self) -> int:
        return int((~self.samples["ok"].astype(bool)).sum()) if not self.samples.empty else 0


@dataclass(frozen=True)
class Plan:
    tests: tuple[str, ...]
    scenarios: tuple[scenarios.Scenario, ...]
    samples: int
    duration: int
    streams: int


def plan(
    *, tests: Sequence[str] | str, scenario: Sequence[str] | str, samples: int, duration: int, streams: int
) -> Plan:
    """Validate every argument before anything touches the cluster."""
    names = [t.strip() for t in (tests.split(",") if isinstance(tests, str) else tests) if t.strip()]
    if not names:
        raise InputError(f"give at least one test: {', '.join(netperf.TESTS)}")
    for name in names:
        netperf.check_test(name)
        netperf.streams_for(name, streams)
    limits.whole("samples", samples, limits.SAMPLES)
    limits.whole("streams", streams, limits.STREAMS)
    return Plan(
        tuple(dict.fromkeys(names)),
        tuple(scenarios.resolve(scenario)),
        samples,
        netperf.check_duration(duration),
        streams,
    )


def measure(
    conn: Connection,
    *,
    lab: str,
    phase: str,
    store: ResultStore,
    simulated: bool,
    tests: Sequence[str] | str = DEFAULT_TESTS,
    scenario: Sequence[str] | str = scenarios.DEFAULT_SCENARIO,
    samples: int = 5,
    duration: int = 10,
    streams: int = 4,
    client_node: str | None = None,
    server_node: str | None = None,
    image: str = pods.DEFAULT_IMAGE,
    progress_bar: bool = True,
    interactive: bool = True,
    snapshot: cluster_snapshot.Snapshot | None = None,
) -> Measurement:
    """Measure `tests` x `scenario` `samples` times each and append every sample to `store`.

    `snapshot`, when the caller has one taken since the cluster last changed, is the fingerprint's
    source; otherwise a fresh snapshot is taken.
    """
    check_word(lab, "lab")
    check_word(phase, "phase")
    p = plan(tests=tests, scenario=scenario, samples=samples, duration=duration, streams=streams)
    multi = streams if "TCP_STREAM_MULTI" in p.tests else 1
    before = store.frame()  # read once: where this measurement's rows start, and its first sample index
    start_rows, offset = len(before), _next_index(before, lab, phase)
    with pods.deployed(
        conn,
        run_id=store.run_id,
        chosen=list(p.scenarios),
        client_node=client_node,
        server_node=server_node,
        image=image,
        streams=multi,
    ) as deployment:
        nodes = (deployment.client_node, deployment.server_node)
        print_ = (
            fingerprint.from_snapshot(snapshot, nodes=nodes)
            if snapshot is not None
            else fingerprint.collect(conn, simulated=simulated, nodes=nodes)
        )
        store.add_fingerprint(lab=lab, phase=phase, fingerprint=print_)
        _run_all(
            conn,
            deployment,
            p,
            offset=offset,
            store=store,
            lab=lab,
            phase=phase,
            simulated=simulated,
            bar=progress_bar,
            interactive=interactive,
        )
    rows = store.frame().iloc[start_rows:].reset_index(drop=True)
    return Measurement(store, lab, phase, simulated, deployment.client_node, deployment.server_node, rows)


def _run_all(
    conn: Connection,
    deployment: pods.Deployment,
    p: Plan,
    *,
    offset: int,
    store: ResultStore,
    lab: str,
    phase: str,
    simulated: bool,
    bar: bool,
    interactive: bool,
) -> None:
    steps = len(p.tests) * len(p.scenarios)
    label = f"lab {lab} {phase}" + (f" ({SIMULATED})" if simulated else "")
    progress.announce(label, samples=p.samples, tests=steps, duration=p.duration)
    with progress.bar(p.samples * steps, desc=label, enabled=bar, interactive=interactive) as counter:
        for index in range(offset, offset + p.samples):
            for scenario in p.scenarios:
                for test in p.tests:
                    result = run_sample(
                        conn, deployment, scenario, test, duration=p.duration, streams=p.streams
                    )
                    rows = rows_for(
                        result,
                        store=store,
                        lab=lab,
                        phase=phase,
                        scenario=scenario,
                        test=test,
                        p=p,
                        index=index,
                        deployment=deployment,
                        simulated=simulated,
                    )
                    store.append_all(rows)
                    counter.update(1)


def run_sample(
    conn: Connection,
    deployment: pods.Deployment,
    scenario: scenarios.Scenario,
    test: str,
    *,
    duration: int,
    streams: int,
) -> netperf.RunResult:
    """One netperf run in the scenario's client pod; an exec that fails is a failed sample."""
    client, target = deployment.endpoints(scenario)
    count = netperf.streams_for(test, streams)
    ports = list(pods.service_ports(count)[1:]) if scenario.via_service else None
    argv = netperf.command(test, target, duration, streams=count, data_ports=ports)
    try:
        out = pod_exec.run(conn, deployment.namespace, client.name, argv, timeout=duration + EXEC_GRACE)
    except ClusterError as err:
        return netperf.RunResult(False, reason=f"exec failed: {err}")
    return netperf.parse(out.stdout, test=test, streams=count, code=out.code, stderr=out.stderr)


def rows_for(
    result: netperf.RunResult,
    *,
    store: ResultStore,
    lab: str,
    phase: str,
    scenario: scenarios.Scenario,
    test: str,
    p: Plan,
    index: int,
    deployment: pods.Deployment,
    simulated: bool,
) -> list[SampleRow]:
    """One row per metric; a failed sample gives one row per metric the test would have reported."""
    metrics = ["throughput"] if "STREAM" in test else ["transaction_rate", *netperf.LATENCY_METRICS]
    client, _ = deployment.endpoints(scenario)
    server = deployment.pods[scenario.server_role]
    now = time.time()
    return [
        SampleRow(
            run_id=store.run_id,
            lab=lab,
            phase=phase,
            scenario=scenario.name,
            test=test,
            streams=netperf.streams_for(test, p.streams),
            metric=metric,
            value=result.values.get(metric) if result.ok else None,
            unit=netperf.UNITS[metric],
            client_node=client.node,
            server_node=server.node,
            sample=index,
            timestamp=now,
            ok=result.ok,
            reason=result.reason,
            simulated=simulated,
            duration=p.duration,
            label=SIMULATED if simulated else LIVE,
        )
        for metric in metrics
    ]


def _next_index(frame: pd.DataFrame, lab: str, phase: str) -> int:
    mine = frame[(frame["lab"] == lab) & (frame["phase"] == phase)]
    return int(mine["sample"].max()) + 1 if not mine.empty else 0
