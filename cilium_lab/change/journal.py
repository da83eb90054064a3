"""The intent journal of a change: which backup it undoes to, and each step as it is about to happen and after.

A journal is written twice. On disk, `<results_dir>/journals/<run>.json` (atomically, fsynced:
`change.files`), so the laptop that ran the change knows what it left. In the cluster, a ConfigMap
`cilium-lab-journal-<run>` in the Cilium namespace, so any machine can see an unfinished change: a
ConfigMap of its own rather than annotations on the lock, because the lock is released (or broken by
`cilium-lab unlock`, or taken over when its holder is dead) exactly when a journal must outlive it, and
because the role that writes backups (configmaps in the Cilium namespace) already allows it. The cluster
copy is created once (run, holder, backup) and removed when the change closes: the operator role may
create and delete ConfigMaps in the Cilium namespace but update only cilium-config (deploy/rbac.yaml;
RBAC cannot name a generated ConfigMap), so the steps as they happen are kept on disk only. An open
cluster copy refuses the next change until `cilium-lab recover` finishes it (`UnfinishedChange`).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cilium_lab.change.files import write_atomic
from cilium_lab.cluster import apierrors, configmaps
from cilium_lab.cluster.connect import Connection
from cilium_lab.errors import ClusterError

PREFIX = "cilium-lab-journal-"
LABEL = "cilium-lab.io/journal"
MANAGED_BY = {"app.kubernetes.io/managed-by": "cilium-lab", LABEL: "open"}
OPEN, UNDOING, UNFINISHED, CLOSED = "open", "undoing", "unfinished", "closed"


class UnfinishedChange(ClusterError):
    """An earlier change on this cluster did not finish (its journal is open): refused before any write."""


def new_run() -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


@dataclass
class Journal:
    conn: Connection
    namespace: str
    path: Path
    record: dict[str, Any]
    state: configmaps.ConfigMapState | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def run(self) -> str:
        return str(self.record["run"])

    @property
    def configmap(self) -> str:
        return PREFIX + self.run

    def _write(self, *, cluster: bool = True) -> None:
        write_atomic(self.path, json.dumps(self.record, indent=1, sort_keys=True))

    def about(self, step: str) -> None:
        self.record["steps"].append({"at": _now(), "step": step, "done": False})
        self._write()

    def done(self, step: str) -> None:
        self.record["steps"].append({"at": _now(), "step": step, "done": True})
        self._write()

    def mark(self, state: str, *, failure: str = "", left: str = "") -> None:
        self.record.update(state=state, failure=failure or self.record.get("failure", ""), left=left)
        self._write()

    def close(self, outcome: str) -> None:
        """The change is over (applied, rolled back and verified, or never written): the cluster copy goes."""
        self.record.update(state=CLOSED, outcome=outcome, closed=_now(), left="")
        self._write(cluster=False)
        try:
            with contextlib.suppress(apierrors.NotFound):
                configmaps.delete(self.conn, self.namespace, self.configmap)
        except ClusterError as err:
            self.warnings.append(
                f"closed journal {self.configmap} could not be removed from the cluster: {err};"
                " `cilium-lab recover` removes it"
            )

    def drop(self) -> None:
        """The change wrote nothing: no journal is kept (on disk or in the cluster); nothing to recover."""
        self.close("nothing changed")
        with contextlib.suppress(OSError):
            self.path.unlink()
        with contextlib.suppress(OSError):
            self.path.parent.rmdir()  # only when empty


def open_journal(
    conn: Connection,
    namespace: str,
    results_dir: str | Path,
    *,
    kind: str,
    purpose: str,
    backup: dict[str, str],
    holder: str,
) -> Journal:
    """Write a new journal on disk and in the cluster; ClusterError when the cluster copy cannot be made."""
    run = new_run()
    record = {
        "run": run,
        "kind": kind,
        "purpose": purpose,
        "holder": holder,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started": _now(),
        "namespace": namespace,
        "backup": dict(backup),
        "results_dir": str(Path(results_dir).resolve()),
        "steps": [],
        "state": OPEN,
        "failure": "",
        "left": "",
        "outcome": "",
    }
    journal = Journal(conn, namespace, Path(results_dir) / "journals" / f"{run}.json", record)
    journal._write(cluster=False)
    try:
        text = json.dumps(record, indent=1, sort_keys=True)
        journal.state = configmaps.create(conn, namespace, journal.configmap, {"journal": text}, MANAGED_BY)
    except ClusterError:
        journal.drop()
        raise
    return journal


def cluster_journals(conn: Connection, namespace: str) -> list[dict[str, Any]]:
    """The journals left open in the cluster (records; an unreadable one as {"run": name, "unreadable": why})."""
    found = []
    for cm in configmaps.list_labelled(conn, namespace, MANAGED_BY):
        if not cm.name.startswith(PREFIX):
            continue
        try:
            record = json.loads(cm.data.get("journal", ""))
            if not isinstance(record, dict) or "run" not in record:
                raise ValueError("no run in it")
        except ValueError as err:
            record = {"run": cm.name.removeprefix(PREFIX), "unreadable": str(err)}
        found.append(record)
    return sorted(found, key=lambda r: str(r.get("run")))


def disk_journals(results_dir: str | Path) -> list[tuple[Path, dict[str, Any]]]:
    """The journals under `results_dir/journals/` that are not closed, oldest first."""
    folder = Path(results_dir) / "journals"
    found = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and record.get("state") != CLOSED:
            found.append((path, record))
    return found


def holder_alive(record: dict[str, Any]) -> str:
    """Whether the journal's process still runs, in words: alive, dead, or unknown (another host)."""
    if record.get("host") != socket.gethostname():
        return f"unknown (it ran on {record.get('host', '?')}, pid {record.get('pid', '?')})"
    pid = record.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return "unknown (no pid recorded)"
    if pid == os.getpid():
        return "alive (this process)"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "dead"
    except PermissionError:
        return f"alive (pid {pid}, another user)"
    return f"alive (pid {pid})"


def describe(record: dict[str, Any]) -> str:
    """One paragraph: which run, what it was doing, which steps were done, what is left."""
    if "unreadable" in record:
        return f"journal {PREFIX}{record['run']}: unreadable ({record['unreadable']})"
    done = [s["step"] for s in record.get("steps", []) if s.get("done")]
    begun = [s["step"] for s in record.get("steps", []) if not s.get("done")]
    unfinished = [s for s in begun if s not in done]
    backup = record.get("backup", {})
    where = backup.get("configmap") or backup.get("path") or "?"
    lines = [
        f"run {record['run']} ({record.get('kind', '?')}: {record.get('purpose', '')}) by {record.get('holder', '?')},"
        f" started {record.get('started', '?')}, state {record.get('state', '?')}; its process: {holder_alive(record)}",
        f"  backup to undo to: {where} (file {backup.get('path', '-')})",
        f"  steps done: {', '.join(done) or 'none'}",
    ]
    if unfinished:
        lines.append(f"  begun but not recorded as done: {', '.join(unfinished)}")
    if record.get("failure"):
        lines.append(f"  failure: {record['failure']}")
    if record.get("left"):
        lines.append(f"  left to do: {record['left']}")
    return "\n".join(lines)
