"""Differential tests: the same calls the library makes through the official kubernetes client, run against
a real kube-apiserver + kube-controller-manager (`tests/controlplane.py`) and against the emulator
(`cilium_lab.sim`), comparing status codes and the body fields the library reads.

Each scenario returns {step: what the library would see}; the two answers must agree step by step. A
difference listed in KNOWN (with why it is accepted for now) makes the scenario xfail, naming it; a known
difference that no longer occurs fails, so the list stays true. The real control plane has no nodes, so
the emulator's node-dependent answers are compared on objects that select no node.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from cilium_lab.change import lock
from cilium_lab.cluster import apierrors, leases
from cilium_lab.cluster.connect import Connection, connect
from cilium_lab.sim.cluster import EmbeddedCluster
from controlplane import ControlPlane

pytestmark = [pytest.mark.controlplane, pytest.mark.xdist_group("controlplane")]

ROOT = Path(__file__).resolve().parents[1]
RBAC = ROOT / "deploy" / "rbac.yaml"
CRD = ROOT / "tests" / "fixtures" / "crds" / "ciliumnodeconfigs.yaml"
NS = "kube-system"
USERS = {"inspector": ("cilium-lab-inspectors",), "operator": ("cilium-lab-operators",),
         "host-operator": ("cilium-lab-host-operators",)}  # fmt: skip
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
TIMEOUT = 30

Outcome = dict[str, Any]

# (scenario, step) -> why the emulator answers differently, for now
_CRD = (
    "the emulator serves CiliumNodeConfig built in (sim.state.resources, by Cilium version) and no "
    "apiextensions.k8s.io: creating the CRD is 404 there"
)
KNOWN: dict[tuple[str, str], str] = {
    ("crd", "create crd"): _CRD,
    ("crd", "established"): _CRD,
}


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


def compare(scenario: str, real: Outcome, emulated: Outcome) -> None:
    """Steps must agree, except the KNOWN differences of this scenario, which must still differ."""
    unexpected, known, fixed = [], [], []
    for step in real.keys() | emulated.keys():
        same = real.get(step) == emulated.get(step)
        reason = KNOWN.get((scenario, step))
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


# ---- a DaemonSet, before any node runs it ----------------------------------------------------------------

NO_NODE = {"cilium-lab.io/differential": "no-such-node"}  # the emulator has nodes; the real plane has none


def daemonset_scenario(open_as: Callable[[str], Connection]) -> Outcome:
    apps = open_as("admin").apps
    name = "diff-ds"
    labels = {"app": name}
    body = {
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"nodeSelector": NO_NODE, "containers": [{"name": "c", "image": "busybox"}]},
            },
        },
    }
    out: Outcome = {}
    status, created = call(apps.create_namespaced_daemon_set, NS, body)
    out["create"] = {"status": status, "generation": created["metadata"].get("generation"),
                     "updateStrategy": created["spec"].get("updateStrategy"),
                     "revisionHistoryLimit": created["spec"].get("revisionHistoryLimit"),
                     "ds status": created.get("status")}  # fmt: skip
    out["observed"] = _observed(apps, name, 1)
    # rollout.restart's patch: a pod-template annotation, a new generation
    restart = {
        "spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "t"}}}}
    }
    status, patched = call(apps.patch_namespaced_daemon_set, name, NS, restart)
    out["restart"] = {"status": status, "generation": patched["metadata"].get("generation")}
    out["observed after restart"] = _observed(apps, name, 2)
    call(apps.delete_namespaced_daemon_set, name, NS)
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


def test_daemonset_without_nodes(clusters):
    compare("daemonset", *both(clusters, daemonset_scenario))


# ---- Cilium's CiliumNodeConfig CRD and a CR of it ----------------------------------------------------------


def crd_scenario(open_as: Callable[[str], Connection]) -> Outcome:
    admin = open_as("admin")
    ext = k8s.ApiextensionsV1Api(admin.api_client)
    crd = next(d for d in yaml.safe_load_all(CRD.read_text()) if d)
    out: Outcome = {}
    status, created = call(ext.create_custom_resource_definition, crd)
    out["create crd"] = {"status": status, "name": (created.get("metadata") or {}).get("name")}
    out["established"] = _established(ext, crd["metadata"]["name"])
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


def _established(ext: k8s.ApiextensionsV1Api, name: str) -> Any:
    deadline = time.monotonic() + TIMEOUT
    while True:
        status, crd = call(ext.read_custom_resource_definition, name)
        if status != 200:
            return {"status": status}
        conditions = {c["type"]: c["status"] for c in crd["status"].get("conditions") or []}
        if conditions.get("Established") == "True" or time.monotonic() > deadline:
            return {"status": status, "Established": conditions.get("Established")}
        time.sleep(0.2)


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
