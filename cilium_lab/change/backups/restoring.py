"""Put the Cilium config back as a backup had it, only when approved: lock, back up, write, restart, verify.

The steps read top to bottom in `_run`: a fresh backup of the state before the restore (so the
restore itself can be undone), the diff (`backups.backup_diff`), the writes (`backups.restore_write`),
the same rollout wait as a change (`change.restarts`), and the check (`backups.restore_verify`). A
backup that names another cluster (another kube-system uid) is refused unless `other_cluster=True`
says it is meant; one written before backups recorded their cluster is accepted, and the report says
it could not be checked. Without approval it plans: the diff and the agents that would restart, and
nothing changes. Only agents whose effective config changes restart: through the DaemonSet when that
is every node, else node by node. A write, rollout or verification that fails puts the pre-restore
state back the same way (and restarts the same agents), and the report says so per node.
"""

from __future__ import annotations

import math
from pathlib import Path

from cilium_lab.change import lock, outcomes, restarts
from cilium_lab.change.backups import backup as backups
from cilium_lab.change.backups import restore_verify
from cilium_lab.change.backups.backup_diff import Live, diff, read_live
from cilium_lab.change.backups.backup_format import Backup, check_stamp
from cilium_lab.change.backups.restore_report import FAILED, NOTHING_TO_DO, PLANNED, RESTORED, RestoreReport
from cilium_lab.change.backups.restore_write import put_back
from cilium_lab.change.recording import Progress, recording
from cilium_lab.change.restarts import NodesNotReady
from cilium_lab.cluster import discover, identity, rollout, snapshot
from cilium_lab.cluster.connect import Connection
from cilium_lab.errors import ClusterError, InputError

__all__ = [
    "FAILED",
    "NOTHING_TO_DO",
    "PLANNED",
    "RESTORED",
    "ForeignBackup",
    "RestoreReport",
    "find",
    "restore_backup",
]
NOT_APPROVED = "not restored, nothing changed: run with approved=True (cilium-lab restore STAMP --approve)"


class ForeignBackup(InputError):
    """A backup of another ConfigMap or namespace than this cluster's cilium-config, or of another cluster."""


def find(conn: Connection, namespace: str, stamp: str = "", from_file: str | Path = "") -> Backup:
    """The backup to restore: the ConfigMap of `stamp`, or the file `from_file` (whose name holds its stamp)."""
    if from_file:
        found = backups.load_file(from_file)
        if stamp and check_stamp(stamp) != found.stamp:
            raise InputError(
                f"backup file {from_file} holds backup {found.stamp}, not {stamp}: give one of them"
            )
        return found
    return backups.load(conn, namespace, check_stamp(stamp))


def _check(
    conn: object,
    saved: object,
    approved: object,
    timeout: object,
    progress: object,
    results_dir: object,
    allow_not_ready: object,
    other_cluster: object,
) -> None:
    if not isinstance(conn, Connection):
        raise InputError(
            f"conn must be a Connection from cluster.connect.connect(), got {type(conn).__name__}"
        )
    if not isinstance(saved, Backup):
        raise InputError(
            f"backup must be a Backup from change.backups.restoring.find(), got {type(saved).__name__}"
        )
    for name, value in (
        ("approved", approved),
        ("allow_not_ready", allow_not_ready),
        ("other_cluster", other_cluster),
    ):
        if not isinstance(value, bool):
            raise InputError(f"{name} must be True or False, got {value!r}")
    bad_timeout = isinstance(timeout, bool) or not isinstance(timeout, int | float)
    if bad_timeout or not math.isfinite(timeout) or timeout <= 0:  # type: ignore[arg-type]
        raise InputError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if progress is not None and not callable(progress):
        raise InputError("progress must be a function taking one string, or None")
    if not isinstance(results_dir, str | Path) or not str(results_dir):
        raise InputError(f"results_dir must be a folder path, got {results_dir!r}")


