"""`cilium-lab unlock` and a change refused by a live lease, through the command line against an embedded cluster:
what it shows for no lease, a live one, an expired one and an older version's lock ConfigMap; what --approve and
--force delete; and the exit codes (0 shown or done, 3 refused). The refusals run in a subprocess, the rest
through the same entry point in-process (a subprocess costs seconds on a loaded machine)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from restore_helpers import CM, NS, VERSION

from cilium_lab.change import lock
from cilium_lab.change.backups import backup
from cilium_lab.change.backups.backup_format import MANAGED_BY
from cilium_lab.cli import main
from cilium_lab.cluster import configmaps, leases
from cilium_lab.cluster.connect import connect

sim_cluster = pytest.importorskip("cilium_lab.sim.cluster")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def shared():
    with sim_cluster.EmbeddedCluster(profile="seed-mixed", seed=0) as embedded:
        yield embedded, connect(str(embedded.kubeconfig))


@pytest.fixture
def conn(shared):
    embedded, conn = shared
    yield conn
    for key, name in (("leases.coordination.k8s.io", lock.NAME), ("configmaps", lock.NAME)):
        if embedded.backend.store.find(key, NS, name):
            embedded.backend.store.delete(key, NS, name)


def _on(embedded) -> list[str]:
    return ["--cluster", "kube", "--kubeconfig", embedded.kubeconfig]


def run(embedded, capsys, *args: str) -> tuple[int, str, str]:
    code = main([*args, *_on(embedded)])
    out, err = capsys.readouterr()
    return code, out, err


def cli(embedded, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "cilium_lab.cli",
        *args,
        "--cluster",
        "kube",
        "--kubeconfig",
        embedded.kubeconfig,
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        command, capture_output=True, text=True, timeout=120, env=env, stdin=subprocess.DEVNULL
    )


def _expired(conn) -> None:
    old = leases.micro_time(datetime.now(UTC) - timedelta(minutes=10))
    spec = {"holderIdentity": "dead@laptop pid 9 run 0bad", "acquireTime": old, "renewTime": old,
            "leaseDurationSeconds": 30}  # fmt: skip
    leases.create(conn, leases.body(NS, lock.NAME, spec, annotations={lock.PURPOSE: "apply bbr"}))


def test_nothing_to_unlock(shared, conn, capsys):
    assert run(shared[0], capsys, "unlock") == (0, f"no change lease in {NS}: nothing to unlock\n", "")


def test_a_live_lease_is_shown_refused_without_force_and_broken_with_it(shared, conn, capsys):
    embedded, _ = shared
    held = lock.acquire(conn, NS, holder="alice@jumphost pid 1 run ab", purpose="apply bbr")
    try:
        code, out, _ = run(embedded, capsys, "unlock")
        assert code == 0
        assert out.startswith(f"lease {NS}/{lock.NAME}: held by alice@jumphost pid 1 run ab since 20")
        assert "(apply bbr); live: renewed" in out and "--approve --force" in out
        refused = cli(embedded, "unlock", "--approve")
        assert refused.returncode == 3, refused.stderr
        assert refused.stderr.startswith(
            "nothing deleted: the lease is live: alice@jumphost pid 1 run ab renews it"
        )
        assert lock.status(conn, NS) is not None and not held.lost
        code, out, _ = run(embedded, capsys, "unlock", "--approve", "--force")
        assert code == 0 and out.splitlines()[-1] == f"deleted lease {NS}/{lock.NAME}"
        assert lock.status(conn, NS) is None
        deadline = time.monotonic() + 20
        while not held.lost and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "someone else took over or deleted it" in held.lost_reason  # found at its next renewal
    finally:
        lock.release(conn, held)


def test_an_expired_lease_and_an_old_lock_configmap_are_shown_and_deleted_with_approve(shared, conn, capsys):
    embedded, _ = shared
    _expired(conn)
    data = {
        "holder": "bob@old pid 3",
        "since": "2024-05-06T07:08:09+00:00",
        "purpose": "apply bbr",
        "ttl": "1800",
    }
    configmaps.create(conn, NS, lock.NAME, data, dict(MANAGED_BY))
    code, out, _ = run(embedded, capsys, "unlock")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3
    assert "held by dead@laptop pid 9 run 0bad since" in lines[0] and lines[0].endswith(
        "ago (renewTime + 30 s)"
    )
    assert "; expired 10 min ago" in lines[0]
    assert lines[1].startswith(
        f"configmap {NS}/{lock.NAME}: the lock of an older cilium-lab (holder bob@old pid 3"
    )
    assert lines[2].startswith("nothing deleted; to delete: cilium-lab unlock --cluster kube --kubeconfig ")
    assert lock.status(conn, NS) is not None and lock.legacy_lock(conn, NS) is not None
    code, out, _ = run(embedded, capsys, "unlock", "--approve")
    assert code == 0 and out.splitlines()[-2:] == [
        f"deleted lease {NS}/{lock.NAME}",
        f"deleted configmap {NS}/{lock.NAME}",
    ]
    assert lock.status(conn, NS) is None and lock.legacy_lock(conn, NS) is None


def test_a_change_is_refused_with_exit_3_while_another_live_run_holds_the_lease(shared, conn, tmp_path):
    embedded, _ = shared
    saved = backup.save(conn, NS, CM, VERSION, tmp_path)
    configmaps.patch(conn, NS, CM, {"enable-bandwidth-manager": "true"})  # so the restore has work to do
    held = lock.acquire(conn, NS, holder="alice@jumphost pid 1 run ab", purpose="apply bbr")
    try:
        before = configmaps.read(conn, NS, CM)
        done = cli(embedded, "restore", saved.stamp, "--approve", "--results-dir", str(tmp_path))
        assert done.returncode == 3, done.stderr
        assert done.stderr.startswith(
            "cilium-lab: error: another change holds the lock: alice@jumphost pid 1 run ab"
        )
        assert done.stderr.count("\n") == 1 and "(apply bbr)" in done.stderr
        assert configmaps.read(conn, NS, CM) == before
    finally:
        lock.release(conn, held)
