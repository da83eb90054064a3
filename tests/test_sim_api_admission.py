"""The embedded cluster admits and refuses as kube-apiserver does where the differential test found it did not
(`tests/test_controlplane_differential.py` compares these with a real one where Go is installed): Pod
Security admission, the name rules of Namespaces and Services, and Node objects or pods bound to nodes it runs
no kubelet for, which must leave its controllers running."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from cilium_lab.cluster import apierrors, discover, objects, privileged, rollout, workloads
from cilium_lab.cluster.connect import Connection, close, connect
from cilium_lab.errors import ClusterError
from cilium_lab.sim.cluster import EmbeddedCluster

IMAGE = "docker.io/library/busybox:1.36"


@pytest.fixture(scope="module")
def admin() -> Iterator[Connection]:
    with EmbeddedCluster(profile="modern", seed=0) as cluster:
        conn = connect(str(cluster.kubeconfig), context="admin")
        yield conn
        close(conn)


def _namespace(conn: Connection, name: str, level: str) -> None:
    body = {"metadata": {"name": name, "labels": {"pod-security.kubernetes.io/enforce": level}}}
    objects.request(conn, conn.core.create_namespace, body, verb="create", resource="namespaces")


def test_baseline_refuses_host_pods_with_the_plugins_words(admin):
    _namespace(admin, "hardened", "baseline")
    with pytest.raises(apierrors.Forbidden) as refused:
        privileged.create(admin, "node-1", image=IMAGE, run_id="r", namespace="hardened")
    assert (
        'pods "cilium-lab-host-node-1" is forbidden: violates PodSecurity "baseline:latest": host namespaces'
        ' (hostNetwork=true, hostPID=true), privileged (container "host" must not set'
        " securityContext.privileged=true)"
    ) in str(refused.value)
    plain = workloads.PodSpec("plain", "server", "node-1", False, ("true",), IMAGE)
    workloads.create_pod(admin, "hardened", plain, "r")  # baseline admits a plain pod


def test_restricted_asks_for_what_a_plain_pod_leaves_out(admin):
    _namespace(admin, "strict", "restricted")
    plain = workloads.PodSpec("plain", "server", "node-1", False, ("true",), IMAGE)
    with pytest.raises(apierrors.Forbidden) as refused:
        workloads.create_pod(admin, "strict", plain, "r")
    assert (
        'violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "netperf" must set'
        ' securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "netperf" must'
        ' set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "netperf" must'
        ' set securityContext.runAsNonRoot=true), seccompProfile (pod or container "netperf" must set'
        ' securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")'
    ) in str(refused.value)


def test_the_shipped_namespaces_admit_their_pods(admin):
    """deploy/rbac.yaml's cilium-lab-host and cilium-lab-bench enforce `privileged`."""
    name = privileged.create(admin, "nowhere", image=IMAGE, run_id="r")
    host_net = workloads.PodSpec("hostnet", "client", "nowhere", True, ("true",), IMAGE)
    workloads.create_pod(admin, workloads.NAMESPACE, host_net, "r")
    assert privileged.delete(admin, name)


@pytest.mark.parametrize(
    ("resource", "name", "words"),
    [
        ("namespaces", "a.b", "must not contain dots"),
        ("namespaces", "Bad_Name", "a lowercase RFC 1123 label must consist of"),
        ("namespaces", "n" * 64, "must be no more than 63 characters"),
        ("services", "1st", "a DNS-1035 label must consist of"),
    ],
)
def test_names_follow_each_resources_rule(admin, resource, name, words):
    body = {"metadata": {"name": name}}
    create = {"namespaces": lambda: admin.core.create_namespace(body, _preload_content=False),
              "services": lambda: admin.core.create_namespaced_service("default", {**body, "spec": {"ports": [{"port": 1}]}},
                                                                       _preload_content=False)}  # fmt: skip
    with pytest.raises(Exception) as refused:
        create[resource]()
    assert refused.value.status == 422 and words in refused.value.body


def test_a_node_or_pod_without_a_kubelet_here_leaves_the_controllers_running(admin):
    """A Node registered before its first status, and a pod bound to a node that does not exist, stay as they
    are (Pending; no Ready condition) while the DaemonSet controller goes on observing."""
    admin.core.create_node({"metadata": {"name": "registered"}}, _preload_content=False)
    name = privileged.create(admin, "no-such-node", image=IMAGE, run_id="r")
    install = discover.find(admin)
    before = objects.request(admin, admin.apps.read_namespaced_daemon_set, "cilium", install.namespace,
                             verb="get", resource="daemonsets")  # fmt: skip
    rollout.restart(admin, install.namespace, install.daemonset)
    result = rollout.wait(admin, install, timeout=60)
    assert result.state == rollout.DONE, result.message
    after = objects.request(admin, admin.apps.read_namespaced_daemon_set, "cilium", install.namespace,
                            verb="get", resource="daemonsets")  # fmt: skip
    assert after["status"]["observedGeneration"] == before["metadata"]["generation"] + 1
    time.sleep(0.2)  # several controller ticks
    pod = objects.request(
        admin, admin.core.read_namespaced_pod, name, privileged.NAMESPACE, verb="get", resource="pods"
    )
    assert pod["status"]["phase"] == "Pending"
    assert rollout.not_ready_nodes(admin, ["registered"]) == {"registered": "Ready=Unknown: no reason given"}


def test_a_pod_no_node_takes_says_why_as_the_scheduler_does(admin):
    spec = workloads.PodSpec("unplaced", "server", "no-such-node", False, ("true",), IMAGE)
    workloads.create_pod(admin, workloads.NAMESPACE, spec, "unplaced-run")
    nodes = len(discover.list_nodes(admin))
    with pytest.raises(ClusterError) as waited:
        workloads.wait_running(admin, workloads.NAMESPACE, "unplaced-run", {"unplaced"}, timeout=0.5)
    assert (
        f"unplaced: 0/{nodes} nodes are available: {nodes} node(s) didn't match Pod's node affinity/selector."
        f" preemption: 0/{nodes} nodes are available: {nodes} Preemption is not helpful for scheduling."
    ) in str(waited.value)
    pod = workloads.list_pods(admin, workloads.NAMESPACE, run_id="unplaced-run")[0]
    version = pod["metadata"]["resourceVersion"]
    time.sleep(0.2)  # the condition is written once, not on every tick
    again = workloads.list_pods(admin, workloads.NAMESPACE, run_id="unplaced-run")[0]
    assert again["metadata"]["resourceVersion"] == version
