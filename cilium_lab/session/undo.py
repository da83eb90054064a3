"""Lab 99's last step: the command that puts the cluster back as it was before the series.

Called by `session.summary.how_to_undo`; calls `change.backup` (a stamp's backup ConfigMap, or its file),
`cluster.discover` (the Cilium namespace) and `cluster.identity` (which cluster this is). Every change a
lab applies first saves the config as it was, and its result record says where
(`change.apply.ApplyReport.to_record()`: `backup_configmap`, `backup_path`), so the earliest backup in
this results folder is the state before the series. A results folder may also hold records of other
clusters (a folder used again, or labs that each started an embedded cluster of their own): a backup
counts only when this cluster holds its ConfigMap, or its file names this cluster (or no cluster: an
older backup, said so). Lab 15's host tuning is not Cilium config: its record points at the host
settings it saved per node, and each such file gets its own `cilium-lab restore-host FILE` command
(`cli.restore_host`, `change.host_restore`).
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cilium_lab.change.backups import backup
from cilium_lab.change.outcomes import Outcome
from cilium_lab.cluster import discover, identity
from cilium_lab.cluster.connect import Connection
from cilium_lab.errors import LabError

APPLIED = Outcome.APPLIED  # a record's "outcome" holds its string
HOST_ITEM = "host"  # the ApplyReport item of lab 15's host path
_FILE = re.compile(r"^(\d{8}-\d{6}-\d{6})-.+\.json$")
RESTORES = "cilium-config (exactly), the CiliumNodeConfigs and cilium-lab's node labels"


@dataclass(frozen=True)
class Candidate:
    """A backup a lab's record names: taken just before that lab's change (or its undo, lab 08)."""

    stamp: str
    lab: str
    path: str  # the file as recorded ("" when none)


@dataclass(frozen=True)
class Undo:
    """What lab 99 says about undoing the series on this cluster."""

    applied: tuple[str, ...]  # labs whose Cilium change was applied
    host_applied: tuple[str, ...] = ()  # labs whose host tuning was applied (lab 15)
    host_backups: tuple[str, ...] = ()  # the files those saved the previous host settings to
    chosen: Candidate | None = None  # the backup to restore
    from_file: str = ""  # its file, when its ConfigMap is gone from the cluster
    unchecked: bool = False  # it records no cluster (an older backup)
    gone: tuple[Candidate, ...] = ()  # earlier backups neither in the cluster nor on disk
    elsewhere: int = 0  # backups in the records that belong to other clusters

    def command(self, target: str) -> str:
        if self.chosen is None:
            return ""
        source = ["--from-file", self.from_file] if self.from_file else [self.chosen.stamp]
        return shlex.join(["cilium-lab", "restore", *source]) + target

    def host_commands(self, target: str) -> list[str]:
        """One `cilium-lab restore-host` per host backup (plan only; --approve restores)."""
        return [shlex.join(["cilium-lab", "restore-host", path]) + target for path in self.host_backups]

    def to_record(self, target: str) -> dict[str, Any]:
        return {
            "applied": list(self.applied), "stamp": self.chosen.stamp if self.chosen else "",
            "taken_by": self.chosen.lab if self.chosen else "", "from_file": self.from_file,
            "command": self.command(target), "unchecked": self.unchecked,
            "gone": [c.stamp for c in self.gone], "other_clusters": self.elsewhere,
            "host_applied": list(self.host_applied), "host_backups": list(self.host_backups),
            "host_commands": self.host_commands(target),
        }  # fmt: skip


def _reports(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The apply reports of a record: the lab's change, and lab 08's restore of it."""
    extra = record.get("extra") if isinstance(record.get("extra"), dict) else {}
    return [r for r in (record.get("apply"), extra.get("restore")) if isinstance(r, dict)]


def _stamp(report: dict[str, Any]) -> str:
    name = report.get("backup_configmap")
    if isinstance(name, str) and name.startswith(backup.PREFIX):
        return name.removeprefix(backup.PREFIX)
    path = report.get("backup_path")
    found = _FILE.match(Path(path).name) if isinstance(path, str) and path else None
    return found.group(1) if found else ""  # lab 15's host backups are named otherwise


