"""Put lab 15's saved host settings back (`cilium-lab restore-host FILE`, or from a notebook).

A node is reached the way lab 15's apply reaches it (`host.tuning`: `prepare`, `node_shell`, the same
approved privileged pods and cilium-lab-host role) and read and set with `host.host_node` (`read`,
`restore_commands`, `differences`); `cluster.snapshot` gives the nodes and how each names its NIC's
IRQs. FILE is what `host.tuning.apply_host` saved before it changed the nodes
(`<results_dir>/host-backups/<run_id>.json`: node -> `HostState`).

`plan_restore` reads each node (a host pod per node, read-only on the host) and says what a restore would
run there, or that the node is already as saved. `restore_host(..., approved=True)` runs as one `change.transaction`
(lock, journal, cancellation), and per node, in name order: reads it, saves that state to a new host backup (so the restore can itself be
undone with the same command), runs the commands, reads back and checks it equals the saved state. A node
whose restore fails is put back as it was before the restore; an interrupt or an unexpected error also
puts back the nodes already restored. The report says what each node runs now.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cilium_lab.change import outcomes, transaction
from cilium_lab.change.host import host_node, tuning, values
from cilium_lab.change.recording import Progress
from cilium_lab.cluster import privileged, snapshot
from cilium_lab.cluster.connect import Connection
from cilium_lab.errors import ClusterError, InputError

PLANNED = "planned"
RESTORED = "restored"
ALREADY = "already as saved"
ROLLED_BACK = outcomes.ROLLED_BACK
SKIPPED, FAILED = outcomes.SKIPPED, outcomes.FAILED

_FIELDS = {"cpus", "tuned", "governors", "irqbalance", "irqbalance_enabled", "irqs"}


@dataclass(frozen=True)
class SavedHosts:
    """A host backup file: the settings each node had before lab 15 (or a restore) changed it."""

    path: Path
    nodes: dict[str, host_node.HostState]


@dataclass(frozen=True)
class NodeRestore:
    """One node: its outcome, why, the commands (planned or run), and how it still differs from the file."""

    node: str
    outcome: str  # PLANNED, RESTORED, SKIPPED, ROLLED_BACK or FAILED
    reason: str
    commands: tuple[str, ...] = ()
    differs: tuple[str, ...] = ()  # as read last; empty when as saved (or unknown: see reason)

    def to_record(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "outcome": self.outcome,
            "reason": self.reason,
            "commands": list(self.commands),
            "differs_from_saved": list(self.differs),
        }


@dataclass
class HostRestoreReport:
    path: str
    approved: bool
    simulated: bool
    nodes: dict[str, NodeRestore] = field(default_factory=dict)
    backup_path: str = ""  # the nodes' settings just before this restore (a host backup like `path`)
    exit_code: int = 0  # the README's exit codes (0 done or planned, 5 rolled back, 6 unfinished, 130/143)
    journal_path: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        """PLANNED without approval; else FAILED if any node failed or was rolled back, RESTORED if any
        was restored, SKIPPED when every node was already as saved."""
        if not self.approved:
            return PLANNED
        found = {n.outcome for n in self.nodes.values()}
        if found & {FAILED, ROLLED_BACK, outcomes.ROLLBACK_FAILED}:
            return FAILED
        return RESTORED if RESTORED in found else SKIPPED

    def to_record(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "approved": self.approved,
            "outcome": self.outcome,
            "simulated": self.simulated,
            "backup_path": self.backup_path,
            "exit_code": self.exit_code,
            "journal_path": self.journal_path,
            "warnings": list(self.warnings),
            "nodes": [n.to_record() for n in self.nodes.values()],
        }

    def to_text(self) -> str:
        tag = "SIMULATED: " if self.simulated else ""
        if not self.approved:
            todo = sum(1 for n in self.nodes.values() if n.outcome == PLANNED)
            head = f"{tag}host settings of {self.path}: planned - nothing changed; {todo} of {len(self.nodes)} node(s) differ"
        else:
            labels = {RESTORED: "restored", SKIPPED: ALREADY, ROLLED_BACK: "rolled back", FAILED: "failed"}
            counts = {
                label: sum(1 for n in self.nodes.values() if n.outcome == o) for o, label in labels.items()
            }
            done = ", ".join(f"{c} node(s) {label}" for label, c in counts.items() if c) or "no nodes"
            verdict = f"{ALREADY}, nothing changed" if self.outcome == SKIPPED else self.outcome
            head = f"{tag}host settings of {self.path}: {verdict} - {done}"
        lines = [head]
        for n in self.nodes.values():
            if n.outcome == PLANNED:
                lines.append(f"  {n.node}: would run {len(n.commands)} command(s):")
                lines += [f"      {c}" for c in n.commands]
            else:
                lines.append(f"  {n.node}: {n.outcome}: {n.reason}")
                lines += [f"      not as saved: {d}" for d in n.differs]
        lines += [f"  warning: {w}" for w in self.warnings]
        if self.backup_path:
            lines.append(
                f"the settings before this restore are saved in {self.backup_path}"
                " (`cilium-lab restore-host` with that file undoes this restore)"
            )
        return "\n".join(lines)


def load(path: str | Path) -> SavedHosts:
    """Read and check a host backup file; InputError (one line) when it is missing or not a host backup."""
    file = Path(path)
    if not file.is_file():
        raise InputError(
            f"no host backup file {file} (lab 15 saves them as <results_dir>/host-backups/host-*.json)"
        )
    try:
        data = json.loads(file.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise InputError(f"{file} is not a host backup (not JSON: {err})") from None
    if not isinstance(data, dict) or not data:
        raise InputError(f"{file} is not a host backup (expected node names with their saved host settings)")
    return SavedHosts(file, {str(node): _state(file, node, record) for node, record in sorted(data.items())})


def _state(file: Path, node: str, record: object) -> host_node.HostState:
    def bad(why: str) -> InputError:
        return InputError(f"{file} is not a host backup: node {values.shown(node)}: {why}")

    if not isinstance(record, dict) or set(record) != _FIELDS:
        raise bad(f"expected the fields {', '.join(sorted(_FIELDS))}")
    # the saved values go into root shell commands on the nodes: accept only what `host_node.read` keeps
    cpus, tuned, governors, irqs = record["cpus"], record["tuned"], record["governors"], record["irqs"]
    if isinstance(cpus, bool) or not isinstance(cpus, int) or not 1 <= cpus <= 65536:
        raise bad(f"cpus must be a positive number, got {values.shown(cpus)}")
    if tuned not in (host_node.NOT_INSTALLED, "none") and not values.valid("tuned profile", tuned):
        raise bad(
            f"tuned must be a profile name, none or {host_node.NOT_INSTALLED!r}, got {values.shown(tuned)}"
        )
    if governors is not None and (
        not isinstance(governors, list)
        or len(governors) != cpus
        or not all(values.valid("CPU governor", g) for g in governors)
    ):
        raise bad(f"governors must be null or one governor name per CPU, got {values.shown(governors)}")
    for key in ("irqbalance", "irqbalance_enabled"):
        if not values.valid("systemd unit state", record[key]):
            raise bad(f"{key} must be a systemctl state, got {values.shown(record[key])}")
    if not isinstance(irqs, dict):
        raise bad(f"irqs must map IRQ numbers to CPU lists, got {values.shown(irqs)}")
    for irq, cpu_list in irqs.items():
        if not values.valid("IRQ number", irq):
            raise bad(f"IRQ {values.shown(irq)} is not an IRQ number")
        if not values.valid("CPU list", cpu_list):
            raise bad(f"IRQ {irq}: {values.shown(cpu_list)} is not a CPU list")
    return host_node.HostState(
        cpus,
        tuned,
        tuple(governors) if governors is not None else None,
        record["irqbalance"],
        record["irqbalance_enabled"],
        {int(k): v for k, v in irqs.items()},
    )


def _choose(saved: SavedHosts, snap: Any, nodes: Iterable[str] | None) -> list[str]:
    """The nodes to restore, name order; InputError for a --node not in the file or a node not in the cluster."""
    chosen = sorted(saved.nodes) if nodes is None else sorted(set(nodes))
    if not chosen:
        raise InputError("no nodes chosen")
    if unknown := [n for n in chosen if n not in saved.nodes]:
        raise InputError(
            f"{saved.path} has no saved host settings for {', '.join(unknown)}: it has {', '.join(saved.nodes)}"
        )
    if missing := [n for n in chosen if n not in snap.node_names]:
        raise InputError(
            f"node {', '.join(missing)} in {saved.path} is not in this cluster (it has {', '.join(snap.node_names)});"
            " restore the others with --node"
        )
    return chosen


def _pattern(snap: Any, node: str) -> str:
    facts = snap.node(node)
    return host_node.irq_pattern(facts.device or "eth0", facts.nic_driver)


@dataclass
class _Run:
    """What every node of one plan or restore shares: the cluster, the host pod settings, the warnings."""

    conn: Connection
    snap: Any
    namespace: str
    image: str
    timeout: float
    run_id: str
    warnings: list[str] = field(default_factory=list)
    undone: dict[str, NodeRestore] = field(default_factory=dict)  # nodes an interrupt put back on the spot

    def shell(self, stack: ExitStack, node: str) -> host_node.HostShell:
        return stack.enter_context(
            tuning.node_shell(
                self.conn,
                node,
                namespace=self.namespace,
                image=self.image,
                timeout=self.timeout,
                run_id=self.run_id,
                warnings=self.warnings,
            )
        )

    def plan_node(self, node: str, saved: host_node.HostState) -> NodeRestore:
        """Read-only: a host pod, one read, the pod removed."""
        with ExitStack() as stack:
            try:
                now = host_node.read(self.shell(stack, node), _pattern(self.snap, node))
            except ClusterError as err:
                return NodeRestore(node, FAILED, f"cannot read its host settings: {err}")
        commands, differs = host_node.restore_commands(saved, now), host_node.differences(saved, now)
        if not differs:
            return NodeRestore(node, SKIPPED, ALREADY)
        if not commands:
            return NodeRestore(
                node, FAILED, "differs from the file in what no command can set", (), tuple(differs)
            )
        return NodeRestore(node, PLANNED, "", tuple(commands), tuple(differs))

    def restore_node(
        self, node: str, saved: host_node.HostState, keep: Callable[[host_node.HostState], None]
    ) -> NodeRestore:
        pattern = _pattern(self.snap, node)
        with ExitStack() as stack:
            try:
                shell = self.shell(stack, node)
                before = host_node.read(shell, pattern)
            except ClusterError as err:
                return NodeRestore(node, FAILED, f"nothing changed: cannot read its host settings: {err}")
            differs = host_node.differences(saved, before)
            if not differs:
                return NodeRestore(node, SKIPPED, ALREADY)
            commands = host_node.restore_commands(saved, before)
            if not commands:
                return NodeRestore(
                    node,
                    FAILED,
                    "nothing changed: it differs from the file in what no command can set",
                    (),
                    tuple(differs),
                )
            keep(before)  # on disk before the node changes
            ran: list[str] = []
            try:
                for command in commands:
                    shell.ok(command)
                    ran.append(command)
                left = host_node.differences(saved, host_node.read(shell, pattern))
                if left:
                    raise ClusterError("read-back is not as saved: " + "; ".join(left))
            except ClusterError as err:
                return self._back(node, shell, pattern, before, saved, ran, str(err))
            except BaseException:
                self.undone[node] = self._back(node, shell, pattern, before, saved, ran, "interrupted")
                raise
        return NodeRestore(node, RESTORED, f"{len(ran)} command(s) run; read back as saved", tuple(ran))

    def _back(
        self,
        node: str,
        shell: host_node.HostShell,
        pattern: str,
        before: host_node.HostState,
        saved: host_node.HostState,
        ran: list[str],
        why: str,
    ) -> NodeRestore:
        """A failed restore: put the node back as it was just before it, and say what it runs now."""
        try:
            for command in host_node.restore_commands(before, host_node.read(shell, pattern)):
                shell.ok(command)
            now = host_node.read(shell, pattern)
        except ClusterError as err:
            return NodeRestore(
                node,
                FAILED,
                f"{why}; putting back its settings from before the restore failed"
                f" too: {err}; its state is unknown: plan the restore again to read it",
                tuple(ran),
            )
        if still := host_node.differences(before, now):
            return NodeRestore(
                node,
                FAILED,
                f"{why}; not back as before the restore either: " + "; ".join(still),
                tuple(ran),
                tuple(host_node.differences(saved, now)),
            )
        return NodeRestore(
            node,
            ROLLED_BACK,
            f"{why}; it is back as it was before this restore",
            tuple(ran),
            tuple(host_node.differences(saved, now)),
        )


def plan_restore(
    conn: Connection,
    path: str | Path,
    *,
    nodes: Iterable[str] | None = None,
    namespace: str = privileged.NAMESPACE,
    image: str = tuning.DEFAULT_IMAGE,
    timeout: float = 120,
) -> HostRestoreReport:
    """What a restore of `path` would run per node (nothing on the host changes; host pods come and go)."""
    return restore_host(
        conn, path, approved=False, nodes=nodes, namespace=namespace, image=image, timeout=timeout
    )


def restore_host(
    conn: Connection,
    path: str | Path,
    *,
    approved: bool,
    nodes: Iterable[str] | None = None,
    results_dir: str | Path = "runs",
    namespace: str = privileged.NAMESPACE,
    image: str = tuning.DEFAULT_IMAGE,
    timeout: float = 120,
    progress: Progress | None = None,
    recovering: str = "",
) -> HostRestoreReport:
    """Restore the host settings `path` saved, per node, if `approved`; else only plan. InputError for bad
    input (nothing read or changed), lock.LockHeld when another change runs, apierrors.Forbidden without
    the host role (before any node is touched). `recovering` names the dead run whose undo this is
    (`change.recovery`): its open journal does not refuse the restore."""
    _check(conn, approved, timeout, results_dir)
    nodes = _names(nodes)
    saved = load(path)
    snap = snapshot.take(conn)
    chosen = _choose(saved, snap, nodes)
    say = progress or (lambda _: None)
    run = _Run(conn, snap, namespace, image, timeout, tuning.new_run_id())
    report = HostRestoreReport(str(saved.path), approved, snap.simulated, warnings=run.warnings)
    if not approved:
        run.warnings += tuning.prepare(conn, namespace)
        for node in chosen:
            say(f"{node}: reading its host settings")
            report.nodes[node] = run.plan_node(node, saved.nodes[node])
        return report
    backup, kept = tuning.backup_file(results_dir, run.run_id), {}
    before: dict[str, host_node.HostState] = {}

    def keep(node: str, state: host_node.HostState) -> None:
        before[node] = state
        tuning.save_state(backup, kept, node, state)
        report.backup_path = str(backup)  # set as soon as written: also on interrupt

    def prepared() -> dict[str, str]:  # a user without the host role is refused here, before any journal
        run.warnings.extend(tuning.prepare(conn, namespace))
        return {"path": str(backup), "configmap": "", "stamp": run.run_id}

    def restore(node: str) -> None:
        # noted inside the step: an interrupt that came during it raises at the checkpoint after it, and
        # the undo must still see this node restored
        report.nodes[node] = run.restore_node(node, saved.nodes[node], lambda state: keep(node, state))

    def forward(tx: transaction.Transaction) -> None:
        for node in chosen:
            say(f"{node}: restoring its host settings")
            tx.step(f"{node}: restore host settings", lambda n=node: restore(n), writes=True)

    def undo(tx: transaction.Transaction, failure: str) -> dict[str, outcomes.NodeOutcome]:
        changed = [n for n, r in report.nodes.items() if r.outcome == RESTORED]
        shells = functools.partial(
            tuning.node_shell, conn, namespace=namespace, image=image, timeout=timeout, run_id=run.run_id
        )
        patterns = {n: _pattern(snap, n) for n in changed}
        return tuning.put_back_nodes(
            shells, {n: before[n] for n in changed}, patterns, failure, say, run.warnings
        )

    result = transaction.run(
        conn, snap.namespace, kind="restore-host", purpose=f"restore-host {saved.path.name}",
        results_dir=results_dir, say=say, save=prepared,
        forward=forward, undo=undo, recovering=recovering,
    )  # fmt: skip
    report.exit_code, report.journal_path = result.exit_code, result.journal_path
    report.warnings.extend(result.warnings)
    report.nodes.update(run.undone)
    _finish(report, chosen, result, backup)
    if any(n.outcome in (FAILED, outcomes.ROLLBACK_FAILED) for n in run.undone.values()):
        report.exit_code = transaction.EXIT_UNFINISHED
    return report


def _finish(report: HostRestoreReport, chosen: list[str], result: transaction.Result, backup: Path) -> None:
    """What the report says per node after a transaction that did not finish."""
    if result.state == transaction.DONE:
        return
    for node in chosen:
        if node not in report.nodes:
            report.nodes[node] = NodeRestore(node, SKIPPED, f"{result.failure}: not changed")
    if result.state == transaction.ROLLED_BACK:
        for node, o in (result.undone or {}).items():
            old = report.nodes[node]
            report.nodes[node] = NodeRestore(node, ROLLED_BACK, o.reason, old.commands)
    elif result.state != transaction.NOT_WRITTEN:
        for node, old in report.nodes.items():
            if old.outcome in (RESTORED, ROLLED_BACK):
                why = f"{result.failure}; {result.undo_error}; put it back with `cilium-lab restore-host {backup} --approve`"
                report.nodes[node] = NodeRestore(node, outcomes.ROLLBACK_FAILED, why, old.commands)


def _names(nodes: object) -> list[str] | None:
    if nodes is None:
        return None
    names = list(nodes) if isinstance(nodes, list | tuple | set | frozenset) else None
    if names is None or not all(isinstance(n, str) and n for n in names):
        raise InputError(f"nodes must be a list of node names, got {nodes!r}")
    return names


def _check(conn: object, approved: object, timeout: object, results_dir: object) -> None:
    tuning.check_run_args(conn, approved, timeout, results_dir)
