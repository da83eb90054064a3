"""Restore with exactly the roles of deploy/rbac.yaml on the embedded cluster (which enforces RBAC for token
users): the read-only role lists backups and plans a restore but cannot apply it (refused before anything
changes); the operator role restores a scoped change (cilium-config, node configs, node labels, agent pods)."""

from __future__ import annotations

import pytest
from restore_helpers import BOARDS, NS, VMS, our_labels, routing, series, state
from test_cluster_rbac import _kubeconfig

from cilium_lab.change.backups import backup
from cilium_lab.change.backups import restoring as restore
from cilium_lab.cluster import apierrors, discover, rollout
from cilium_lab.cluster.connect import connect

sim_cluster = pytest.importorskip("cilium_lab.sim.cluster")


def test_inspect_role_plans_and_operator_role_restores(tmp_path):
    with sim_cluster.EmbeddedCluster(profile="seed-mixed", seed=0) as embedded:
        admin = connect(str(embedded.kubeconfig))
        rollout.wait(admin, discover.find(admin), timeout=20)
        _, host_routing = series(admin, tmp_path)
        users = {}
        for name, group in (("ro", "cilium-lab-inspectors"), ("op", "cilium-lab-operators")):
            (tmp_path / name).mkdir()
            token = embedded.add_user(name, (group,))
            users[name] = connect(_kubeconfig(tmp_path / name, str(embedded.kubeconfig), token))
        reader, operator = users["ro"], users["op"]

        stamp = host_routing.backup_configmap.removeprefix(backup.PREFIX)
        assert stamp in [b.stamp for b in backup.list_backups(reader, NS)]
        saved = restore.find(reader, NS, stamp)
        assert restore.restore_backup(reader, saved, approved=False).outcome == restore.PLANNED
        before = state(admin)
        with pytest.raises(
            apierrors.Forbidden, match="cannot create leases in kube-system; the operator role"
        ):
            restore.restore_backup(reader, saved, approved=True, timeout=20, results_dir=str(tmp_path / "ro"))
        assert state(admin) == before

        report = restore.restore_backup(operator, saved, approved=True, timeout=20, results_dir=str(tmp_path))
        assert report.outcome == restore.RESTORED, report.to_text()
        assert state(admin)["cncs"] == {} and our_labels(admin) == {n: {} for n in (*BOARDS, *VMS)}
        assert routing(admin) == dict.fromkeys((*BOARDS, *VMS), ("Legacy", "BPF"))