def candidates(records: list[dict[str, Any]]) -> list[Candidate]:
    """Every Cilium config backup the records name, oldest first (stamps sort as times)."""
    found = {}
    for record in records:
        for report in _reports(record):
            stamp = _stamp(report)
            if stamp and report.get("item") != HOST_ITEM:
                path = report.get("backup_path")
                path = path if isinstance(path, str) else ""
                found.setdefault(stamp, Candidate(stamp, str(record.get("lab", "")), path))
    return [found[s] for s in sorted(found)]


def _file(candidate: Candidate, results_dir: Path) -> Path | None:
    """The backup's file: as recorded (relative to where the lab ran), else in this folder's backups/."""
    if not candidate.path:
        return None
    for path in (Path(candidate.path), results_dir / "backups" / Path(candidate.path).name):
        if path.is_file():
            return path.resolve()
    return None


def _host_file(recorded: str, results_dir: Path) -> str:
    """A host backup as an absolute path: as recorded (relative to where the lab ran), else in this
    folder's host-backups/; as recorded when neither exists (said so)."""
    for path in (Path(recorded), results_dir / "host-backups" / Path(recorded).name):
        if path.is_file():
            return str(path.resolve())
    return recorded


def _where(conn: Connection, namespace: str, here: str, candidate: Candidate, results_dir: Path) -> str:
    """Where this cluster has the backup: "configmap", "file", "file-unchecked", "elsewhere" or "gone"."""
    try:
        saved = backup.load(conn, namespace, candidate.stamp)
    except backup.NotABackup:
        pass  # gone from the cluster (pruned, or another cluster's): its file may say whose it is
    else:
        return "configmap" if saved.cluster_uid in ("", here) else "elsewhere"
    path = _file(candidate, results_dir)
    if path is None:
        return "gone"
    try:
        uid = backup.load_file(path).cluster_uid
    except LabError:
        return "gone"  # unreadable: no use to a restore
    return "file-unchecked" if not uid else "file" if uid == here else "elsewhere"


def find(conn: Connection, records: list[dict[str, Any]], results_dir: Path) -> Undo:
    """The earliest backup of this results folder's series that this cluster can restore, and why not others."""
    applied = tuple(str(r.get("lab")) for r in records if any(
        p.get("outcome") == APPLIED and p.get("item") != HOST_ITEM for p in _reports(r)))  # fmt: skip
    host = [(str(r.get("lab")), p) for r in records for p in _reports(r) if p.get("item") == HOST_ITEM]
    undo = Undo(
        applied=applied,
        host_applied=tuple(lab for lab, p in host if p.get("outcome") == APPLIED),
        host_backups=tuple(
            _host_file(str(p["backup_path"]), results_dir) for _, p in host if p.get("backup_path")
        ),
    )
    if not applied:
        return undo
    namespace, here = discover.find(conn).namespace, identity.read(conn).uid
    gone, elsewhere = [], 0
    for candidate in candidates(records):
        where = _where(conn, namespace, here, candidate, results_dir)
        if where == "elsewhere":
            elsewhere += 1
        elif where == "gone":
            gone.append(candidate)
        else:
            path = str(_file(candidate, results_dir)) if where.startswith("file") else ""
            return replace(undo, chosen=candidate, from_file=path, unchecked=where == "file-unchecked",
                           gone=tuple(gone), elsewhere=elsewhere)  # fmt: skip
    return replace(undo, gone=tuple(gone), elsewhere=elsewhere)


def target_args(cluster: str, kubeconfig: str) -> str:
    """The options that reach the cluster the lab ran on, as the lab's parameters named it."""
    parts = ["--cluster", cluster] + (["--kubeconfig", kubeconfig] if kubeconfig else [])
    return " " + shlex.join(parts)


