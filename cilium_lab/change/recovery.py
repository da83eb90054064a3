"""Finish the undo of a change that died (kill -9, a lost laptop, a second Ctrl-C): `cilium-lab recover`.

`find` collects the journals left open: in the cluster (`cilium-lab-journal-<run>` ConfigMaps) and on
disk (`<results_dir>/journals/`); each says which run, which steps were done, and whether its process
still runs. `finish` (only after approval) puts the run's backup back: for a Cilium config change or
a restore, cilium-config, the CiliumNodeConfigs and our node labels exactly as the backup has them,
every agent restarted and verified (`backups.rollback.undo_to`, with the live config taken as it is:
the person who approves a recovery decides over edits made since); for lab 15's host tuning or a
host restore, the host backup file through `host.host_restore`. A run whose process is alive is not
touched. A lock still held by the dead run itself (same holder, its process gone) is taken over.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cilium_lab.change import journal, lock, outcomes
from cilium_lab.change.backups import backup as backups
from cilium_lab.change.backups import rollback
from cilium_lab.change.backups.backup_diff import read_live
from cilium_lab.change.files import write_atomic
from cilium_lab.change.host import host_restore
from cilium_lab.change.recording import Progress
from cilium_lab.cluster import apierrors, discover, rollout
from cilium_lab.cluster.connect import Connection
from cilium_lab.errors import ClusterError, InputError

CONFIG_KINDS = ("apply", "restore")
HOST_KINDS = ("host", "restore-host")


@dataclass
class Found:
    record: dict[str, Any]
    in_cluster: bool
    path: Path | None  # the disk copy, when one was found

    @property
    def run(self) -> str:
        return str(self.record.get("run", "?"))

    def describe(self) -> str:
        where = ["the cluster"] if self.in_cluster else []
        where += [str(self.path)] if self.path else []
        return f"{journal.describe(self.record)}\n  journal found in: {', '.join(where)}"


def find(conn: Connection, namespace: str, results_dirs: list[Path]) -> list[Found]:
    """The unfinished journals: the cluster's, and those on disk that are not closed (one entry per run)."""
    found = {str(r["run"]): Found(r, True, None) for r in journal.cluster_journals(conn, namespace)}
    for folder in results_dirs:
        for path, record in journal.disk_journals(folder):
            run = str(record.get("run", path.stem))
            if run in found:  # the disk copy has the steps; the cluster's only the run and its backup
                found[run].path, found[run].record = path, record
            else:
                found[run] = Found(record, False, path)
    return [found[k] for k in sorted(found)]


@dataclass
class Recovered:
    run: str
    outcome: str  # outcomes.ROLLED_BACK (verified), outcomes.SKIPPED (left alone), outcomes.ROLLBACK_FAILED
    message: str
    alive: bool = False  # left alone because its process still runs


def finish(
    conn: Connection, namespace: str, found: Found, *, say: Progress, timeout: float, results_dir: Path
) -> Recovered:
    record = found.record
    alive = journal.holder_alive(record)
    # a run that marked its own journal unfinished gave up on it; one still open may be working on it
    if alive.startswith("alive") and record.get("state") in (journal.OPEN, journal.UNDOING):
        return Recovered(
            found.run, outcomes.SKIPPED, f"its process is {alive}: stop it first, or let it finish"
        )
    if "unreadable" in record:
        return Recovered(
            found.run, outcomes.ROLLBACK_FAILED, f"its journal is unreadable ({record['unreadable']})"
        )
    kind = record.get("kind")
    if kind not in CONFIG_KINDS + HOST_KINDS:
        return Recovered(
            found.run, outcomes.ROLLBACK_FAILED, f"unknown kind of change {kind!r} in its journal"
        )
    if not (record.get("backup") or {}).get("path") and not (record.get("backup") or {}).get("configmap"):
        _close(
            conn, namespace, found, "recovered: it had written nothing (no backup named)", say, results_dir
        )
        return Recovered(found.run, outcomes.SKIPPED, "it had not written anything; journal closed")
    try:
        if kind in CONFIG_KINDS:
            held = _take_lock(conn, namespace, record)
            try:
                message = _config(conn, namespace, record, say, timeout)
            finally:
                with contextlib.suppress(ClusterError):
                    lock.release(conn, held)
        else:  # the host restore takes the lock (and journals) itself, allowing this run's open journal
            message = _hosts(conn, record, say, timeout, results_dir)
    except (ClusterError, InputError) as err:
        _mark(found, f"recover failed: {err}")
        return Recovered(found.run, outcomes.ROLLBACK_FAILED, f"the recovery failed: {err}")
    _close(conn, namespace, found, f"recovered: {message}", say, results_dir)
    return Recovered(found.run, outcomes.ROLLED_BACK, message)


