"""Benchmark runs own their pods: a second `cilium-lab bench` on the same nodes is refused (exit 3, one line
naming the first run, its holder and since when) while the first keeps every sample; the next run sweeps
what a dead run left (its liveness record expired) and never touches a live run's pods. On the embedded
cluster through its kubeconfig; the CLI runs as subprocesses, as two users would start it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cilium_lab import bench
from cilium_lab.bench import liveness
from cilium_lab.cluster import discover, leases, objects, rollout, workloads
from cilium_lab.cluster.connect import connect
from cilium_lab.results.store import read_samples
from cilium_lab.sim.cluster import EmbeddedCluster

pytestmark = pytest.mark.slow

NS = workloads.NAMESPACE
SAMPLES = 40
IMAGE = "quay.io/cilium/network-perf:x"


def _bench(kubeconfig: Path, results: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "cilium_lab.cli", "bench", "--cluster", "kube", "--kubeconfig", str(kubeconfig),
        "--tests", "TCP_RR", "--duration", "1", "--results-dir", str(results), "--json", *extra,
    ]  # fmt: skip


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}


def _running(conn) -> list[dict]:
    return [p for p in workloads.list_pods(conn, NS) if (p.get("status") or {}).get("phase") == "Running"]


def test_a_second_run_on_the_same_nodes_is_refused_and_the_first_keeps_every_sample(tmp_path):
    with EmbeddedCluster(profile="bench-2021", seed=0) as cluster:
        kubeconfig = Path(cluster.kubeconfig)
        conn = connect(str(kubeconfig))
        rollout.wait(conn, discover.find(conn), timeout=30)
        # the simulated netperf is instant: each exec answers 3 s late, so the first run measures for minutes,
        # until the second has been refused (then the delay is lifted and the first finishes quickly)
        cluster.faults.api_delay("*", "pods/exec", 3.0)
        first = subprocess.Popen(
            _bench(kubeconfig, tmp_path / "first", "--samples", str(SAMPLES)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        try:
            deadline = time.monotonic() + 120
            while not (liveness.records(conn, NS) and len(_running(conn)) >= 2):
                assert first.poll() is None, first.communicate()
                assert time.monotonic() < deadline, "the first run never started measuring"
                time.sleep(0.2)
            (record,) = liveness.records(conn, NS)
            second = subprocess.run(
                _bench(kubeconfig, tmp_path / "second", "--samples", "2"),
                capture_output=True,
                text=True,
                timeout=120,
                env=_env(),
            )
            assert first.poll() is None, "the first run had finished: the refusal proves nothing"
            cluster.faults.clear()
            out, err = first.communicate(timeout=300)
        finally:
            if first.poll() is None:
                first.kill()
        assert second.returncode == 3, second.stderr
        (line,) = second.stderr.strip().splitlines()
        assert line.startswith("cilium-lab: error: another benchmark run is measuring on the same nodes")
        assert f"run {record.run_id} of {record.holder} since {record.since} on bench-1, bench-2" in line
        assert f"pid {first.pid}" in record.holder
        assert first.returncode == 0, err
        assert {(r["metric"], r["samples"], r["failed"]) for r in json.loads(out)} >= {
            ("transaction_rate", SAMPLES, 0)
        }
        (run_dir,) = (tmp_path / "first").iterdir()
        assert run_dir.name == record.run_id
        frame = read_samples(run_dir / "samples.jsonl")
        assert len(frame) == SAMPLES * 7 and frame["ok"].all()  # the transaction rate and six latencies
        assert sorted(set(frame["sample"])) == list(range(SAMPLES))
        assert not liveness.records(conn, NS) and not workloads.list_pods(conn, NS)


def _pod(conn, name: str, node: str, run_id: str) -> None:
    spec = workloads.PodSpec(name, "server-pod", node, False, ("netserver", "-D"), IMAGE)
    workloads.create_pod(conn, NS, spec, run_id)


def _lease(run_id: str, nodes: str, renewed: datetime | str, duration: object = 30) -> dict:
    stamp = leases.micro_time(renewed) if isinstance(renewed, datetime) else renewed
    spec = {"holderIdentity": "someone@elsewhere pid 1", "acquireTime": stamp, "renewTime": stamp,
            "leaseDurationSeconds": duration}  # fmt: skip
    notes = {liveness.RUN_ID: run_id, liveness.NODES: nodes}
    return leases.body(NS, liveness.record_name(run_id), spec, labels=liveness.LABELS, annotations=notes)


def _record(conn, run_id: str, nodes: str, renewed: datetime, duration: int = 30) -> None:
    leases.create(conn, _lease(run_id, nodes, renewed, duration))


def test_a_dead_runs_pods_are_swept_and_a_live_runs_are_never_touched(tmp_path):
    with EmbeddedCluster(profile="seed-mixed", seed=0) as cluster:
        conn = connect(str(cluster.kubeconfig))
        rollout.wait(conn, discover.find(conn), timeout=30)
        workloads.ensure_namespace(conn)
        now = datetime.now(UTC)
        _record(conn, "dead-run", "vm-1,vm-2", now - timedelta(minutes=10))  # expired 9.5 minutes ago
        _pod(conn, "perf-dead", "vm-1", "dead-run")
        _pod(conn, "perf-orphan", "vm-2", "run-without-record")  # an older cilium-lab, or a record lost
        _record(conn, "live-run", "board-1,board-2", now, duration=600)
        _pod(conn, "perf-live", "board-1", "live-run")
        m = bench.measure(
            conn,
            lab="00",
            phase="before",
            store=bench.ResultStore(tmp_path, "next-run"),
            simulated=True,
            tests="TCP_RR",
            samples=2,
            duration=1,
            client_node="vm-1",
            server_node="vm-2",
            progress_bar=False,
        )
        assert m.failed == 0 and len(m.samples) == 2 * 7
        left = {
            objects.name_of(p): objects.labels(p)[workloads.RUN_LABEL] for p in workloads.list_pods(conn, NS)
        }
        assert left == {"perf-live": "live-run"}
        assert {r.run_id for r in liveness.records(conn, NS)} == {"live-run"}

        # the live run's nodes: refused, and its pod is still there
        with pytest.raises(liveness.RunHeld, match="run live-run of someone@elsewhere pid 1") as refused:
            bench.measure(
                conn,
                lab="00",
                phase="before",
                store=bench.ResultStore(tmp_path, "third-run"),
                simulated=True,
                tests="TCP_RR",
                samples=1,
                duration=1,
                client_node="board-2",
                server_node="board-1",
                progress_bar=False,
            )
        assert refused.value.exit_code == 3
        assert [objects.name_of(p) for p in workloads.list_pods(conn, NS)] == ["perf-live"]


def test_a_record_renewed_in_the_future_or_unreadable_counts_as_dead():
    now = datetime.now(UTC)

    def live(renewed: datetime | str, duration: object = 30) -> bool:
        return liveness.parse(_lease("x", "a,b", renewed, duration)).live()

    assert live(now)
    assert not live(now - timedelta(seconds=31))
    assert not live(now + timedelta(hours=1))
    assert not live("yesterday")
    assert not live(now.replace(tzinfo=None).isoformat())
    assert not live(now, float("nan"))
    assert not live(now, None)


def test_record_names_are_valid_and_distinct_for_every_run_id():
    names = {
        liveness.record_name(r) for r in ("20261205T154826Z-359272", "20261205t154826z-359272", "a_b", "a-b")
    }
    assert len(names) == 4
    assert all(n == n.lower() and "_" not in n for n in names)
