"""Issue 17 point 3: the live code path on a real control plane with the emulated nodes
(`cilium_lab.sim.nodeside`), with exactly the roles deploy/rbac.yaml ships, as the control plane's kubeconfig
holds them (context `operator`: group cilium-lab-operators, nothing else): the scorecard, a benchmark, a
cluster-wide change, a canary that crash-loops and is rolled back, a canary change, a stalled rollout rolled
back and a restore of the first backup; then lab 15's host tuning and its restore as a user in the groups the
README gives that flow. The flows are the ones `rbac_flows` runs on the embedded cluster, so what passes there
must pass here. Needs the control plane's kubelet endpoints (exec: the agents' status verifies a change)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import rbac_flows
import real_nodes
from test_change_apply import clear_on_rollback

from cilium_lab.change import outcomes
from cilium_lab.change.backups import backup
from cilium_lab.change.config import applying as change_apply
from cilium_lab.change.config.planning import plan
from cilium_lab.cli import main
from cilium_lab.cluster import configmaps, discover, nodeconfig, objects, rollout, snapshot
from cilium_lab.cluster.connect import Connection, connect
from cilium_lab.sim.nodeside.real_cluster import RealControlPlaneCluster

pytestmark = [pytest.mark.controlplane, pytest.mark.xdist_group("controlplane")]
NS = "kube-system"
BENCH_NS = "cilium-lab-bench"
ROLLOUT = real_nodes.ROLLOUT


@pytest.fixture(scope="module")
def real() -> Iterator[RealControlPlaneCluster]:
    with real_nodes.running("seed-mixed", exec_needed=True) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("live-path")


def as_context(real: RealControlPlaneCluster, context: str, folder: Path) -> tuple[str, Connection]:
    kubeconfig = real_nodes.as_context(real, context, folder)
    return kubeconfig, connect(kubeconfig)


def test_the_scorecard_as_operator(real: RealControlPlaneCluster, work: Path, capsys):
    kubeconfig, _ = as_context(real, "operator", work)
    assert main(["scorecard", "--cluster", "kube", "--kubeconfig", kubeconfig, "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    records = answer["records"] if isinstance(answer, dict) else answer
    assert {r["state"] for r in records} <= {"enabled", "can-enable", "blocked", "n/a"}
    assert any(r["state"] == "can-enable" for r in records)  # seed-mixed leaves much to do


def test_a_benchmark_as_operator(real: RealControlPlaneCluster, work: Path):
    """Benchmark pods the real scheduler binds and real Pod Security admits in cilium-lab-bench (privileged,
    as deploy/rbac.yaml labels it), run by the emulated kubelets; their samples are SIMULATED."""
    kubeconfig, conn = as_context(real, "operator", work)
    rbac_flows.bench(kubeconfig, conn, work / "operator", real)
    [samples] = (work / "operator" / "bench").glob("*/samples.jsonl")
    rows = [json.loads(line) for line in samples.read_text().splitlines()]
    assert {r["scenario"] for r in rows} == {"pod-to-pod", "host-to-host", "pod-to-service"}
    assert all(r["ok"] and r["label"] == "SIMULATED" for r in rows), [r for r in rows if not r["ok"]][:1]
    left = objects.request(
        conn, conn.core.list_namespaced_pod, BENCH_NS, verb="list", resource="pods", namespace=BENCH_NS
    )["items"]
    assert [p["metadata"]["name"] for p in left] == []  # removed at the end of the run


def test_a_change_its_rollback_and_a_canary_as_operator(real: RealControlPlaneCluster, work: Path):
    kubeconfig, conn = as_context(real, "operator", work)
    rbac_flows.change(kubeconfig, conn, work / "operator", real)  # asserts applied, rolled back, applied
    config = configmaps.read(conn, NS, "cilium-config").data
    assert config != dict(real.profile.cilium_config)  # native routing, cluster-wide
    assert [
        c["metadata"]["name"] for c in nodeconfig.list_all(conn, NS, real.profile.cilium_version)
    ]  # the vm-1 canary's override
    install = discover.find(conn)
    assert all(a.ready for a in install.agents.values())


def test_a_stuck_rollout_is_rolled_back_as_operator(real: RealControlPlaneCluster, work: Path):
    """The new agents never start (the emulated kubelets hold them), so the real DaemonSet rollout stalls
    after its first replaced pod; the change times out and rolls back, and the rollout of the backup's
    config completes once the fault clears."""
    _, conn = as_context(real, "operator", work)
    before = configmaps.read(conn, NS, "cilium-config").data
    real.faults.stuck_rollout()
    try:
        planned = plan(snapshot.take(conn), "kube-proxy-replacement")
        report = change_apply.apply(
            conn, planned, approved=True, timeout=15, results_dir=str(work / "stuck"),
            progress=clear_on_rollback(real),
        )  # fmt: skip
    finally:
        real.faults.clear()
    assert report.outcome == outcomes.ROLLED_BACK and "did not finish within 15s" in report.message, (
        report.to_text()
    )
    assert configmaps.read(conn, NS, "cilium-config").data == before
    result = rollout.wait(conn, discover.find(conn), timeout=ROLLOUT)
    assert result.state == rollout.DONE, result.message


def test_a_restore_as_operator(real: RealControlPlaneCluster, work: Path):
    kubeconfig, conn = as_context(real, "operator", work)
    if not backup.list_backups(conn, NS):
        # this module's control plane was started again since the change test ran on it (xdist may run
        # another module's tests between two of this one's, and pytest then tears the module fixture down):
        # make the change here, so that there is something to restore
        rbac_flows.change(kubeconfig, conn, work / "operator-again", real)
    assert backup.list_backups(conn, NS), "a change saved backups"
    rbac_flows.restore(kubeconfig, conn, work / "operator", real)  # the first backup: before any change
    assert configmaps.read(conn, NS, "cilium-config").data == dict(real.profile.cilium_config)
    assert nodeconfig.list_all(conn, NS, real.profile.cilium_version) == []
    result = rollout.wait(conn, discover.find(conn), timeout=ROLLOUT)
    assert result.state == rollout.DONE, result.message


def test_host_tuning_and_restore_host_as_a_host_operator(real: RealControlPlaneCluster, work: Path):
    """Lab 15's privileged host pods (real Pod Security admits them in cilium-lab-host, labelled privileged by
    deploy/rbac.yaml) as a user in exactly the groups the README gives the host flow. The kubeconfig's
    `host-operator` holds cilium-lab-host-operators alone, which cannot read the cluster (its snapshot is
    refused), so this user comes from a CertificateSigningRequest, as an admin would add one."""
    kubeconfig = real_nodes.add_user(
        real.kubeconfig,
        "host-flow",
        (rbac_flows.INSPECT, rbac_flows.STATUS, rbac_flows.HOST),
        work / "host-flow",
    )
    before = {n: dict(real.backend.hosts.node(n).host) for n in ("vm-1", "board-1")}
    rbac_flows.host_tuning(
        kubeconfig, connect(kubeconfig), work / "host-flow", real
    )  # apply, then restore-host
    # restore-host put back what the backup read (IRQ affinities it read as defaults are now written out)
    after = {n: dict(real.backend.hosts.node(n).host) for n in before}
    assert {n: {k: after[n].get(k) for k in settings} for n, settings in before.items()} == before
