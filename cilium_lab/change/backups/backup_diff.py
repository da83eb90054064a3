"""What restoring a backup would change, compared with the cluster as it is now.

`read_live` reads the cluster (cilium-config, the CiliumNodeConfigs, the nodes' labels); `diff` is
pure. Three layers differ: cilium-config's keys (added, changed, removed since the backup), the
CiliumNodeConfigs (by name: added, removed, or with another spec), and our selector labels on the
nodes. What decides which agents restart is each node's effective config
(`cluster.nodeconfig.effective`, the same merge the snapshot uses): now against after the restore;
only nodes where it differs restart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cilium_lab.change.backups.backup import our_labels
from cilium_lab.change.backups.backup_format import Backup
from cilium_lab.cluster import configmaps, discover, nodeconfig, objects
from cilium_lab.cluster.connect import Connection

SHOWN = 60  # characters of a value shown in a line (some keys hold long lists)
Change = tuple[str | None, str | None]  # (now, after the restore); None: absent


@dataclass(frozen=True)
class Live:
    """The cluster's config now: cilium-config, the CiliumNodeConfigs, every node's labels."""

    namespace: str
    configmap: str
    data: dict[str, str]
    resource_version: str
    node_configs: list[dict]
    node_labels: dict[str, dict[str, str]]  # node -> all its labels
    cilium_version: str

    @property
    def simulated(self) -> bool:
        """The embedded cluster labels every node it emulates."""
        labels = self.node_labels.values()
        return bool(labels) and all(v.get(discover.SIMULATED_LABEL) == "true" for v in labels)


def read_live(conn: Connection, install: discover.CiliumInstall) -> Live:
    cm = configmaps.read(conn, install.namespace, install.configmap)
    return Live(
        namespace=install.namespace,
        configmap=install.configmap,
        data=cm.data,
        resource_version=cm.resource_version,
        node_configs=nodeconfig.list_all(conn, install.namespace, install.version),
        node_labels={objects.name_of(n): objects.labels(n) for n in discover.list_nodes(conn)},
        cilium_version=install.version,
    )


@dataclass(frozen=True)
class NodeChange:
    node: str
    config: dict[str, Change]  # effective cilium-config keys that change on this node
    labels: dict[str, Change]  # our selector labels that change on this node

    def to_record(self) -> dict:
        return {"node": self.node, "config": _pairs(self.config), "labels": _pairs(self.labels)}


@dataclass(frozen=True)
class BackupDiff:
    """Live against backup. Keys are named from the backup's point of view: `added` since the backup
    (a restore removes them), `removed` since (a restore puts them back)."""

    added: dict[str, str]  # key -> its value now
    changed: dict[str, tuple[str, str]]  # key -> (now, the backup's)
    removed: dict[str, str]  # key -> the backup's value
    node_configs_added: tuple[str, ...]  # a restore deletes them
    node_configs_removed: tuple[str, ...]  # a restore recreates them
    node_configs_changed: tuple[str, ...]  # another spec now: a restore puts the backup's back
    nodes: dict[str, NodeChange] = field(default_factory=dict)  # only nodes with a change
    expected: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)  # node -> config after

    @property
    def restarts(self) -> tuple[str, ...]:
        """Nodes whose effective config changes: their agents must restart to read it."""
        return tuple(n for n, c in sorted(self.nodes.items()) if c.config)

    @property
    def config_changes(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    @property
    def node_config_changes(self) -> tuple[str, ...]:
        return tuple(
            sorted({*self.node_configs_added, *self.node_configs_removed, *self.node_configs_changed})
        )

    @property
    def empty(self) -> bool:
        return not (self.config_changes or self.node_config_changes or self.nodes)

    def summary(self) -> str:
        if self.empty:
            return "same as now"
        parts = [
            f"{len(keys)} key(s) {what}"
            for keys, what in ((self.added, "added"), (self.changed, "changed"), (self.removed, "removed"))
            if keys
        ]
        parts += [
            f"{len(names)} node config(s) {what}"
            for names, what in (
                (self.node_configs_added, "added"),
                (self.node_configs_removed, "removed"),
                (self.node_configs_changed, "changed"),
            )
            if names
        ]
        labelled = sorted(n for n, c in self.nodes.items() if c.labels)
        if labelled:
            parts.append(f"selector labels changed on {', '.join(labelled)}")
        return "since then: " + ", ".join(parts)

    def lines(self) -> list[str]:
        """What a restore would do, one line each."""
        out = [
            f"cilium-config {k}: {_show(v)} -> (absent)   [added since]"
            for k, v in sorted(self.added.items())
        ]
        out += [
            f"cilium-config {k}: {_show(a)} -> {_show(b)}   [changed since]"
            for k, (a, b) in sorted(self.changed.items())
        ]
        out += [
            f"cilium-config {k}: (absent) -> {_show(v)}   [removed since]"
            for k, v in sorted(self.removed.items())
        ]
        out += [f"CiliumNodeConfig {n}: delete   [created since]" for n in self.node_configs_added]
        out += [f"CiliumNodeConfig {n}: recreate   [deleted since]" for n in self.node_configs_removed]
        out += [
            f"CiliumNodeConfig {n}: put the backup's spec back   [changed since]"
            for n in self.node_configs_changed
        ]
        for node, change in sorted(self.nodes.items()):
            out += [
                f"node {node} label {k}: {_show(a)} -> {_show(b)}"
                for k, (a, b) in sorted(change.labels.items())
            ]
        for node in self.restarts:
            keys = ", ".join(
                f"{k} {_show(a)} -> {_show(b)}" for k, (a, b) in sorted(self.nodes[node].config.items())
            )
            out.append(f"agent on {node} restarts: {keys}")
        return out

    def to_record(self) -> dict:
        return {
            "added": dict(self.added),
            "changed": {k: {"now": a, "backup": b} for k, (a, b) in self.changed.items()},
            "removed": dict(self.removed),
            "node_configs_added": list(self.node_configs_added),
            "node_configs_removed": list(self.node_configs_removed),
            "node_configs_changed": list(self.node_configs_changed),
            "restarts": list(self.restarts),
            "nodes": [c.to_record() for _, c in sorted(self.nodes.items())],
            "summary": self.summary(),
        }


def _show(value: str | None) -> str:
    if value is None:
        return "(absent)"
    return value if len(value) <= SHOWN else value[: SHOWN - 3] + "..."


def _pairs(changes: dict[str, Change]) -> dict[str, dict[str, str | None]]:
    return {k: {"now": a, "after": b} for k, (a, b) in sorted(changes.items())}


def _changes(now: dict[str, str], after: dict[str, str]) -> dict[str, Change]:
    return {k: (now.get(k), after.get(k)) for k in sorted({*now, *after}) if now.get(k) != after.get(k)}


def restored_labels(backup: Backup, node: str, labels: dict[str, str]) -> dict[str, str]:
    """A node's labels after a restore: ours as the backup recorded them, every other label untouched.

    A backup that did not record labels (older ones), or a node that joined since, keeps those of our
    labels that a CiliumNodeConfig of the backup selects on, and loses the rest (they select nothing then)."""
    ours = our_labels(labels)
    if backup.node_labels is not None and node in backup.node_labels:
        after = dict(backup.node_labels[node])
    else:
        used = {k for cnc in backup.node_configs for k in nodeconfig.selector_keys(cnc)}
        after = {k: v for k, v in ours.items() if k in used}
    return {**{k: v for k, v in labels.items() if k not in ours}, **after}


def _by_name(cncs: list[dict]) -> dict[str, dict]:
    return {objects.name_of(c): c.get("spec") or {} for c in cncs}


def diff(backup: Backup, live: Live) -> BackupDiff:
    """What restoring `backup` changes on the cluster as `live` shows it."""
    then, now = backup.data, live.data
    saved, current = _by_name(backup.node_configs), _by_name(live.node_configs)
    nodes: dict[str, NodeChange] = {}
    expected: dict[str, dict[str, str]] = {}
    for node, labels in sorted(live.node_labels.items()):
        after_labels = restored_labels(backup, node, labels)
        expected[node] = nodeconfig.effective(then, backup.node_configs, after_labels)
        config = _changes(nodeconfig.effective(now, live.node_configs, labels), expected[node])
        label_changes = _changes(our_labels(labels), our_labels(after_labels))
        if config or label_changes:
            nodes[node] = NodeChange(node, config, label_changes)
    return BackupDiff(
        added={k: now[k] for k in sorted(now.keys() - then.keys())},
        changed={k: (now[k], then[k]) for k in sorted(now.keys() & then.keys()) if now[k] != then[k]},
        removed={k: then[k] for k in sorted(then.keys() - now.keys())},
        node_configs_added=tuple(sorted(current.keys() - saved.keys())),
        node_configs_removed=tuple(sorted(saved.keys() - current.keys())),
        node_configs_changed=tuple(
            sorted(n for n in current.keys() & saved.keys() if current[n] != saved[n])
        ),
        nodes=nodes,
        expected=expected,
    )
