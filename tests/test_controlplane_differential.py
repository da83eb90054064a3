"""Differential tests: the same calls the library makes through the official kubernetes client, run against
a real control plane (kube-apiserver, kube-controller-manager and kube-scheduler, `tests/controlplane.py`) and
against the emulator (`cilium_lab.sim`), comparing status codes, the body fields the library reads and, for
rollouts, the progress lines the library waits on.

Each scenario returns {step: what the library would see}; the two answers must agree step by step. A
difference listed in KNOWN (with why it is accepted for now) makes the scenario xfail, naming it; a known
difference that no longer occurs fails, so the list stays true. The real control plane runs no kubelets
here, so pods select or name a node that neither side has.

COVERED names, for every API call the library makes (`tests/test_api_inventory.py` finds them in its source
and fails on one missing here), the case that makes it. Every request a kubernetes client builds in this
module is recorded (ApiClient.param_serialize: method and path template), and after each case the calls
COVERED assigns to it must have reached both servers. exec needs a kubelet: the node side's tests run it.
"""

from __future__ import annotations

import inspect
import ipaddress
import json
import time
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from cilium_lab.bench import liveness
from cilium_lab.change import lock
from cilium_lab.cluster import (
    apierrors,
    configmaps,
    discover,
    identity,
    leases,
    nodeconfig,
    objects,
    privileged,
    rollout,
    workloads,
)
from cilium_lab.cluster.connect import Connection, close, connect
from cilium_lab.errors import ClusterError
from cilium_lab.sim.cluster import EmbeddedCluster
from controlplane import ControlPlane

pytestmark = [pytest.mark.controlplane, pytest.mark.xdist_group("controlplane")]

ROOT = Path(__file__).resolve().parents[1]
RBAC = ROOT / "deploy" / "rbac.yaml"
CRD = ROOT / "cilium_lab" / "data" / "crds" / "ciliumnodeconfigs.yaml"  # the manifest the node side installs
NS = "kube-system"
USERS = {"inspector": ("cilium-lab-inspectors",), "operator": ("cilium-lab-operators",),
         "host-operator": ("cilium-lab-host-operators",)}  # fmt: skip
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
TIMEOUT = 30

Outcome = dict[str, Any]

# (scenario, step) -> why the emulator answers differently, for now
KNOWN: dict[tuple[str, str], str] = {}
NO_SCHEDULER = (
    "this control plane binary runs no kube-scheduler (built before it did): rebuild it (make controlplane)"
)


# Every API call the library makes (as `tests/test_api_inventory.py` names them: `Class.method` of the
# kubernetes client, or a kubernetes module function) -> the test here that makes it against both servers,
# or NODE_SIDE: it needs a kubelet (exec into a running pod), which the node side's tests run on the real
# control plane.
NODE_SIDE = "needs node side"
COVERED: dict[str, str] = {
    "VersionApi.get_code": "test_version",
    "CoreV1Api.read_namespace": "test_namespaces",
    "CoreV1Api.create_namespace": "test_namespaces",
    "CoreV1Api.list_node": "test_nodes",
    "CoreV1Api.patch_node": "test_nodes",
    "CoreV1Api.create_namespaced_config_map": "test_configmaps",
    "CoreV1Api.read_namespaced_config_map": "test_configmaps",
    "CoreV1Api.list_namespaced_config_map": "test_configmaps",
    "CoreV1Api.patch_namespaced_config_map": "test_configmaps",
    "CoreV1Api.replace_namespaced_config_map": "test_configmaps",
    "CoreV1Api.delete_namespaced_config_map": "test_configmaps",
    "CoordinationV1Api.create_namespaced_lease": "test_leases",
    "CoordinationV1Api.replace_namespaced_lease": "test_leases",
    "CoordinationV1Api.delete_namespaced_lease": "test_leases",
    "CoordinationV1Api.read_namespaced_lease": "test_change_lock",
    "CoordinationV1Api.list_namespaced_lease": "test_bench_liveness",
    "AppsV1Api.read_namespaced_daemon_set": "test_daemonset_rollout",
    "AppsV1Api.patch_namespaced_daemon_set": "test_daemonset_rollout",
    "CustomObjectsApi.create_namespaced_custom_object": "test_ciliumnodeconfig_crd",
    "CustomObjectsApi.list_namespaced_custom_object": "test_ciliumnodeconfig_crd",
    "CustomObjectsApi.delete_namespaced_custom_object": "test_ciliumnodeconfig_crd",
    "CoreV1Api.create_namespaced_pod": "test_bench_workloads",
    "CoreV1Api.list_namespaced_pod": "test_bench_workloads",
    "CoreV1Api.create_namespaced_service": "test_bench_workloads",
    "CoreV1Api.list_namespaced_service": "test_bench_workloads",
    "CoreV1Api.delete_namespaced_service": "test_bench_workloads",
    "CoreV1Api.delete_namespaced_pod": "test_host_pods",
    "CoreV1Api.read_namespaced_pod": "test_host_pods",
    "CoreV1Api.connect_get_namespaced_pod_exec": NODE_SIDE,
    "kubernetes.stream.stream": NODE_SIDE,
}

Route = tuple[str, str]  # (HTTP method, path template): what the client's ApiClient.param_serialize is given


class _Built(Exception):
    """Stops a client method once it has said which request it would send."""


@cache
def route(api_call: str) -> Route:
    """The request `Class.method` sends, found by running it on a client that stops before sending."""
    class_name, method = api_call.split(".")
    sent: list[Route] = []

    def build(method: str, resource_path: str, *args: Any, **kwargs: Any) -> Any:
        sent.append((method, resource_path))
        raise _Built

    with k8s.ApiClient() as client:
        client.param_serialize = build  # type: ignore[method-assign]
        fn = getattr(getattr(k8s, class_name)(client), method)
        required = [p.name for p in inspect.signature(fn).parameters.values() if p.default is p.empty]
        with pytest.raises(_Built):
            fn(*({} if name == "body" else "x" for name in required))
    return sent[0]