def _same_config(saved: Backup, install: discover.CiliumInstall) -> None:
    if (saved.namespace, saved.configmap) != (install.namespace, install.configmap):
        raise ForeignBackup(
            f"backup {saved.stamp} ({saved.source}) is of {saved.namespace}/{saved.configmap}, but this cluster's"
            f" Cilium config is {install.namespace}/{install.configmap}; restore it on the cluster it came from"
        )


def _same_cluster(saved: Backup, here: identity.ClusterIdentity, other_cluster: bool) -> str:
    """Refuse a backup of another cluster unless `other_cluster`; the warning the report carries, or ""."""
    if not saved.cluster_uid:
        return (
            f"backup {saved.stamp} records no cluster identity (written before cilium-lab recorded one):"
            " check yourself that it is this cluster's"
        )
    if saved.cluster_uid == here.uid:
        return ""
    if not other_cluster:
        raise ForeignBackup(
            f"backup {saved.stamp} ({saved.source}) belongs to another cluster, {saved.cluster}; this cluster is"
            f" {here}. Restore it on its own cluster, or pass --other-cluster (other_cluster=True) to restore it"
            " here deliberately"
        )
    return (
        f"backup {saved.stamp} belongs to another cluster, {saved.cluster}; allowed here by --other-cluster"
        " (other_cluster=True)"
    )


def restore_backup(
    conn: Connection,
    saved: Backup,
    *,
    approved: bool,
    timeout: float = 300,
    progress: Progress | None = None,
    results_dir: str | Path = "runs",
    allow_not_ready: bool = False,
    other_cluster: bool = False,
) -> RestoreReport:
    """Restore `saved` if `approved`; without approval only plan it. Nothing changes unless approved.

    Raises `ForeignBackup` for a backup of another config, or of another cluster unless `other_cluster`,
    `NodesNotReady` (changing nothing) when an agent that must restart is on a NotReady node (unless
    `allow_not_ready`), `lock.LockHeld` when another change runs.
    """
    _check(conn, saved, approved, timeout, progress, results_dir, allow_not_ready, other_cluster)
    here = identity.read(conn)
    unchecked = _same_cluster(saved, here, other_cluster)
    install = discover.find(conn)
    _same_config(saved, install)
    live = read_live(conn, install)
    report = RestoreReport(saved, diff=diff(saved, live), simulated=live.simulated, cluster_uid=here.uid)
    if unchecked:
        report.warnings.append(unchecked)
    if install.helm_managed and report.diff and report.diff.config_changes:
        report.warnings.append(
            "Helm manages cilium-config: the next `helm upgrade` puts the release's values back over this"
            " restore unless the Helm values say the same (helm get values -n "
            f"{install.namespace} {install.helm_release or 'cilium'})"
        )
    if report.diff is None or report.diff.empty:
        return _nothing_to_do(report)  # with or without approval: nothing would change
    if not approved:
        report.message = NOT_APPROVED
        return report
    say = recording(report.steps, progress)
    with lock.held(conn, install.namespace, purpose=f"restore {saved.stamp}"):
        say(f"lock {install.namespace}/{lock.NAME} taken")
        _run(conn, install, saved, report, say, timeout, Path(results_dir), allow_not_ready)
    say(f"lock {install.namespace}/{lock.NAME} released")
    return report


def _nothing_to_do(report: RestoreReport) -> RestoreReport:
    report.outcome = NOTHING_TO_DO
    report.message = f"the live config already is backup {report.backup.stamp}'s; nothing changed"
    expected = report.diff.expected if report.diff else {}
    report.nodes = {n: outcomes.NodeOutcome(n, RESTORED, "already the backup's") for n in sorted(expected)}
    return report


def _not_ready(
    conn: Connection, install: discover.CiliumInstall, nodes: tuple[str, ...], allowed: bool
) -> dict[str, str]:
    """Node -> why its agent is left alone: NotReady (refused unless allowed) or no agent to restart."""
    found = rollout.not_ready_nodes(conn, nodes)
    if found and not allowed:
        raise NodesNotReady(
            "not restored, nothing changed: node(s) NotReady: "
            + "; ".join(f"{n} ({why})" for n, why in found.items())
            + "; their agents cannot restart. Fix the node(s), or restore with allow_not_ready=True"
            " (--allow-not-ready) to restart the other agents and skip these"
        )
    skip = {
        n: f"node NotReady ({why}): agent not restarted; it reads the restored config when it next starts"
        for n, why in found.items()
    }
    for node in nodes:
        if node not in skip and node not in install.agents:
            skip[node] = "no Cilium agent runs on this node; one reads the restored config when it starts"
    return skip


