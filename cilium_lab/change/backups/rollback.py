"""The undo of a change or a restore: put a backup back, restart the agents, verify; refuse to overwrite others.

`undo_to` is what `change.transaction` runs after a failure or an interrupt, for a Cilium config
change (to the backup taken before it) and for a restore (to the backup of the state before the
restore). Before writing it reads the live config: when cilium-config's resourceVersion is not the
one this change last wrote (or read, if it never wrote it) and its data is not what this change
wrote either, someone else edited it since, and the undo is refused (`RollbackRefused`): their edit
stays, and the message names the backup to compare with. The same holds for a CiliumNodeConfig this
change did not write, and for one it wrote that is no longer as it left it (another resourceVersion,
gone, or back after it deleted it). Otherwise the writes are guarded by the resourceVersion just read
(`restore_write.put_back`: a delete carries it as a precondition), the agents the change restarted are restarted again, and the cluster is
verified as the backup (`restore_verify.check`: cilium-config, node configs, each node's effective
config, each restarted agent healthy); anything short of that raises `RollbackFailed`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from cilium_lab.change import outcomes, restarts
from cilium_lab.change.backups import restore_verify
from cilium_lab.change.backups.backup_diff import BackupDiff, Live, diff, read_live
from cilium_lab.change.backups.backup_format import Backup
from cilium_lab.change.backups.restore_write import EditedMeanwhile, Wrote, put_back
from cilium_lab.change.recording import Progress
from cilium_lab.change.transaction import RollbackFailed, RollbackRefused
from cilium_lab.cluster import apierrors, discover, objects, snapshot
from cilium_lab.cluster.connect import Connection


@dataclass
class Ours:
    """What the change wrote, so the undo can tell its own writes from someone else's."""

    config_version: str  # cilium-config's resourceVersion after our last write (or as read, if none)
    config_data: dict[str, str] | None = None  # the data our write in flight would leave (answer lost)
    # CiliumNodeConfigs we created, rewrote or deleted: name -> the resourceVersion our last write left
    # (None: we deleted it; "": the write's answer was lost, so what it left is unknown)
    node_configs: Wrote = field(default_factory=dict)
    any_node_config: bool = False  # a recovery, approved, writes every node config its diff names


def undo_to(
    conn: Connection,
    install: discover.CiliumInstall,
    backup: Backup,
    ours: Ours,
    *,
    nodes: tuple[str, ...] | None,
    restart: bool,
    skip: Mapping[str, str],
    say: Progress,
    timeout: float,
) -> dict[str, outcomes.NodeOutcome]:
    """Put `backup` back, restart `nodes` (None: the DaemonSet) if `restart`, verify; per-node outcomes."""
    live = read_live(conn, install)
    changes = diff(backup, live)
    others = _someone_else(backup, live, changes, ours)
    if others:
        raise RollbackRefused(
            f"rollback refused: someone else changed {others} since this change wrote; their edit is left in"
            f" place. Compare the cluster with backup {backup.stamp} ({backup.configmap_backup}, file"
            f" {backup.path}), and put it back with `cilium-lab restore {backup.stamp} --approve` if theirs should go"
        )
    try:
        put_back(conn, backup, live, changes, install.version, say)
    except (EditedMeanwhile, apierrors.Conflict) as err:
        what = getattr(err, "what", f"{install.namespace}/{install.configmap}")
        raise RollbackRefused(
            f"rollback refused: someone else changed {what} while the rollback wrote ({err}); their edit is"
            f" left in place. Compare with backup {backup.stamp} ({backup.path})"
        ) from None
    restarted: Collection[str] = ()
    if restart:
        restarted = tuple(changes.expected) if nodes is None else nodes
        failure = restarts.roll_out(conn, install, nodes, say, timeout)
        if failure is not None:
            raise RollbackFailed(
                f"the backup's config is written back, but the agents' rollout after it failed: {failure}"
            )
    after = snapshot.take(conn, install=discover.find(conn))
    checked = restore_verify.check(backup, changes, after, restarted, skip)
    failed = [o for o in checked.values() if o.outcome == outcomes.FAILED]
    if failed:
        raise RollbackFailed(
            "the backup's config is written back, but not verified on "
            + ", ".join(f"{o.node} ({o.reason})" for o in failed)
        )
    say(f"verified: the cluster runs backup {backup.stamp}'s config again on {len(checked)} nodes")
    return checked


def _someone_else(backup: Backup, live: Live, changes: BackupDiff, ours: Ours) -> str:
    """What someone else changed since this change wrote ("" when nothing)."""
    found = []
    if live.resource_version != ours.config_version and live.data != ours.config_data:
        found.append(
            f"{live.namespace}/{live.configmap} (resourceVersion {ours.config_version} -> {live.resource_version})"
        )
    if not ours.any_node_config:
        touched = {*changes.node_configs_added, *changes.node_configs_changed, *changes.node_configs_removed}
        now = {objects.name_of(c): objects.resource_version(c) for c in live.node_configs}
        foreign = [_not_as_left(name, now, ours.node_configs) for name in sorted(touched)]
        if edited := [f for f in foreign if f]:
            found.append("CiliumNodeConfig " + ", ".join(edited))
    return " and ".join(found)


def _not_as_left(name: str, now: Mapping[str, str], wrote: Wrote) -> str:
    """`name (why)` when the node config is not as this change's last write left it, else ""."""
    if name not in wrote:
        return f"{name} (not written by this change)"
    left, version = wrote[name], now.get(name)
    if left == "":
        return ""  # our write's answer was lost: as far as we know, it is ours
    if left is None:
        return f"{name} (created again after this change deleted it)" if version is not None else ""
    if version is None:
        return f"{name} (deleted since this change wrote it)"
    return f"{name} (resourceVersion {left} -> {version})" if version != left else ""
