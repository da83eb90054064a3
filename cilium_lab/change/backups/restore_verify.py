"""After a restore's rollout: does the cluster, and every node's effective config, equal the backup?

Pure: it reads a fresh `Snapshot`. cilium-config's data must equal the backup's exactly and the
CiliumNodeConfigs must have the backup's names and specs (`objects_problem`). Each node's effective
config (cilium-config merged with the node configs that select it, as the snapshot computes it with
`cluster.nodeconfig.effective`) must equal what the backup gives that node, and a node whose agent
restarted must run a healthy agent again (it answers `cilium status`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from cilium_lab.change import outcomes
from cilium_lab.change.backups.backup_diff import BackupDiff
from cilium_lab.change.backups.backup_format import Backup
from cilium_lab.cluster import objects
from cilium_lab.cluster.snapshot import Snapshot

RESTORED = "restored"  # the node's effective config is the backup's (and its agent, if restarted, is healthy)
SHOWN_KEYS = 5  # differing keys named in a reason


def objects_problem(backup: Backup, after: Snapshot) -> str:
    """Why cilium-config or the node configs do not equal the backup's; "" when they do."""
    if after.config != backup.data:
        keys = sorted(k for k in {*after.config, *backup.data} if after.config.get(k) != backup.data.get(k))
        return (
            f"cilium-config is not the backup's after the restore (differs in {', '.join(keys[:SHOWN_KEYS])})"
        )
    now = {objects.name_of(c): c.get("spec") or {} for c in after.node_configs}
    then = {objects.name_of(c): c.get("spec") or {} for c in backup.node_configs}
    if now != then:
        names = sorted(n for n in {*now, *then} if now.get(n) != then.get(n))
        return f"CiliumNodeConfigs are not the backup's after the restore ({', '.join(names)})"
    return ""


def node_outcome(diff: BackupDiff, after: Snapshot, node: str, restarted: bool) -> outcomes.NodeOutcome:
    if node not in after.node_names:
        return outcomes.NodeOutcome(node, outcomes.FAILED, "node disappeared during the restore")
    facts, expected = after.node(node), diff.expected[node]
    if facts.config != expected:
        keys = sorted(k for k in {*facts.config, *expected} if facts.config.get(k) != expected.get(k))
        shown = "; ".join(
            f"{k} is {facts.config.get(k)!r}, backup {expected.get(k)!r}" for k in keys[:SHOWN_KEYS]
        )
        return outcomes.NodeOutcome(node, outcomes.FAILED, f"effective config is not the backup's: {shown}")
    if not restarted:
        return outcomes.NodeOutcome(
            node, RESTORED, "effective config already was the backup's; agent not restarted"
        )
    if facts.status is None:
        why = after.problems.get(node, "no agent status")
        return outcomes.NodeOutcome(node, outcomes.FAILED, f"agent not healthy after its restart: {why}")
    return outcomes.NodeOutcome(node, RESTORED, "agent restarted; effective config equals the backup's")


def check(
    backup: Backup, diff: BackupDiff, after: Snapshot, restarted: Collection[str], skip: Mapping[str, str]
) -> dict[str, outcomes.NodeOutcome]:
    """Each node's outcome; nodes in `skip` (node -> why: NotReady, no agent) are skipped."""
    problem = objects_problem(backup, after)
    return {
        node: outcomes.NodeOutcome(node, outcomes.SKIPPED, skip[node])
        if node in skip
        else outcomes.NodeOutcome(node, outcomes.FAILED, problem)
        if problem
        else node_outcome(diff, after, node, node in restarted)
        for node in sorted(diff.expected)
    }
