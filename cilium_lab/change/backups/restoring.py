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
from collections.abc import Mapping
from pathlib import Path

from cilium_lab.change import outcomes, restarts, transaction
from cilium_lab.change.backups import backup as backups
from cilium_lab.change.backups import restore_verify, rollback
from cilium_lab.change.backups.backup_diff import Live, diff, read_live
from cilium_lab.change.backups.backup_format import Backup, check_stamp
from cilium_lab.change.backups.restore_report import FAILED, NOTHING_TO_DO, PLANNED, RESTORED, RestoreReport
from cilium_lab.change.backups.restore_write import EditedBeforeOurWrite, put_back
from cilium_lab.change.recording import Progress, recording
from cilium_lab.change.restarts import NodesNotReady
from cilium_lab.cluster import discover, identity, objects, rollout, snapshot
from cilium_lab.cluster.connect import Connection
from cilium_lab.errors import InputError

__all__ = [
    "FAILED",
    "NOTHING_TO_DO",
    "PLANNED",
    "RESTORED",
    "EditedBeforeOurWrite",
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


def _check_written(written: object) -> dict[str, str]:
    if written is None:
        return {}
    if not isinstance(written, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in written.items()
    ):
        raise InputError(
            "node_configs_written must map CiliumNodeConfig names to resourceVersions (ApplyReport.node_configs)"
        )
    return dict(written)


def _as_written(live: Live, written: Mapping[str, str], saved: Backup) -> None:
    """Refuse (`EditedBeforeOurWrite`, nothing written) when a node config the caller wrote is not as it left it."""
    now = {objects.name_of(c): objects.resource_version(c) for c in live.node_configs}
    for name, version in sorted(written.items()):
        if now.get(name) != version:
            found = f"resourceVersion {version} -> {now[name]}" if name in now else "deleted since"
            raise EditedBeforeOurWrite(
                f"not restored, nothing changed: someone else changed CiliumNodeConfig {name} since this run"
                f" wrote it ({found}); their edit is left in place. Compare it with backup {saved.stamp}"
                f" ({saved.path}), and `cilium-lab restore {saved.stamp} --approve` if theirs should go",
                f"CiliumNodeConfig {name}",
            )


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
    node_configs_written: Mapping[str, str] | None = None,
) -> RestoreReport:
    """Restore `saved` if `approved`; without approval only plan it. Nothing changes unless approved.

    `node_configs_written` names CiliumNodeConfigs the caller's change wrote since `saved` was taken,
    with the resourceVersion its write left (`ApplyReport.node_configs`): one that changed since is
    someone else's edit, and the restore is refused before any write (`EditedBeforeOurWrite`), keeping it.

    Raises `ForeignBackup` for a backup of another config, or of another cluster unless `other_cluster`,
    `NodesNotReady` (changing nothing) when an agent that must restart is on a NotReady node (unless
    `allow_not_ready`), `lock.LockHeld` when another change runs, `EditedBeforeOurWrite` (changing
    nothing) when someone else changed an object it would write since it was read.
    """
    _check(conn, saved, approved, timeout, progress, results_dir, allow_not_ready, other_cluster)
    written = _check_written(node_configs_written)
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
    if approved:  # a dead run's half-done change is finished by `cilium-lab recover` first
        transaction.refuse_unfinished(conn, install.namespace)
    if report.diff is None or report.diff.empty:
        return _nothing_to_do(report)  # with or without approval: nothing would change
    if not approved:
        report.message = NOT_APPROVED
        return report
    say = recording(report.steps, progress)
    change = _Restore(conn, install, saved, report, say, timeout, Path(results_dir), allow_not_ready, written)
    result = transaction.run(
        conn, install.namespace, kind="restore", purpose=f"restore {saved.stamp}", results_dir=results_dir,
        say=say, save=change.save, forward=change.forward, undo=change.undo, discard=change.discard,
    )  # fmt: skip
    change.finish(result)
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


