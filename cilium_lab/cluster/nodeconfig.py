"""CiliumNodeConfig objects (per-node cilium-config overrides) and the node labels that select them.

Called by `cluster.snapshot` (each node's effective config) and the change modules (a canary applies
a change to chosen nodes first; a restore puts node configs and our node labels back as a backup had
them); calls `cluster.objects`. CiliumNodeConfig arrived in 1.13 as cilium.io/v2alpha1 and was
promoted to cilium.io/v2 in 1.16 (https://docs.cilium.io/en/stable/configuration/per-node-config/).
Its `spec.defaults` override cilium-config keys on nodes matching `spec.nodeSelector`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cilium_lab.cluster import apierrors, objects
from cilium_lab.cluster.connect import Connection

GROUP = "cilium.io"
PLURAL = "ciliumnodeconfigs"
RESOURCE = f"{PLURAL}.{GROUP}"


def api_version(cilium_version: str) -> str:
    major, minor = (int(p) for p in cilium_version.split(".")[:2])
    return "v2" if (major, minor) >= (1, 16) else "v2alpha1"


def list_all(conn: Connection, namespace: str, cilium_version: str) -> list[objects.Obj]:
    """The CiliumNodeConfigs in the namespace; [] when the CRD is not served (before 1.13)."""
    try:
        listing = objects.request(
            conn,
            conn.custom.list_namespaced_custom_object,
            GROUP,
            api_version(cilium_version),
            namespace,
            PLURAL,
            verb="list",
            resource=RESOURCE,
            namespace=namespace,
        )
    except apierrors.NotFound:
        return []
    return list(listing.get("items", []))


def manifest(
    name: str, namespace: str, cilium_version: str, selector: Mapping[str, str], defaults: Mapping[str, str]
) -> objects.Obj:
    return {
        "apiVersion": f"{GROUP}/{api_version(cilium_version)}",
        "kind": "CiliumNodeConfig",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "cilium-lab"},
        },
        "spec": {"nodeSelector": {"matchLabels": dict(selector)}, "defaults": dict(defaults)},
    }


def create(conn: Connection, body: objects.Obj) -> objects.Obj:
    meta = body["metadata"]
    version = body["apiVersion"].split("/")[1]
    return objects.request(
        conn,
        conn.custom.create_namespaced_custom_object,
        GROUP,
        version,
        meta["namespace"],
        PLURAL,
        body,
        verb="create",
        resource=RESOURCE,
        namespace=meta["namespace"],
        name=meta["name"],
    )


def delete(
    conn: Connection, namespace: str, name: str, cilium_version: str, *, resource_version: str, uid: str = ""
) -> bool:
    """Delete the one as read (DeleteOptions.preconditions: its resourceVersion, and uid when given);
    `apierrors.Conflict` when someone changed or replaced it since; False when it was already gone."""
    preconditions = {"resourceVersion": resource_version, **({"uid": uid} if uid else {})}
    try:
        objects.request(
            conn,
            conn.custom.delete_namespaced_custom_object,
            GROUP,
            api_version(cilium_version),
            namespace,
            PLURAL,
            name,
            body={"preconditions": preconditions},
            verb="delete",
            resource=RESOURCE,
            namespace=namespace,
            name=name,
        )
    except apierrors.NotFound:
        return False
    return True


def label_nodes(conn: Connection, nodes: Sequence[str], key: str, value: str | None) -> None:
    """Set (or with None remove) one label on each node."""
    for node in nodes:
        objects.request(
            conn,
            conn.core.patch_node,
            node,
            {"metadata": {"labels": {key: value}}},
            verb="patch",
            resource="nodes",
            name=node,
        )


def set_node_labels(conn: Connection, node: str, labels: Mapping[str, str | None]) -> None:
    """Set several labels on one node in one patch; a None value removes that label."""
    if labels:
        objects.request(
            conn,
            conn.core.patch_node,
            node,
            {"metadata": {"labels": dict(labels)}},
            verb="patch",
            resource="nodes",
            name=node,
        )


def selector_keys(cnc: objects.Obj) -> set[str]:
    """The node label keys a CiliumNodeConfig's nodeSelector looks at."""
    selector = (cnc.get("spec") or {}).get("nodeSelector") or {}
    keys = set((selector.get("matchLabels") or {}).keys())
    return keys | {str(e.get("key")) for e in selector.get("matchExpressions") or [] if e.get("key")}


def selects(selector: Mapping[str, object], node_labels: Mapping[str, str]) -> bool:
    """Does a LabelSelector (matchLabels and matchExpressions) select a node with these labels?"""
    for key, value in (selector.get("matchLabels") or {}).items():  # type: ignore[union-attr]
        if node_labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:  # type: ignore[union-attr]
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = key in node_labels
        if (
            (op == "In" and node_labels.get(key) not in values)
            or (op == "NotIn" and present and node_labels[key] in values)
            or (op == "Exists" and not present)
            or (op == "DoesNotExist" and present)
        ):
            return False
    return True


def effective(
    base: Mapping[str, str], configs: Sequence[objects.Obj], node_labels: Mapping[str, str]
) -> dict[str, str]:
    """cilium-config as one node's agent sees it: the ConfigMap, then matching overrides by name order."""
    merged = dict(base)
    for cnc in sorted(configs, key=objects.name_of):
        spec = cnc.get("spec") or {}
        if selects(spec.get("nodeSelector") or {}, node_labels):
            merged.update({k: str(v) for k, v in (spec.get("defaults") or {}).items()})
    return merged
