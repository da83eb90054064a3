"""Lab 15: host tuning per node (tuned profile, CPU governor, irqbalance, NIC IRQ pinning) through a privileged pod.

`plan_host(snapshot)` says per node the exact commands still needed and what cannot be done and why;
`apply_host(conn, plan, approved=True)` runs them: per node, one privileged host pod
(`cluster.privileged`), the previous values read and saved to disk first (`host.host_node`), the
commands, a read-back; a failure restores that node's saved values ("rolled back"). The run is one
`change.transaction` (lock, journal, cancellation): an interrupt or an unexpected error puts back every
node changed so far (`put_back_nodes`). The host pods are
always deleted (also on KeyboardInterrupt) and leftovers of an earlier run are swept first. Nothing
changes without approval. Outcomes are `change.outcomes`' named values in a `change.reports.ApplyReport`.
Nodes are changed one at a time, in name order. The way to a node (`prepare`, `node_shell`,
`new_run_id`) and the host backup files (`backup_file`, `save_state`) serve the host restore too.
"""

from __future__ import annotations

import functools
import secrets
import shlex
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cilium_lab import scrub
from cilium_lab.change import outcomes, transaction
from cilium_lab.change.files import write_atomic
from cilium_lab.change.host import host_node, values
from cilium_lab.change.recording import Progress
from cilium_lab.change.reports import NOT_APPROVED, ApplyReport
from cilium_lab.cluster import privileged
from cilium_lab.cluster.connect import Connection
from cilium_lab.errors import ClusterError, InputError

DEFAULT_IMAGE = "docker.io/library/debian:bookworm-slim"
NO_CPUFREQ = "# no cpufreq on this node (typical of VMs): the hypervisor owns the CPU frequency"
GOVERNOR = "echo performance | tee /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor"
IRQBALANCE = "systemctl disable --now irqbalance"
PIN_IRQS = (
    "for irq in $(grep -- {device} /proc/interrupts | cut -d: -f1); do "
    "echo $((irq % $(nproc))) > /proc/irq/$irq/smp_affinity_list; done"
)


@dataclass(frozen=True)
class NodeHostPlan:
    """One node: the commands as shown (`display`), the settings apply will change, what it cannot."""

    node: str
    display: tuple[str, ...]
    tuned: str  # the profile to set, "" when none
    install_tuned: bool
    governor: bool
    irqbalance: bool
    irq_pattern: str
    cannot: tuple[str, ...]  # "<setting>: <why>" for what is left undone

    @property
    def commands(self) -> list[str]:
        return list(self.display)


@dataclass(frozen=True)
class HostPlan:
    profile: str
    nodes: dict[str, NodeHostPlan]
    simulated: bool = False
    lock_namespace: str = ""  # the Cilium namespace, whose change lock apply takes ("" : no lock)

    def to_record(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "simulated": self.simulated,
            "nodes": {n: {"commands": p.commands, "cannot": list(p.cannot)} for n, p in self.nodes.items()},
        }


def plan_host(
    snapshot: Any,
    *,
    profile: str = "network-latency",
    nodes: Iterable[str] | None = None,
    install_tuned: bool = False,
) -> HostPlan:
    """Per node what is still needed for `profile`; `install_tuned` lets apply install tuned where it is missing."""
    if not values.valid("tuned profile", profile):
        raise InputError(
            f"profile must be a tuned profile name such as network-latency, got {values.shown(profile)}"
        )
    if not isinstance(install_tuned, bool):
        raise InputError(f"install_tuned must be True or False, got {install_tuned!r}")
    known = [n.name for n in snapshot.nodes]
    chosen = known if nodes is None else list(nodes)
    if unknown := sorted(set(chosen) - set(known)):
        raise InputError(f"unknown nodes {', '.join(unknown)}: choose among {', '.join(known)}")
    plans = {
        n.name: node_plan(n, profile, install_tuned=install_tuned) for n in snapshot.nodes if n.name in chosen
    }
    lock_ns = str(getattr(snapshot, "namespace", "") or "")
    return HostPlan(profile, plans, bool(getattr(snapshot, "simulated", False)), lock_ns)