def host_settings(path: str) -> str:
    """Lab 15's saved host settings (`change.host`'s file), nodes alike grouped; "" if unreadable."""
    try:
        saved = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return ""
    groups: dict[str, list[str]] = {}
    for node, state in sorted(saved.items() if isinstance(saved, dict) else ()):
        if isinstance(state, dict):
            governors = "/".join(sorted(set(state.get("governors") or []))) or "none (no cpufreq)"
            text = (
                f"tuned {state.get('tuned')}, governor {governors},"
                f" irqbalance {state.get('irqbalance')} ({state.get('irqbalance_enabled')})"
            )
            groups.setdefault(text, []).append(str(node))
    return "; ".join(f"{', '.join(nodes)}: {text}" for text, nodes in groups.items())


def markdown(undo: Undo, target: str, *, simulated: bool) -> str:
    """The step's text: the command, what it restores, and what it does not."""
    if not undo.applied:
        lines = ["_Nothing of Cilium's config to undo: no lab in this results folder applied a change._"]
    elif undo.chosen is None:
        lines = [_none_here(undo)]
    else:
        lines = _command(undo, undo.chosen, target, simulated)
    if undo.host_applied:
        lines += _host(undo, target)
    return "\n\n".join(lines)


def _none_here(undo: Undo) -> str:
    why = [f"{undo.elsewhere} belong to other clusters"] if undo.elsewhere else []
    why += [f"{len(undo.gone)} are gone from the cluster and from disk"] if undo.gone else []
    return (
        f"Changes were applied by {', '.join(undo.applied)}, but none of the backups they took can be restored on"
        f" this cluster ({'; '.join(why) or 'none recorded'}). Run this lab against the cluster they changed"
        " to see the command; `cilium-lab backups` lists the backups a cluster holds."
    )


def _command(undo: Undo, c: Candidate, target: str, simulated: bool) -> list[str]:
    before = "the series" if not undo.gone else f"{c.lab}'s change"
    lines = [
        f"Changes were applied by {', '.join(undo.applied)}. The earliest backup of the run still at hand,"
        f" **{c.stamp}** (taken just before {c.lab}'s change), holds the cluster as it was before {before}."
        " This puts it back:",
        f"```sh\n{undo.command(target)}\n```",
        f"It shows the plan and changes nothing; add `--approve` to restore. It restores {RESTORES}"
        " (anything else changed in them since is undone too), restarts only the agents whose config"
        " changes, verifies each node, and first saves the config as it is then, so the restore itself can"
        " be undone.",
    ]
    if undo.from_file:
        lines.append(
            "Its ConfigMap is no longer in the cluster (pruned?), so the command restores from its file."
        )
    if undo.unchecked:
        lines.append(
            "That backup records no cluster identity (written before cilium-lab recorded one): check that it"
            " is this cluster's."
        )
    if undo.gone:
        gone = ", ".join(f"{g.stamp} of {g.lab}" for g in undo.gone)
        lines.append(
            f"Earlier backups of the run are gone from the cluster and from disk ({gone}): what those labs"
            " changed stays unless undone by hand."
        )
    if simulated:
        lines.append(
            "On the embedded cluster the command works only while that cluster runs (a batch's stops when the"
            " batch ends)."
        )
    return lines


def _host(undo: Undo, target: str) -> list[str]:
    text = (
        f"The host tuning of {', '.join(undo.host_applied)} is not Cilium config: `cilium-lab restore` does"
        " not touch it."
    )
    if not undo.host_backups:
        return [text + " It saved no host settings (no node was changed), so there is nothing to put back."]
    saved = [
        f"`{p}`" + (f" ({s})" if (s := host_settings(p)) else " (missing or unreadable)")
        for p in undo.host_backups
    ]
    text += (
        f" The host settings each node had before it are saved in {'; '.join(saved)}. This puts them back:"
    )
    commands = "\n".join(undo.host_commands(target))
    return [
        text,
        f"```sh\n{commands}\n```",
        "It reads each node through a privileged host pod (the cilium-lab-host role) and shows what would"
        " change, changing nothing; add `--approve` to restore (tuned profile, CPU governors, irqbalance,"
        " the NIC IRQ affinities). It first saves the nodes' settings as they are then, so the restore"
        " itself can be undone.",
    ]
