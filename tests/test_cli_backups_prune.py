"""`cilium-lab backups --prune --keep N [--approve]` on the embedded cluster through the CLI entry point: without
--approve it lists the backup ConfigMaps it would delete, oldest first, and deletes nothing; with it, all but
the newest N are gone from the cluster while the files on disk, an older version's lock ConfigMap and anything
that does not read as a backup stay; the read-only role may look but not delete; bad N is one line, exit 2, nothing deleted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from restore_helpers import CM, NS, VERSION
from test_cluster_rbac import _kubeconfig

from cilium_lab.change import lock
from cilium_lab.change.backups import backup, backup_prune
from cilium_lab.change.backups.backup_format import MANAGED_BY
from cilium_lab.cli import main
from cilium_lab.cluster import configmaps, objects
from cilium_lab.cluster.connect import connect
from cilium_lab.errors import InputError

sim_cluster = pytest.importorskip("cilium_lab.sim.cluster")
UNREADABLE = backup.PREFIX + "not-a-stamp"  # carries our label and prefix, but is no backup


@pytest.fixture
def cluster(tmp_path):
    """A cluster holding five backups (oldest first), an older version's lock ConfigMap and an unreadable
    look-alike, while a change holds the lease."""
    with sim_cluster.EmbeddedCluster(profile="seed-mixed", seed=0) as embedded:
        conn = connect(str(embedded.kubeconfig))
        saved = [backup.save(conn, NS, CM, VERSION, tmp_path / "runs") for _ in range(5)]
        configmaps.create(conn, NS, UNREADABLE, {"configmap": CM}, dict(MANAGED_BY))
        legacy = {"holder": "alice@jumphost", "since": "2024-01-01T00:00:00+00:00", "purpose": "apply bbr"}
        configmaps.create(conn, NS, lock.NAME, legacy, dict(MANAGED_BY))
        held = lock.acquire(conn, NS, holder="alice@jumphost", purpose="apply bbr")
        yield embedded, conn, saved
        lock.release(conn, held)


def _configmaps(conn) -> list[str]:
    listing = objects.request(
        conn, conn.core.list_namespaced_config_map, NS, verb="list", resource="configmaps", namespace=NS
    )
    return sorted(objects.name_of(c) for c in listing["items"])


def _on(embedded) -> list[str]:
    return ["--cluster", "kube", "--kubeconfig", str(embedded.kubeconfig)]


def test_prune_lists_then_deletes_all_but_the_newest_n(cluster, capsys):
    embedded, conn, saved = cluster
    before = _configmaps(conn)
    assert main(["backups", "--prune", "--keep", "2", *_on(embedded)]) == 0
    out, err = capsys.readouterr()
    oldest = [b.stamp for b in saved[:3]]
    assert out.splitlines()[0] == (
        f"SIMULATED: would delete 3 backup ConfigMap(s) in {NS}, oldest first; the newest 2 stay"
        f" (oldest kept: {saved[3].stamp})"
    )
    assert [line.split()[0] for line in out.splitlines()[1:4]] == oldest
    assert "backup files on disk (<results_dir>/backups/<stamp>-<configmap>.json) stay" in out
    assert "to delete them: cilium-lab backups --prune --keep 2 --approve --cluster kube --kubeconfig" in out
    assert f"skipped configmap {NS}/{UNREADABLE} is not a cilium-lab backup" in err
    assert _configmaps(conn) == before  # nothing deleted without --approve

    assert main(["backups", "--prune", "--keep", "2", "--approve", "--json", *_on(embedded)]) == 0
    record = json.loads(capsys.readouterr().out)
    assert [r["stamp"] for r in record["deleted"]] == oldest and record["approved"] is True
    assert [r["stamp"] for r in record["kept"]] == [saved[4].stamp, saved[3].stamp]
    after = _configmaps(conn)
    assert set(before) - set(after) == {backup.PREFIX + s for s in oldest}
    assert {lock.NAME, UNREADABLE, CM} <= set(after)
    assert all(json.loads(Path(b.path).read_text())["data"] == b.data for b in saved)  # the files stay

    # the default keeps 10: nothing more to delete, and the text says so
    assert main(["backups", "--prune", "--approve", *_on(embedded)]) == 0
    assert capsys.readouterr().out == f"SIMULATED: 2 backup(s) in {NS}, at most 10 kept: nothing to delete\n"
    assert _configmaps(conn) == after


def test_the_read_only_role_may_look_but_not_delete(cluster, tmp_path, capsys):
    embedded, conn, _ = cluster
    reader = _kubeconfig(
        tmp_path, str(embedded.kubeconfig), embedded.add_user("ro", ("cilium-lab-inspectors",))
    )
    before = _configmaps(conn)
    target = ["--cluster", "kube", "--kubeconfig", reader]
    assert main(["backups", "--prune", "--keep", "1", *target]) == 0
    assert "would delete 4 backup ConfigMap(s)" in capsys.readouterr().out
    assert main(["backups", "--prune", "--keep", "1", "--approve", *target]) == 3  # the cluster stopped us
    *warnings, error = capsys.readouterr().err.splitlines()
    assert error.startswith(
        "cilium-lab: error: forbidden: cannot delete configmaps in kube-system; the operator role"
    )
    assert all(w.startswith("cilium-lab: warning: skipped") for w in warnings)  # the look-alike
    assert _configmaps(conn) == before


BAD = {
    "keep zero": (
        ["--prune", "--keep", "0", "--approve"],
        "--keep must be a whole number of backups to keep",
    ),
    "keep negative": (["--prune", "--keep=-1", "--approve"], "1 to 10000, got '-1'; nothing deleted"),
    "keep a word": (["--prune", "--keep", "ten", "--approve"], "got 'ten'"),
    "keep a fraction": (["--prune", "--keep", "1.5", "--approve"], "got '1.5'"),
    "keep a superscript": (["--prune", "--keep", "²", "--approve"], "got '²'"),
    "keep empty": (["--prune", "--keep", "", "--approve"], "got ''"),
    "keep without prune": (["--keep", "3"], "--keep and --approve go with --prune"),
    "approve without prune": (["--approve"], "--keep and --approve go with --prune"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line_exit_2_and_deletes_nothing(cluster, capsys, case):
    embedded, conn, _ = cluster
    argv, expected = BAD[case]
    before = _configmaps(conn)
    assert main(["backups", *argv, *_on(embedded)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("cilium-lab: error: ") and err.count("\n") == 1 and expected in err, (
        err
    )
    assert _configmaps(conn) == before


@pytest.mark.parametrize("keep", [0, -3, True, 2.0, "two", None])
def test_the_library_refuses_a_bad_keep(keep):
    with pytest.raises(InputError, match="--keep must be a whole number"):
        backup_prune.check_keep(keep)


def test_the_library_wants_approval_as_a_bool(cluster):
    _, conn, _ = cluster
    before = _configmaps(conn)
    with pytest.raises(InputError, match="approved must be True or False, got 'yes'"):
        backup_prune.prune(conn, NS, 1, approved="yes")
    assert _configmaps(conn) == before