@pytest.fixture(scope="module")
def requests_sent() -> Iterator[list[tuple[str, str, str]]]:
    """(server URL, HTTP method, path template) of every request a kubernetes client builds in this module."""
    sent: list[tuple[str, str, str]] = []
    original = k8s.ApiClient.param_serialize

    def recording(self: k8s.ApiClient, method: str, resource_path: str, *args: Any, **kwargs: Any) -> Any:
        sent.append((str(self.configuration.host), method, resource_path))
        return original(self, method, resource_path, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(k8s.ApiClient, "param_serialize", recording)  # records, then builds as before
        yield sent


@pytest.fixture(autouse=True)
def made_on_both(
    request: pytest.FixtureRequest,
    clusters: dict[str, Callable[[str], Connection]],
    requests_sent: list[tuple[str, str, str]],
) -> Iterator[None]:
    """After each case: every call COVERED assigns to it reached both servers during it."""
    requests_sent.clear()
    yield
    servers = {clusters[which]("admin").server: which for which in clusters}
    seen = {(servers.get(host, host), *sent) for host, *sent in requests_sent}
    missing = [
        f"{api_call} on {which}"
        for api_call, case in COVERED.items()
        if case == request.node.originalname
        for which in clusters
        if (which, *route(api_call)) not in seen
    ]
    assert not missing, f"COVERED names {request.node.originalname} for calls it did not make: {missing}"


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmbeddedCluster]:
    # the profile nearest the real one (Kubernetes 1.33 there, 1.32 here): Cilium 1.18 serves CiliumNodeConfig v2
    with EmbeddedCluster(profile="modern", seed=0) as cluster:
        for user, groups in USERS.items():
            cluster.add_user(user, groups)
        yield cluster


@pytest.fixture(scope="module")
def clusters(controlplane: ControlPlane, emulator: EmbeddedCluster) -> dict[str, Callable[[str], Connection]]:
    """Per cluster ("real", "emulator"): context name -> a `Connection` as that user, with deploy/rbac.yaml installed."""
    kubeconfigs = {"real": controlplane.kubeconfig, "emulator": str(emulator.kubeconfig)}
    made: dict[tuple[str, str], Connection] = {}

    def opener(which: str) -> Callable[[str], Connection]:
        def open_as(context: str) -> Connection:
            if (which, context) not in made:
                made[which, context] = connect(kubeconfigs[which], context=context)
            return made[which, context]

        return open_as

    out = {which: opener(which) for which in kubeconfigs}
    # the embedded cluster holds deploy/rbac.yaml from its start (sim.control.bootstrap); the real one gets it now
    _install_rbac(out["real"]("admin"))
    # the emulator serves CiliumNodeConfig built in (sim.state.resources); the real one gets Cilium's CRD
    _install_crd(out["real"]("admin"))
    # the emulator's `readonly` user is in the group cilium-lab-inspectors; the real one's token has no group, so it
    # gets the same bindings by name
    _bind_readonly_as_inspector(out["real"]("admin"))
    return out


def _bind_readonly_as_inspector(admin: Connection) -> None:
    rbac = k8s.RbacAuthorizationV1Api(admin.api_client)
    for doc in yaml.safe_load_all(RBAC.read_text()):
        if doc["kind"] not in ("ClusterRoleBinding", "RoleBinding"):
            continue
        if not any(s.get("name") == "cilium-lab-inspectors" for s in doc.get("subjects", [])):
            continue
        copy = {**doc, "metadata": {**doc["metadata"], "name": doc["metadata"]["name"] + "-readonly"}}
        copy["subjects"] = [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "readonly"}]
        if doc["kind"] == "ClusterRoleBinding":
            status, body = call(rbac.create_cluster_role_binding, copy)
        else:
            status, body = call(rbac.create_namespaced_role_binding, doc["metadata"]["namespace"], copy)
        assert status == 201, f"{copy['metadata']['name']}: {status} {body.get('message')}"


def _install_crd(admin: Connection) -> None:
    ext = k8s.ApiextensionsV1Api(admin.api_client)
    crd = next(d for d in yaml.safe_load_all(CRD.read_text()) if d)
    status, body = call(ext.create_custom_resource_definition, crd)
    assert status == 201, f"CRD {crd['metadata']['name']}: {status} {body.get('message')}"
    deadline = time.monotonic() + TIMEOUT
    while True:
        _, got = call(ext.read_custom_resource_definition, crd["metadata"]["name"])
        conditions = {c["type"]: c["status"] for c in (got.get("status") or {}).get("conditions") or []}
        if conditions.get("Established") == "True":
            return
        assert time.monotonic() < deadline, f"CRD {crd['metadata']['name']} not Established: {conditions}"
        time.sleep(0.2)


def _install_rbac(admin: Connection) -> None:
    rbac = k8s.RbacAuthorizationV1Api(admin.api_client)
    create = {
        "Namespace": lambda d, **kw: admin.core.create_namespace(d, **kw),
        "ClusterRole": lambda d, **kw: rbac.create_cluster_role(d, **kw),
        "Role": lambda d, **kw: rbac.create_namespaced_role(d["metadata"]["namespace"], d, **kw),
        "ClusterRoleBinding": lambda d, **kw: rbac.create_cluster_role_binding(d, **kw),
        "RoleBinding": lambda d, **kw: rbac.create_namespaced_role_binding(
            d["metadata"]["namespace"], d, **kw
        ),
    }
    for doc in yaml.safe_load_all(RBAC.read_text()):
        status, body = call(create[doc["kind"]], doc)
        assert status == 201, f"{doc['kind']} {doc['metadata']['name']}: {status} {body.get('message')}"


def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    """One client call as the library makes it (raw JSON, `_preload_content=False`): (status, body)."""
    try:
        response = fn(*args, _preload_content=False, _request_timeout=TIMEOUT, **kwargs)
    except ApiException as err:
        return err.status, _json(err.body)
    return response.status, _json(response.data)


