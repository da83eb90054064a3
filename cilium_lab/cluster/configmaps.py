"""ConfigMaps in the Cilium namespace: read cilium-config, patch keys, restore exact data, create/delete, list.

Called by `cluster.snapshot` and the change modules (`change.config.applying`, `change.lock`, `change.backups.backup`,
`change.backups.restore_write`);
calls `cluster.objects`. A key set to None in a patch is removed (merge-patch null), so a change
that adds a key can be undone exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

from cilium_lab.cluster import objects
from cilium_lab.cluster.connect import Connection


@dataclass(frozen=True)
class ConfigMapState:
    name: str
    namespace: str
    data: dict[str, str]
    resource_version: str
    labels: dict[str, str]
    annotations: dict[str, str]


def _state(obj: objects.Obj) -> ConfigMapState:
    meta = obj.get("metadata", {})
    return ConfigMapState(
        name=meta.get("name", ""),
        namespace=meta.get("namespace", ""),
        data=dict(obj.get("data") or {}),
        resource_version=objects.resource_version(obj),
        labels=objects.labels(obj),
        annotations=objects.annotations(obj),
    )


def _where(namespace: str, name: str | None, verb: str) -> dict[str, str | None]:
    return {"verb": verb, "resource": "configmaps", "namespace": namespace, "name": name}


def read(conn: Connection, namespace: str, name: str) -> ConfigMapState:
    obj = objects.request(
        conn, conn.core.read_namespaced_config_map, name, namespace, **_where(namespace, name, "get")
    )
    return _state(obj)


def list_labelled(conn: Connection, namespace: str, labels: dict[str, str]) -> list[ConfigMapState]:
    """The ConfigMaps in `namespace` carrying every one of `labels` (a label selector, done by the server)."""
    selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    listing = objects.request(
        conn,
        conn.core.list_namespaced_config_map,
        namespace,
        label_selector=selector,
        **_where(namespace, None, "list"),
    )
    return [_state(obj) for obj in listing.get("items", [])]


def patch(
    conn: Connection, namespace: str, name: str, changes: dict[str, str | None], resource_version: str = ""
) -> ConfigMapState:
    """Set keys to values; a None value deletes the key. With `resource_version` the patch carries it in
    metadata, so the server refuses it (409 Conflict) when the object changed since that version was read."""
    body: dict = {"data": dict(changes)}
    if resource_version:
        body["metadata"] = {"resourceVersion": resource_version}
    obj = objects.request(
        conn, conn.core.patch_namespaced_config_map, name, namespace, body, **_where(namespace, name, "patch")
    )
    return _state(obj)


def replace_data(
    conn: Connection, namespace: str, name: str, data: dict[str, str], resource_version: str = ""
) -> ConfigMapState:
    """PUT the ConfigMap with exactly `data` (keys not in it are gone); guarded by resourceVersion if given."""
    current = objects.request(
        conn, conn.core.read_namespaced_config_map, name, namespace, **_where(namespace, name, "get")
    )
    current["data"] = dict(data)
    if resource_version:
        current["metadata"]["resourceVersion"] = resource_version
    obj = objects.request(
        conn,
        conn.core.replace_namespaced_config_map,
        name,
        namespace,
        current,
        **_where(namespace, name, "update"),
    )
    return _state(obj)


def create(
    conn: Connection, namespace: str, name: str, data: dict[str, str], labels: dict[str, str] | None = None
) -> ConfigMapState:
    """Create atomically: `apierrors.AlreadyExists` when the name is taken."""
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "data": data,
    }
    obj = objects.request(
        conn, conn.core.create_namespaced_config_map, namespace, body, **_where(namespace, name, "create")
    )
    return _state(obj)


def update(conn: Connection, state: ConfigMapState, data: dict[str, str]) -> ConfigMapState:
    """PUT guarded by the resourceVersion in `state`: `apierrors.Conflict` when someone changed it since."""
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": state.name,
            "namespace": state.namespace,
            "labels": state.labels,
            "resourceVersion": state.resource_version,
        },
        "data": data,
    }
    obj = objects.request(
        conn,
        conn.core.replace_namespaced_config_map,
        state.name,
        state.namespace,
        body,
        **_where(state.namespace, state.name, "update"),
    )
    return _state(obj)


def delete(conn: Connection, namespace: str, name: str, resource_version: str = "") -> None:
    kwargs = {}
    if resource_version:
        kwargs["body"] = {"preconditions": {"resourceVersion": resource_version}}
    objects.request(
        conn,
        conn.core.delete_namespaced_config_map,
        name,
        namespace,
        **_where(namespace, name, "delete"),
        **kwargs,
    )
