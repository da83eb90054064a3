"""The objects a freshly installed cluster of a profile holds: namespaces, nodes, Cilium, RBAC, users.

Used when no saved state is restored. Builds the nodes from the profile (nodeInfo,
addresses, labels k3s/kubeadm set, podCIDR), the `cilium-config` ConfigMap and the `cilium` DaemonSet
as the Helm chart installs them (image quay.io/cilium/cilium:v<version>, container `cilium-agent`,
label k8s-app=cilium, hostNetwork), the `kubernetes` Service, and RBAC: the ClusterRoles cluster-admin,
view and edit, everything the shipped deploy/rbac.yaml holds (its roles, bindings and namespaces, read from
the file, so the embedded cluster grants exactly what a real cluster given that file grants), user `admin`
in system:masters and user `readonly` in the group cilium-lab-inspectors (read-only, no exec).
Simplification: no operator, Hubble relay, CoreDNS or kube-proxy pods.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from cilium_lab.package_files import shipped
from cilium_lab.sim.control.backend import Backend
from cilium_lab.sim.state import admission
from cilium_lab.sim.state.profiles import NodeProfile, Profile
from cilium_lab.sim.state.resources import ALL_VERBS

Obj = dict[str, Any]
NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
READONLY_GROUP = "cilium-lab-inspectors"  # deploy/rbac.yaml's read-only role, without the status exec
_KEYS = {
    "Namespace": "namespaces",
    "ClusterRole": "clusterroles.rbac.authorization.k8s.io",
    "Role": "roles.rbac.authorization.k8s.io",
    "ClusterRoleBinding": "clusterrolebindings.rbac.authorization.k8s.io",
    "RoleBinding": "rolebindings.rbac.authorization.k8s.io",
}


def _runtime(kubernetes_version: str) -> str:
    return "containerd://1.7.1-k3s1" if "k3s" in kubernetes_version else "containerd://1.7.2"


def node_object(node: NodeProfile, profile: Profile) -> Obj:
    labels = {
        "kubernetes.io/arch": node.arch,
        "kubernetes.io/os": "linux",
        "kubernetes.io/hostname": node.name,
        "beta.kubernetes.io/arch": node.arch,
        "beta.kubernetes.io/os": "linux",
        # how anything outside sim/ can tell this cluster is simulated, and label what it measures
        "cilium-lab.io/simulated": "true",
    }
    if node.control_plane:
        labels["node-role.kubernetes.io/control-plane"] = "true"
        if "k3s" in profile.kubernetes_version:
            labels["node-role.kubernetes.io/master"] = "true"  # k3s sets both
    resources = {"cpu": str(node.cpus), "memory": f"{node.memory_gib * 1024 * 1024}Ki", "pods": "110"}
    conditions = [
        {"type": t, "status": "False", "reason": r, "message": m}
        for t, r, m in (
            ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        )
    ]
    conditions.append(
        {
            "type": "Ready",
            "status": "True",
            "reason": "KubeletReady",
            "message": "kubelet is posting ready status",
        }
    )
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": node.name, "labels": labels},
        "spec": {"podCIDR": node.pod_cidr, "podCIDRs": [node.pod_cidr]},
        "status": {
            "capacity": resources,
            "allocatable": resources,
            "addresses": [
                {"type": "InternalIP", "address": node.internal_ip},
                {"type": "Hostname", "address": node.name},
            ],
            "conditions": conditions,
            "nodeInfo": {
                "architecture": node.arch,
                "kernelVersion": node.kernel,
                "osImage": node.os_image,
                "operatingSystem": "linux",
                "kubeletVersion": profile.kubernetes_version,
                "kubeProxyVersion": profile.kubernetes_version,
                "containerRuntimeVersion": _runtime(profile.kubernetes_version),
                "machineID": f"sim-{node.name}",
                "systemUUID": f"sim-{node.name}",
                "bootID": f"sim-{node.name}-boot",
            },
        },
    }


def cilium_daemonset(profile: Profile) -> Obj:
    labels = {"k8s-app": "cilium"}
    container = {
        "name": "cilium-agent",
        "image": f"quay.io/cilium/cilium:v{profile.cilium_version}",
        "command": ["cilium-agent"],
        "args": ["--config-dir=/tmp/cilium/config-map"],
        "env": [
            {
                "name": "K8S_NODE_NAME",
                "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}},
            }
        ],
        "securityContext": {"privileged": True},
        "volumeMounts": [
            {"name": "cilium-config-path", "mountPath": "/tmp/cilium/config-map", "readOnly": True}
        ],
    }
    return {
        "metadata": {
            "name": "cilium",
            "namespace": "kube-system",
            "labels": {**labels, "app.kubernetes.io/part-of": "cilium"},
        },
        "spec": {
            "selector": {"matchLabels": labels},
            "updateStrategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
            },
            "template": {
                "metadata": {"labels": {**labels, "app.kubernetes.io/name": "cilium-agent"}},
                "spec": {
                    "hostNetwork": True,
                    "serviceAccountName": "cilium",
                    "priorityClassName": "system-node-critical",
                    "containers": [container],
                    "volumes": [{"name": "cilium-config-path", "configMap": {"name": "cilium-config"}}],
                    "tolerations": [{"operator": "Exists"}],
                },
            },
        },
    }


def _rbac() -> list[tuple[str, Obj]]:
    group = "rbac.authorization.k8s.io"
    admin_rules = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
    view_rules = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch"]}]
    roles = [
        ("cluster-admin", admin_rules),
        ("view", view_rules),
        ("edit", [{"apiGroups": ["*"], "resources": ["*"], "verbs": list(ALL_VERBS)}]),
    ]
    out: list[tuple[str, Obj]] = [
        (f"clusterroles.{group}", {"metadata": {"name": n}, "rules": r}) for n, r in roles
    ]
    return out + shipped_rbac()


def rbac_manifest_path() -> Path:
    """The shipped RBAC manifest: cilium_lab/data/rbac.yaml, which deploy/rbac.yaml links to."""
    return shipped("data", "rbac.yaml")


def shipped_rbac() -> list[tuple[str, Obj]]:
    """(store key, object) for each document of deploy/rbac.yaml, in the file's order."""
    docs = yaml.safe_load_all(rbac_manifest_path().read_text())
    return [
        (_KEYS[d["kind"]], {k: v for k, v in d.items() if k not in ("apiVersion", "kind")}) for d in docs if d
    ]


