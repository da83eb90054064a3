"""The flows of cilium-lab, each run on the embedded cluster as one user holding only the groups of
deploy/rbac.yaml that the README says the flow needs; the cluster's audit log then tells which calls each
flow made (test_cluster_rbac derives the permissions from it). Each flow runs through the same entry points
a user would: the CLI, or the change functions a lab notebook calls."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from cilium_lab.change import lock, outcomes
from cilium_lab.change.backups import backup
from cilium_lab.change.config import applying as change_apply
from cilium_lab.change.config.planning import plan
from cilium_lab.change.host import host_restore
from cilium_lab.change.host import tuning as host
from cilium_lab.cli import main
from cilium_lab.cluster import leases, snapshot
from cilium_lab.cluster.connect import Connection, connect

INSPECT, STATUS = "cilium-lab-inspectors", "cilium-lab-status-readers"
OPERATE, BENCH, HOST = "cilium-lab-operators", "cilium-lab-benchmarkers", "cilium-lab-host-operators"
NS = "kube-system"


def kubeconfig_for(path: Path, embedded_kubeconfig: str, token: str) -> str:
    """The embedded cluster's kubeconfig (server, CA) with another user's token."""
    doc = yaml.safe_load(Path(embedded_kubeconfig).read_text())
    doc["users"] = [{"name": "u", "user": {"token": token}}]
    doc["contexts"] = [{"name": "u", "context": {"cluster": doc["clusters"][0]["name"], "user": "u"}}]
    doc["current-context"] = "u"
    path.mkdir(parents=True, exist_ok=True)
    (path / "user.yaml").write_text(yaml.safe_dump(doc))
    return str(path / "user.yaml")


def _cli(*argv: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(list(argv))
    assert code == 0, f"cilium-lab {' '.join(argv)} exited {code}"


def scorecard(kubeconfig: str, conn: Connection, work: Path, embedded) -> None:
    _cli("scorecard", "--cluster", "kube", "--kubeconfig", kubeconfig, "--json")


def bench(kubeconfig: str, conn: Connection, work: Path, embedded) -> None:
    _cli("bench", "--cluster", "kube", "--kubeconfig", kubeconfig, "--samples", "2", "--duration", "1",
         "--scenario", "pod-to-pod,host-to-host,pod-to-service", "--tests", "TCP_RR",
         "--results-dir", str(work / "bench"), "--json")  # fmt: skip


def stale_lock(embedded) -> None:
    """The lease a killed run left (as the admin): the next change reads it and takes it over."""
    long_ago = leases.micro_time(datetime(2000, 1, 1, tzinfo=UTC))
    dead = {
        "holderIdentity": "gone@nowhere pid 1",
        "acquireTime": long_ago,
        "renewTime": long_ago,
        "leaseDurationSeconds": 30,
    }
    leases.create(connect(str(embedded.kubeconfig)), leases.body(NS, lock.NAME, dead))


def change(kubeconfig: str, conn: Connection, work: Path, embedded) -> None:
    """A cluster-wide change (taking over a stale lock), a canary that crash-loops and is rolled back, and a
    canary change."""
    stale_lock(embedded)
    results = str(work / "change")
    for item, nodes, want in (
        ("native-routing", None, outcomes.APPLIED),
        ("kube-proxy-replacement", ["vm-2"], outcomes.ROLLED_BACK),
        ("kube-proxy-replacement", ["vm-1"], outcomes.APPLIED),
    ):
        params = {"pod_cidr": "10.42.0.0/16"} if item == "native-routing" else {}
        embedded.faults.clear()
        if want == outcomes.ROLLED_BACK:
            embedded.faults.crash_loop("vm-2")
        planned = plan(snapshot.take(conn), item, nodes=nodes, **params)
        # the crash stands for the change's own config: it clears when the rollback begins
        clear = lambda line: line.startswith("rolling back") and embedded.faults.clear()  # noqa: E731
        report = change_apply.apply(
            conn, planned, approved=True, timeout=20, results_dir=results, progress=clear
        )
        assert report.outcome == want, report.to_text()
    embedded.faults.clear()


def restore(kubeconfig: str, conn: Connection, work: Path, embedded) -> None:
    """Back to the first backup the change flow saved (it undoes the cluster-wide and the canary change)."""
    stamps = sorted(b.stamp for b in backup.list_backups(conn, NS))
    _cli("restore", stamps[0], "--cluster", "kube", "--kubeconfig", kubeconfig, "--approve",
         "--results-dir", str(work / "restore"), "--timeout", "20")  # fmt: skip


def restore_plan(kubeconfig: str, conn: Connection, work: Path, embedded) -> None:
    """What a read-only user may do with the backups: list them and plan a restore (changes nothing)."""
    stamps = sorted(b.stamp for b in backup.list_backups(conn, NS))
    _cli("backups", "--cluster", "kube", "--kubeconfig", kubeconfig)
    _cli("restore", stamps[0], "--cluster", "kube", "--kubeconfig", kubeconfig)


def prune(kubeconfig: str, conn: Connection, work: Path, embedded) -> None:
    _cli("backups", "--prune", "--keep", "1", "--approve", "--cluster", "kube", "--kubeconfig", kubeconfig)


def host_tuning(kubeconfig: str, conn: Connection, work: Path, embedded) -> None:
    """Lab 15's apply on two nodes (taking over a stale lock), then restore-host from the backup it saved."""
    stale_lock(embedded)
    planned = host.plan_host(snapshot.take(conn), nodes=["vm-1", "board-1"])
    report = host.apply_host(conn, planned, approved=True, results_dir=work / "host", timeout=20)
    assert report.outcome == outcomes.APPLIED, report.to_text()
    _cli("restore-host", report.backup_path, "--cluster", "kube", "--kubeconfig", kubeconfig, "--approve",
         "--results-dir", str(work / "host-undo"))  # fmt: skip
    assert host_restore.load(report.backup_path).nodes


@dataclass(frozen=True)
class Flow:
    name: str
    groups: tuple[str, ...]
    run: Callable[[str, Connection, Path, object], None]


# in the order they run on one cluster: restore needs the change's backups, prune the restore's
FLOWS = (
    Flow("scorecard", (INSPECT, STATUS), scorecard),
    Flow("bench", (INSPECT, STATUS, BENCH), bench),
    Flow("change", (INSPECT, STATUS, OPERATE), change),
    Flow("backups and a restore plan", (INSPECT,), restore_plan),
    Flow("restore", (INSPECT, STATUS, OPERATE), restore),
    Flow("backups --prune", (INSPECT, OPERATE), prune),
    Flow("host tuning and restore-host", (INSPECT, STATUS, HOST), host_tuning),
)


def run_all(embedded, work: Path, flows=FLOWS) -> dict[str, str]:
    """Run each flow as its own user; returns flow name -> that user's name in the audit log."""
    users = {}
    for i, flow in enumerate(flows):
        user = f"flow-{i}"
        token = embedded.add_user(user, flow.groups)
        kubeconfig = kubeconfig_for(work / user, str(embedded.kubeconfig), token)
        flow.run(kubeconfig, connect(kubeconfig), work / user, embedded)
        users[flow.name] = user
    return users