def _restart_plan(nodes: tuple[str, ...], live: Live, skip: dict[str, str]) -> tuple[str, ...] | None:
    """None: restart every agent through the DaemonSet; otherwise the nodes to restart one by one."""
    if not skip and set(nodes) == set(live.node_labels):
        return None
    return tuple(n for n in nodes if n not in skip)


def _run(
    conn: Connection,
    install: discover.CiliumInstall,
    saved: Backup,
    report: RestoreReport,
    say: Progress,
    timeout: float,
    results_dir: Path,
    allow_not_ready: bool,
) -> None:
    live = read_live(conn, install)  # again, under the lock: what is written and restarted is decided on this
    report.diff = changes = diff(saved, live)
    if changes.empty:
        _nothing_to_do(report)
        return
    skip = _not_ready(conn, install, changes.restarts, allow_not_ready)
    undo = backups.save(conn, install.namespace, install.configmap, install.version, results_dir)
    report.undo = undo
    say(f"saved the config before the restore to {undo.path} and {undo.configmap_backup}")
    nodes = _restart_plan(changes.restarts, live, skip)
    restarted = changes.restarts if nodes is None else nodes
    try:
        put_back(conn, saved, live, changes, install.version, say)
    except ClusterError as err:
        _roll_back(
            conn, install, undo, report, say, timeout, (), f"writing the backup's config failed: {err}"
        )
        return
    failure = restarts.roll_out(conn, install, nodes, say, timeout) if restarted else None
    if failure is None:
        after = snapshot.take(conn, install=discover.find(conn))
        report.nodes = restore_verify.check(saved, changes, after, restarted, skip)
        failed = [o for o in report.nodes.values() if o.outcome == outcomes.FAILED]
        if not failed:
            report.outcome = RESTORED
            report.message = (
                f"{install.namespace}/{install.configmap} and the CiliumNodeConfigs are backup {saved.stamp}'s;"
                f" verified on {len(report.nodes)} nodes; agents restarted on {', '.join(restarted) or 'none'}"
            )
            say(f"verified: {report.message}")
            return
        failure = "verification failed on " + ", ".join(f"{o.node} ({o.reason})" for o in failed)
    _roll_back(conn, install, undo, report, say, timeout, restarted, failure)


def _roll_back(
    conn: Connection,
    install: discover.CiliumInstall,
    undo: Backup,
    report: RestoreReport,
    say: Progress,
    timeout: float,
    nodes: tuple[str, ...],
    failure: str,
) -> None:
    """Put the pre-restore state back (`undo`) and restart the agents the restore restarted (`nodes`).

    Node by node even after a DaemonSet rollout: that wait counts only each node's new pod, where the
    DaemonSet's would take a crash-looping pod the restore left, not yet replaced, for a new failure."""
    say(f"rolling back: {failure}")
    try:
        live = read_live(conn, install)
        put_back(conn, undo, live, diff(undo, live), install.version, say)
        again = restarts.roll_out(conn, install, nodes, say, timeout) if nodes else None
    except ClusterError as err:
        report.message = (
            f"{failure}; putting the config before the restore back failed too: {err}; restore it with"
            f" `cilium-lab restore {undo.stamp} --approve` (or --from-file {undo.path})"
        )
        reason = report.message
    else:
        suffix = "" if again is None else f" (but the agents' rollout after it: {again})"
        report.message = f"{failure}; the config before the restore is back (backup {undo.stamp}){suffix}"
        reason = f"restore failed: {failure}; the config before the restore is back{suffix}"
    report.outcome = FAILED
    names = sorted(report.diff.expected if report.diff else ())
    report.nodes = {n: outcomes.NodeOutcome(n, outcomes.FAILED, reason) for n in names}
