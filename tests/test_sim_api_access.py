"""Who may do what on the embedded cluster: tokens, RBAC from stored roles, injected API faults, admin endpoint."""

from __future__ import annotations

import json
import ssl
import time
import urllib.request

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from cilium_lab.errors import InputError
from cilium_lab.sim.cluster import EmbeddedCluster


@pytest.fixture(scope="module")
def cluster():
    with EmbeddedCluster("seed-mixed", seed=5) as c:
        yield c


def core_as(cluster, context: str) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(config_file=cluster.kubeconfig, context=context))


@pytest.fixture(autouse=True)
def no_faults(cluster):
    yield
    cluster.faults.clear()


def admin_request(cluster, method: str, path: str, body: dict | None = None, token: str | None = None):
    context = (
        ssl.create_default_context(cadata=cluster.ca_certificate.decode())
        if cluster.url.startswith("https")
        else None
    )
    request = urllib.request.Request(
        cluster.url + path, method=method, data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token or cluster.token('admin')}", "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, context=context) as response:
        return json.loads(response.read())


def test_readonly_user_reads_but_may_not_write(cluster):
    readonly = core_as(cluster, "readonly")
    assert readonly.read_namespaced_config_map("cilium-config", "kube-system").data["tunnel"] == "vxlan"
    with pytest.raises(ApiException) as err:
        readonly.patch_namespaced_config_map("cilium-config", "kube-system", {"data": {"tunnel": "geneve"}})
    assert err.value.status == 403
    body = json.loads(err.value.body)
    assert body["reason"] == "Forbidden"
    assert body["message"] == (
        'configmaps "cilium-config" is forbidden: User "readonly" cannot patch resource "configmaps" '
        'in API group "" in the namespace "kube-system"'
    )


def test_a_role_binding_grants_exactly_its_rules(cluster, tmp_path):
    admin = config.new_client_from_config(config_file=cluster.kubeconfig, context="admin")
    rbac = client.RbacAuthorizationV1Api(admin)
    token = cluster.add_user("alice")
    rule = {
        "apiGroups": [""],
        "resources": ["configmaps"],
        "verbs": ["get", "patch"],
        "resourceNames": ["cilium-config"],
    }
    rbac.create_namespaced_role("kube-system", {"metadata": {"name": "cm-editor"}, "rules": [rule]})
    rbac.create_namespaced_role_binding(
        "kube-system",
        {
            "metadata": {"name": "alice-cm"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "cm-editor"},
            "subjects": [{"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"}],
        },
    )
    assert cluster.token("alice") == token
    alice = core_as(cluster, "alice")
    alice.patch_namespaced_config_map("cilium-config", "kube-system", {"data": {"alice": "1"}})
    for call in (
        lambda: alice.list_namespaced_config_map("kube-system"),
        lambda: alice.read_namespaced_config_map("other", "kube-system"),
        lambda: alice.read_namespaced_config_map("cilium-config", "default"),
        lambda: alice.list_node(),
    ):
        with pytest.raises(ApiException) as err:
            call()
        assert err.value.status == 403
    assert "at the cluster scope" in json.loads(err.value.body)["message"]


def test_unknown_token_is_unauthorized(cluster):
    with pytest.raises(urllib.error.HTTPError) as err:
        admin_request(cluster, "GET", "/api/v1/nodes", token="not-a-token")
    assert err.value.code == 401
    assert json.loads(err.value.read())["reason"] == "Unauthorized"


def test_forbid_fault_for_one_user_and_verb(cluster):
    cluster.faults.forbid("list", "pods", user="admin")
    admin = core_as(cluster, "admin")
    with pytest.raises(ApiException) as err:
        admin.list_namespaced_pod("kube-system")
    assert err.value.status == 403
    assert admin.read_namespaced_config_map("cilium-config", "kube-system")  # other verbs unaffected
    assert core_as(cluster, "readonly").list_namespaced_pod("kube-system").items  # other users unaffected


def test_internal_error_fault_once(cluster):
    cluster.faults.api_error("get", "configmaps", 500, times=1)
    admin = core_as(cluster, "admin")
    with pytest.raises(ApiException) as err:
        admin.read_namespaced_config_map("cilium-config", "kube-system")
    assert err.value.status == 500
    assert json.loads(err.value.body)["reason"] == "InternalError"
    assert admin.read_namespaced_config_map("cilium-config", "kube-system").data


def test_delay_fault_makes_a_client_timeout_fire(cluster):
    cluster.faults.api_delay("get", "nodes", 0.5)
    admin = core_as(cluster, "admin")
    with pytest.raises(Exception, match=r"(?i)timed? ?out"):
        admin.read_node("vm-1", _request_timeout=0.2)  # the client retries, each attempt times out
    start = time.monotonic()
    assert admin.read_node("vm-1", _request_timeout=2).metadata.name == "vm-1"  # slow but answers
    assert time.monotonic() - start >= 0.5


