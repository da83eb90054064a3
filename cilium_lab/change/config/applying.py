"""Apply a planned change, only when approved: lock, back up, patch, restart, wait, verify, roll back.

The steps read top to bottom in `_ConfigChange.forward`; `change.transaction` runs them (lock,
journal, cancellation) and, on any failure or interrupt after the first write, the undo
(`backups.rollback.undo_to`: the saved config exactly, the same agents restarted, verified). The
patch carries the resourceVersion the backup read: someone else's edit since is a 409, reported as
`ConcurrentEdit` with nothing of ours written. A change through a CiliumNodeConfig (a canary, or a change narrowed to the nodes
that can take it) labels those nodes, creates the CiliumNodeConfig and restarts only their agents; its
rollback deletes both. Nodes the plan refused are never touched and stay refused in the report,
whatever happens to the others.

A NotReady node in the change's scope is refused up front (`NodesNotReady`, naming each node; nothing
changes): its agent cannot restart, so the rollout would hang until the timeout and the rollback would
hang too. `allow_not_ready=True` proceeds: the other nodes' agents restart one by one and the NotReady
nodes are reported as skipped (their agent takes the new config when it next restarts).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

from cilium_lab.change import outcomes, restarts, transaction
from cilium_lab.change.backups import backup, rollback
from cilium_lab.change.config import verification
from cilium_lab.change.config.plans import Plan
from cilium_lab.change.recording import Progress, recording
from cilium_lab.change.reports import NOT_APPROVED, ApplyReport
from cilium_lab.change.restarts import NodesNotReady
from cilium_lab.cluster import apierrors, configmaps, discover, nodeconfig, objects, rollout, snapshot
from cilium_lab.cluster.connect import Connection
from cilium_lab.errors import ClusterError, InputError

# what a caller of apply meets (the report, the NotReady refusal) is named here too, though defined in change/
__all__ = ["NOT_APPROVED", "ApplyReport", "ConcurrentEdit", "NodesNotReady", "apply", "nodes_to_restart"]


def _check(
    conn: object,
    plan: object,
    approved: object,
    timeout: object,
    progress: object,
    results_dir: object,
    allow_not_ready: object = False,
) -> None:
    if not isinstance(conn, Connection):
        raise InputError(
            f"conn must be a Connection from cluster.connect.connect(), got {type(conn).__name__}"
        )
    if not isinstance(plan, Plan):
        raise InputError(f"plan must be a Plan from change.config.planning.plan(), got {type(plan).__name__}")
    if not isinstance(approved, bool):
        raise InputError(f"approved must be True or False, got {approved!r}")
    if not isinstance(allow_not_ready, bool):
        raise InputError(f"allow_not_ready must be True or False, got {allow_not_ready!r}")
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not math.isfinite(timeout)
        or timeout <= 0
    ):
        raise InputError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if progress is not None and not callable(progress):
        raise InputError("progress must be a function taking one string, or None")
    if not isinstance(results_dir, str | Path) or not str(results_dir):
        raise InputError(f"results_dir must be a folder path, got {results_dir!r}")


def _everyone(
    plan: Plan, outcome: outcomes.Outcome, reason: str, *, device: bool = False
) -> dict[str, outcomes.NodeOutcome]:
    """Every node the change reached gets `outcome`; skipped and refused nodes keep what the plan said.

    `device` adds each node's device and driver to the reason (what a crash after a change points at)."""
    kept = (outcomes.SKIPPED, outcomes.REFUSED)
    return {
        n: e
        if e.outcome in kept
        else outcomes.NodeOutcome(n, outcome, _on(plan, n, reason) if device else reason)
        for n, e in plan.expected.items()
    }


def _on(plan: Plan, node: str, reason: str) -> str:
    return f"{reason}; this node's device: {plan.devices[node]}" if node in plan.devices else reason


def apply(
    conn: Connection,
    plan: Plan,
    *,
    approved: bool,
    timeout: float = 300,
    progress: Progress | None = None,
    results_dir: str | Path = "runs",
    allow_not_ready: bool = False,
) -> ApplyReport:
    """Apply `plan` if `approved`; returns what happened per node. Nothing changes unless approved.

    Raises `NodesNotReady` (changing nothing) when a node in scope is NotReady, unless `allow_not_ready`.
    """
    _check(conn, plan, approved, timeout, progress, results_dir, allow_not_ready)
    report = ApplyReport(plan.item, outcomes.SKIPPED, NOT_APPROVED, simulated=plan.simulated)
    if not approved:
        report.nodes = _everyone(plan, outcomes.SKIPPED, NOT_APPROVED)
        return report
    # a dead run's half-done change looks like "nothing to do" to a new plan: refused until recovered
    transaction.refuse_unfinished(conn, plan.namespace)
    if plan.nothing_to_do:
        report.nodes = _everyone(plan, outcomes.SKIPPED, "nothing to change")
        report.outcome = outcomes.overall(report.nodes.values())
        report.message = f"nothing to do: {plan.scope_note or 'cilium-config already has these values'}"
        return report
    if plan.helm_managed:
        report.warnings.append(_helm_warning(plan))
    not_ready = _not_ready(conn, plan, allow_not_ready)
    say = recording(report.steps, progress)
    change = _ConfigChange(conn, plan, report, say, timeout, Path(results_dir), not_ready)
    result = transaction.run(
        conn, plan.namespace, kind="apply", purpose=f"apply {plan.item}", results_dir=results_dir, say=say,
        save=change.save, forward=change.forward, undo=change.undo, discard=change.discard,
    )  # fmt: skip
    change.finish(result)
    return report


