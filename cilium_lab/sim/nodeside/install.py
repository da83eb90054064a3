"""A profile's Cilium install on a real API server, with admin rights: what the embedded cluster starts with.

First Cilium's own CiliumNodeConfig CRD (data/crds/, from Cilium's repository at a named commit), waited for
until Established. Then the objects `control.bootstrap` gives a fresh embedded cluster of the profile,
created through the real API in an order its admission accepts (namespaces, the cilium ServiceAccount the
DaemonSet's pods need, cilium-config, deploy/rbac.yaml's roles and bindings exactly as shipped, the cilium
DaemonSet last). What the real server already has (the default namespaces, the `kubernetes` Service, its
own cluster-admin, view and edit ClusterRoles) is left as the real server made it. Nodes are not created
here (`nodes.register` does, as kubelets would), and neither are the embedded cluster's users: the real
control plane's kubeconfig has its own (admin, and the groups of deploy/rbac.yaml by token).
"""

from __future__ import annotations

import time
from typing import Any

import yaml

from cilium_lab.errors import ClusterError
from cilium_lab.package_files import shipped
from cilium_lab.sim.control import bootstrap
from cilium_lab.sim.control.backend import Backend
from cilium_lab.sim.nodeside import rest
from cilium_lab.sim.nodeside.rest import Rest, RestError
from cilium_lab.sim.state.profiles import Profile

CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
ESTABLISHED_TIMEOUT = 60.0
ORDER = (  # store keys in creation order; anything else comes before the DaemonSet
    "namespaces",
    "serviceaccounts",
    "configmaps",
    "clusterroles.rbac.authorization.k8s.io",
    "roles.rbac.authorization.k8s.io",
    "clusterrolebindings.rbac.authorization.k8s.io",
    "rolebindings.rbac.authorization.k8s.io",
)
NOT_INSTALLED = ("nodes", "events", "services")  # services: only `kubernetes`, which the real server makes
LAST = "daemonsets.apps"
KEPT_METADATA = ("name", "namespace", "labels", "annotations")
Obj = dict[str, Any]


def crds() -> list[Obj]:
    """The CRD manifests shipped in data/crds/."""
    return [
        doc
        for path in sorted(shipped("data", "crds").glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]


def install(api: Rest, profile: Profile) -> None:
    for crd in crds():
        _create(api, CRD_PATH, crd)
        _wait_established(api, crd["metadata"]["name"])
    scratch = Backend(profile)
    bootstrap.install(scratch)
    for key in _keys(scratch):
        res = scratch.registry.by_key(key)
        for obj in scratch.store.list(key):
            meta = {k: v for k, v in obj["metadata"].items() if k in KEPT_METADATA}
            body = {**obj, "apiVersion": res.group_version, "kind": res.kind, "metadata": meta}
            body.pop("status", None)
            _create(api, rest.collection(res, meta.get("namespace")), body)


def _keys(scratch: Backend) -> list[str]:
    present = {key for (key, _, _), _ in scratch.store.dump()["objects"]} - set(NOT_INSTALLED)
    rest_keys = sorted(present - set(ORDER) - {LAST})
    return [k for k in ORDER if k in present] + rest_keys + [LAST]


def _create(api: Rest, path: str, body: Obj) -> None:
    try:
        api.request("POST", path, body)
    except RestError as err:
        if err.reason != "AlreadyExists":
            name = body["metadata"]["name"]
            raise ClusterError(
                f"cannot install {body.get('kind')} {name} on the real control plane: {err}"
            ) from None


def _wait_established(api: Rest, name: str) -> None:
    deadline = time.monotonic() + ESTABLISHED_TIMEOUT
    while time.monotonic() < deadline:
        conditions = api.request("GET", f"{CRD_PATH}/{name}").get("status", {}).get("conditions") or []
        if any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions):
            return
        time.sleep(0.2)
    raise ClusterError(f"the CRD {name} did not become Established within {ESTABLISHED_TIMEOUT:g}s")
