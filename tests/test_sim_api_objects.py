"""The embedded cluster's API through the official client: discovery, nodes, CRUD, errors, selectors, patches."""

from __future__ import annotations

import ipaddress
import json

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from cilium_lab.sim.cluster import EmbeddedCluster


@pytest.fixture(scope="module")
def cluster():
    with EmbeddedCluster("seed-mixed", seed=1) as c:
        yield c


@pytest.fixture(scope="module")
def api(cluster):
    return config.new_client_from_config(config_file=cluster.kubeconfig, context="admin")


def status_of(err: ApiException) -> dict:
    return json.loads(err.body)


def test_version_and_discovery_follow_the_profile(api, cluster):
    assert client.VersionApi(api).get_code().git_version == "v1.26.6+k3s1"
    groups = {g.name: [v.version for v in g.versions] for g in client.ApisApi(api).get_api_versions().groups}
    assert groups["apps"] == ["v1"]
    assert groups["cilium.io"] == ["v2alpha1"]  # Cilium 1.13 serves CiliumNodeConfig as v2alpha1
    core = {r.name for r in client.CoreV1Api(api).get_api_resources().resources}
    assert {"pods", "pods/exec", "pods/log", "nodes", "configmaps", "services"} <= core


def test_nodes_carry_the_profile_hardware(api, cluster):
    nodes = {n.metadata.name: n for n in client.CoreV1Api(api).list_node().items}
    assert set(nodes) == {n.name for n in cluster.profile.nodes}
    board = nodes["board-1"]
    assert board.status.node_info.kernel_version == "4.19.0-25-arm64"
    assert board.status.node_info.architecture == "arm64"
    assert board.metadata.labels["kubernetes.io/arch"] == "arm64"
    assert board.spec.pod_cidr == "10.42.3.0/24"
    assert [a.address for a in board.status.addresses if a.type == "InternalIP"] == ["192.168.7.21"]
    assert "node-role.kubernetes.io/control-plane" in nodes["vm-1"].metadata.labels
    ready = [c.status for c in board.status.conditions if c.type == "Ready"]
    assert ready == ["True"]


def test_not_found_is_a_status_object(api):
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(api).read_namespaced_config_map("nope", "kube-system")
    assert err.value.status == 404
    assert status_of(err.value) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'configmaps "nope" not found',
        "reason": "NotFound",
        "details": {"name": "nope", "kind": "configmaps"},
        "code": 404,
    }


def test_create_twice_is_already_exists(api):
    core = client.CoreV1Api(api)
    body = {"metadata": {"name": "twice"}, "data": {"a": "1"}}
    core.create_namespaced_config_map("default", body)
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("default", body)
    assert err.value.status == 409
    assert status_of(err.value)["reason"] == "AlreadyExists"
    assert status_of(err.value)["message"] == 'configmaps "twice" already exists'


def test_update_with_a_stale_resource_version_is_a_conflict(api):
    core = client.CoreV1Api(api)
    created = core.create_namespaced_config_map(
        "default", {"metadata": {"name": "stale"}, "data": {"a": "1"}}
    )
    fresh = core.read_namespaced_config_map("stale", "default")
    fresh.data = {"a": "2"}
    updated = core.replace_namespaced_config_map("stale", "default", fresh)
    assert int(updated.metadata.resource_version) > int(created.metadata.resource_version)
    created.data = {"a": "3"}
    with pytest.raises(ApiException) as err:
        core.replace_namespaced_config_map("stale", "default", created)
    assert err.value.status == 409
    assert status_of(err.value)["reason"] == "Conflict"
    assert "the object has been modified" in status_of(err.value)["message"]
    assert core.read_namespaced_config_map("stale", "default").data == {"a": "2"}


def test_invalid_name_is_422_with_causes(api):
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(api).create_namespaced_config_map("default", {"metadata": {"name": "Bad_Name"}})
    body = status_of(err.value)
    assert err.value.status == 422
    assert body["reason"] == "Invalid"
    assert body["message"].startswith(
        'ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name"'
    )
    assert body["details"]["causes"][0]["field"] == "metadata.name"


def test_create_in_a_missing_namespace_is_not_found(api):
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(api).create_namespaced_config_map("ghost", {"metadata": {"name": "x"}})
    assert err.value.status == 404
    assert status_of(err.value)["message"] == 'namespaces "ghost" not found'


def test_namespaces_are_creatable_and_deletion_takes_their_objects(api):
    core = client.CoreV1Api(api)
    core.create_namespace({"metadata": {"name": "scratch"}})
    core.create_namespaced_config_map("scratch", {"metadata": {"name": "inside"}})
    core.delete_namespace("scratch")
    with pytest.raises(ApiException) as err:
        core.read_namespaced_config_map("inside", "scratch")
    assert err.value.status == 404


def test_label_and_field_selectors_filter_lists(api):
    core = client.CoreV1Api(api)
    agents = core.list_namespaced_pod("kube-system", label_selector="k8s-app=cilium").items
    assert len(agents) == 6
    on_board = core.list_namespaced_pod("kube-system", field_selector="spec.nodeName=board-2").items
    assert [p.spec.node_name for p in on_board] == ["board-2"]
    one = core.list_namespaced_pod(
        "kube-system", field_selector=f"metadata.name={agents[0].metadata.name}"
    ).items
    assert [p.metadata.name for p in one] == [agents[0].metadata.name]
    assert core.list_namespaced_pod("kube-system", label_selector="k8s-app in (nope,other)").items == []
    assert len(core.list_namespaced_pod("kube-system", label_selector="k8s-app,!missing").items) == 6
    not_vm = core.list_namespaced_pod("kube-system", field_selector="spec.nodeName!=vm-1").items
    assert len(not_vm) == 5


