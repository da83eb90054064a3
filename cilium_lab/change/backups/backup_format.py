"""What a backup holds, and how it is written to and read back from a ConfigMap or a JSON file.

Pure (standard library only). Reading is strict: anything that is not a cilium-lab backup (wrong
shape, values that are not strings, an unreadable stamp) is a `NotABackup` naming what is wrong, so a
restore never starts from a guess. `node_labels` holds, per node, our own selector labels
(`cilium-lab.io/canary-*`, `cilium-lab.io/takes-*`) at backup time; backups written before it existed
read as None. `cluster_uid`/`cluster_server` say which cluster the backup was taken on
(`cluster.identity`: the kube-system Namespace's uid, and the API server's host for messages); older
backups read as "".
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cilium_lab.errors import InputError

PREFIX = "cilium-lab-backup-"
MANAGED_BY = {"app.kubernetes.io/managed-by": "cilium-lab"}
STAMP_FORMAT = "%Y%m%d-%H%M%S-%f"
_STAMP = re.compile(r"^\d{8}-\d{6}-\d{6}$")
_FILE = re.compile(r"^(?P<stamp>\d{8}-\d{6}-\d{6})-(?P<configmap>.+)\.json$")


class NotABackup(InputError):
    """A ConfigMap or file that is not a cilium-lab backup (or a stamp that cannot name one)."""


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
    node_labels: dict[str, dict[str, str]] | None = None  # node -> our selector labels; None: not recorded
    cluster_uid: str = ""  # kube-system's uid on the cluster it was taken on; "": not recorded (older backup)
    cluster_server: str = ""  # that cluster's API server host, for messages

    @property
    def cluster(self) -> str:
        """The cluster it was taken on, as messages name it; "" when the backup does not say."""
        if not self.cluster_uid:
            return ""
        return (
            f"{self.cluster_uid} (API server {self.cluster_server})"
            if self.cluster_server
            else self.cluster_uid
        )

    @property
    def when(self) -> str:
        """The stamp as an ISO 8601 UTC time."""
        return stamp_time(self.stamp).isoformat(timespec="seconds").replace("+00:00", "Z")

    @property
    def source(self) -> str:
        return f"configmap {self.namespace}/{self.configmap_backup}" if self.configmap_backup else self.path

    def to_record(self) -> dict:
        return asdict(self)


def check_stamp(stamp: object) -> str:
    """A stamp as `cilium-lab backups` prints it; the ConfigMap's full name is accepted too."""
    text = stamp.removeprefix(PREFIX).strip() if isinstance(stamp, str) else ""
    if not _STAMP.match(text):
        raise NotABackup(
            f"not a backup stamp: {stamp!r}; stamps look like 20250102-030405-000006"
            " (`cilium-lab backups` lists them)"
        )
    return text


def stamp_time(stamp: str) -> datetime:
    return datetime.strptime(stamp, STAMP_FORMAT).replace(tzinfo=UTC)


def configmap_data(
    name: str,
    data: dict[str, str],
    resource_version: str,
    cncs: list[dict],
    labels: dict[str, dict[str, str]],
    cluster: tuple[str, str],
) -> dict[str, str]:
    """The backup ConfigMap's data (every value a string, as a ConfigMap needs); `cluster` is (uid, server)."""
    return {
        "cluster-server": cluster[1],
        "cluster-uid": cluster[0],
        "configmap": name,
        "data.json": json.dumps(data, sort_keys=True),
        "node-configs.json": json.dumps(cncs),
        "node-labels.json": json.dumps(labels, sort_keys=True),
        "resource-version": resource_version,
    }


def file_record(
    namespace: str,
    name: str,
    data: dict[str, str],
    resource_version: str,
    cncs: list[dict],
    labels: dict[str, dict[str, str]],
    cluster: tuple[str, str],
) -> dict[str, Any]:
    """The on-disk JSON document; `cluster` is (uid, server)."""
    return {
        "namespace": namespace,
        "configmap": name,
        "data": data,
        "resource_version": resource_version,
        "node_configs": cncs,
        "node_labels": labels,
        "cluster": {"uid": cluster[0], "server": cluster[1]},
    }