def _json(data: bytes | str | None) -> dict[str, Any]:
    try:
        body = json.loads(data or b"{}")
    except ValueError:
        return {"unparsed": str(data)[:200]}
    return body if isinstance(body, dict) else {"value": body}


def error(status: int, body: dict[str, Any], message: bool = False) -> Outcome:
    """What `cluster.apierrors` reads from a failed call: the status and the Status object's reason/code
    (and, with `message`, the message it shows)."""
    out = {"status": status, "reason": body.get("reason"), "code": body.get("code")}
    return {**out, "message": body.get("message")} if message else out


def compare(scenario: str, real: Outcome, emulated: Outcome, found: dict[str, str] | None = None) -> None:
    """Steps must agree, except the KNOWN differences of this scenario (and `found`: step -> why, known from
    what the real control plane turned out to lack), which must still differ."""
    unexpected, known, fixed = [], [], []
    for step in real.keys() | emulated.keys():
        same = real.get(step) == emulated.get(step)
        reason = KNOWN.get((scenario, step)) or (found or {}).get(step)
        if not same and reason is None:
            unexpected.append(f"{step}: real {real.get(step)!r} != emulator {emulated.get(step)!r}")
        elif not same:
            known.append(f"{step}: {reason}")
        elif reason is not None:
            fixed.append(step)
    assert not unexpected, "the emulator differs from kube-apiserver:\n" + "\n".join(sorted(unexpected))
    assert not fixed, f"known differences of {scenario} no longer occur, remove them from KNOWN: {fixed}"
    if known:
        pytest.xfail("; ".join(sorted(known)))


def both(clusters: dict[str, Callable[[str], Connection]], scenario: Callable[..., Outcome]) -> list[Outcome]:
    return [scenario(clusters[which]) for which in ("real", "emulator")]


# ---- ConfigMaps: the library's lock, backups and cilium-config --------------------------------------------


def configmap_scenario(open_as: Callable[[str], Connection]) -> Outcome:
    conn = open_as("admin")
    core = conn.core
    name = "diff-configmap"
    out: Outcome = {}
    body = {
        "metadata": {"name": name, "namespace": NS, "labels": {"app": "diff"}},
        "data": {"a": "1", "b": "2"},
    }
    status, created = call(core.create_namespaced_config_map, NS, body)
    first_rv = created["metadata"]["resourceVersion"]
    out["create"] = {"status": status, "data": created.get("data"), "labels": created["metadata"].get("labels"),
                     "has uid": bool(created["metadata"].get("uid")), "kind": created.get("kind"),
                     "apiVersion": created.get("apiVersion")}  # fmt: skip
    out["create again"] = error(*call(core.create_namespaced_config_map, NS, body))
    status, got = call(core.read_namespaced_config_map, name, NS)
    out["get"] = {
        "status": status,
        "data": got.get("data"),
        "same rv": got["metadata"]["resourceVersion"] == first_rv,
    }
    # a dict body goes out as a strategic merge patch (kubernetes.client.rest); None deletes a key
    status, patched = call(core.patch_namespaced_config_map, name, NS, {"data": {"a": None, "c": "3"}})
    out["strategic patch"] = {"status": status, "data": patched.get("data"),
                              "rv changed": patched["metadata"]["resourceVersion"] != first_rv}  # fmt: skip
    status, patched = call(
        core.patch_namespaced_config_map, name, NS, {"data": {"b": None, "d": "4"}}, _content_type=MERGE
    )
    out["merge patch"] = {"status": status, "data": patched.get("data")}
    ops = [{"op": "add", "path": "/data/e", "value": "5"}]
    status, patched = call(core.patch_namespaced_config_map, name, NS, ops)
    out["json patch"] = {"status": status, "data": patched.get("data")}
    out["patch missing"] = error(*call(core.patch_namespaced_config_map, "diff-missing", NS, {"data": {}}))
    # configmaps.update / replace_data: a PUT guarded by a stale resourceVersion
    stale = {"metadata": {"name": name, "namespace": NS, "resourceVersion": first_rv}, "data": {"x": "y"}}
    out["update stale"] = error(*call(core.replace_namespaced_config_map, name, NS, stale))
    fresh = dict(
        stale,
        metadata={"name": name, "namespace": NS, "resourceVersion": patched["metadata"]["resourceVersion"]},
    )
    status, updated = call(core.replace_namespaced_config_map, name, NS, fresh)
    out["update fresh"] = {
        "status": status,
        "data": updated.get("data"),
        "labels": updated["metadata"].get("labels"),
    }
    # configmaps.delete: preconditions on the resourceVersion
    precondition = {"preconditions": {"resourceVersion": first_rv}}
    out["delete stale"] = error(*call(core.delete_namespaced_config_map, name, NS, body=precondition))
    status, _ = call(core.delete_namespaced_config_map, name, NS)
    out["delete"] = status
    out["get deleted"] = error(*call(core.read_namespaced_config_map, name, NS))
    status, listing = call(core.list_namespaced_config_map, NS, label_selector="app=diff")
    out["list after delete"] = {"status": status, "kind": listing.get("kind"), "items": listing.get("items")}
    return out


def test_configmaps(clusters):
    compare("configmaps", *both(clusters, configmap_scenario))


