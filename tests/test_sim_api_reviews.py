"""Access and rules reviews and events of the embedded cluster, through the official client and directly."""

from __future__ import annotations

import json
import re
import ssl
import urllib.error
import urllib.request

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from waiting import wait_for

from cilium_lab.sim.api import protobuf, table_columns
from cilium_lab.sim.cluster import EmbeddedCluster
from cilium_lab.sim.control import events
from cilium_lab.sim.state.k8s_errors import ApiError
from cilium_lab.sim.state.object_store import Store

RBAC = "rbac.authorization.k8s.io"


@pytest.fixture(scope="module")
def cluster():
    with EmbeddedCluster("seed-mixed", seed=17) as c:
        yield c


def authz(cluster, context: str) -> client.AuthorizationV1Api:
    return client.AuthorizationV1Api(
        config.new_client_from_config(config_file=cluster.kubeconfig, context=context)
    )


def can(cluster, context: str, **attributes) -> client.V1SubjectAccessReviewStatus:
    review = {"spec": {"resourceAttributes": attributes}}
    return authz(cluster, context).create_self_subject_access_review(review).status


def as_json(obj) -> dict:
    """The object as the server sent it (attribute names differ between client versions)."""
    return client.ApiClient().sanitize_for_serialization(obj)


def raw_request(cluster, method: str, path: str) -> bytes:
    context = (
        ssl.create_default_context(cadata=cluster.ca_certificate.decode()) if cluster.ca_certificate else None
    )
    headers = {"Authorization": f"Bearer {cluster.token('readonly')}"}
    with urllib.request.urlopen(
        urllib.request.Request(cluster.url + path, method=method, headers=headers), context=context
    ) as r:
        return r.read()


# access reviews ------------------------------------------------------------------------------------
def test_readonly_may_not_exec_and_admin_may(cluster):
    exec_ = {"namespace": "kube-system", "verb": "create", "resource": "pods", "subresource": "exec"}
    denied = can(cluster, "readonly", **exec_)
    assert (denied.allowed, denied.reason, denied.denied) == (False, None, None)
    admin = can(cluster, "admin", **exec_)
    assert (admin.allowed, admin.reason) == (True, None)  # system:masters: no RBAC reason
    reads = can(cluster, "readonly", namespace="kube-system", verb="list", resource="pods")
    assert reads.allowed
    assert reads.reason == (
        'RBAC: allowed by RoleBinding "cilium-lab-inspect/kube-system" of Role "cilium-lab-inspect"'
        ' to Group "cilium-lab-inspectors"'
    )  # deploy/rbac.yaml's read-only role, which the embedded cluster loads


def test_a_role_binding_is_named_with_its_namespace(cluster):
    rbac = client.RbacAuthorizationV1Api(
        config.new_client_from_config(config_file=cluster.kubeconfig, context="admin")
    )
    cluster.add_user("bob")
    rule = {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"], "resourceNames": ["debug"]}
    rbac.create_namespaced_role("kube-system", {"metadata": {"name": "exec-debug"}, "rules": [rule]})
    binding = {
        "metadata": {"name": "bob-exec"},
        "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": "exec-debug"},
        "subjects": [{"kind": "User", "name": "bob", "apiGroup": RBAC}],
    }
    rbac.create_namespaced_role_binding("kube-system", binding)
    exec_ = {"namespace": "kube-system", "verb": "create", "resource": "pods", "subresource": "exec"}
    allowed = can(cluster, "bob", **exec_, name="debug")
    assert (
        allowed.reason
        == 'RBAC: allowed by RoleBinding "bob-exec/kube-system" of Role "exec-debug" to User "bob"'
    )
    assert not can(cluster, "bob", **exec_, name="other").allowed
    assert not can(cluster, "bob", **{**exec_, "namespace": "default"}, name="debug").allowed
    rules = authz(cluster, "bob").create_self_subject_rules_review({"spec": {"namespace": "kube-system"}})
    assert {
        "verbs": ["create"],
        "api_groups": [""],
        "resources": ["pods/exec"],
        "resource_names": ["debug"],
    } in [r.to_dict() for r in rules.status.resource_rules]
    elsewhere = authz(cluster, "bob").create_self_subject_rules_review({"spec": {"namespace": "default"}})
    assert not any("pods/exec" in r.resources for r in elsewhere.status.resource_rules)


def test_every_user_may_review_itself_and_read_discovery(cluster):
    review = can(
        cluster, "readonly", verb="create", group="authorization.k8s.io", resource="selfsubjectaccessreviews"
    )
    assert review.reason == (
        'RBAC: allowed by ClusterRoleBinding "system:basic-user" of ClusterRole "system:basic-user" '
        'to Group "system:authenticated"'
    )
    api = authz(cluster, "readonly")

    def path(verb: str, url: str) -> bool:
        spec = {"nonResourceAttributes": {"verb": verb, "path": url}}
        return api.create_self_subject_access_review({"spec": spec}).status.allowed

    assert path("get", "/api") and path("get", "/apis/apps/v1") and path("get", "/healthz")
    assert not path("post", "/api") and not path("get", "/metrics")