def node_plan(node: Any, profile: str, *, install_tuned: bool = False) -> NodeHostPlan:
    """The snapshot's host facts of one node -> what it still needs (the lines lab 15 prints)."""
    host, device = node.host, node.device or "eth0"
    pattern = host_node.irq_pattern(device, node.nic_driver)  # checks the NIC name the node reported
    tuned = host_node.tuned_profile_of(host.get("tuned_profile"))
    lines, cannot = [], []
    if tuned == host_node.NOT_INSTALLED:
        lines.append("apt-get install -y tuned  # tuned is not installed")
        if not install_tuned:
            cannot.append(
                "tuned profile: tuned is not installed (install it, or apply with install_tuned=True)"
            )
    if tuned != profile:
        lines.append(f"tuned-adm profile {profile}")
    governor = host.get("cpu_governor")
    if not governor:
        lines.append(NO_CPUFREQ)
        cannot.append(
            "CPU governor: no cpufreq on this node (typical of VMs): the hypervisor owns the CPU frequency"
        )
    elif governor != "performance":
        lines.append(GOVERNOR)
    if host.get("irqbalance") == "active":
        lines.append(IRQBALANCE)
    lines.append(PIN_IRQS.format(device=shlex.quote(device)))
    can_tune = tuned != host_node.NOT_INSTALLED or install_tuned
    return NodeHostPlan(
        node=node.name,
        display=tuple(lines),
        tuned=profile if tuned != profile and can_tune else "",
        install_tuned=tuned == host_node.NOT_INSTALLED and install_tuned,
        governor=bool(governor) and governor != "performance",
        irqbalance=host.get("irqbalance") == "active",
        irq_pattern=pattern,
        cannot=tuple(cannot),
    )


def apply_host(
    conn: Connection,
    plan: HostPlan,
    *,
    approved: bool,
    namespace: str = privileged.NAMESPACE,
    image: str = DEFAULT_IMAGE,
    timeout: float = 120,
    results_dir: str | Path = "runs",
    progress: Progress | None = None,
) -> ApplyReport:
    """Apply `plan` node by node if `approved`; returns what happened per node. Nothing changes unless approved."""
    _check(conn, plan, approved, timeout, results_dir)
    report = ApplyReport("host", outcomes.SKIPPED, NOT_APPROVED, simulated=plan.simulated)
    if not approved:
        report.nodes = {n: outcomes.NodeOutcome(n, outcomes.SKIPPED, NOT_APPROVED) for n in plan.nodes}
        return report
    say = progress or (lambda _: None)
    run_id = new_run_id()
    backup = backup_file(results_dir, run_id)
    saved: dict[str, dict] = {}
    before: dict[str, host_node.HostState] = {}

    def one(name: str) -> outcomes.NodeOutcome:
        say(f"{name}: host settings")
        node = _NodeRun(
            conn, plan.nodes[name], namespace=namespace, image=image, timeout=timeout, run_id=run_id
        )
        try:
            return node.apply(lambda state: _keep(backup, saved, before, name, state))
        except BaseException:
            if node.undone is not None:  # interrupted on this node: what its own restore did
                report.nodes[name] = node.undone
            raise
        finally:
            report.steps += node.steps
            report.warnings += node.warnings

    done = True
    if not plan.lock_namespace:  # no Cilium namespace known: no lock and no cluster journal to keep
        report.warnings += prepare(conn, namespace)
        for name in sorted(plan.nodes):
            report.nodes[name] = one(name)
    else:
        done = _transaction(
            conn, plan, report, say, backup, before, one, namespace, image, timeout, run_id, results_dir
        )
    report.backup_path = str(backup) if saved else ""
    if done:
        report.outcome = outcomes.overall(report.nodes.values())
        report.message = _summary(report)
    return report


def _keep(
    path: Path,
    saved: dict[str, dict],
    before: dict[str, host_node.HostState],
    node: str,
    state: host_node.HostState,
) -> None:
    before[node] = state
    save_state(path, saved, node, state)


