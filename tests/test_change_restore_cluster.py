"""Backups know their cluster, on the embedded cluster: every backup (file and ConfigMap) records kube-system's
uid and the API server's host; a restore of another cluster's backup is refused with one line naming both
clusters and --other-cluster, changes nothing, and goes ahead only with other_cluster=True (said in the report);
a backup written before identities were recorded is accepted and the plan says it could not be checked; the
identity read is the one extra permission deploy/rbac.yaml grants (get namespaces/kube-system); without it a
backup is still made, naming no cluster, and a restore plan is a one-line Forbidden that names the role."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from restore_helpers import CM, NS, VERSION, state
from test_cluster_rbac import _kubeconfig

from cilium_lab.change.backups import backup
from cilium_lab.change.backups import restoring as restore
from cilium_lab.change.backups.backup_format import MANAGED_BY
from cilium_lab.cluster import apierrors, configmaps, discover, identity, objects, rollout
from cilium_lab.cluster.connect import connect
from cilium_lab.errors import InputError

sim_cluster = pytest.importorskip("cilium_lab.sim.cluster")


@pytest.fixture(scope="module")
def two():
    """Two embedded clusters of the same profile: same namespace, same ConfigMap name, other clusters."""
    with (
        sim_cluster.EmbeddedCluster(profile="seed-mixed", seed=0) as a,
        sim_cluster.EmbeddedCluster(profile="seed-mixed", seed=0) as b,
    ):
        conns = connect(str(a.kubeconfig)), connect(str(b.kubeconfig))
        for conn in conns:
            rollout.wait(conn, discover.find(conn), timeout=20)
        yield conns


def _uid(conn) -> str:
    ns = objects.request(
        conn, conn.core.read_namespace, "kube-system", verb="get", resource="namespaces", name="kube-system"
    )
    return ns["metadata"]["uid"]


def test_every_backup_records_its_cluster(two, tmp_path):
    a, b = two
    saved = backup.save(a, NS, CM, VERSION, tmp_path)
    here = identity.read(a)
    assert here.uid == _uid(a) and here.uid != _uid(b)
    assert here.server == a.server.removeprefix("https://") and here.server.startswith("127.0.0.1:")
    assert (saved.cluster_uid, saved.cluster_server) == (here.uid, here.server)
    assert json.loads(Path(saved.path).read_text())["cluster"] == {"uid": here.uid, "server": here.server}
    loaded = backup.load(a, NS, saved.stamp)
    assert (loaded.cluster_uid, loaded.cluster_server) == (here.uid, here.server)
    assert backup.load_file(saved.path).cluster == f"{here.uid} (API server {here.server})"


def test_another_clusters_backup_is_refused_unless_asked_for(two, tmp_path):
    a, b = two
    saved = backup.save(a, NS, CM, VERSION, tmp_path)
    configmaps.patch(b, NS, CM, {"cilium-lab-test": "1"})  # so a restore on b has work to do
    try:
        from_file = restore.find(b, NS, from_file=saved.path)
        before = state(b)
        with pytest.raises(restore.ForeignBackup) as caught:
            restore.restore_backup(b, from_file, approved=True, timeout=20, results_dir=str(tmp_path / "b"))
        message = str(caught.value)
        assert (
            "\n" not in message
            and f"backup {saved.stamp} ({saved.path}) belongs to another cluster" in message
        )
        assert f"{_uid(a)} (API server {identity.read(a).server})" in message
        assert f"this cluster is {_uid(b)} (API server {identity.read(b).server})" in message
        assert "--other-cluster" in message
        assert state(b) == before and not (tmp_path / "b").exists()
        # also without approval: even the plan of another cluster's backup is refused
        with pytest.raises(restore.ForeignBackup):
            restore.restore_backup(b, from_file, approved=False)

        planned = restore.restore_backup(b, from_file, approved=False, other_cluster=True)
        assert planned.outcome == restore.PLANNED and planned.diff.added == {"cilium-lab-test": "1"}
        assert any("belongs to another cluster" in w and "--other-cluster" in w for w in planned.warnings)
        assert "warning: backup" in planned.to_text() and state(b) == before
        assert planned.to_record()["backup_cluster"]["uid"] == _uid(a)
        assert planned.to_record()["cluster_uid"] == _uid(b)

        done = restore.restore_backup(
            b, from_file, approved=True, other_cluster=True, timeout=20, results_dir=str(tmp_path / "b")
        )
        assert done.outcome == restore.RESTORED, done.to_text()
        assert configmaps.read(b, NS, CM).data == saved.data
        assert done.undo is not None and done.undo.cluster_uid == _uid(b)  # the undo is b's own
    finally:
        configmaps.patch(b, NS, CM, {"cilium-lab-test": None})


def _older(saved: backup.Backup, tmp_path) -> str:
    """The backup's file as cilium-lab wrote it before backups recorded their cluster."""
    record = json.loads(Path(saved.path).read_text())
    del record["cluster"]
    path = tmp_path / "old" / Path(saved.path).name
    path.parent.mkdir()
    path.write_text(json.dumps(record))
    return str(path)