def test_list_pages_with_limit_and_continue(api):
    core = client.CoreV1Api(api)
    first = core.list_node(limit=4)
    rest = core.list_node(limit=4, _continue=first.metadata._continue)
    names = [n.metadata.name for n in first.items + rest.items]
    assert len(first.items) == 4 and rest.metadata._continue is None
    assert names == sorted(n.metadata.name for n in core.list_node().items)


def test_three_patch_types(api):
    core = client.CoreV1Api(api)
    core.create_namespaced_config_map(
        "default", {"metadata": {"name": "patchme"}, "data": {"a": "1", "b": "2"}}
    )
    merge = {"data": {"a": None, "c": "3"}}
    core.patch_namespaced_config_map(
        "patchme", "default", merge, _content_type="application/merge-patch+json"
    )
    assert core.read_namespaced_config_map("patchme", "default").data == {"b": "2", "c": "3"}
    core.patch_namespaced_config_map(
        "patchme", "default", [{"op": "replace", "path": "/data/b", "value": "9"}]
    )
    assert core.read_namespaced_config_map("patchme", "default").data == {"b": "9", "c": "3"}
    with pytest.raises(ApiException) as err:
        core.patch_namespaced_config_map(
            "patchme", "default", [{"op": "test", "path": "/data/b", "value": "0"}]
        )
    assert err.value.status == 422
    assert core.read_namespaced_config_map("patchme", "default").data == {"b": "9", "c": "3"}


def test_strategic_merge_patch_merges_containers_by_name(api):
    apps = client.AppsV1Api(api)
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "cilium-agent", "args": ["--debug"]}]}}}}
    apps.patch_namespaced_daemon_set("cilium", "kube-system", patch)
    ds = apps.read_namespaced_daemon_set("cilium", "kube-system")
    (agent,) = ds.spec.template.spec.containers
    assert agent.args == ["--debug"]
    assert agent.image == "quay.io/cilium/cilium:v1.13.4"  # kept: merged by name, not replaced


def test_services_get_a_cluster_ip_from_the_service_cidr(api, cluster):
    core = client.CoreV1Api(api)
    svc = core.create_namespaced_service(
        "default",
        {"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}},
    )
    assert ipaddress.ip_address(svc.spec.cluster_ip) in ipaddress.ip_network(cluster.profile.service_cidr)
    kubernetes = core.read_namespaced_service("kubernetes", "default")
    assert kubernetes.spec.cluster_ip == "10.43.0.1"
    assert svc.spec.cluster_ip != kubernetes.spec.cluster_ip


def test_cilium_node_config_is_stored_and_listed(api):
    custom = client.CustomObjectsApi(api)
    body = {
        "apiVersion": "cilium.io/v2alpha1",
        "kind": "CiliumNodeConfig",
        "metadata": {"name": "boards"},
        "spec": {
            "nodeSelector": {"matchLabels": {"kubernetes.io/arch": "arm64"}},
            "defaults": {"mtu": "1500"},
        },
    }
    custom.create_namespaced_custom_object("cilium.io", "v2alpha1", "kube-system", "ciliumnodeconfigs", body)
    listed = custom.list_namespaced_custom_object("cilium.io", "v2alpha1", "kube-system", "ciliumnodeconfigs")
    assert [o["metadata"]["name"] for o in listed["items"]] == ["boards"]
    custom.delete_namespaced_custom_object(
        "cilium.io", "v2alpha1", "kube-system", "ciliumnodeconfigs", "boards"
    )
    with pytest.raises(ApiException) as err:
        custom.get_namespaced_custom_object("cilium.io", "v2", "kube-system", "ciliumnodeconfigs", "boards")
    assert err.value.status == 404  # v2 is not served before Cilium 1.16


def test_custom_resources_take_no_strategic_merge_patch(api):
    """As on kube-apiserver: a strategic merge patch is 415 on a CiliumNodeConfig; a merge patch (the
    client's default for custom objects) works."""
    custom = client.CustomObjectsApi(api)
    args = ("cilium.io", "v2alpha1", "kube-system", "ciliumnodeconfigs")
    body = {"metadata": {"name": "patched"}, "spec": {"nodeSelector": {}, "defaults": {"mtu": "1500"}}}
    custom.create_namespaced_custom_object(
        *args, dict(body, apiVersion="cilium.io/v2alpha1", kind="CiliumNodeConfig")
    )
    change = {"spec": {"defaults": {"mtu": "9000"}}}
    with pytest.raises(ApiException) as err:
        custom.patch_namespaced_custom_object(
            *args, "patched", change, _content_type="application/strategic-merge-patch+json"
        )
    assert err.value.status == 415
    assert "application/strategic-merge-patch+json" not in status_of(err.value)["message"].split("(got")[0]
    merged = custom.patch_namespaced_custom_object(*args, "patched", change)
    assert merged["spec"]["defaults"] == {"mtu": "9000"}
    custom.delete_namespaced_custom_object(*args, "patched")
