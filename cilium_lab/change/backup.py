"""Save the Cilium config before a change, and restore it exactly.

Called by `change.apply`; calls `cluster.configmaps` and `cluster.nodeconfig`. A backup holds
cilium-config's data and resourceVersion and the CiliumNodeConfigs; it is written to disk under
`results_dir/backups/` and as a ConfigMap `cilium-lab-backup-<timestamp>` in the Cilium namespace,
so it survives the notebook. Restoring PUTs the saved data as a whole: keys the change added are
gone, changed keys get their old value.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from cilium_lab.cluster import apierrors, configmaps, nodeconfig
from cilium_lab.cluster.connect import Connection

PREFIX = "cilium-lab-backup-"


@dataclass(frozen=True)
class Backup:
    stamp: str
    namespace: str
    configmap: str
    data: dict[str, str]
    resource_version: str
    node_configs: list[dict]
    path: str
    configmap_backup: str  # the backup ConfigMap's name ("" if it could not be written)

    def to_record(self) -> dict:
        return asdict(self)


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")


def save(conn: Connection, namespace: str, name: str, cilium_version: str, results_dir: str | Path) -> Backup:
    """Read the live config and store it on disk and in the cluster."""
    state = configmaps.read(conn, namespace, name)
    cncs = nodeconfig.list_all(conn, namespace, cilium_version)
    stamp = _stamp()
    folder = Path(results_dir) / "backups"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stamp}-{name}.json"
    record = {"namespace": namespace, "configmap": name, "data": state.data,
              "resource_version": state.resource_version, "node_configs": cncs}  # fmt: skip
    path.write_text(json.dumps(record, indent=2, sort_keys=True))
    backup_name = PREFIX + stamp
    configmaps.create(
        conn, namespace, backup_name,
        {"configmap": name, "data.json": json.dumps(state.data, sort_keys=True), "node-configs.json": json.dumps(cncs)},
        {"app.kubernetes.io/managed-by": "cilium-lab"},
    )  # fmt: skip
    return Backup(stamp, namespace, name, state.data, state.resource_version, cncs, str(path), backup_name)


def discard_cluster_copy(conn: Connection, backup: Backup) -> None:
    """Remove the backup ConfigMap (when the change never happened); the file on disk stays."""
    with contextlib.suppress(apierrors.NotFound):
        configmaps.delete(conn, backup.namespace, backup.configmap_backup)


def restore(
    conn: Connection, backup: Backup, *, created_node_configs: tuple[str, ...] = (), cilium_version: str
) -> configmaps.ConfigMapState:
    """Put cilium-config's data back exactly and delete the node configs the change created."""
    for name in created_node_configs:
        nodeconfig.delete(conn, backup.namespace, name, cilium_version)
    return configmaps.replace_data(conn, backup.namespace, backup.configmap, backup.data)