def _helm_meta(profile: Profile) -> Obj:
    """What `helm install cilium cilium/cilium -n kube-system` puts on the objects it manages."""
    if not profile.helm_managed:
        return {}
    return {
        "labels": {"app.kubernetes.io/managed-by": "Helm"},
        "annotations": {
            "meta.helm.sh/release-name": "cilium",
            "meta.helm.sh/release-namespace": "kube-system",
        },
    }


def install(backend: Backend) -> None:
    """Create the initial objects and users of `backend.profile` in an empty store."""
    profile, store = backend.profile, backend.store
    created: list[tuple[str, Obj]] = [("namespaces", {"metadata": {"name": n}}) for n in NAMESPACES]
    created += [("nodes", node_object(n, profile)) for n in profile.nodes]
    created.append(
        (
            "configmaps",
            {
                "metadata": {"name": "cilium-config", "namespace": "kube-system", **_helm_meta(profile)},
                "data": dict(profile.cilium_config),
            },
        )
    )
    created.append(("serviceaccounts", {"metadata": {"name": "cilium", "namespace": "kube-system"}}))
    created.append(("daemonsets.apps", cilium_daemonset(profile)))
    kubernetes_svc = {
        "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"component": "apiserver"}},
        "spec": {"ports": [{"name": "https", "port": 443, "targetPort": 6443}]},
    }
    created.append(("services", kubernetes_svc))
    created += _rbac()
    with store.lock:
        for key, obj in created:
            _create(backend, key, obj)
    backend.users.add("admin", ("system:masters",))
    backend.users.add("readonly", (READONLY_GROUP,))


def add_configmap(backend: Backend, namespace: str, name: str, data: dict[str, str]) -> None:
    """Create a ConfigMap as the initial objects are created (admission defaults, a resourceVersion)."""
    with backend.store.lock:
        _create(
            backend, "configmaps", {"metadata": {"name": name, "namespace": namespace}, "data": dict(data)}
        )


def _create(backend: Backend, key: str, obj: Obj) -> None:
    store, res = backend.store, backend.registry.by_key(key)
    namespace = obj["metadata"].get("namespace")
    store.create(key, admission.prepare(store, res, namespace, obj, backend.profile.service_cidr))