def library_configmap_scenario(open_as: Callable[[str], Connection]) -> Outcome:
    """cilium-config's writes as `cluster.configmaps` makes them: a patch guarded by the
    resourceVersion read, a PUT of exact data, a guarded update and delete; stale ones are refused (as admin:
    the operator may write only cilium-config, which only the emulator has)."""
    conn = open_as("admin")
    name, labels = "diff-library", {"app.kubernetes.io/managed-by": "cilium-lab", "diff": "library"}
    out: Outcome = {}
    made = configmaps.create(conn, NS, name, {"a": "1"}, labels)
    patched = configmaps.patch(conn, NS, name, {"b": "2", "a": None}, resource_version=made.resource_version)
    out["guarded patch"] = patched.data
    try:
        configmaps.patch(conn, NS, name, {"c": "3"}, resource_version=made.resource_version)
    except apierrors.ClusterError as err:
        out["stale patch"] = (type(err).__name__, str(err))
    out["replace data"] = configmaps.replace_data(conn, NS, name, {"x": "y"}).data
    current = configmaps.read(conn, NS, name)
    out["update"] = configmaps.update(conn, current, {"z": "1"}).data
    try:
        configmaps.update(conn, current, {"z": "2"})
    except apierrors.ClusterError as err:
        out["stale update"] = (type(err).__name__, str(err))
    try:
        configmaps.create(conn, NS, name, {}, labels)
    except apierrors.ClusterError as err:
        out["create again"] = (type(err).__name__, str(err))
    out["listed"] = [(c.name, c.data, c.labels) for c in configmaps.list_labelled(conn, NS, labels)]
    try:
        configmaps.delete(conn, NS, name, resource_version=current.resource_version)
    except apierrors.ClusterError as err:
        out["stale delete"] = type(err).__name__
    configmaps.delete(conn, NS, name, resource_version=configmaps.read(conn, NS, name).resource_version)
    out["after delete"] = configmaps.list_labelled(conn, NS, labels)
    return out


def test_configmaps_through_the_library(clusters):
    compare("configmaps library", *both(clusters, library_configmap_scenario))


def test_conflict_message(clusters):
    """The 409 Conflict's message is what `apierrors` shows a user; both servers word it the same way."""

    def scenario(open_as: Callable[[str], Connection]) -> Outcome:
        core = open_as("admin").core
        body = {"metadata": {"name": "diff-conflict", "namespace": NS}, "data": {"a": "1"}}
        _, created = call(core.create_namespaced_config_map, NS, body)
        call(core.patch_namespaced_config_map, "diff-conflict", NS, {"data": {"a": "2"}})
        stale = dict(
            body, metadata=dict(body["metadata"], resourceVersion=created["metadata"]["resourceVersion"])
        )
        status, answer = call(core.replace_namespaced_config_map, "diff-conflict", NS, stale)
        call(core.delete_namespaced_config_map, "diff-conflict", NS)
        return {
            "conflict": {"status": status, "message": answer.get("message"), "details": answer.get("details")}
        }

    compare("conflict message", *both(clusters, scenario))


def lock_scenario(open_as: Callable[[str], Connection]) -> Outcome:
    """The library's change lock (a Lease) as the operator role: take it, lose it to another holder, release
    ours. The release is guarded by our resourceVersion, so it must leave the other holder's lease alone."""
    conn = open_as("operator")
    out: Outcome = {}
    held = lock.acquire(conn, NS, purpose="differential", holder="diff-a", duration=120)
    out["acquire"] = held.holder
    try:
        lock.acquire(conn, NS, purpose="differential", holder="diff-b")
    except lock.LockHeld as err:
        out["acquire while held"] = type(err).__name__
    taken = leases.read(conn, NS, lock.NAME)  # someone takes it over
    taken["spec"]["holderIdentity"] = "diff-b"
    leases.replace(conn, taken)
    lock.release(conn, held)  # stale: must not delete diff-b's lease
    out["release warnings"] = len(held.warnings)
    current = leases.read(conn, NS, lock.NAME)
    out["holder after stale release"] = current["spec"]["holderIdentity"]
    leases.delete(conn, NS, lock.NAME, current["metadata"]["resourceVersion"])
    try:
        leases.read(conn, NS, lock.NAME)
    except apierrors.NotFound as err:
        out["after release"] = type(err).__name__
    return out


def test_change_lock(clusters):
    compare("lock", *both(clusters, lock_scenario))


# ---- Leases (coordination.k8s.io/v1) --------------------------------------------------------------------


def lease_scenario(open_as: Callable[[str], Connection]) -> Outcome:
    api = k8s.CoordinationV1Api(open_as("admin").api_client)
    name = "diff-lease"
    spec = {"holderIdentity": "a", "leaseDurationSeconds": 15}
    out: Outcome = {}
    status, created = call(api.create_namespaced_lease, NS, {"metadata": {"name": name}, "spec": spec})
    out["create"] = {"status": status, "spec": created.get("spec")}
    rv = (created.get("metadata") or {}).get("resourceVersion", "")
    renewed = {"metadata": {"name": name, "resourceVersion": rv}, "spec": dict(spec, holderIdentity="b")}
    status, updated = call(api.replace_namespaced_lease, name, NS, renewed)
    out["update"] = {"status": status, "holder": (updated.get("spec") or {}).get("holderIdentity")}
    out["update stale"] = error(*call(api.replace_namespaced_lease, name, NS, renewed))
    out["create again"] = error(
        *call(api.create_namespaced_lease, NS, {"metadata": {"name": name}, "spec": spec})
    )
    status, _ = call(api.delete_namespaced_lease, name, NS)
    out["delete"] = status
    return out


def test_leases(clusters):
    compare("leases", *both(clusters, lease_scenario))


# ---- deploy/rbac.yaml: what each role may do, by SelfSubjectAccessReview ---------------------------------

