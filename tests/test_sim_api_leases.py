"""coordination.k8s.io/v1 Leases on the embedded cluster, as a 1.26-1.32 API server serves them: discovery and
OpenAPI, create/get/update/patch/delete/list/watch through the official client, 409 on a stale
resourceVersion (update and delete preconditions), and `kubectl get lease` with NAME, HOLDER, AGE."""

from __future__ import annotations

import json
import shutil
import threading

import kubernetes.client as k8s
import pytest
from kubernetes import watch
from kubernetes.client.exceptions import ApiException

from cilium_lab.cluster.connect import connect
from cilium_lab.sim.cluster import EmbeddedCluster

NS = "kube-system"
TIME = "2026-01-02T03:04:05.123456Z"


@pytest.fixture(scope="module")
def cluster():
    with EmbeddedCluster("seed-mixed", seed=3) as c:
        yield c


@pytest.fixture(scope="module")
def api(cluster) -> k8s.CoordinationV1Api:
    return k8s.CoordinationV1Api(connect(str(cluster.kubeconfig)).api_client)


def _lease(name: str, holder: str = "alice@host") -> dict:
    spec = {"holderIdentity": holder, "acquireTime": TIME, "renewTime": TIME, "leaseDurationSeconds": 30}
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": name}, "spec": spec}


def test_discovery_serves_leases(api):
    found = {r.name: r for r in api.get_api_resources().resources}
    lease = found["leases"]
    assert lease.kind == "Lease" and lease.namespaced and not lease.short_names
    assert sorted(lease.verbs) == sorted(
        ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    )
    groups = {g.name: g for g in k8s.ApisApi(api.api_client).get_api_versions().groups}
    assert groups["coordination.k8s.io"].preferred_version.group_version == "coordination.k8s.io/v1"


def test_crud_conflicts_and_preconditions(api):
    created = api.create_namespaced_lease(NS, _lease("crud"))
    assert created.spec.holder_identity == "alice@host" and created.spec.lease_duration_seconds == 30
    stale = created.metadata.resource_version
    body = api.read_namespaced_lease("crud", NS)
    body.spec.holder_identity = "bob@host"
    updated = api.replace_namespaced_lease("crud", NS, body)
    assert updated.spec.holder_identity == "bob@host" and updated.metadata.resource_version != stale
    body.metadata.resource_version = stale  # someone else wrote since: 409
    with pytest.raises(ApiException) as conflict:
        api.replace_namespaced_lease("crud", NS, body)
    assert conflict.value.status == 409 and json.loads(conflict.value.body)["reason"] == "Conflict"
    patched = api.patch_namespaced_lease("crud", NS, {"spec": {"leaseTransitions": 2}})
    assert patched.spec.lease_transitions == 2 and patched.spec.holder_identity == "bob@host"
    assert [x.metadata.name for x in api.list_namespaced_lease(NS).items] == ["crud"]
    with pytest.raises(ApiException) as guarded:
        api.delete_namespaced_lease("crud", NS, body={"preconditions": {"resourceVersion": stale}})
    status = json.loads(guarded.value.body)
    assert guarded.value.status == 409 and status["reason"] == "Conflict"
    assert status["message"].startswith('Operation cannot be fulfilled on leases.coordination.k8s.io "crud"')
    assert f"ResourceVersion in precondition: {stale}" in status["message"]
    current = patched.metadata.resource_version
    api.delete_namespaced_lease("crud", NS, body={"preconditions": {"resourceVersion": current}})
    with pytest.raises(ApiException) as gone:
        api.read_namespaced_lease("crud", NS)
    assert gone.value.status == 404


def test_watch_sees_a_lease_come_and_go(api):
    events: list[tuple[str, str]] = []
    start = api.list_namespaced_lease(NS).metadata.resource_version

    def follow() -> None:
        w = watch.Watch()
        for event in w.stream(api.list_namespaced_lease, NS, resource_version=start, timeout_seconds=10):
            events.append((event["type"], event["object"].metadata.name))
            if event["type"] == "DELETED":
                w.stop()

    follower = threading.Thread(target=follow)
    follower.start()
    api.create_namespaced_lease(NS, _lease("watched"))
    api.delete_namespaced_lease("watched", NS)
    follower.join(15)
    assert events == [("ADDED", "watched"), ("DELETED", "watched")]


@pytest.mark.kubectl
@pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs the kubectl binary")
def test_kubectl_get_lease_shows_holder_and_age(kubectl, api):
    """kubectl get lease: the real server's leaseColumnDefinitions (pkg/printers/internalversion)."""
    api.create_namespaced_lease(NS, _lease("shown", holder="carol@jumphost pid 7 run ab12"))
    try:
        lines = kubectl("get", "lease", "-n", NS).stdout.splitlines()
        assert lines[0].split() == ["NAME", "HOLDER", "AGE"]
        row = next(line for line in lines[1:] if line.startswith("shown "))
        assert "carol@jumphost pid 7 run ab12" in row
        doc = json.loads(kubectl("get", "leases.coordination.k8s.io", "shown", "-n", NS, "-o", "json").stdout)
        assert doc["spec"]["renewTime"] == TIME
        openapi = json.loads(kubectl("get", "--raw", "/openapi/v3/apis/coordination.k8s.io/v1").stdout)
        assert "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}" in openapi["paths"]
    finally:
        kubectl("delete", "lease", "shown", "-n", NS)
