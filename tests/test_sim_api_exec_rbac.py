"""The README's Access section: the embedded cluster, "as Kubernetes 1.35 does, checks `create` as well as
`get` on a websocket exec" (before 1.35, a websocket exec is a GET and `get` alone decides). Users holding
`get`, `create` or both on pods/exec run `uname -r` in an agent pod through the library's own exec, on the
series' Kubernetes 1.26 and on 1.35."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from kubernetes import client
from rbac_flows import kubeconfig_for

from cilium_lab.cluster import apierrors, discover, rollout
from cilium_lab.cluster import exec as pod_exec
from cilium_lab.cluster.connect import connect
from cilium_lab.sim.cluster import EmbeddedCluster

NS = "kube-system"
VERBS = {"get only": ["get"], "create only": ["create"], "get and create": ["get", "create"]}


@pytest.fixture(scope="module", params=["v1.26.6+k3s1", "v1.35.0"])
def users(request, tmp_path_factory):
    """One cluster of that Kubernetes version, and a connection per user, each holding one set of verbs."""
    cluster = EmbeddedCluster(profile="seed-mixed", seed=0)
    cluster.backend.profile = dataclasses.replace(cluster.backend.profile, kubernetes_version=request.param)
    with cluster:
        admin = connect(str(cluster.kubeconfig))
        rollout.wait(admin, discover.find(admin), timeout=20)
        rbac = client.RbacAuthorizationV1Api(admin.api_client)
        conns = {}
        for i, (case, verbs) in enumerate(VERBS.items()):
            name = f"exec-{i}"
            token = cluster.add_user(name)
            rule = {"apiGroups": [""], "resources": ["pods/exec"], "verbs": verbs}
            rbac.create_namespaced_role(NS, {"metadata": {"name": name}, "rules": [rule]})
            subject = {"kind": "User", "name": name, "apiGroup": "rbac.authorization.k8s.io"}
            ref = {"kind": "Role", "name": name, "apiGroup": "rbac.authorization.k8s.io"}
            rbac.create_namespaced_role_binding(
                NS, {"metadata": {"name": name}, "roleRef": ref, "subjects": [subject]}
            )
            folder = Path(tmp_path_factory.mktemp(name))
            conns[case] = connect(kubeconfig_for(folder, str(cluster.kubeconfig), token))
        agent = next(iter(discover.find(admin).agents.values())).name
        yield request.param, agent, conns


@pytest.mark.parametrize("case", sorted(VERBS))
def test_a_websocket_exec_needs_get_and_from_1_35_create_too(users, case):
    version, pod, conns = users
    allowed = "get" in VERBS[case] and ("create" in VERBS[case] or version.startswith("v1.26"))
    if allowed:
        done = pod_exec.run(conns[case], NS, pod, ["uname", "-r"], container="cilium-agent", timeout=20)
        assert done.code == 0 and done.stdout.strip()
    else:
        with pytest.raises(apierrors.Forbidden, match="pods/exec"):
            pod_exec.run(conns[case], NS, pod, ["uname", "-r"], container="cilium-agent", timeout=20)