# (user, verb, group, resource, namespace, name)
ACCESS = [
    ("inspector", "list", "", "nodes", None, None),
    ("inspector", "patch", "", "nodes", None, None),
    ("inspector", "get", "", "namespaces", None, "kube-system"),
    ("inspector", "get", "", "namespaces", None, "default"),
    ("inspector", "list", "cilium.io", "ciliumnodeconfigs", NS, None),
    ("inspector", "create", "cilium.io", "ciliumnodeconfigs", NS, None),
    ("inspector", "list", "", "pods", NS, None),
    ("inspector", "list", "", "pods", "default", None),
    ("inspector", "get", "", "pods/exec", NS, "cilium-abc"),
    ("inspector", "create", "", "pods/exec", NS, "cilium-abc"),
    ("inspector", "get", "", "configmaps", NS, "cilium-config"),
    ("inspector", "patch", "", "configmaps", NS, "cilium-config"),
    ("inspector", "get", "apps", "daemonsets", NS, "cilium"),
    ("inspector", "patch", "apps", "daemonsets", NS, "cilium"),
    ("inspector", "delete", "", "pods", NS, None),
    ("inspector", "create", "authorization.k8s.io", "selfsubjectaccessreviews", None, None),
    ("operator", "get", "", "nodes", None, None),
    ("operator", "patch", "", "nodes", None, "node-1"),
    ("operator", "update", "", "nodes", None, "node-1"),
    ("operator", "patch", "", "configmaps", NS, "cilium-config"),
    ("operator", "update", "", "configmaps", NS, "cilium-lab-lock"),
    ("operator", "delete", "", "configmaps", NS, "cilium-lab-lock"),
    ("operator", "create", "", "configmaps", "default", None),
    ("operator", "patch", "apps", "daemonsets", NS, "cilium"),
    ("operator", "update", "apps", "daemonsets", NS, "cilium"),
    ("operator", "delete", "", "pods", NS, "cilium-abc"),
    ("operator", "create", "cilium.io", "ciliumnodeconfigs", NS, None),
    ("operator", "update", "cilium.io", "ciliumnodeconfigs", NS, "canary"),
    ("operator", "create", "", "pods", "cilium-lab-bench", None),
    ("operator", "create", "", "services", "cilium-lab-bench", None),
    ("operator", "deletecollection", "", "pods", "cilium-lab-bench", None),
    ("operator", "create", "", "pods/exec", "cilium-lab-bench", "bench-server"),
    ("operator", "create", "", "pods", NS, None),
    ("operator", "create", "", "pods", "cilium-lab-host", None),
    ("host-operator", "create", "", "pods", "cilium-lab-host", None),
    ("host-operator", "get", "", "pods/exec", "cilium-lab-host", "host-node-1"),
    ("host-operator", "create", "", "configmaps", NS, None),
    ("host-operator", "get", "", "configmaps", NS, "cilium-lab-lock"),
    ("host-operator", "delete", "", "configmaps", NS, "cilium-lab-lock"),
    ("host-operator", "delete", "", "configmaps", NS, "cilium-config"),
    ("host-operator", "get", "", "configmaps", NS, None),
    ("host-operator", "list", "", "nodes", None, None),
    ("readonly", "get", "", "nodes", None, None),
    ("readonly", "get", "", "namespaces", None, "kube-system"),
    ("readonly", "list", "", "configmaps", NS, None),
    ("readonly", "list", "", "secrets", NS, None),
    ("readonly", "patch", "", "configmaps", NS, "cilium-config"),
    ("readonly", "create", "authorization.k8s.io", "selfsubjectaccessreviews", None, None),
]


def access_scenario(open_as: Callable[[str], Connection]) -> Outcome:
    out: Outcome = {}
    for user, verb, group, resource, namespace, name in ACCESS:
        api = k8s.AuthorizationV1Api(open_as(user).api_client)
        plural, _, sub = resource.partition("/")
        attrs = {"verb": verb, "group": group, "resource": plural, "subresource": sub or None,
                 "namespace": namespace, "name": name}  # fmt: skip
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                  "spec": {"resourceAttributes": {k: v for k, v in attrs.items() if v is not None}}}  # fmt: skip
        status, answer = call(api.create_self_subject_access_review, review)
        where = f" in {namespace}" if namespace else ""
        out[f"{user} {verb} {resource}{f'/{name}' if name else ''}{where}"] = (
            status,
            (answer.get("status") or {}).get("allowed"),
        )
    return out


def test_rbac_roles(clusters):
    compare("rbac", *both(clusters, access_scenario))


def test_forbidden_answer(clusters):
    """What a 403 looks like to `apierrors` (its message names the user, verb and resource)."""

    def scenario(open_as: Callable[[str], Connection]) -> Outcome:
        status, body = call(open_as("inspector").core.patch_namespaced_config_map, "x", NS, {"data": {}})
        return {"patch as inspector": {**error(status, body), "message": body.get("message")}}

    compare("forbidden", *both(clusters, scenario))


# ---- a DaemonSet's rollout, as `cluster.rollout` restarts and waits for it -------------------------------

NO_NODE = {"cilium-lab.io/differential": "no-such-node"}  # no node carries it, on either side
NOWHERE = "diff-no-node"  # a node name neither cluster has


def _daemonset(name: str) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"nodeSelector": NO_NODE, "containers": [{"name": "c", "image": "busybox"}]},
            },
        },
    }


def _install(namespace: str, name: str, selector: dict[str, str]) -> discover.CiliumInstall:
    """What `rollout` needs of a Cilium install, for a DaemonSet (or pods) of our own."""
    return discover.CiliumInstall(
        namespace=namespace, daemonset=name, configmap="", version="", image="", selector=selector,
        helm_managed=False,
    )  # fmt: skip


def rollout_progress(conn: Connection, name: str) -> Outcome:
    """Create a DaemonSet that selects no node, restart it as the library does and wait for the rollout:
    the progress lines `rollout.wait` reports, and how it ends. Also shows the controllers still run."""
    apps = conn.apps
    call(apps.create_namespaced_daemon_set, NS, _daemonset(name))
    lines: list[str] = []
    first = rollout.wait(conn, _install(NS, name, {"app": name}), timeout=TIMEOUT, progress=lines.append)
    rollout.restart(conn, NS, name)
    again = rollout.wait(conn, _install(NS, name, {"app": name}), timeout=TIMEOUT, progress=lines.append)
    _, ds = call(apps.read_namespaced_daemon_set, name, NS)
    call(apps.delete_namespaced_daemon_set, name, NS)
    return {"states": (first.state, again.state), "lines": lines, "generation": ds["metadata"].get("generation"),
            "observed": (ds.get("status") or {}).get("observedGeneration")}  # fmt: skip