def test_faults_through_the_admin_endpoint(cluster):
    document = {
        "api": [{"verb": "delete", "resource": "configmaps", "code": 403}],
        "crash_loop_nodes": ["vm-3"],
    }
    answer = admin_request(cluster, "PUT", "/_sim/faults", document)
    assert answer["crash_loop_nodes"] == ["vm-3"]
    assert cluster.faults.crash_looping("vm-3")
    with pytest.raises(ApiException) as err:
        core_as(cluster, "admin").delete_namespaced_config_map("cilium-config", "kube-system")
    assert err.value.status == 403
    with pytest.raises(urllib.error.HTTPError) as denied:
        admin_request(cluster, "GET", "/_sim/faults", token=cluster.token("readonly"))
    assert denied.value.code == 403


def test_bad_fault_input_is_refused(cluster):
    with pytest.raises(InputError, match="unknown verb"):
        cluster.faults.api_error("frobnicate", "pods")
    with pytest.raises(InputError, match="not an error"):
        cluster.faults.api_error("get", "pods", 200)
    assert cluster.faults.dump()["api"] == []


def test_without_openssl_it_serves_http_and_anonymous_is_admin(monkeypatch):
    from cilium_lab.sim.api import tls

    monkeypatch.setattr(tls, "available", lambda: False)
    with EmbeddedCluster("seed-mixed") as plain:
        assert plain.url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(
            plain.url + "/api/v1/namespaces/kube-system/configmaps/cilium-config"
        ) as answer:
            assert json.loads(answer.read())["metadata"]["name"] == "cilium-config"
        assert core_as(plain, "readonly").list_node().items  # tokens still count when sent


def test_spdy_exec_upgrade_is_refused_with_a_status(cluster):
    core = core_as(cluster, "admin")
    pod = core.list_namespaced_pod("kube-system", label_selector="k8s-app=cilium").items[0].metadata.name
    context = ssl.create_default_context(cadata=cluster.ca_certificate.decode())
    request = urllib.request.Request(
        f"{cluster.url}/api/v1/namespaces/kube-system/pods/{pod}/exec?command=true&stdout=true", method="POST",
        headers={"Authorization": f"Bearer {cluster.token()}", "Connection": "Upgrade", "Upgrade": "SPDY/3.1"},
    )  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, context=context)
    assert err.value.code == 400
    assert "SPDY is not supported" in json.loads(err.value.read())["message"]


def test_resource_names_grant_as_kube_apiserver_does(cluster):
    """A rule with resourceNames: get of that name yes, of another no; create never (the POST names no object);
    list only with a `metadata.name=` field selector for that name; the audit log records each decision."""
    rbac = client.RbacAuthorizationV1Api(config.new_client_from_config(config_file=cluster.kubeconfig))
    rule = {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["mine"],
            "verbs": ["get", "list", "create", "deletecollection"]}  # fmt: skip
    rbac.create_namespaced_role("default", {"metadata": {"name": "named"}, "rules": [rule]})
    rbac.create_namespaced_role_binding("default", {
        "metadata": {"name": "named"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "named"},
        "subjects": [{"kind": "User", "name": "carol", "apiGroup": "rbac.authorization.k8s.io"}],
    })  # fmt: skip
    cluster.add_user("carol")
    admin, carol = core_as(cluster, "admin"), core_as(cluster, "carol")
    admin.create_namespaced_config_map("default", {"metadata": {"name": "mine"}, "data": {"k": "v"}})
    admin.create_namespaced_config_map("default", {"metadata": {"name": "theirs"}})

    def refused(call, *args, **kwargs) -> bool:
        try:
            call(*args, **kwargs)
        except ApiException as err:
            assert err.status == 403, err
            return True
        return False

    assert not refused(carol.read_namespaced_config_map, "mine", "default")
    assert refused(carol.read_namespaced_config_map, "theirs", "default")
    assert refused(carol.create_namespaced_config_map, "default", {"metadata": {"name": "mine"}})
    assert refused(carol.list_namespaced_config_map, "default")
    assert refused(carol.delete_collection_namespaced_config_map, "default")
    named = carol.list_namespaced_config_map("default", field_selector="metadata.name=mine")
    assert [c.metadata.name for c in named.items] == ["mine"]
    assert refused(carol.list_namespaced_config_map, "default", field_selector="metadata.name=theirs")
    assert refused(carol.list_namespaced_config_map, "default", field_selector="metadata.name!=theirs")
    audited = [(e.verb, e.name, e.allowed) for e in cluster.backend.audit.entries("carol")]
    assert audited == [("get", "mine", True), ("get", "theirs", False), ("create", "", False),
                       ("list", "", False), ("deletecollection", "", False), ("list", "mine", True),
                       ("list", "theirs", False), ("list", "", False)]  # fmt: skip
