"""Apply a planned change, only when approved: lock, back up, patch, restart, wait, verify, roll back.

Called by the labs (through `ui.confirm` or with `approve=True`) and the CLI; calls `change.lock`,
`change.backup`, `change.verify`, `cluster.configmaps`, `cluster.nodeconfig`, `cluster.rollout` and
`cluster.snapshot`. The steps read top to bottom in `_run`. A failed rollout (timeout, crash loop)
or a failed verification restores the saved config exactly and restarts the agents again.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cilium_lab.change import backup, lock, outcomes, render, verify
from cilium_lab.change.plan import CANARY_LABEL, Plan
from cilium_lab.cluster import configmaps, discover, nodeconfig, rollout, snapshot
from cilium_lab.cluster.connect import Connection
from cilium_lab.errors import ClusterError, InputError

NOT_APPROVED = "not applied: run with approve=True or click Apply"
Progress = Callable[[str], None]


@dataclass
class ApplyReport:
    item: str
    outcome: str  # one of outcomes.OUTCOMES
    message: str
    nodes: dict[str, outcomes.NodeOutcome] = field(default_factory=dict)
    steps: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    backup_path: str = ""
    backup_configmap: str = ""
    simulated: bool = False

    def to_record(self) -> dict:
        return {
            "item": self.item, "outcome": self.outcome, "message": self.message, "simulated": self.simulated,
            "nodes": [o.to_record() for o in self.nodes.values()], "steps": list(self.steps),
            "warnings": list(self.warnings), "backup_path": self.backup_path, "backup_configmap": self.backup_configmap,
        }  # fmt: skip

    def to_text(self) -> str:
        return render.report_text(self)

    def to_html(self) -> str:
        return render.report_html(self)

    def _repr_html_(self) -> str:
        return self.to_html()

    def __str__(self) -> str:
        return self.to_text()


def _check(
    conn: object, plan: object, approved: object, timeout: object, progress: object, results_dir: object
) -> None:
    if not isinstance(conn, Connection):
        raise InputError(
            f"conn must be a Connection from cluster.connect.connect(), got {type(conn).__name__}"
        )
    if not isinstance(plan, Plan):
        raise InputError(f"plan must be a Plan from change.plan.plan(), got {type(plan).__name__}")
    if not isinstance(approved, bool):
        raise InputError(f"approved must be True or False, got {approved!r}")
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


def _everyone(plan: Plan, outcome: str, reason: str) -> dict[str, outcomes.NodeOutcome]:
    return {n: outcomes.NodeOutcome(n, outcome if e.outcome != outcomes.SKIPPED else e.outcome, reason if e.outcome != outcomes.SKIPPED else e.reason) for n, e in plan.expected.items()}  # fmt: skip


def apply(
    conn: Connection,
    plan: Plan,
    *,
    approved: bool,
    timeout: float = 300,
    progress: Progress | None = None,
    results_dir: str | Path = "runs",
) -> ApplyReport:
    """Apply `plan` if `approved`; returns what happened per node. Nothing changes unless approved."""
    _check(conn, plan, approved, timeout, progress, results_dir)
    report = ApplyReport(plan.item, outcomes.SKIPPED, NOT_APPROVED, simulated=plan.simulated)
    if not approved:
        report.nodes = _everyone(plan, outcomes.SKIPPED, NOT_APPROVED)
        return report
    if plan.nothing_to_do:
        report.message = "nothing to do: cilium-config already has these values"
        report.nodes = {
            n: outcomes.NodeOutcome(n, outcomes.SKIPPED, "nothing to change") for n in plan.expected
        }
        return report
    if plan.helm_managed:
        report.warnings.append(
            f"Helm manages cilium-config: the next `helm upgrade` undoes this patch unless the values change too: {plan.helm_command}"
        )
    say = _say(report, progress)
    with lock.held(conn, plan.namespace, purpose=f"apply {plan.item}"):
        say(f"lock {plan.namespace}/{lock.NAME} taken")
        _run(conn, plan, report, say, timeout, Path(results_dir))
    say(f"lock {plan.namespace}/{lock.NAME} released")
    return report


def _say(report: ApplyReport, progress: Progress | None) -> Progress:
    def say(line: str) -> None:
        report.steps.append(line)
        if progress:
            progress(line)

    return say


def _run(
    conn: Connection, plan: Plan, report: ApplyReport, say: Progress, timeout: float, results_dir: Path
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
    failure = _roll_out(conn, install, say, timeout)
    if failure is None:
        after = snapshot.take(conn, install=discover.find(conn))
        report.nodes = verify.check(plan, after)
        failed = [o for o in report.nodes.values() if o.outcome == outcomes.FAILED]
        if not failed:
            report.outcome = outcomes.overall(report.nodes.values())
            report.message = f"verified on {len(report.nodes)} nodes"
            return
        failure = "verification failed on " + ", ".join(f"{o.node} ({o.reason})" for o in failed)
    _roll_back(conn, plan, saved, created, install, report, say, timeout, failure)


def _change(conn: Connection, plan: Plan, say: Progress) -> tuple[str, ...]:
    """Make the change; returns the names of CiliumNodeConfigs it created (to delete on rollback)."""
    if plan.node_config is None:
        configmaps.patch(conn, plan.namespace, plan.configmap, plan.changes)
        say(
            f"patched {plan.namespace}/{plan.configmap}: {', '.join(f'{k}={v}' for k, v in sorted(plan.changes.items()))}"
        )
        return ()
    nodeconfig.label_nodes(conn, plan.canary, CANARY_LABEL, plan.item)
    name = plan.node_config["metadata"]["name"]
    try:
        nodeconfig.create(conn, plan.node_config)
    except ClusterError:
        nodeconfig.label_nodes(conn, plan.canary, CANARY_LABEL, None)
        raise
    say(f"created CiliumNodeConfig {name} for {', '.join(plan.canary)}")
    return (name,)


def _roll_out(conn: Connection, install: discover.CiliumInstall, say: Progress, timeout: float) -> str | None:
    """Restart the agents and wait; the failure in words, or None when the rollout finished."""
    rollout.restart(conn, install.namespace, install.daemonset)
    say(f"restarted {install.namespace}/{install.daemonset}")
    result = rollout.wait(conn, install, timeout=timeout, progress=say)
    say(result.message)
    return None if result.state == rollout.DONE else result.message


def _roll_back(
    conn: Connection, plan: Plan, saved: backup.Backup, created: tuple[str, ...], install: discover.CiliumInstall,
    report: ApplyReport, say: Progress, timeout: float, failure: str,
) -> None:  # fmt: skip
    say(f"rolling back: {failure}")
    try:
        backup.restore(conn, saved, created_node_configs=created, cilium_version=plan.cilium_version)
        if plan.canary:
            nodeconfig.label_nodes(conn, plan.canary, CANARY_LABEL, None)
        say(f"restored {plan.namespace}/{plan.configmap} from {saved.configmap_backup}")
        again = _roll_out(conn, install, say, timeout)
    except ClusterError as err:
        report.outcome, report.message = (
            outcomes.FAILED,
            f"{failure}; rollback failed: {err}; restore from {saved.path}",
        )
        report.nodes = _everyone(plan, outcomes.FAILED, report.message)
        return
    suffix = "" if again is None else f" (config restored, but the agents' rollout after it: {again})"
    report.outcome, report.message = outcomes.ROLLED_BACK, f"{failure}; previous config restored{suffix}"
    report.nodes = _everyone(plan, outcomes.ROLLED_BACK, failure)