def _transaction(
    conn: Connection,
    plan: HostPlan,
    report: ApplyReport,
    say: Progress,
    backup: Path,
    before: dict[str, host_node.HostState],
    one: Callable[[str], outcomes.NodeOutcome],
    namespace: str,
    image: str,
    timeout: float,
    run_id: str,
    results_dir: str | Path,
) -> bool:
    """Lab 15 through `change.transaction`: each node a journaled step; on an interrupt or an unexpected
    error, the nodes already changed are put back to their saved values and read back."""

    def prepared() -> dict[str, str]:  # a user without the host role is refused here, before any journal
        report.warnings.extend(prepare(conn, namespace))
        return {"path": str(backup), "configmap": "", "stamp": run_id}

    def tune(name: str) -> None:
        # noted inside the step: an interrupt that came during it raises at the checkpoint after it, and
        # the undo must still see this node changed
        report.nodes[name] = one(name)

    def forward(tx: transaction.Transaction) -> None:
        for name in sorted(plan.nodes):
            tx.step(f"{name}: host settings", lambda n=name: tune(n), writes=True)

    def undo(tx: transaction.Transaction, failure: str) -> dict[str, outcomes.NodeOutcome]:
        changed = [n for n, o in report.nodes.items() if o.outcome == outcomes.APPLIED]
        patterns = {n: plan.nodes[n].irq_pattern for n in changed}
        shells = functools.partial(
            node_shell, conn, namespace=namespace, image=image, timeout=timeout, run_id=run_id
        )
        return put_back_nodes(
            shells, {n: before[n] for n in changed}, patterns, failure, say, report.warnings
        )

    result = transaction.run(
        conn, plan.lock_namespace, kind="host", purpose=f"host tuning {plan.profile}", results_dir=results_dir,
        say=say, save=prepared, forward=forward, undo=undo,
    )  # fmt: skip
    report.exit_code, report.journal_path = result.exit_code, result.journal_path
    report.interrupted = result.interrupted
    report.warnings += result.warnings
    if result.state == transaction.DONE:
        return True
    for name in sorted(plan.nodes):
        if name not in report.nodes:
            report.nodes[name] = outcomes.NodeOutcome(
                name, outcomes.SKIPPED, f"{result.failure}: not changed"
            )
    if result.state == transaction.ROLLED_BACK:
        report.nodes.update(result.undone or {})
        report.message = f"{result.failure}; the nodes changed so far are back as saved, read back"
    elif result.state != transaction.NOT_WRITTEN:
        for name, o in report.nodes.items():
            if o.outcome in (outcomes.APPLIED, outcomes.ROLLED_BACK):
                reason = (
                    f"{result.failure}; {result.undo_error}; run `cilium-lab restore-host {backup} --approve`"
                )
                report.nodes[name] = outcomes.NodeOutcome(name, outcomes.ROLLBACK_FAILED, reason)
        report.message = f"rollback failed: {result.failure}; {result.undo_error}"
    else:
        report.message = f"{result.failure} before any node changed: nothing changed"
    report.outcome = outcomes.overall(report.nodes.values())
    if report.outcome == outcomes.ROLLBACK_FAILED:
        report.exit_code = transaction.EXIT_UNFINISHED
    return False


def put_back_nodes(
    shells: Callable[..., Any],
    states: dict[str, host_node.HostState],
    patterns: dict[str, str],
    failure: str,
    say: Progress,
    warnings: list[str],
) -> dict[str, outcomes.NodeOutcome]:
    """Put each node back to `states` through a fresh host pod and read it back; `RollbackFailed` naming
    the nodes that are not as saved. `shells(node, warnings=...)` opens a node's shell (`node_shell`)."""
    done, left = {}, []
    for node, state in sorted(states.items()):
        try:
            with shells(node, warnings=warnings) as shell:
                for command in host_node.restore_commands(state, host_node.read(shell, patterns[node])):
                    shell.ok(command)
                    say(f"{node} (undo): {command}")
                still = host_node.differences(state, host_node.read(shell, patterns[node]))
        except ClusterError as err:
            left.append(f"{node} ({err})")
            continue
        if still:
            left.append(f"{node} (not as saved: {'; '.join(still)})")
            continue
        done[node] = outcomes.NodeOutcome(
            node, outcomes.ROLLED_BACK, f"{failure}; the saved values are back, read back"
        )
    if left:
        raise transaction.RollbackFailed("not put back: " + ", ".join(left))
    return done