def _config(conn: Connection, namespace: str, record: dict[str, Any], say: Progress, timeout: float) -> str:
    saved = _backup(conn, namespace, record["backup"])
    install = discover.find(conn)
    live = read_live(conn, install)
    ours = rollback.Ours(live.resource_version, any_node_config=True)  # approved: the backup wins
    not_ready = rollout.not_ready_nodes(conn, list(live.node_labels))
    ready = tuple(n for n in sorted(live.node_labels) if n not in not_ready)
    skip = {
        n: f"node NotReady ({why}): its agent reads the backup's config when it next starts"
        for n, why in not_ready.items()
    }
    say(f"putting backup {saved.stamp} back ({saved.configmap_backup}, file {saved.path})")
    rollback.undo_to(
        conn, install, saved, ours, nodes=None if not not_ready else ready, restart=True, skip=skip, say=say,
        timeout=timeout,
    )  # fmt: skip
    return f"backup {saved.stamp} is back and verified on every node"


def _backup(conn: Connection, namespace: str, where: dict[str, str]) -> backups.Backup:
    if where.get("configmap"):
        with contextlib.suppress(apierrors.NotFound, backups.NotABackup):
            return backups.load(conn, namespace, where["configmap"].removeprefix(backups.PREFIX))
    if where.get("path") and Path(where["path"]).is_file():
        return backups.load_file(where["path"])
    raise InputError(
        f"the journal's backup is gone: configmap {where.get('configmap') or '-'} and file {where.get('path') or '-'};"
        " put a backup back yourself with `cilium-lab restore STAMP --approve`"
    )


def _hosts(conn: Connection, record: dict[str, Any], say: Progress, timeout: float, results_dir: Path) -> str:
    path = Path(record["backup"].get("path", ""))
    if not path.is_file():
        raise InputError(f"the journal's host backup {path} is not on this machine: run recover where it ran")
    report = host_restore.restore_host(
        conn,
        path,
        approved=True,
        results_dir=results_dir,
        timeout=timeout,
        progress=say,
        recovering=record["run"],
    )
    bad = [n for n in report.nodes.values() if n.outcome not in (host_restore.RESTORED, host_restore.SKIPPED)]
    if bad:
        raise ClusterError("; ".join(f"{n.node}: {n.outcome}: {n.reason}" for n in bad))
    return f"the host settings of {path} are back and read back on {len(report.nodes)} node(s)"


def _take_lock(conn: Connection, namespace: str, record: dict[str, Any]) -> lock.Lock:
    """The change lease; one still held by the dead run itself is broken (guarded by its version)."""
    try:
        return lock.acquire(conn, namespace, purpose=f"recover {record.get('run')}")
    except lock.LockHeld:
        holding = lock.status(conn, namespace)
        if holding is None or holding.spec.holder != record.get("holder"):
            raise
        if journal.holder_alive(record) != "dead":
            raise
        lock.break_lease(conn, holding)
        return lock.acquire(conn, namespace, purpose=f"recover {record.get('run')}")


def _mark(found: Found, left: str) -> None:
    """Say on disk what the failed recovery left (the cluster copy stays open as it was)."""
    if found.path is not None:
        with contextlib.suppress(OSError):
            write_atomic(found.path, json.dumps(dict(found.record, left=left), indent=1, sort_keys=True))


def _close(
    conn: Connection, namespace: str, found: Found, outcome: str, say: Progress, results_dir: Path
) -> None:
    """Close the run's journal: its disk copy (here, if the run's folder is not on this machine) and the cluster's."""
    path = found.path
    if path is None:
        folder = Path(str(found.record.get("results_dir") or results_dir))
        path = (folder if folder.is_dir() else results_dir) / "journals" / f"{found.run}.json"
    journal.Journal(conn, namespace, path, dict(found.record)).close(outcome)
    say(f"journal of run {found.run} closed: {outcome}")