def test_a_backup_from_before_identities_is_accepted_and_the_plan_says_so(two, tmp_path):
    a, _ = two
    saved = backup.save(a, NS, CM, VERSION, tmp_path)
    old = restore.find(a, NS, from_file=_older(saved, tmp_path))
    assert old.cluster_uid == "" and old.cluster == ""
    configmaps.patch(a, NS, CM, {"cilium-lab-test": "1"})
    try:
        planned = restore.restore_backup(a, old, approved=False)
        assert planned.outcome == restore.PLANNED
        assert planned.warnings[0] == (
            f"backup {saved.stamp} records no cluster identity (written before cilium-lab recorded one):"
            " check yourself that it is this cluster's"
        )
        assert "records no cluster identity" in planned.to_text()
        assert planned.to_record()["backup_cluster"] is None
    finally:
        configmaps.patch(a, NS, CM, {"cilium-lab-test": None})
    # the ConfigMap of an older backup (no cluster-uid key) reads the same way
    stamp = "20200101-000000-000002"
    data = {"configmap": CM, "data.json": json.dumps(saved.data), "node-configs.json": "[]"}
    configmaps.create(a, NS, backup.PREFIX + stamp, data, dict(MANAGED_BY))
    try:
        assert backup.load(a, NS, stamp).cluster_uid == ""
        assert restore.restore_backup(a, backup.load(a, NS, stamp), approved=False).outcome == (
            restore.NOTHING_TO_DO
        )
    finally:
        configmaps.delete(a, NS, backup.PREFIX + stamp)


def _file_with(tmp_path, saved: backup.Backup, cluster: object) -> str:
    record = {**json.loads(Path(saved.path).read_text()), "cluster": cluster}
    path = tmp_path / "bad" / Path(saved.path).name
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(record))
    return str(path)


@pytest.mark.parametrize(
    "case",
    ["cluster a string", "uid a number", "server a list", "other_cluster a string"],
)
def test_bad_identity_input_is_one_line_and_changes_nothing(two, tmp_path, case):
    a, _ = two
    saved = backup.save(a, NS, CM, VERSION, tmp_path)
    before = state(a)
    with pytest.raises(InputError) as caught:
        if case == "cluster a string":
            restore.find(a, NS, from_file=_file_with(tmp_path, saved, "abc"))
        elif case == "uid a number":
            restore.find(a, NS, from_file=_file_with(tmp_path, saved, {"uid": 7, "server": "x"}))
        elif case == "server a list":
            restore.find(a, NS, from_file=_file_with(tmp_path, saved, {"uid": "u", "server": ["x"]}))
        else:
            restore.restore_backup(a, saved, approved=False, other_cluster="yes")
    message = str(caught.value)
    assert message and "\n" not in message, message
    assert state(a) == before


def _without_namespace_rule(admin) -> None:
    """deploy/rbac.yaml (which the embedded cluster holds) as it was before backups recorded their cluster:
    no get on namespaces/kube-system."""
    from kubernetes import client as k8s

    rbac = k8s.RbacAuthorizationV1Api(admin.api_client)
    role = rbac.read_cluster_role("cilium-lab-inspect", _preload_content=False).json()
    role["rules"] = [r for r in role["rules"] if "namespaces" not in r["resources"]]
    rbac.replace_cluster_role("cilium-lab-inspect", role, _preload_content=False)


def test_without_the_namespace_read_a_backup_names_no_cluster_and_a_plan_is_refused_with_the_role(tmp_path):
    with sim_cluster.EmbeddedCluster(profile="seed-mixed", seed=0) as embedded:
        admin = connect(str(embedded.kubeconfig))
        saved = backup.save(admin, NS, CM, VERSION, tmp_path)
        _without_namespace_rule(admin)
        operator = connect(
            _kubeconfig(
                tmp_path, str(embedded.kubeconfig), embedded.add_user("op", ("cilium-lab-operators",))
            )
        )
        # an older RBAC manifest must not stop changes: their backup is kept, without a cluster identity
        unproven = backup.save(operator, NS, CM, VERSION, tmp_path / "op")
        assert unproven.cluster_uid == "" and unproven.data == saved.data
        before = state(admin)
        # a restore cannot check which cluster it is on without the read: refused, naming the role
        with pytest.raises(apierrors.Forbidden) as caught:
            restore.restore_backup(operator, saved, approved=False)
        message = str(caught.value)
        assert message.startswith("forbidden: cannot get namespaces; the read-only role cilium-lab-inspect")
        assert "\n" not in message
        assert state(admin) == before
