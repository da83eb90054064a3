"""Apply a planned change, only when approved: lock, back up, patch, restart, wait, verify, roll back.

The steps read top to bottom in `_run`. A failed rollout (timeout, crash loop) or a failed
verification restores the saved config exactly (`backups.backup`) and restarts the same agents again
(`change.restarts`). A change through a CiliumNodeConfig (a canary, or a change narrowed to the nodes
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

from cilium_lab.change import lock, outcomes, restarts
from cilium_lab.change.backups import backup
from cilium_lab.change.config import verification
from cilium_lab.change.config.plans import Plan
from cilium_lab.change.recording import Progress, recording
from cilium_lab.change.reports import NOT_APPROVED, ApplyReport
from cilium_lab.change.restarts import NodesNotReady
from cilium_lab.cluster import configmaps, discover, nodeconfig, rollout, snapshot
from cilium_lab.cluster.connect import Connection
from cilium_lab.errors import ClusterError, InputError

# what a caller of apply meets (the report, the NotReady refusal) is named here too, though defined in change/
__all__ = ["NOT_APPROVED", "ApplyReport", "NodesNotReady", "apply", "nodes_to_restart"]


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
    if plan.nothing_to_do:
        report.nodes = _everyone(plan, outcomes.SKIPPED, "nothing to change")
        report.outcome = outcomes.overall(report.nodes.values())
        report.message = f"nothing to do: {plan.scope_note or 'cilium-config already has these values'}"
        return report
    if plan.helm_managed:
        report.warnings.append(_helm_warning(plan))
    not_ready = _not_ready(conn, plan, allow_not_ready)
    say = recording(report.steps, progress)
    with lock.held(conn, plan.namespace, purpose=f"apply {plan.item}"):
        say(f"lock {plan.namespace}/{lock.NAME} taken")
        _run(conn, plan, report, say, timeout, Path(results_dir), not_ready)
    say(f"lock {plan.namespace}/{lock.NAME} released")
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


def _run(
    conn: Connection,
    plan: Plan,
    report: ApplyReport,
    say: Progress,
    timeout: float,
    results_dir: Path,
    not_ready: dict[str, str],
) -> None:
    install = discover.find(conn)
    live = configmaps.read(conn, plan.namespace, plan.configmap)
    if live.resource_version != plan.config_resource_version:
        raise ClusterError(
            f"{plan.namespace}/{plan.configmap} changed since the plan was made; take a new snapshot and plan again"
        )
    saved = backup.save(conn, plan.namespace, plan.configmap, plan.cilium_version, results_dir)
    report.backup_path, report.backup_configmap = saved.path, saved.configmap_backup
    say(
        f"saved {plan.configmap} (resourceVersion {saved.resource_version}) to {saved.path} and {saved.configmap_backup}"
    )
    try:
        created = _change(conn, plan, say)
    except ClusterError:
        backup.discard_cluster_copy(conn, saved)
        raise
    nodes = nodes_to_restart(plan, not_ready)
    failure = restarts.roll_out(conn, install, nodes, say, timeout)
    if failure is None:
        after = snapshot.take(conn, install=discover.find(conn))
        report.nodes = verification.check(plan, after, skip=_skipped_not_ready(not_ready))
        failed = [o for o in report.nodes.values() if o.outcome == outcomes.FAILED]
        if not failed:
            report.after = after
            report.outcome = outcomes.overall(report.nodes.values())
            report.message = f"verified on {len(report.nodes)} nodes"
            say(f"verified: {report.message}")
            return
        failure = "verification failed on " + ", ".join(f"{o.node} ({o.reason})" for o in failed)
    _roll_back(conn, plan, saved, created, install, nodes, report, say, timeout, failure)


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


def _change(conn: Connection, plan: Plan, say: Progress) -> tuple[str, ...]:
    """Make the change; returns the names of CiliumNodeConfigs it created (to delete on rollback)."""
    if plan.node_config is None:
        configmaps.patch(conn, plan.namespace, plan.configmap, plan.changes)
        say(
            f"patched {plan.namespace}/{plan.configmap}: {', '.join(f'{k}={v}' for k, v in sorted(plan.changes.items()))}"
        )
        return ()
    nodeconfig.label_nodes(conn, plan.selected, plan.node_label, "true")
    name = plan.node_config["metadata"]["name"]
    try:
        nodeconfig.create(conn, plan.node_config)
    except ClusterError:
        nodeconfig.label_nodes(conn, plan.selected, plan.node_label, None)
        raise
    say(f"created CiliumNodeConfig {name} for {', '.join(plan.selected)}; {plan.configmap} unchanged")
    return (name,)


def _roll_back(
    conn: Connection,
    plan: Plan,
    saved: backup.Backup,
    created: tuple[str, ...],
    install: discover.CiliumInstall,
    nodes: tuple[str, ...] | None,
    report: ApplyReport,
    say: Progress,
    timeout: float,
    failure: str,
) -> None:
    say(f"rolling back: {failure}")
    try:
        backup.restore(conn, saved, created_node_configs=created, cilium_version=plan.cilium_version)
        if plan.node_config is not None:
            nodeconfig.label_nodes(conn, plan.selected, plan.node_label, None)
            say(
                f"deleted CiliumNodeConfig {', '.join(created)} and label {plan.node_label} from {', '.join(plan.selected)}"
            )
        say(f"restored {plan.namespace}/{plan.configmap} from {saved.configmap_backup}")
        again = restarts.roll_out(conn, install, nodes, say, timeout)
    except ClusterError as err:
        report.outcome, report.message = (
            outcomes.FAILED,
            f"{failure}; rollback failed: {err}; restore from {saved.path}",
        )
        report.nodes = _everyone(plan, outcomes.FAILED, report.message)
        return
    suffix = "" if again is None else f" (config restored, but the agents' rollout after it: {again})"
    report.outcome, report.message = outcomes.ROLLED_BACK, f"{failure}; previous config restored{suffix}"
    report.nodes = _everyone(plan, outcomes.ROLLED_BACK, failure, device=True)