def from_configmap(namespace: str, name: str, data: dict[str, str], labels: dict[str, str]) -> Backup:
    """Read a backup ConfigMap (its name, its data, its labels)."""
    where = f"configmap {namespace}/{name}"
    if not name.startswith(PREFIX) or any(labels.get(k) != v for k, v in MANAGED_BY.items()):
        raise NotABackup(
            f"{where} is not a cilium-lab backup (no {PREFIX} name or managed-by=cilium-lab label)"
        )
    stamp = _stamp_of(name.removeprefix(PREFIX), where)
    target = data.get("configmap")
    if not isinstance(target, str) or not target:
        raise NotABackup(f"{where} is not a cilium-lab backup: it names no configmap")
    raw_labels = data.get("node-labels.json")
    uid, server = (_text(data.get(k), where, k) for k in ("cluster-uid", "cluster-server"))
    labelled = None if raw_labels is None else _labels(_json(raw_labels, where, "node-labels.json"), where)
    return Backup(
        stamp=stamp,
        namespace=namespace,
        configmap=target,
        data=_strings(_json(data.get("data.json"), where, "data.json"), where, "data.json"),
        resource_version=str(data.get("resource-version", "")),
        node_configs=_node_configs(_json(data.get("node-configs.json"), where, "node-configs.json"), where),
        path="",
        configmap_backup=name,
        node_labels=labelled,
        cluster_uid=uid,
        cluster_server=server,
    )


def from_file(path: str | Path) -> Backup:
    """Read a backup file written by `backups.backup.save` (`<stamp>-<configmap>.json`)."""
    file = Path(path)
    where = f"backup file {file}"
    if not file.is_file():
        raise NotABackup(f"{where} not found (backups are under <results_dir>/backups/)")
    try:
        record = json.loads(file.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise NotABackup(f"{where} is not a cilium-lab backup: not JSON ({type(err).__name__})") from None
    if not isinstance(record, dict):
        raise NotABackup(f"{where} is not a cilium-lab backup: not a JSON object")
    named = _FILE.match(file.name)
    if not named:
        raise NotABackup(f"{where} is not a cilium-lab backup: its name is not <stamp>-<configmap>.json")
    for key in ("namespace", "configmap"):
        if not isinstance(record.get(key), str) or not record[key]:
            raise NotABackup(f"{where} is not a cilium-lab backup: no {key!r}")
    labels = record.get("node_labels")
    uid, server = _cluster(record.get("cluster"), where)
    return Backup(
        stamp=_stamp_of(named["stamp"], where),
        namespace=record["namespace"],
        configmap=record["configmap"],
        data=_strings(record.get("data"), where, "data"),
        resource_version=str(record.get("resource_version", "")),
        node_configs=_node_configs(record.get("node_configs"), where),
        path=str(file),
        configmap_backup="",
        node_labels=None if labels is None else _labels(labels, where),
        cluster_uid=uid,
        cluster_server=server,
    )


def _text(value: object, where: str, key: str) -> str:
    """An optional string field: absent is "" (a backup written before the field existed)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise NotABackup(f"{where} is not a cilium-lab backup: {key} is not a string")
    return value


def _cluster(value: object, where: str) -> tuple[str, str]:
    if value is None:
        return "", ""
    if not isinstance(value, dict):
        raise NotABackup(f"{where} is not a cilium-lab backup: cluster is not an object")
    return _text(value.get("uid"), where, "cluster uid"), _text(value.get("server"), where, "cluster server")


def _stamp_of(text: str, where: str) -> str:
    try:
        stamp_time(text)
    except ValueError:
        raise NotABackup(f"{where} is not a cilium-lab backup: {text!r} is not a backup stamp") from None
    return text


def _json(text: object, where: str, key: str) -> object:
    if not isinstance(text, str):
        raise NotABackup(f"{where} is not a cilium-lab backup: no {key}")
    try:
        return json.loads(text)
    except ValueError:
        raise NotABackup(f"{where} is not a cilium-lab backup: {key} is not JSON") from None


def _strings(value: object, where: str, key: str) -> dict[str, str]:
    if value is None:
        raise NotABackup(f"{where} is not a cilium-lab backup: it has no {key}")
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise NotABackup(f"{where} is not a cilium-lab backup: {key} is not an object of strings")
    return dict(value)


def _node_configs(value: object, where: str) -> list[dict]:
    ok = isinstance(value, list) and all(
        isinstance(c, dict)
        and isinstance(c.get("metadata"), dict)
        and isinstance(c["metadata"].get("name"), str)
        and isinstance(c.get("spec", {}), dict)
        for c in value
    )
    if not ok:
        raise NotABackup(f"{where} is not a cilium-lab backup: node configs are not a list of named objects")
    return list(value)  # type: ignore[arg-type]


def _labels(value: object, where: str) -> dict[str, dict[str, str]]:
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise NotABackup(f"{where} is not a cilium-lab backup: node labels are not an object per node")
    return {str(node): _strings(labels, where, f"node labels of {node}") for node, labels in value.items()}