def _helm_warning(plan: Plan) -> str:
    if plan.scoped and not plan.canary:  # Helm values are cluster-wide: they cannot say "these nodes only"
        return (
            f"Helm manages cilium-config, which this change leaves alone: it lives in CiliumNodeConfig"
            f" {plan.node_config['metadata']['name']}, outside Helm (a `helm upgrade` neither undoes nor"
            f" keeps it in the values); do not put it in the Helm values: {', '.join(plan.refused)} cannot take it"
        )
    if plan.canary:  # a CiliumNodeConfig is not part of the Helm release: upgrades leave it alone
        return (
            f"Helm manages cilium-config: this canary lives in CiliumNodeConfig {plan.node_config['metadata']['name']}"
            f" (not Helm's); to roll it out to every node, change the Helm values: {plan.helm_command}"
        )
    return f"Helm manages cilium-config: the next `helm upgrade` undoes this patch unless the values change too: {plan.helm_command}"


def _not_ready(conn: Connection, plan: Plan, allowed: bool) -> dict[str, str]:
    """Node -> why it is NotReady, for the nodes in scope; refused unless allowed."""
    found = rollout.not_ready_nodes(conn, plan.nodes_in_scope)
    if found and not allowed:
        nodes = "; ".join(f"{n} ({why})" for n, why in found.items())
        raise NodesNotReady(
            f"not applied, nothing changed: node(s) NotReady: {nodes}; their agents cannot restart, so the"
            " rollout would not finish. Fix the node(s), or apply with allow_not_ready=True to restart the"
            " other nodes' agents one by one and skip these"
        )
    return found


class ConcurrentEdit(ClusterError):
    """Someone else changed cilium-config between our read and our first write: nothing of ours was written."""