class _Restore:
    """A restore's own steps, which `change.transaction` orders, journals and undoes (to `undo`, the
    backup of the state just before the restore)."""

    def __init__(
        self,
        conn: Connection,
        install: discover.CiliumInstall,
        saved: Backup,
        report: RestoreReport,
        say: Progress,
        timeout: float,
        results_dir: Path,
        allow_not_ready: bool,
        written: Mapping[str, str],
    ) -> None:
        self.conn, self.install, self.saved, self.report, self.say = conn, install, saved, report, say
        self.timeout, self.results_dir, self.allow_not_ready = timeout, results_dir, allow_not_ready
        self.written = written
        self.undo_backup: Backup | None = None
        self.skip: dict[str, str] = {}
        self.nodes: tuple[str, ...] | None = None
        self.restarted: tuple[str, ...] = ()
        self.ours = rollback.Ours("")

    def save(self) -> dict[str, str]:
        conn, install, saved = self.conn, self.install, self.saved
        live = read_live(
            conn, install
        )  # again, under the lock: what is written and restarted is decided on this
        self.live = live
        _as_written(live, self.written, saved)
        self.report.diff = changes = diff(saved, live)
        if changes.empty:
            return {"stamp": "", "path": "", "configmap": "", "note": "nothing to restore"}
        self.skip = _not_ready(conn, install, changes.restarts, self.allow_not_ready)
        undo = self.undo_backup = backups.save(
            conn, install.namespace, install.configmap, install.version, self.results_dir
        )
        self.report.undo = undo
        self.say(f"saved the config before the restore to {undo.path} and {undo.configmap_backup}")
        self.nodes = _restart_plan(changes.restarts, live, self.skip)
        self.restarted = changes.restarts if self.nodes is None else self.nodes
        self.ours = rollback.Ours(live.resource_version, dict(saved.data))  # put_back notes its node configs
        return {"stamp": undo.stamp, "path": undo.path, "configmap": undo.configmap_backup}

    def discard(self) -> None:
        if self.undo_backup is not None and (
            stays := backups.discard_cluster_copy(self.conn, self.undo_backup)
        ):
            self.report.warnings.append(stays)

    def forward(self, tx: transaction.Transaction) -> None:
        conn, install, saved, report = self.conn, self.install, self.saved, self.report
        changes = report.diff
        assert changes is not None  # save() computed it
        if changes.empty:
            _nothing_to_do(report)
            return
        try:
            version = tx.step(
                f"write backup {saved.stamp}'s config",
                lambda: put_back(
                    conn, saved, self.live, changes, install.version, self.say, self.ours.node_configs
                ),
                writes=True,
            )
        except EditedBeforeOurWrite as err:
            raise EditedBeforeOurWrite(f"not restored, nothing changed: {err}", err.what) from None
        self.ours.config_version = version
        if self.restarted:
            failure = tx.step(
                "roll out", lambda: restarts.roll_out(conn, install, self.nodes, self.say, self.timeout)
            )
            if failure is not None:
                raise transaction.StepFailed(failure)
        after = tx.step("verify", lambda: snapshot.take(conn, install=discover.find(conn)))
        report.nodes = restore_verify.check(saved, changes, after, self.restarted, self.skip)
        failed = [o for o in report.nodes.values() if o.outcome == outcomes.FAILED]
        if failed:
            raise transaction.StepFailed(
                "verification failed on " + ", ".join(f"{o.node} ({o.reason})" for o in failed)
            )
        report.outcome = RESTORED
        report.message = (
            f"{install.namespace}/{install.configmap} and the CiliumNodeConfigs are backup {saved.stamp}'s;"
            f" verified on {len(report.nodes)} nodes; agents restarted on {', '.join(self.restarted) or 'none'}"
        )
        self.say(f"verified: {report.message}")

    def undo(self, tx: transaction.Transaction, failure: str) -> dict[str, outcomes.NodeOutcome]:
        """Put the pre-restore state back and restart the agents the restore restarted, node by node even
        after a DaemonSet rollout: that wait counts only each node's new pod, where the DaemonSet's would
        take a crash-looping pod the restore left, not yet replaced, for a new failure."""
        assert self.undo_backup is not None
        return rollback.undo_to(
            self.conn, self.install, self.undo_backup, self.ours, nodes=tuple(self.restarted),
            restart="roll out" in tx.begun, skip=self.skip, say=self.say, timeout=self.timeout,
        )  # fmt: skip

    def finish(self, result: transaction.Result) -> None:
        report = self.report
        report.exit_code, report.journal_path = result.exit_code, result.journal_path
        report.warnings += result.warnings
        if result.state == transaction.DONE:
            return
        report.outcome = FAILED
        names = sorted(report.diff.expected if report.diff else ())
        undo = self.undo_backup
        if result.state == transaction.NOT_WRITTEN:
            report.message = f"{result.failure} before anything was written: nothing changed"
            report.nodes = {n: outcomes.NodeOutcome(n, outcomes.SKIPPED, report.message) for n in names}
            return
        if result.state == transaction.ROLLED_BACK:
            undone = result.undone or {}
            report.message = (
                f"{result.failure}; the config before the restore is back (backup {undo.stamp}), verified"  # type: ignore[union-attr]
            )
            reason = f"restore failed: {result.failure}; the config before the restore is back, verified"
            report.nodes = {
                n: undone[n] if n in undone and undone[n].outcome == outcomes.SKIPPED
                else outcomes.NodeOutcome(n, outcomes.ROLLED_BACK, reason)
                for n in names
            }  # fmt: skip
            return
        todo = (
            "nothing was undone, so as not to overwrite that edit"
            if result.state == transaction.ROLLBACK_REFUSED
            else f"run `cilium-lab recover --approve`, or `cilium-lab restore {undo.stamp} --approve`"  # type: ignore[union-attr]
            f" (--from-file {undo.path})"  # type: ignore[union-attr]
        )
        report.message = f"{result.failure}; putting the config before the restore back failed too: {result.undo_error}; {todo}"
        report.nodes = {n: outcomes.NodeOutcome(n, outcomes.ROLLBACK_FAILED, report.message) for n in names}
