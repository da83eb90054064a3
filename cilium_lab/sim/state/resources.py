"""The resource types the embedded cluster serves, as data: group, version, kind, scope, verbs, categories.

Discovery documents, routes, Table columns and RBAC read it. The authorization.k8s.io reviews are
create-only and never stored. CiliumNodeConfig is `custom`: served as from Cilium's CRD (no strategic
merge patch). Categories are those of the real resources (`all` for pods, services and daemonsets,
which `kubectl get all` expands; kube-apiserver's registry sets them).
Simplification: one served version per group, except cilium.io whose CiliumNodeConfig (1.13+) is
v2alpha1 up to Cilium 1.15 and also v2 from 1.16
(https://docs.cilium.io/en/stable/configuration/per-node-config/, cilium/cilium v1.16 CRD promotion).
"""

from __future__ import annotations

from dataclasses import dataclass

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
READ_VERBS = ("get", "list", "watch")


@dataclass(frozen=True)
class Resource:
    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    status_subresource: bool = False  # PUT/PATCH of the main resource keeps the stored status
    categories: tuple[str, ...] = ()  # e.g. ("all",): the names `kubectl get <category>` expands
    custom: bool = False  # defined by a CRD: no strategic merge patch (kube-apiserver answers 415)

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> str:
        """Storage key: one store bucket per (group, plural), whatever version it was reached by."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


CORE = (
    Resource("", "v1", "namespaces", "Namespace", False, ("ns",), status_subresource=True),
    Resource("", "v1", "nodes", "Node", False, ("no",), status_subresource=True),
    Resource("", "v1", "pods", "Pod", True, ("po",), status_subresource=True, categories=("all",)),
    Resource("", "v1", "configmaps", "ConfigMap", True, ("cm",)),
    Resource("", "v1", "services", "Service", True, ("svc",), status_subresource=True, categories=("all",)),
    Resource("", "v1", "endpoints", "Endpoints", True, ("ep",)),
    Resource("", "v1", "serviceaccounts", "ServiceAccount", True, ("sa",)),
    Resource("", "v1", "events", "Event", True, ("ev",)),
)
APPS = (
    Resource(
        "apps", "v1", "daemonsets", "DaemonSet", True, ("ds",), status_subresource=True, categories=("all",)
    ),
)
# coordination.k8s.io/v1 Lease (GA since 1.14; no short name, no category, as kube-apiserver serves it)
COORDINATION = (Resource("coordination.k8s.io", "v1", "leases", "Lease", True),)
AUTHORIZATION = tuple(
    Resource("authorization.k8s.io", "v1", plural, kind, False, verbs=("create",))
    for plural, kind in (
        ("selfsubjectaccessreviews", "SelfSubjectAccessReview"),
        ("selfsubjectrulesreviews", "SelfSubjectRulesReview"),
    )
)
RBAC = tuple(
    Resource("rbac.authorization.k8s.io", "v1", plural, kind, namespaced)
    for plural, kind, namespaced in (
        ("roles", "Role", True),
        ("rolebindings", "RoleBinding", True),
        ("clusterroles", "ClusterRole", False),
        ("clusterrolebindings", "ClusterRoleBinding", False),
    )
)


def cilium_resources(cilium_version: str) -> tuple[Resource, ...]:
    """CiliumNodeConfig under the versions this Cilium release serves (v2 is the preferred one from 1.16)."""
    major, minor = (int(p) for p in cilium_version.split(".")[:2])
    if (major, minor) < (1, 13):
        return ()  # CiliumNodeConfig arrived in 1.13 (v1.13.0 release notes: "Add per-node configuration overrides")
    versions = ("v2", "v2alpha1") if (major, minor) >= (1, 16) else ("v2alpha1",)
    return tuple(
        Resource("cilium.io", v, "ciliumnodeconfigs", "CiliumNodeConfig", True, custom=True) for v in versions
    )


class Registry:
    """Lookup of served resources by (group, version, plural) and by storage key."""

    def __init__(self, cilium_version: str) -> None:
        self.resources = CORE + APPS + COORDINATION + RBAC + AUTHORIZATION + cilium_resources(cilium_version)
        self._by_path = {(r.group, r.version, r.plural): r for r in self.resources}

    def find(self, group: str, version: str, plural: str) -> Resource | None:
        return self._by_path.get((group, version, plural))

    def by_key(self, key: str) -> Resource:
        return next(r for r in self.resources if r.key == key)

    def groups(self) -> dict[str, list[str]]:
        """Non-core group name -> served versions, preferred first."""
        out: dict[str, list[str]] = {}
        for r in self.resources:
            if r.group and r.version not in out.setdefault(r.group, []):
                out[r.group].append(r.version)
        return out

    def in_group_version(self, group: str, version: str) -> list[Resource]:
        return [r for r in self.resources if r.group == group and r.version == version]
