"""Delete old backup ConfigMaps, keeping the newest N: each change and each restore saves one, forever otherwise.

Without approval it only says which it would delete. Only ConfigMaps that read as cilium-lab backups
are candidates (the lock and anything unreadable stay), and the files under `<results_dir>/backups/`
are never touched, so `restore --from-file` still works for a pruned one. The newest backup is always
kept (N >= 1): a change running now has just saved it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from cilium_lab import limits
from cilium_lab.change.backups.backup import list_backups
from cilium_lab.change.backups.backup_format import Backup
from cilium_lab.cluster import apierrors, configmaps
from cilium_lab.cluster.connect import Connection
from cilium_lab.errors import InputError

DEFAULT_KEEP = 10


@dataclass
class Pruning:
    """What a prune keeps (newest first) and deletes or would delete (oldest first)."""

    namespace: str
    keep: int
    kept: list[Backup]
    doomed: list[Backup]
    approved: bool
    gone: list[str] = field(default_factory=list)  # stamps already deleted by someone else

    def to_record(self) -> dict:
        def row(b: Backup) -> dict:
            return {"stamp": b.stamp, "when": b.when, "configmap": b.configmap_backup}

        return {
            "namespace": self.namespace,
            "keep": self.keep,
            "approved": self.approved,
            "kept": [row(b) for b in self.kept],
            ("deleted" if self.approved else "would_delete"): [row(b) for b in self.doomed],
            "already_gone": list(self.gone),
        }


def check_keep(value: object) -> int:
    """N as given (an int, or the text of one on the command line): a whole number >= 1."""
    number = value
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,9}", value.strip()):
        number = int(value.strip())
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= limits.KEEP[1]:
        raise InputError(
            f"--keep must be a whole number of backups to keep, {limits.span(limits.KEEP)}, got {value!r};"
            " nothing deleted"
        )
    return number


def prune(
    conn: Connection,
    namespace: str,
    keep: int = DEFAULT_KEEP,
    *,
    approved: bool,
    on_unreadable: Callable[[str], None] | None = None,
) -> Pruning:
    """Keep the newest `keep` backups in `namespace`; delete the rest only if `approved`."""
    keep = check_keep(keep)
    if not isinstance(approved, bool):
        raise InputError(f"approved must be True or False, got {approved!r}")
    found = list_backups(conn, namespace, on_unreadable=on_unreadable)  # newest first
    result = Pruning(namespace, keep, found[:keep], list(reversed(found[keep:])), approved)
    if approved:
        for b in result.doomed:
            try:
                configmaps.delete(conn, namespace, b.configmap_backup)
            except apierrors.NotFound:  # pruned concurrently: the goal is met
                result.gone.append(b.stamp)
    return result