def daemonset_scenario(open_as: Callable[[str], Connection]) -> Outcome:
    apps = open_as("admin").apps
    name = "diff-ds"
    out: Outcome = {}
    status, created = call(apps.create_namespaced_daemon_set, NS, _daemonset(name))
    out["create"] = {"status": status, "generation": created["metadata"].get("generation"),
                     "updateStrategy": created["spec"].get("updateStrategy"),
                     "revisionHistoryLimit": created["spec"].get("revisionHistoryLimit"),
                     "ds status": created.get("status")}  # fmt: skip
    out["observed"] = _observed(apps, name, 1)
    operator = open_as("operator")  # the library's restart, as the role that patches DaemonSet cilium
    out["restart as operator"] = error(*call(operator.apps.patch_namespaced_daemon_set, name, NS, {}))
    install = _install(NS, name, {"app": name})
    lines: list[str] = []
    rollout.restart(open_as("admin"), NS, name)
    result = rollout.wait(open_as("admin"), install, timeout=TIMEOUT, progress=lines.append)
    out["rollout"] = {"state": result.state, "lines": lines}
    out["observed after restart"] = _observed(apps, name, 2)
    out["restart missing"] = error(*call(apps.patch_namespaced_daemon_set, "diff-missing", NS, {}))
    out["read missing"] = error(*call(apps.read_namespaced_daemon_set, "diff-missing", NS))
    call(apps.delete_namespaced_daemon_set, name, NS)
    out["a second DaemonSet"] = rollout_progress(open_as("admin"), "diff-ds-2")
    return out


def _observed(apps: k8s.AppsV1Api, name: str, generation: int) -> dict[str, Any]:
    """The status once the DaemonSet controller has observed `generation` (what `rollout.wait` reads)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        _, ds = call(apps.read_namespaced_daemon_set, name, NS)
        status = ds.get("status") or {}
        if status.get("observedGeneration", 0) >= generation or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def test_daemonset_rollout(clusters):
    compare("daemonset", *both(clusters, daemonset_scenario))


# ---- Cilium's CiliumNodeConfig CRD and a CR of it ----------------------------------------------------------


def crd_scenario(open_as: Callable[[str], Connection]) -> Outcome:
    admin = open_as("admin")
    out: Outcome = {}
    custom = admin.custom
    cr = {
        "apiVersion": "cilium.io/v2",
        "kind": "CiliumNodeConfig",
        "metadata": {"name": "diff-canary", "namespace": NS, "labels": {"app.kubernetes.io/managed-by": "cilium-lab"}},
        "spec": {"nodeSelector": {"matchLabels": {"cilium-lab.io/canary": "true"}}, "defaults": {"bpf-lb-sock": "true"}},
    }  # fmt: skip
    status, made = _retry_404(lambda: call(custom.create_namespaced_custom_object, "cilium.io", "v2", NS,
                                           "ciliumnodeconfigs", cr))  # fmt: skip
    out["create cr"] = {"status": status, "spec": made.get("spec"), "apiVersion": made.get("apiVersion")}
    status, old = call(custom.get_namespaced_custom_object, "cilium.io", "v2alpha1", NS, "ciliumnodeconfigs",
                       "diff-canary")  # fmt: skip
    out["get as v2alpha1"] = {"status": status, "apiVersion": old.get("apiVersion"), "spec": old.get("spec")}
    status, listing = call(custom.list_namespaced_custom_object, "cilium.io", "v2", NS, "ciliumnodeconfigs")
    out["list"] = {"status": status, "names": [i["metadata"]["name"] for i in listing.get("items", [])]}
    invalid = dict(cr, metadata={"name": "diff-invalid", "namespace": NS}, spec={"defaults": {"a": "b"}})
    out["create invalid"] = error(*call(custom.create_namespaced_custom_object, "cilium.io", "v2", NS,
                                        "ciliumnodeconfigs", invalid), message=True)  # fmt: skip
    wrong_type = dict(cr, metadata={"name": "diff-wrong", "namespace": NS},
                      spec={"nodeSelector": {}, "defaults": {"a": 1}})  # fmt: skip
    out["create wrong type"] = error(*call(custom.create_namespaced_custom_object, "cilium.io", "v2", NS,
                                           "ciliumnodeconfigs", wrong_type), message=True)  # fmt: skip
    # the client's default for custom objects is a merge patch; a strategic one is not for custom resources
    patch = {"spec": {"defaults": {"bpf-lb-sock": "false"}}}
    out["strategic patch cr"] = error(*call(custom.patch_namespaced_custom_object, "cilium.io", "v2", NS,
                                            "ciliumnodeconfigs", "diff-canary", patch,
                                            _content_type=STRATEGIC), message=True)  # fmt: skip
    status, patched = call(custom.patch_namespaced_custom_object, "cilium.io", "v2", NS, "ciliumnodeconfigs",
                           "diff-canary", patch)  # fmt: skip
    out["merge patch cr"] = {"status": status, "defaults": (patched.get("spec") or {}).get("defaults")}
    status, _ = call(custom.delete_namespaced_custom_object, "cilium.io", "v2", NS, "ciliumnodeconfigs",
                     "diff-canary")  # fmt: skip
    out["delete cr"] = status
    out["delete cr again"] = error(*call(custom.delete_namespaced_custom_object, "cilium.io", "v2", NS,
                                         "ciliumnodeconfigs", "diff-canary"))  # fmt: skip
    return out


def _retry_404(fn: Callable[[], tuple[int, dict[str, Any]]]) -> tuple[int, dict[str, Any]]:
    """A new CRD's resource can answer 404 for a moment after Established (discovery catching up)."""
    deadline = time.monotonic() + 10
    while True:
        status, body = fn()
        if status != 404 or time.monotonic() > deadline:
            return status, body
        time.sleep(0.2)


def test_ciliumnodeconfig_crd(clusters):
    compare("crd", *both(clusters, crd_scenario))


# ---- /version, which `connect` probes --------------------------------------------------------------------


def version_scenario(open_as: Callable[[str], Connection]) -> Outcome:
    # a user that holds no role of ours: /version is public (system:public-info-viewer)
    conn = connect(open_as("admin").kubeconfig, context="readonly")
    status, body = call(k8s.VersionApi(conn.api_client).get_code)
    close(conn)
    return {"connect as readonly": conn.context, "version": {"status": status, "fields": sorted(body)}}