def new_run_id() -> str:
    """Names the host pods' run label and the backup file of one run."""
    return f"host-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"


def backup_file(results_dir: str | Path, run_id: str) -> Path:
    return Path(results_dir) / "host-backups" / f"{run_id}.json"


def prepare(conn: Connection, namespace: str) -> list[str]:
    """The host pods' namespace, and no host pods of an earlier run (a user without the host role is
    refused here, Forbidden, before any node is touched); returns the warnings to report."""
    privileged.ensure_namespace(conn, namespace)
    if swept := privileged.sweep(conn, namespace=namespace):
        return [f"removed host pods an earlier run left behind: {', '.join(swept)}"]
    return []


@contextmanager
def node_shell(
    conn: Connection,
    node: str,
    *,
    namespace: str,
    image: str,
    timeout: float,
    run_id: str,
    warnings: list[str],
) -> Iterator[host_node.HostShell]:
    """A shell in `node`'s host namespaces through its privileged pod; the pod is deleted on leaving (also
    on KeyboardInterrupt, and when it never started); a failed delete is added to `warnings`.
    ClusterError when the pod cannot be created or does not start: then nothing ran on the node."""
    pod = privileged.create(conn, node, image=image, run_id=run_id, namespace=namespace)
    try:
        privileged.wait_running(conn, pod, timeout=timeout, namespace=namespace)
        yield host_node.HostShell(conn, pod, namespace, timeout)
    finally:
        try:
            privileged.delete(conn, pod, namespace=namespace)
        except ClusterError as err:
            warnings.append(f"could not delete host pod {namespace}/{pod}: {err}; delete it by hand")


class _NodeRun:
    """One node: host pod up, read and save, change, read back, restore on failure; the pod always removed."""

    def __init__(
        self, conn: Connection, plan: NodeHostPlan, *, namespace: str, image: str, timeout: float, run_id: str
    ) -> None:
        self.conn, self.plan, self.run_id = conn, plan, run_id
        self.namespace, self.image, self.timeout = namespace, image, timeout
        self.steps: list[str] = []
        self.warnings: list[str] = []
        self.undone: outcomes.NodeOutcome | None = None  # set when an interrupt put this node back

    def apply(self, save: Callable[[host_node.HostState], None]) -> outcomes.NodeOutcome:
        name = self.plan.node
        with ExitStack() as stack:
            try:
                shell = stack.enter_context(
                    node_shell(
                        self.conn,
                        name,
                        namespace=self.namespace,
                        image=self.image,
                        timeout=self.timeout,
                        run_id=self.run_id,
                        warnings=self.warnings,
                    )
                )
                before = host_node.read(shell, self.plan.irq_pattern)
                save(before)
            except ClusterError as err:
                return outcomes.NodeOutcome(name, outcomes.FAILED, f"nothing changed: {err}")
            try:
                return self._change(shell, before)
            except BaseException:
                self.undone = self._restore(shell, before)  # interrupted half way: put the node back first
                if self.undone.outcome == outcomes.FAILED:
                    self.undone = outcomes.NodeOutcome(name, outcomes.ROLLBACK_FAILED, self.undone.reason)
                raise

    def _change(self, shell: host_node.HostShell, before: host_node.HostState) -> outcomes.NodeOutcome:
        commands = self._commands(before)
        if not commands and not host_node.pins(before):
            return outcomes.NodeOutcome(
                self.plan.node, outcomes.SKIPPED, _with_cannot("nothing to do", self.plan)
            )
        try:
            for command in commands:
                self._run(shell, command)
            # pin after the rest: stopping irqbalance leaves the IRQs where it last put them
            for command in host_node.pin_commands(host_node.read(shell, self.plan.irq_pattern)):
                self._run(shell, command)
                commands.append(command)
            after = host_node.read(shell, self.plan.irq_pattern)
            wrong = host_node.problems(
                after,
                profile=self.plan.tuned or None,
                governor=self.plan.governor,
                irqbalance=self.plan.irqbalance,
                pinned=True,
            )
            if wrong:
                raise ClusterError("read-back shows " + "; ".join(wrong))
        except ClusterError as err:
            return self._restore(shell, before, why=str(err))
        done = f"applied {len(commands)} commands and verified"
        return outcomes.NodeOutcome(self.plan.node, outcomes.APPLIED, _with_cannot(done, self.plan))

    def _commands(self, before: host_node.HostState) -> list[str]:
        lines = ["apt-get install -y tuned"] if self.plan.install_tuned else []
        lines += (
            [f"tuned-adm profile {values.quoted('tuned profile', self.plan.tuned, InputError, 'the plan')}"]
            if self.plan.tuned and before.tuned != self.plan.tuned
            else []
        )
        lines += (
            [GOVERNOR]
            if self.plan.governor and before.governors and set(before.governors) != {"performance"}
            else []
        )
        lines += [IRQBALANCE] if self.plan.irqbalance and before.irqbalance == "active" else []
        return lines

    def _run(self, shell: host_node.HostShell, command: str) -> None:
        shell.ok(command)
        self.steps.append(f"{self.plan.node}: {command}")

    def _restore(
        self, shell: host_node.HostShell, before: host_node.HostState, why: str = "interrupted"
    ) -> outcomes.NodeOutcome:
        name = self.plan.node
        try:
            now = host_node.read(shell, self.plan.irq_pattern)
            for command in host_node.restore_commands(before, now):
                shell.ok(command)
                self.steps.append(f"{name} (restore): {command}")
            left = host_node.restore_commands(before, host_node.read(shell, self.plan.irq_pattern))
        except ClusterError as err:
            return outcomes.NodeOutcome(
                name, outcomes.FAILED, f"{why}; restoring the saved values failed too: {err}"
            )
        if left:
            return outcomes.NodeOutcome(
                name, outcomes.FAILED, f"{why}; still not restored: {'; '.join(left)}"
            )
        return outcomes.NodeOutcome(name, outcomes.ROLLED_BACK, f"{why}; the saved values are restored")


