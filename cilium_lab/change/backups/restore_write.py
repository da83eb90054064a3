"""Make the cluster's Cilium config match a backup: cilium-config's data, the CiliumNodeConfigs, our node labels.

Used to restore, and to put the pre-restore state back when a restore fails. cilium-config is PUT
whole with the backup's data, guarded by the resourceVersion read under the lock (someone else's edit
since is a Conflict, not overwritten). A node config that changed since is deleted and created again
rather than updated: the operator role (deploy/rbac.yaml) grants create and delete on
CiliumNodeConfigs, not update, and agents read them only when they start, which happens after this.
"""

from __future__ import annotations

from cilium_lab.change.backups.backup_diff import BackupDiff, Live
from cilium_lab.change.backups.backup_format import Backup
from cilium_lab.change.recording import Progress
from cilium_lab.cluster import configmaps, nodeconfig, objects
from cilium_lab.cluster.connect import Connection

# Set by the API server; a create must not carry them.
_SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink")


def manifest(cnc: dict, namespace: str, cilium_version: str) -> dict:
    """A backed-up CiliumNodeConfig as a body to create, in the API version this Cilium serves."""
    meta = {k: v for k, v in (cnc.get("metadata") or {}).items() if k not in _SERVER_FIELDS}
    meta["namespace"] = namespace
    return {
        "apiVersion": f"{nodeconfig.GROUP}/{nodeconfig.api_version(cilium_version)}",
        "kind": "CiliumNodeConfig",
        "metadata": meta,
        "spec": cnc.get("spec") or {},
    }


def put_back(
    conn: Connection, backup: Backup, live: Live, diff: BackupDiff, cilium_version: str, say: Progress
) -> str:
    """Write what `diff` (of `backup` against `live`) says differs; objects already equal are left alone.

    Returns cilium-config's resourceVersion after the writes (the live one when it was not written)."""
    ns = live.namespace
    version = live.resource_version
    if diff.config_changes:
        version = configmaps.replace_data(
            conn, ns, live.configmap, backup.data, live.resource_version
        ).resource_version
        say(f"put back {ns}/{live.configmap} data from backup {backup.stamp} ({len(backup.data)} keys)")
    saved = {objects.name_of(c): c for c in backup.node_configs}
    for name in diff.node_configs_added:
        nodeconfig.delete(conn, ns, name, cilium_version)
        say(f"deleted CiliumNodeConfig {name} (created since the backup)")
    for name in diff.node_configs_changed:
        nodeconfig.delete(conn, ns, name, cilium_version)
        nodeconfig.create(conn, manifest(saved[name], ns, cilium_version))
        say(f"put back CiliumNodeConfig {name} as the backup had it")
    for name in diff.node_configs_removed:
        nodeconfig.create(conn, manifest(saved[name], ns, cilium_version))
        say(f"recreated CiliumNodeConfig {name} (deleted since the backup)")
    for node, change in sorted(diff.nodes.items()):
        if change.labels:
            nodeconfig.set_node_labels(conn, node, {k: after for k, (_, after) in change.labels.items()})
            shown = ", ".join(
                f"{k}={v}" if v is not None else f"{k} removed" for k, (_, v) in sorted(change.labels.items())
            )
            say(f"set labels on {node}: {shown}")
    return version
