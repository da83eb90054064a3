"""Make the cluster's Cilium config match a backup: cilium-config's data, the CiliumNodeConfigs, our node labels.

Used to restore, and to put a backup back when a change or a restore fails. cilium-config is PUT
whole with the backup's data, guarded by the resourceVersion read under the lock, and each
CiliumNodeConfig delete by the resourceVersion and uid read with it (a delete precondition): someone
else's edit since is a 409, and is not overwritten. A node config that changed since is deleted and
created again rather than updated: the operator role (deploy/rbac.yaml) grants create and delete on
CiliumNodeConfigs, not update, and agents read them only when they start, which happens after this.
`put_back` notes in `wrote` the resourceVersion each node config write left, so the undo of a restore
can tell its own writes from someone else's.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import TypeVar

from cilium_lab.change.backups.backup_diff import BackupDiff, Live
from cilium_lab.change.backups.backup_format import Backup
from cilium_lab.change.recording import Progress
from cilium_lab.cluster import apierrors, configmaps, nodeconfig, objects
from cilium_lab.cluster.connect import Connection
from cilium_lab.errors import ClusterError

T = TypeVar("T")
# name -> the resourceVersion our last write of it left; None: we deleted it; "": its answer was lost
Wrote = MutableMapping[str, str | None]


class EditedMeanwhile(ClusterError):
    """Someone else changed an object since it was read, and the write refused to overwrite it: their edit
    is left in place. Raised after an earlier write of the same put-back went through."""

    def __init__(self, message: str, what: str) -> None:
        super().__init__(message)
        self.what = what  # "CiliumNodeConfig x" or "kube-system/cilium-config"


class EditedBeforeOurWrite(EditedMeanwhile, apierrors.Conflict):
    """The same, at the first write: nothing of this put-back was written (a Conflict, as the server said)."""


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
    conn: Connection,
    backup: Backup,
    live: Live,
    diff: BackupDiff,
    cilium_version: str,
    say: Progress,
    wrote: Wrote | None = None,
) -> str:
    """Write what `diff` (of `backup` against `live`) says differs; objects already equal are left alone.

    Returns cilium-config's resourceVersion after the writes (the live one when it was not written).
    `EditedBeforeOurWrite` / `EditedMeanwhile` when someone else changed an object since `live` was read."""
    ns = live.namespace
    wrote = {} if wrote is None else wrote
    now = {objects.name_of(c): c for c in live.node_configs}
    saved = {objects.name_of(c): c for c in backup.node_configs}
    written = [False]

    def write(what: str, fn: Callable[[], T]) -> T:
        try:
            result = fn()
        except (apierrors.Conflict, apierrors.AlreadyExists) as err:
            kind = EditedMeanwhile if written[0] else EditedBeforeOurWrite
            raise kind(
                f"someone else changed {what} since it was read ({_server_reason(err)}): their edit is left in place",
                what,
            ) from None
        written[0] = True
        return result

    def delete(name: str) -> None:
        wrote[name] = ""  # from here on its answer may be lost
        meta = now[name].get("metadata") or {}
        write(
            f"CiliumNodeConfig {name}",
            lambda: nodeconfig.delete(
                conn, ns, name, cilium_version, resource_version=objects.resource_version(now[name]),
                uid=str(meta.get("uid") or ""),
            ),
        )  # fmt: skip
        wrote[name] = None

    def create(name: str) -> None:
        wrote[name] = ""
        made = write(
            f"CiliumNodeConfig {name}",
            lambda: nodeconfig.create(conn, manifest(saved[name], ns, cilium_version)),
        )
        wrote[name] = objects.resource_version(made)

    version = live.resource_version
    if diff.config_changes:
        version = write(
            f"{ns}/{live.configmap}",
            lambda: configmaps.replace_data(conn, ns, live.configmap, backup.data, live.resource_version),
        ).resource_version
        say(f"put back {ns}/{live.configmap} data from backup {backup.stamp} ({len(backup.data)} keys)")
    for name in diff.node_configs_added:
        delete(name)
        say(f"deleted CiliumNodeConfig {name} (created since the backup)")
    for name in diff.node_configs_changed:
        delete(name)
        create(name)
        say(f"put back CiliumNodeConfig {name} as the backup had it")
    for name in diff.node_configs_removed:
        create(name)
        say(f"recreated CiliumNodeConfig {name} (deleted since the backup)")
    for node, change in sorted(diff.nodes.items()):
        if change.labels:
            nodeconfig.set_node_labels(conn, node, {k: after for k, (_, after) in change.labels.items()})
            shown = ", ".join(
                f"{k}={v}" if v is not None else f"{k} removed" for k, (_, v) in sorted(change.labels.items())
            )
            say(f"set labels on {node}: {shown}")
    return version


def _server_reason(err: ClusterError) -> str:
    """The server's words: a failed delete precondition says which version it expected and found."""
    text = str(err)
    found = text.find("Precondition failed: ")
    return text[found + len("Precondition failed: ") :] if found >= 0 else text
