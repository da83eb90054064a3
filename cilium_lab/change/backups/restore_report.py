"""What a restore did (or would do), per node: the record and its text.

Every rendering of a restore on the embedded cluster carries SIMULATED.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cilium_lab.change import outcomes
from cilium_lab.change.backups.backup_diff import BackupDiff
from cilium_lab.change.backups.backup_format import Backup

PLANNED = "planned"  # not approved: nothing changed
NOTHING_TO_DO = "nothing to do"  # the live config already is the backup's
RESTORED = "restored"
FAILED = "failed"
_HEADER = {PLANNED: "changes", FAILED: "tried to change"}


@dataclass
class RestoreReport:
    backup: Backup
    outcome: str = PLANNED
    message: str = ""
    diff: BackupDiff | None = None
    nodes: dict[str, outcomes.NodeOutcome] = field(default_factory=dict)
    steps: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    undo: Backup | None = None  # the backup of the state just before the restore
    simulated: bool = False
    cluster_uid: str = ""  # the cluster restored on (kube-system's uid)
    exit_code: int = 0  # the README's exit codes: 0 done or planned, 5 rolled back, 6 unfinished, 130/143
    journal_path: str = ""

    @property
    def restarts(self) -> tuple[str, ...]:
        return self.diff.restarts if self.diff else ()

    def to_record(self) -> dict:
        b, undo = self.backup, self.undo
        undone = (
            {"stamp": undo.stamp, "configmap": undo.configmap_backup, "path": undo.path} if undo else None
        )
        return {
            "stamp": b.stamp,
            "when": b.when,
            "source": b.source,
            "namespace": b.namespace,
            "configmap": b.configmap,
            "outcome": self.outcome,
            "message": self.message,
            "simulated": self.simulated,
            "diff": self.diff.to_record() if self.diff else None,
            "restarts": list(self.restarts),
            "nodes": [o.to_record() for _, o in sorted(self.nodes.items())],
            "steps": list(self.steps),
            "warnings": list(self.warnings),
            "cluster_uid": self.cluster_uid,
            "backup_cluster": {"uid": b.cluster_uid, "server": b.cluster_server} if b.cluster_uid else None,
            "undo": undone,
            "exit_code": self.exit_code,
            "journal_path": self.journal_path,
        }

    def to_text(self) -> str:
        b = self.backup
        tag = " [SIMULATED]" if self.simulated else ""
        lines = [
            f"Restore {b.namespace}/{b.configmap} from backup {b.stamp} ({b.when}, {b.source}){tag}: "
            f"{self.outcome} - {self.message}"
        ]
        if self.diff is not None and not self.diff.empty:
            lines.append(f"  what the restore {_HEADER.get(self.outcome, 'changed')}:")
            lines += [f"    {line}" for line in self.diff.lines()]
            if not self.restarts:
                lines.append("    no agent restarts: no node's effective config changes")
        lines += [f"  {o.node}: {o.outcome} - {o.reason}" for _, o in sorted(self.nodes.items())]
        lines += [f"  warning: {w}" for w in self.warnings]
        if self.undo is not None:
            lines.append(
                f"  the config before this restore is saved as backup {self.undo.stamp} ({self.undo.path}); undo with:"
                f" cilium-lab restore {self.undo.stamp} --approve"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()