def test_rules_review_lists_the_bindings_rules(cluster):
    review = authz(cluster, "readonly").create_self_subject_rules_review(
        {"spec": {"namespace": "kube-system"}}
    )
    status = as_json(review)["status"]
    assert {"verbs": ["list"], "apiGroups": [""], "resources": ["pods"]} in status["resourceRules"]
    assert {
        "verbs": ["get"], "apiGroups": ["apps"], "resources": ["daemonsets"], "resourceNames": ["cilium"]
    } in status["resourceRules"]  # fmt: skip
    assert status["incomplete"] is False
    assert {"verbs": ["get"], "nonResourceURLs": ["/api/*"]} not in status[
        "nonResourceRules"
    ]  # one rule, many URLs
    assert any("/api/*" in r["nonResourceURLs"] for r in status["nonResourceRules"])
    admin = authz(cluster, "admin").create_self_subject_rules_review({"spec": {"namespace": "default"}})
    assert as_json(admin)["status"]["resourceRules"][0] == {
        "verbs": ["*"],
        "apiGroups": ["*"],
        "resources": ["*"],
    }
    assert as_json(admin)["status"]["nonResourceRules"][0] == {"verbs": ["*"], "nonResourceURLs": ["*"]}


def test_reviews_answer_errors_as_a_real_server(cluster):
    api = authz(cluster, "readonly")
    with pytest.raises(ApiException) as err:
        api.create_self_subject_rules_review({"spec": {}})
    assert err.value.status == 400 and json.loads(err.value.body)["message"] == "no namespace on request"
    with pytest.raises(ApiException) as err:
        api.create_self_subject_access_review({"spec": {}})
    assert err.value.status == 422 and json.loads(err.value.body)["reason"] == "Invalid"
    for method, path, code, reason in (
        ("GET", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", 405, "MethodNotAllowed"),
        ("DELETE", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", 405, "MethodNotAllowed"),
        ("GET", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews/x", 404, "NotFound"),
    ):
        with pytest.raises(urllib.error.HTTPError) as http:
            raw_request(cluster, method, path)
        assert (http.value.code, json.loads(http.value.read())["reason"]) == (code, reason)


def test_kubectl_protobuf_body_is_read():
    def varint(n: int) -> bytes:
        out = b""
        while n > 0x7F:
            out, n = out + bytes([n & 0x7F | 0x80]), n >> 7
        return out + bytes([n])

    def field(number: int, payload: bytes | str) -> bytes:
        data = payload.encode() if isinstance(payload, str) else payload
        return varint(number << 3 | 2) + varint(len(data)) + data

    attrs = field(1, "kube-system") + field(2, "create") + field(5, "pods") + field(6, "exec")
    attrs += varint(9 << 3 | 0) + varint(300)  # an unknown varint field is skipped
    raw = field(1, field(1, "x")) + field(2, field(1, attrs))
    type_meta = field(1, "authorization.k8s.io/v1") + field(2, "SelfSubjectAccessReview")
    body = protobuf.MAGIC + field(1, type_meta) + field(2, raw)
    assert protobuf.decode(body) == {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {
            "resourceAttributes": {
                "namespace": "kube-system",
                "verb": "create",
                "resource": "pods",
                "subresource": "exec",
            }
        },
    }
    for bad in (b"{}", protobuf.MAGIC + field(1, type_meta) + b"\x12\x05ab"):
        with pytest.raises(ApiError) as err:
            protobuf.decode(bad)
        assert err.value.code == 400


# events --------------------------------------------------------------------------------------------
def test_controller_and_kubelet_events_look_like_a_real_clusters(cluster):
    core = client.CoreV1Api(config.new_client_from_config(config_file=cluster.kubeconfig, context="admin"))
    ds = client.AppsV1Api(core.api_client).read_namespaced_daemon_set("cilium", "kube-system")
    created = wait_for(
        lambda: core.list_namespaced_event("kube-system", field_selector="reason=SuccessfulCreate").items
    )
    event = created[0]
    assert re.fullmatch(r"cilium\.[0-9a-f]{16}", event.metadata.name)
    ref = event.involved_object
    assert (ref.kind, ref.api_version, ref.name, ref.namespace, ref.uid) == (
        "DaemonSet", "apps/v1", "cilium", "kube-system", ds.metadata.uid,
    )  # fmt: skip
    assert event.source.component == "daemonset-controller" and event.source.host is None
    assert (event.type, event.count) == ("Normal", 1) and event.first_timestamp == event.last_timestamp
    assert re.fullmatch(r"Created pod: cilium-\w{5}", event.message)
    pod = core.list_namespaced_pod("kube-system").items[0]
    started = core.list_namespaced_event(
        "kube-system", field_selector=f"involvedObject.uid={pod.metadata.uid},reason=Started"
    ).items
    assert [(e.source.component, e.source.host, e.involved_object.field_path) for e in started] == [
        ("kubelet", pod.spec.node_name, "spec.containers{cilium-agent}")
    ]


def test_crash_loop_records_a_counted_backoff_warning():
    with EmbeddedCluster("seed-mixed", seed=19) as cluster:
        core = client.CoreV1Api(
            config.new_client_from_config(config_file=cluster.kubeconfig, context="admin")
        )
        cluster.faults.crash_loop("vm-2")
        pod = wait_for(
            lambda: [p for p in core.list_namespaced_pod("kube-system").items if p.spec.node_name == "vm-2"]
        )[0]
        core.delete_namespaced_pod(pod.metadata.name, "kube-system")

        def backoff():
            # the pod deleted above may have left its own BackOff (count 1): look for the repeated one
            found = core.list_namespaced_event("kube-system", field_selector="reason=BackOff").items
            return [e for e in found if e.count >= 2]

        event = wait_for(backoff)[0]
        assert event.type == "Warning" and event.source.host == "vm-2"
        name, uid = event.involved_object.name, event.involved_object.uid
        assert (
            event.message
            == f"Back-off restarting failed container cilium-agent in pod {name}_kube-system({uid})"
        )


def test_event_cap_drops_the_least_recently_seen():
    store = Store()
    recorder = events.Recorder(store, cap=3)
    pod = {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "p", "namespace": "ns", "uid": "u"}}
    for i in range(5):
        recorder.emit(pod, "Started", f"message {i}", component="kubelet", host="n")
    recorder.emit(pod, "Started", "message 2", component="kubelet", host="n")  # a repeat: counted, seen now
    recorder.emit(pod, "Started", "message 5", component="kubelet", host="n")
    kept = {e["message"]: e["count"] for e in store.list(events.KEY)}
    assert kept == {"message 2": 2, "message 4": 1, "message 5": 1}


def test_default_cap_holds_and_a_restart_counts_what_is_stored():
    store = Store()
    recorder = events.Recorder(store)
    ds = {
        "kind": "DaemonSet",
        "apiVersion": "apps/v1",
        "metadata": {"name": "d", "namespace": "ns", "uid": "u"},
    }
    for i in range(events.CAP + 50):
        recorder.emit(ds, "SuccessfulCreate", f"Created pod: d-{i}", component="daemonset-controller")
    assert len(store.list(events.KEY)) == events.CAP == len(recorder)
    assert "Created pod: d-49" not in {e["message"] for e in store.list(events.KEY)}
    restarted = events.Recorder(store, cap=10)  # a server started again on a restored state
    assert len(store.list(events.KEY)) == 10 == len(restarted)
    assert {e["message"] for e in store.list(events.KEY)} == {
        f"Created pod: d-{i}" for i in range(1040, 1050)
    }


def test_events_table_has_the_real_columns():
    legacy = {
        "metadata": {"name": "p.1", "namespace": "ns"},
        "involvedObject": {"kind": "Pod", "name": "p", "fieldPath": "spec.containers{c}"},
        "reason": "BackOff", "message": "Back-off  ", "type": "Warning", "count": 3,
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": "2020-01-01T00:00:00Z", "lastTimestamp": "2020-01-01T00:00:00Z",
    }  # fmt: skip
    scheduled = {
        "metadata": {"name": "p.2", "namespace": "ns"},
        "involvedObject": {"kind": "Pod", "name": "p"},
        "reason": "Scheduled", "message": "Successfully assigned ns/p to node-1", "type": "Normal",
        "source": {}, "firstTimestamp": None, "lastTimestamp": None, "eventTime": "2020-01-01T00:00:00.000000Z",
        "reportingComponent": "default-scheduler", "reportingInstance": "default-scheduler-cp",
    }  # fmt: skip
    out = table_columns.table("events", [legacy, scheduled], "1")
    columns = [(c["name"], c["priority"]) for c in out["columnDefinitions"]]
    assert [name for name, priority in columns if priority == 0] == [
        "Last Seen",
        "Type",
        "Reason",
        "Object",
        "Message",
    ]
    assert [name for name, priority in columns if priority == 1] == [
        "Subobject",
        "Source",
        "First Seen",
        "Count",
        "Name",
    ]
    cells = [dict(zip([name for name, _ in columns], row["cells"], strict=True)) for row in out["rows"]]
    assert (
        cells[0]["Object"] == "pod/p" and cells[0]["Source"] == "kubelet, node-1" and cells[0]["Count"] == 3
    )
    assert cells[0]["Message"] == "Back-off" and cells[0]["Last Seen"].endswith("y")
    assert cells[1]["Source"] == "default-scheduler, default-scheduler-cp" and cells[1]["Count"] == 1
    assert cells[1]["Last Seen"] == cells[1]["First Seen"] != "<unknown>"