def test_version(clusters):
    compare("version", *both(clusters, version_scenario))


# ---- Namespaces: the cluster's identity, and the benchmark and host namespaces made on demand -----------


def namespace_scenario(open_as: Callable[[str], Connection]) -> Outcome:
    admin, inspector = open_as("admin"), open_as("inspector")
    out: Outcome = {"identity": bool(identity.read(inspector).uid)}  # kube-system's uid
    workloads.ensure_namespace(admin, "diff-bench")
    privileged.ensure_namespace(admin, "diff-host")
    for name in ("diff-bench", "diff-host"):
        status, ns = call(admin.core.read_namespace, name)
        out[f"made {name}"] = {"status": status, "labels": ns["metadata"].get("labels"),
                               "spec": ns.get("spec"), "phase": (ns.get("status") or {}).get("phase")}  # fmt: skip
    workloads.ensure_namespace(admin, "diff-bench")  # there already: nothing to do
    workloads.ensure_namespace(inspector, "diff-other")  # may not read it: assumes deploy/rbac.yaml made it
    out["inspector reads default"] = error(*call(inspector.core.read_namespace, "default"))
    out["read missing"] = error(*call(admin.core.read_namespace, "diff-missing"))
    out["create again"] = error(*call(admin.core.create_namespace, {"metadata": {"name": "diff-bench"}}))
    bad = {"metadata": {"name": "Diff_Bad"}}
    out["create invalid"] = error(*call(admin.core.create_namespace, bad), message=True)
    return out


def test_namespaces(clusters):
    compare("namespaces", *both(clusters, namespace_scenario))


# ---- Nodes: canary labels, readiness -----------------------------------------------------------------------


