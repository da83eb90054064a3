"""deploy/rbac.yaml on the embedded cluster (which enforces RBAC for token users): the read-only role can
snapshot, and cannot patch cilium-config; the operator role can."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kubernetes import client as k8s

from cilium_lab.cluster import apierrors, configmaps, snapshot
from cilium_lab.cluster.connect import connect

sim_cluster = pytest.importorskip("cilium_lab.sim.cluster")
MANIFEST = Path(__file__).resolve().parents[1] / "deploy" / "rbac.yaml"


def _install(admin) -> None:
    rbac = k8s.RbacAuthorizationV1Api(admin.api_client)
    create = {
        "Namespace": lambda d: admin.core.create_namespace(d, _preload_content=False),
        "ClusterRole": lambda d: rbac.create_cluster_role(d, _preload_content=False),
        "Role": lambda d: rbac.create_namespaced_role(d["metadata"]["namespace"], d, _preload_content=False),
        "ClusterRoleBinding": lambda d: rbac.create_cluster_role_binding(d, _preload_content=False),
        "RoleBinding": lambda d: rbac.create_namespaced_role_binding(
            d["metadata"]["namespace"], d, _preload_content=False
        ),
    }
    for doc in yaml.safe_load_all(MANIFEST.read_text()):
        create[doc["kind"]](doc)


def _kubeconfig(tmp_path, embedded_kubeconfig: str, token: str) -> str:
    """The embedded cluster's kubeconfig (server, CA) with another user's token."""
    doc = yaml.safe_load(Path(embedded_kubeconfig).read_text())
    doc["users"] = [{"name": "u", "user": {"token": token}}]
    doc["contexts"] = [{"name": "u", "context": {"cluster": doc["clusters"][0]["name"], "user": "u"}}]
    doc["current-context"] = "u"
    path = tmp_path / "user.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def test_manifest_roles_grant_what_the_flows_need(tmp_path):
    with sim_cluster.EmbeddedCluster(profile="seed-mixed", seed=0) as embedded:
        admin = connect(str(embedded.kubeconfig))
        _install(admin)
        reader = connect(
            _kubeconfig(
                tmp_path, str(embedded.kubeconfig), embedded.add_user("ro", ("cilium-lab-inspectors",))
            )
        )
        snap = snapshot.take(reader)
        assert len(snap.nodes) == 6 and snap.problems == {}
        assert all(n.status is not None for n in snap.nodes)  # the agents' status was read by exec
        with pytest.raises(
            apierrors.Forbidden, match="cannot patch configmaps in kube-system; the operator role"
        ):
            configmaps.patch(reader, "kube-system", "cilium-config", {"x": "1"})
        (tmp_path / "op").mkdir()
        operator = connect(
            _kubeconfig(
                tmp_path / "op", str(embedded.kubeconfig), embedded.add_user("op", ("cilium-lab-operators",))
            )
        )
        assert (
            configmaps.patch(operator, "kube-system", "cilium-config", {"cilium-lab-test": "1"}).data[
                "cilium-lab-test"
            ]
            == "1"
        )