class _ConfigChange:
    """A Cilium config change's own steps, which `change.transaction` orders, journals and undoes."""

    def __init__(
        self,
        conn: Connection,
        plan: Plan,
        report: ApplyReport,
        say: Progress,
        timeout: float,
        results_dir: Path,
        not_ready: dict[str, str],
    ) -> None:
        self.conn, self.plan, self.report, self.say = conn, plan, report, say
        self.timeout, self.results_dir, self.not_ready = timeout, results_dir, not_ready
        self.install = discover.find(conn)
        self.nodes = nodes_to_restart(plan, not_ready)
        self.saved: backup.Backup | None = None
        self.ours = rollback.Ours("")

    def save(self) -> dict[str, str]:
        plan = self.plan
        live = configmaps.read(self.conn, plan.namespace, plan.configmap)
        if live.resource_version != plan.config_resource_version:
            raise ConcurrentEdit(
                f"not applied, nothing changed: {plan.namespace}/{plan.configmap} changed since the plan was made"
                f" (resourceVersion {plan.config_resource_version} -> {live.resource_version}); take a new"
                " snapshot and plan again"
            )
        saved = self.saved = backup.save(
            self.conn, plan.namespace, plan.configmap, plan.cilium_version, self.results_dir
        )
        self.ours = rollback.Ours(saved.resource_version)
        self.report.backup_path, self.report.backup_configmap = saved.path, saved.configmap_backup
        self.say(
            f"saved {plan.configmap} (resourceVersion {saved.resource_version}) to {saved.path} and {saved.configmap_backup}"
        )
        return {"stamp": saved.stamp, "path": saved.path, "configmap": saved.configmap_backup}

    def discard(self) -> None:
        if self.saved is not None and (stays := backup.discard_cluster_copy(self.conn, self.saved)):
            self.report.warnings.append(stays)

    def forward(self, tx: transaction.Transaction) -> None:
        plan, report = self.plan, self.report
        if plan.node_config is None:
            shown = ", ".join(f"{k}={v}" for k, v in sorted(plan.changes.items()))
            tx.step(f"patch {plan.namespace}/{plan.configmap}: {shown}", lambda: self._patch(tx), writes=True)
        else:
            name = plan.node_config["metadata"]["name"]
            tx.step(
                f"label {', '.join(plan.selected)} with {plan.node_label}",
                lambda: nodeconfig.label_nodes(self.conn, plan.selected, plan.node_label, "true"),
                writes=True,
            )
            self.ours.node_configs[name] = ""  # from here on the create's answer may be lost
            created = tx.step(
                f"create CiliumNodeConfig {name}",
                lambda: nodeconfig.create(self.conn, plan.node_config),
                writes=True,
            )
            # the version our create left: the undo, and whoever puts this change's backup back, delete it
            # only as we left it (someone else's edit since is kept)
            self.ours.node_configs[name] = report.node_configs[name] = objects.resource_version(created)
            self.say(
                f"created CiliumNodeConfig {name} for {', '.join(plan.selected)}; {plan.configmap} unchanged"
            )
        failure = tx.step(
            "roll out", lambda: restarts.roll_out(self.conn, self.install, self.nodes, self.say, self.timeout)
        )
        if failure is not None:
            raise transaction.StepFailed(failure)
        after = tx.step("verify", lambda: snapshot.take(self.conn, install=discover.find(self.conn)))
        report.nodes = verification.check(plan, after, skip=_skipped_not_ready(self.not_ready))
        failed = [o for o in report.nodes.values() if o.outcome == outcomes.FAILED]
        if failed:
            raise transaction.StepFailed(
                "verification failed on " + ", ".join(f"{o.node} ({o.reason})" for o in failed)
            )
        report.after = after
        report.outcome = outcomes.overall(report.nodes.values())
        report.message = f"verified on {len(report.nodes)} nodes"
        self.say(f"verified: {report.message}")

    def _patch(self, tx: transaction.Transaction) -> None:
        plan, saved = self.plan, self.saved
        assert saved is not None  # save() ran first
        intended = {k: v for k, v in {**saved.data, **plan.changes}.items() if v is not None}
        self.ours.config_data = intended  # if the answer is lost, this is what our write left
        try:
            state = configmaps.patch(
                self.conn,
                plan.namespace,
                plan.configmap,
                plan.changes,
                resource_version=saved.resource_version,
            )
        except apierrors.Conflict:
            tx.written = False  # refused by the server: nothing of ours is in the cluster
            raise ConcurrentEdit(
                f"not applied, nothing changed: someone else changed {plan.namespace}/{plan.configmap} since it"
                f" was read (resourceVersion {saved.resource_version}); their edit is left in place. Take a new"
                " snapshot, plan again and apply"
            ) from None
        self.ours.config_version = state.resource_version
        self.say(
            f"patched {plan.namespace}/{plan.configmap} (resourceVersion {saved.resource_version} ->"
            f" {state.resource_version}): {', '.join(f'{k}={v}' for k, v in sorted(plan.changes.items()))}"
        )

    def undo(self, tx: transaction.Transaction, failure: str) -> dict[str, outcomes.NodeOutcome]:
        assert self.saved is not None
        restart = "roll out" in tx.begun  # agents that never restarted still run the backup's config
        return rollback.undo_to(
            self.conn, self.install, self.saved, self.ours, nodes=self.nodes, restart=restart,
            skip=_skipped_not_ready(self.not_ready), say=self.say, timeout=self.timeout,
        )  # fmt: skip

    def finish(self, result: transaction.Result) -> None:
        """The report says what the transaction did: rolled back only where the undo verified it."""
        plan, report = self.plan, self.report
        report.exit_code, report.journal_path = result.exit_code, result.journal_path
        report.interrupted = result.interrupted
        report.warnings += result.warnings
        if result.state == transaction.DONE:
            return
        if result.state == transaction.NOT_WRITTEN:
            report.nodes = _everyone(plan, outcomes.SKIPPED, f"{result.failure} before anything changed")
            report.outcome, report.message = outcomes.SKIPPED, f"{result.failure}: nothing changed"
            return
        if result.state == transaction.ROLLED_BACK:
            undone = result.undone or {}
            report.after = None
            report.outcome = outcomes.ROLLED_BACK
            report.message = (
                f"{result.failure}; previous config restored and verified (backup {self.saved.stamp})"  # type: ignore[union-attr]
            )
            report.nodes = {
                n: o if o.outcome in (outcomes.SKIPPED, outcomes.REFUSED) or n not in undone
                or undone[n].outcome == outcomes.SKIPPED
                else outcomes.NodeOutcome(n, outcomes.ROLLED_BACK, _on(plan, n, result.failure))
                for n, o in _everyone(plan, outcomes.ROLLED_BACK, result.failure).items()
            }  # fmt: skip
            return
        report.after = None
        report.outcome = outcomes.ROLLBACK_FAILED
        todo = (
            "nothing was undone, so as not to overwrite that edit"
            if result.state == transaction.ROLLBACK_REFUSED
            else "run `cilium-lab recover --approve` to put the backup back, roll out and verify"
        )
        report.message = f"{result.failure}; {result.undo_error}; {todo}"
        report.nodes = _everyone(plan, outcomes.ROLLBACK_FAILED, report.message)


def nodes_to_restart(plan: Plan, not_ready: Mapping[str, str]) -> tuple[str, ...] | None:
    """None: restart the whole DaemonSet; otherwise the nodes whose agents restart, one by one."""
    if not plan.selected and not not_ready:
        return None
    return tuple(n for n in plan.nodes_in_scope if n not in not_ready)


def _skipped_not_ready(not_ready: dict[str, str]) -> dict[str, str]:
    return {
        n: f"node NotReady ({why}): agent not restarted; it takes the new config when it next restarts"
        for n, why in not_ready.items()
    }