def node_scenario(open_as: Callable[[str], Connection]) -> Outcome:
    admin, operator, inspector = open_as("admin"), open_as("operator"), open_as("inspector")
    name = "diff-node"
    # as a node registers before its first status (the real node controller waits a minute before it
    # marks such a node Unknown)
    status, _ = call(
        admin.core.create_node, {"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}}}
    )
    out: Outcome = {"register": status}
    nodeconfig.set_node_labels(operator, name, {"cilium-lab.io/canary": "true", "diff": "1"})
    nodeconfig.label_nodes(operator, [name], "diff", None)
    nodes = {objects.name_of(n): n for n in discover.list_nodes(inspector)}
    out["labels"] = objects.labels(nodes[name])
    out["not ready"] = rollout.not_ready_nodes(inspector, [name, "diff-gone"])
    labels = {"metadata": {"labels": {"diff": "2"}}}
    out["patch missing"] = error(*call(operator.core.patch_node, "diff-gone", labels))
    out["patch as inspector"] = error(*call(inspector.core.patch_node, name, labels), message=True)
    out["list as readonly"] = error(*call(open_as("readonly").core.list_node))  # an inspector too
    out["controllers after"] = rollout_progress(admin, "diff-ds-nodes")
    call(admin.core.delete_node, name)
    return out


def test_nodes(clusters):
    compare("nodes", *both(clusters, node_scenario))


# ---- the benchmark: liveness records, pods and a service in cilium-lab-bench --------------------------------


def liveness_scenario(open_as: Callable[[str], Connection]) -> Outcome:
    conn = open_as("operator")  # the benchmark role, through cilium-lab-operators
    ns = workloads.NAMESPACE
    out: Outcome = {}
    with liveness.held(conn, ns, "diff-run-a", ("node-a", "node-b")) as mine:
        try:
            with liveness.held(conn, ns, "diff-run-b", ("node-b",)):
                out["second run"] = "held"
        except liveness.RunHeld as err:
            out["second run"] = str(err).split(":")[0]
        with liveness.held(conn, ns, "diff-run-c", ("node-c",)):
            records = liveness.records(conn, ns)
            out["records"] = sorted((r.run_id, r.live(), sorted(r.nodes)) for r in records)
        out["lost"] = mine.lost
    out["after"] = [r.run_id for r in liveness.records(conn, ns)]
    return out


def test_bench_liveness(clusters):
    compare("liveness", *both(clusters, liveness_scenario))


SCHEDULER_WAIT = 10  # seconds


def _scheduled(pod: dict[str, Any]) -> Any:
    """The pod's PodScheduled condition as the library's wait message shows it (node counts differ)."""
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "PodScheduled":
            return {k: condition.get(k) for k in ("status", "reason")}
    return None


def _until_scheduler_looked(conn: Connection, ns: str, run: str) -> dict[str, dict[str, Any]]:
    """The run's pods once the scheduler has said about each whether it is scheduled (or SCHEDULER_WAIT passed:
    a control plane without kube-scheduler never says)."""
    deadline = time.monotonic() + SCHEDULER_WAIT
    while True:
        pods = {objects.name_of(p): p for p in workloads.list_pods(conn, ns, run_id=run)}
        if all(_scheduled(p) for p in pods.values()) or time.monotonic() > deadline:
            return pods
        time.sleep(0.2)


def _service(conn: Connection, ns: str, name: str) -> dict[str, Any]:
    return call(conn.core.read_namespaced_service, name, ns)[1]


def bench_scenario(open_as: Callable[[str], Connection]) -> Outcome:
    conn = open_as("operator")
    ns, run = workloads.NAMESPACE, "diff-bench-run"
    image = "docker.io/cilium/netperf:3.0.0"
    server = workloads.PodSpec("diff-server", "server", NOWHERE, False, ("netserver", "-D"), image, (12865,))
    client = workloads.PodSpec("diff-client", "client", NOWHERE, True, ("sleep", "infinity"), image)
    out: Outcome = {}
    for spec in (server, client):  # the host-to-host client: the namespace enforces `privileged`
        workloads.create_pod(conn, ns, spec, run)
    manifest = workloads.service_manifest("diff-service", run, target_role="server", ports=(12865,))
    out["cluster ip"] = ipaddress.ip_address(workloads.create_service(conn, ns, manifest)).version
    try:
        workloads.create_pod(conn, ns, server, run)
    except apierrors.AlreadyExists as err:
        out["create again"] = str(err)
    pods = _until_scheduler_looked(conn, ns, run)
    out["pods"] = {n: ((p.get("status") or {}).get("phase"), (p.get("spec") or {}).get("nodeName"), _scheduled(p))
                   for n, p in pods.items()}  # fmt: skip
    out["services"] = [
        {"name": objects.name_of(s), "ports": s["spec"].get("ports"), "selector": s["spec"].get("selector"),
         "type": s["spec"].get("type")}
        for s in workloads.list_services(conn, ns, run_id=run)
    ]  # fmt: skip
    try:
        workloads.wait_running(conn, ns, run, {"diff-server"}, timeout=0.5)
    except ClusterError as err:
        out["not running"] = type(err).__name__
    workloads.create_pod(conn, ns, workloads.PodSpec("diff-stray", "server", NOWHERE, False, ("true",), image),
                         "diff-dead-run")  # fmt: skip
    out["service defaults"] = {k: v for k, v in _service(open_as("admin"), ns, "diff-service")["spec"].items()
                               if k not in ("clusterIP", "clusterIPs")}  # fmt: skip
    out["sweep"] = workloads.sweep(conn, ns, alive=lambda: {run})
    admin = open_as("admin")  # what a DELETE answers (the library reads only its status)
    call(admin.core.create_namespaced_service, ns, {**manifest, "metadata": {"name": "diff-deleted"}})
    status, gone = call(admin.core.delete_namespaced_service, "diff-deleted", ns)
    out["delete service answers"] = (status, gone.get("kind"))
    workloads.create_pod(
        admin, ns, workloads.PodSpec("diff-deleted", "server", NOWHERE, False, ("true",), image), "r"
    )
    status, gone = call(admin.core.delete_namespaced_pod, "diff-deleted", ns)
    out["delete pod answers"] = (
        status,
        gone.get("kind"),
        bool(gone.get("metadata", {}).get("deletionTimestamp")),
    )
    out["delete run"] = workloads.delete_run(conn, ns, run)
    out["left"] = [objects.name_of(p) for p in workloads.list_pods(conn, ns)]
    inspector = open_as("inspector")
    out["create as inspector"] = error(
        *call(inspector.core.create_namespaced_pod, ns, workloads.pod_manifest(server, run))
    )
    return out


def test_bench_workloads(clusters):
    real, emulated = both(clusters, bench_scenario)
    # the binary of main before s17go's change runs no kube-scheduler: no pod is ever marked unschedulable
    known = {"pods": NO_SCHEDULER} if all(v[2] is None for v in real["pods"].values()) else {}
    compare("bench", real, emulated, known)


# ---- lab 15's privileged host pods, a per-node agent restart, and Pod Security as a hardened cluster sets it ---


HARDENED = "diff-hardened"  # enforce: baseline, as a hardened cluster labels its namespaces
RESTRICTED = "diff-restricted"  # enforce: restricted


def host_scenario(open_as: Callable[[str], Connection]) -> Outcome:
    conn, admin = open_as("host-operator"), open_as("admin")
    image = "docker.io/library/busybox:1.36"
    out: Outcome = {}
    name = privileged.create(
        conn, NOWHERE, image=image, run_id="diff-host-run"
    )  # bound to a node with no kubelet
    try:
        privileged.wait_running(conn, name, timeout=0.5)
    except ClusterError as err:
        out["wait"] = str(err)
    # a per-node restart as `rollout.restart_nodes` makes it (delete the node's pod, wait for a new one)
    install = _install(privileged.NAMESPACE, "", {workloads.ROLE_LABEL: privileged.ROLE})
    replaced = rollout.restart_nodes(conn, install, [NOWHERE])
    out["restart"] = replaced
    result = rollout.wait_nodes(conn, install, replaced, timeout=0.5)
    out["no replacement"] = (result.state, result.message, result.not_ready)
    out["delete gone"] = privileged.delete(conn, name)
    privileged.create(conn, NOWHERE, image=image, run_id="diff-host-run")
    out["sweep"] = privileged.sweep(conn)
    out["read gone"] = error(*call(conn.core.read_namespaced_pod, name, privileged.NAMESPACE))
    labels = {
        "pod-security.kubernetes.io/enforce": "baseline",
        "pod-security.kubernetes.io/enforce-version": "latest",
    }
    call(admin.core.create_namespace, {"metadata": {"name": HARDENED, "labels": labels}})
    for what, create in (
        ("host pod", lambda: privileged.create(admin, NOWHERE, image=image, run_id="r", namespace=HARDENED)),
        ("host-network bench pod", lambda: workloads.create_pod(
            admin, HARDENED, workloads.PodSpec("diff-hostnet", "client", NOWHERE, True, ("true",), image), "r")),
        ("bench pod", lambda: workloads.create_pod(
            admin, HARDENED, workloads.PodSpec("diff-plain", "server", NOWHERE, False, ("true",), image), "r")),
    ):  # fmt: skip
        try:
            create()
            out[f"{what} in {HARDENED}"] = "admitted"
        except apierrors.Forbidden as err:
            out[f"{what} in {HARDENED}"] = str(err)
    # `restricted`: the benchmark's plain pod sets none of what it asks for
    restricted = {"pod-security.kubernetes.io/enforce": "restricted"}
    call(admin.core.create_namespace, {"metadata": {"name": RESTRICTED, "labels": restricted}})
    plain = workloads.PodSpec("diff-plain", "server", NOWHERE, False, ("true",), image, (12865,))
    try:
        workloads.create_pod(admin, RESTRICTED, plain, "r")
        out[f"bench pod in {RESTRICTED}"] = "admitted"
    except apierrors.Forbidden as err:
        out[f"bench pod in {RESTRICTED}"] = str(err)
    out["controllers after"] = rollout_progress(admin, "diff-ds-host")
    return out


def test_host_pods(clusters):
    compare("host pods", *both(clusters, host_scenario))