def _with_cannot(text: str, plan: NodeHostPlan) -> str:
    return text + ("; not done: " + "; ".join(plan.cannot) if plan.cannot else "")


def save_state(path: Path, saved: dict[str, dict], node: str, state: host_node.HostState) -> None:
    """Write every node's previous values so far, before that node changes (temp file, fsync, rename)."""
    saved[node] = state.to_record()
    write_atomic(path, scrub.dumps(saved, indent=1, sort_keys=True))


def _summary(report: ApplyReport) -> str:
    counts = {o: sum(1 for n in report.nodes.values() if n.outcome == o) for o in outcomes.OUTCOMES}
    return "host tuning: " + ", ".join(f"{k} on {v} node{'s' * (v != 1)}" for k, v in counts.items() if v)


def _check(conn: object, plan: object, approved: object, timeout: object, results_dir: object) -> None:
    if not isinstance(plan, HostPlan):
        raise InputError(
            f"plan must be a HostPlan from change.host.tuning.plan_host(), got {type(plan).__name__}"
        )
    for name, node in plan.nodes.items():  # a plan built or edited by hand: its values go to a root shell
        if node.tuned:
            values.check("tuned profile", node.tuned, InputError, f"the plan's tuned profile for {name}")
        if node.irq_pattern != host_node.VIRTIO_IRQS:
            values.check("NIC name", node.irq_pattern, InputError, f"the plan's NIC for {name}")
    check_run_args(conn, approved, timeout, results_dir)


def check_run_args(conn: object, approved: object, timeout: object, results_dir: object) -> None:
    """The arguments every host run takes (apply and restore-host): one clear InputError each."""
    if not isinstance(conn, Connection):
        raise InputError(
            f"conn must be a Connection from cluster.connect.connect(), got {type(conn).__name__}"
        )
    if not isinstance(approved, bool):
        raise InputError(f"approved must be True or False, got {approved!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout < float("inf"):
        raise InputError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if not isinstance(results_dir, str | Path) or not str(results_dir):
        raise InputError(f"results_dir must be a folder path, got {results_dir!r}")
