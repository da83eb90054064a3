"""Save the Cilium config before a change, list the saved ones, and load one back.

A backup holds cilium-config's data and resourceVersion, the CiliumNodeConfigs, our selector labels
on each node (`change.node_labels`), and the cluster's identity (kube-system's uid and the API
server's host: a restore refuses a backup of another cluster); `backups.backup_format` is its format.
It is written to disk under `results_dir/backups/` and as a ConfigMap `cilium-lab-backup-<timestamp>`
in the Cilium namespace, so it survives the notebook. Putting one back is `backups.rollback` (after a failed
change) and `backups.restoring` (asked for); pruning old ones is `backups.backup_prune`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from cilium_lab import scrub
from cilium_lab.change import node_labels
from cilium_lab.change.backups.backup_format import (
    MANAGED_BY,
    PREFIX,
    STAMP_FORMAT,
    Backup,
    NotABackup,
    configmap_data,
    file_record,
    from_configmap,
    from_file,
)
from cilium_lab.change.files import write_atomic
from cilium_lab.cluster import apierrors, configmaps, discover, identity, nodeconfig, objects
from cilium_lab.cluster.connect import Connection
from cilium_lab.errors import ClusterError

__all__ = [
    "PREFIX",
    "Backup",
    "NotABackup",
    "discard_cluster_copy",
    "list_backups",
    "load",
    "load_file",
    "our_labels",
    "save",
]


def _stamp() -> str:
    return datetime.now(UTC).strftime(STAMP_FORMAT)


def our_labels(labels: dict[str, str]) -> dict[str, str]:
    """The labels of a node that our changes set (canary and narrowed-change selectors)."""
    return {k: v for k, v in labels.items() if k.startswith(node_labels.PREFIXES)}


def save(conn: Connection, namespace: str, name: str, cilium_version: str, results_dir: str | Path) -> Backup:
    """Read the live config and store it on disk and in the cluster."""
    try:
        cluster = identity.read(conn)
    except apierrors.Forbidden:
        # a role from an older deploy/rbac.yaml: the change is still backed up, the backup just cannot
        # name its cluster (a restore of it then says so, as for backups older than the identity)
        cluster = identity.ClusterIdentity("", identity.server_host(conn.server))
    state = configmaps.read(conn, namespace, name)
    cncs = nodeconfig.list_all(conn, namespace, cilium_version)
    labels = {objects.name_of(n): our_labels(objects.labels(n)) for n in discover.list_nodes(conn)}
    stamp = _stamp()
    folder = Path(results_dir) / "backups"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stamp}-{name}.json"
    who = (cluster.uid, cluster.server)
    record = file_record(namespace, name, state.data, state.resource_version, cncs, labels, who)
    write_atomic(path, scrub.dumps(record, indent=2, sort_keys=True))  # temp file, fsync, rename
    backup_name = PREFIX + stamp
    configmaps.create(
        conn,
        namespace,
        backup_name,
        configmap_data(name, state.data, state.resource_version, cncs, labels, who),
        dict(MANAGED_BY),
    )
    return Backup(
        stamp,
        namespace,
        name,
        state.data,
        state.resource_version,
        cncs,
        str(path),
        backup_name,
        labels,
        cluster.uid,
        cluster.server,
    )


def list_backups(
    conn: Connection, namespace: str, on_unreadable: Callable[[str], None] | None = None
) -> list[Backup]:
    """The backup ConfigMaps in `namespace`, newest first; an unreadable one is skipped (and reported)."""
    found = []
    for cm in configmaps.list_labelled(conn, namespace, MANAGED_BY):
        if not cm.name.startswith(PREFIX):
            continue  # the lock carries the same label
        try:
            found.append(from_configmap(namespace, cm.name, cm.data, cm.labels))
        except NotABackup as err:
            if on_unreadable:
                on_unreadable(str(err))
    return sorted(found, key=lambda b: b.stamp, reverse=True)


def load(conn: Connection, namespace: str, stamp: str) -> Backup:
    """The backup ConfigMap of `stamp`; `NotABackup` when there is none."""
    name = PREFIX + stamp
    try:
        cm = configmaps.read(conn, namespace, name)
    except apierrors.NotFound:
        raise NotABackup(
            f"no backup {stamp} in {namespace} (configmap {name} not found); `cilium-lab backups` lists them,"
            " or restore from its file with --from-file"
        ) from None
    return from_configmap(namespace, cm.name, cm.data, cm.labels)


def load_file(path: str | Path) -> Backup:
    """A backup file from `<results_dir>/backups/` (for when its ConfigMap is gone)."""
    return from_file(path)


def discard_cluster_copy(conn: Connection, backup: Backup) -> str | None:
    """Remove the backup ConfigMap (when the change never happened); the file on disk stays. A copy the
    cluster would not delete stays too: the warning to report is returned (None when it is gone)."""
    try:
        with contextlib.suppress(apierrors.NotFound):
            configmaps.delete(conn, backup.namespace, backup.configmap_backup)
    except ClusterError as err:
        return f"the backup configmap {backup.configmap_backup} stays: {err}"
    return None
