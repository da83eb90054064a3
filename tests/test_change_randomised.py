"""Randomised: apply and restore on one embedded cluster, each with a fault or a real signal at a random
point (an API error on the Nth call of a verb and resource, SIGINT or SIGTERM at the Nth progress line,
an agent that crash-loops whatever its config). After each run, whatever happened: the cluster runs
either exactly what it ran before (cilium-config equal, node configs and our labels as before) or the
new state, verified; the lock is free; no journal is open unless the exit code is 6, and then
`recover` finishes it and the cluster is as before. A report never disagrees with the cluster."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_change_transaction import lock_free

from cilium_lab.change import journal, outcomes, recovery
from cilium_lab.change.backups import restoring
from cilium_lab.change.backups.backup_diff import read_live
from cilium_lab.change.config import applying
from cilium_lab.change.config.planning import plan
from cilium_lab.cluster import configmaps, discover, rollout, snapshot
from cilium_lab.cluster.connect import Connection, connect
from cilium_lab.errors import ClusterError
from cilium_lab.sim.cluster import EmbeddedCluster

pytestmark = pytest.mark.slow
NS, CM = "kube-system", "cilium-config"
CALLS = [("patch", "configmaps"), ("update", "configmaps"), ("patch", "daemonsets"), ("get", "daemonsets"),
         ("list", "pods"), ("create", "configmaps"), ("delete", "configmaps"), ("list", "nodes")]  # fmt: skip


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmbeddedCluster, Connection, Path]]:
    with EmbeddedCluster(profile="seed-mixed", seed=0) as embedded:
        conn = connect(str(embedded.kubeconfig))
        rollout.wait(conn, discover.find(conn), timeout=20)
        yield embedded, conn, tmp_path_factory.mktemp("runs")


def _state(conn: Connection) -> tuple:
    live = read_live(conn, discover.find(conn))
    ours = {
        n: {k: v for k, v in labels.items() if k.startswith("cilium-lab.io/")}
        for n, labels in live.node_labels.items()
    }
    return live.data, sorted(c["metadata"]["name"] for c in live.node_configs), ours


def _signal_at(index: int, sig: int):
    seen = [0]

    def progress(line: str) -> None:
        seen[0] += 1
        if seen[0] == index:
            os.kill(os.getpid(), sig)

    return progress


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    operation=st.sampled_from(["apply", "restore"]),
    kind=st.sampled_from(["api error", "SIGINT", "SIGTERM", "crash loop", "none"]),
    point=st.integers(min_value=1, max_value=14),
    call=st.sampled_from(CALLS),
)
def test_no_run_leaves_an_unverified_change_a_held_lock_or_a_report_that_disagrees(
    cluster, operation, kind, point, call
):
    embedded, conn, runs = cluster
    embedded.faults.clear()
    before = _state(conn)
    progress = None
    if kind == "api error":
        embedded.faults.api_error(call[0], call[1], 500, after=point, times=3)
    elif kind in ("SIGINT", "SIGTERM"):
        progress = _signal_at(point, getattr(signal, kind))
    elif kind == "crash loop":
        embedded.faults.crash_loop("vm-2")
    try:
        if operation == "apply":
            planned = plan(snapshot.take(conn), "kube-proxy-replacement")
            report = applying.apply(
                conn, planned, approved=True, timeout=10, results_dir=str(runs), progress=progress
            )
            applied = report.outcome in (outcomes.APPLIED, outcomes.SKIPPED) and report.exit_code == 0
        else:
            first = min(
                restoring.backups.list_backups(conn, NS) or [None], key=lambda b: b.stamp if b else ""
            )
            if first is None:
                return  # nothing to restore yet
            report = restoring.restore_backup(conn, first, approved=True, timeout=10, results_dir=str(runs),
                                              progress=progress)  # fmt: skip
            applied = report.outcome in (restoring.RESTORED, restoring.NOTHING_TO_DO)
            if applied:
                assert configmaps.read(conn, NS, CM).data == first.data  # verified as the backup
    except ClusterError:  # refused before the first write: nothing changed
        embedded.faults.clear()
        assert _state(conn) == before and lock_free(conn)
        assert journal.cluster_journals(conn, NS) == []
        return
    embedded.faults.clear()
    assert lock_free(conn), report
    code = report.exit_code
    if code == 6:  # unfinished: the journal says so, and recover puts the state before back
        found = recovery.find(conn, NS, [runs])
        assert found, "an unfinished change must leave its journal"
        for entry in found:
            done = recovery.finish(conn, NS, entry, say=lambda _: None, timeout=20, results_dir=runs)
            assert done.outcome == outcomes.ROLLED_BACK, done.message
        assert _state(conn)[0] == before[0]
    elif applied:
        assert code == 0
    else:
        assert code in (5, 130, 143), (code, report)
        assert _state(conn) == before, report
    assert journal.cluster_journals(conn, NS) == [] and journal.disk_journals(runs) == []
