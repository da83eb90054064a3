"""One node's host settings as read through its privileged host pod, and the commands that change or restore them.

Every read is a plain command in the host's namespaces through `cluster.privileged.run` (tuned-adm
active, cat scaling_governor per CPU, systemctl is-active/is-enabled irqbalance, grep
/proc/interrupts, cat smp_affinity_list), so the same code reads a real node and an emulated one.
What a node answers is checked (`host.values`) before it is kept: a rollback puts it back through a root
shell, so an answer that is no profile, governor, CPU list or IRQ number stops with ClusterError instead.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import asdict, dataclass, field

from cilium_lab.change.host import values
from cilium_lab.cluster import framed as framed_script
from cilium_lab.cluster import privileged
from cilium_lab.cluster.connect import Connection
from cilium_lab.errors import ClusterError

GOVERNOR = "/sys/devices/system/cpu/cpu{}/cpufreq/scaling_governor"
AFFINITY = "/proc/irq/{}/smp_affinity_list"
NOT_INSTALLED = "not installed"
_ACTIVE = re.compile(r"Current active profile:\s*(\S+)")
VIRTIO_IRQS = "virtio[0-9]+-input"


@dataclass(frozen=True)
class HostState:
    """What the node runs now. `tuned` is a profile name, "none", or NOT_INSTALLED."""

    cpus: int
    tuned: str
    governors: tuple[str, ...] | None  # per CPU; None: no cpufreq on this node
    irqbalance: str  # systemctl is-active
    irqbalance_enabled: str  # systemctl is-enabled
    irqs: dict[int, str] = field(default_factory=dict)  # NIC IRQ -> smp_affinity_list

    def to_record(self) -> dict:
        return {**asdict(self), "irqs": {str(k): v for k, v in self.irqs.items()}}


def tuned_profile_of(text: str | None) -> str:
    """`tuned-adm active` output -> the profile, "none", or NOT_INSTALLED (no output: the tool is missing)."""
    if not text or not text.strip():
        return NOT_INSTALLED
    match = _ACTIVE.search(text)
    return match.group(1) if match else "none"


def irq_pattern(device: str, driver: str | None) -> str:
    """How the NIC's queues are named in /proc/interrupts: virtio names them virtioN-input.M, not the device.
    ClusterError when the node's NIC name is no interface name (it goes into a grep on the node)."""
    if driver == "virtio_net":
        return VIRTIO_IRQS
    return values.check("NIC name", device, ClusterError, "the NIC name the node reported")


def _irq_grep(pattern: str) -> str:
    if pattern != VIRTIO_IRQS:
        values.check("NIC name", pattern, ClusterError, "the NIC's IRQ pattern")
    return f"grep -E -- {shlex.quote(pattern)} /proc/interrupts"


class HostShell:
    """Runs scripts in one node's host pod; a command that cannot run at all raises ClusterError."""

    def __init__(self, conn: Connection, pod: str, namespace: str, timeout: float) -> None:
        self.conn, self.pod, self.namespace, self.timeout = conn, pod, namespace, timeout

    def run(self, script: str) -> tuple[int, str]:
        out = privileged.run(self.conn, self.pod, script, timeout=self.timeout, namespace=self.namespace)
        return out.code, (out.stdout if out.ok else (out.stderr or out.stdout)).strip()

    def framed(self, commands: dict[str, str]) -> dict[str, framed_script.Output]:
        """Several read commands in one exec; ClusterError when the script could not run at all."""
        out = privileged.run(
            self.conn,
            self.pod,
            framed_script.script(commands),
            timeout=self.timeout,
            namespace=self.namespace,
        )
        if framed_script.MARK not in out.stdout:
            raise ClusterError(
                f"cannot read the node through {self.pod}: {(out.stderr or out.stdout).strip() or 'no output'}"
            )
        return framed_script.parse(out.stdout, commands)

    def ok(self, script: str) -> None:
        code, text = self.run(script)
        if code != 0:
            raise ClusterError(f"`{script}` failed with exit {code}: {text or 'no output'}")


def read(shell: HostShell, pattern: str) -> HostState:
    """Two execs: the facts that stand alone, then those that need the CPU count and the IRQ numbers."""
    first = shell.framed(
        {
            "nproc": "nproc",
            "tuned": "tuned-adm active",
            "active": "systemctl is-active irqbalance",
            "enabled": "systemctl is-enabled irqbalance",
            "irqs": _irq_grep(pattern),
        }
    )
    where = f"node answered through {shell.pod}:"
    text = first["nproc"].stdout.strip()
    if not first["nproc"].ok or not values.valid("CPU count", text) or int(text) < 1:
        raise ClusterError(
            f"cannot count the CPUs of the node through {shell.pod}: {values.shown(text or 'no output')}"
        )
    cpus = int(text)
    tuned = tuned_profile_of(first["tuned"].value)
    if tuned not in (NOT_INSTALLED, "none"):
        values.check("tuned profile", tuned, ClusterError, f"{where} tuned profile")
    # systemctl prints the state also when it exits non-zero ("inactive" exits 3)
    irqbalance = _unit_state(first["active"].stdout, where)
    enabled = _unit_state(first["enabled"].stdout, where)
    numbers = [
        int(line.split(":")[0])
        for line in (first["irqs"].value or "").splitlines()
        if values.valid("IRQ number", line.split(":")[0].strip())
    ]
    second = shell.framed(
        {
            "governors": "cat " + " ".join(GOVERNOR.format(c) for c in range(cpus)),
            **({"affinity": "cat " + " ".join(AFFINITY.format(n) for n in numbers)} if numbers else {}),
        }
    )
    governors = (
        _lines(second["governors"].value, cpus, "CPU governor", where) if second["governors"].value else None
    )
    affinity = _lines(second["affinity"].value or "", len(numbers), "CPU list", where) if numbers else ()
    return HostState(cpus, tuned, governors, irqbalance, enabled, dict(zip(numbers, affinity, strict=True)))


def _unit_state(text: str, where: str) -> str:
    state = text.strip().split("\n")[0].strip() or "unknown"
    return values.check("systemd unit state", state, ClusterError, f"{where} irqbalance state")


def _lines(text: str, count: int, kind: str, where: str) -> tuple[str, ...]:
    """One value per line, exactly `count` of them, each a valid `kind`."""
    lines = tuple(line.strip() for line in text.strip().splitlines())
    if len(lines) != count:
        raise ClusterError(
            f"{where} {len(lines)} line(s) where {count} {kind}(s) were expected; nothing was sent to the node"
        )
    for line in lines:
        values.check(kind, line, ClusterError, f"{where} {kind}")
    return lines


def pins(state: HostState) -> dict[int, str]:
    """Each NIC IRQ on one CPU, spread as `irq % nproc` (the plan's loop), only those not there yet."""
    wanted = {irq: str(irq % state.cpus) for irq in state.irqs}
    return {irq: cpu for irq, cpu in wanted.items() if state.irqs.get(irq) != cpu}


def _echo(kind: str, value: str, path: str) -> str:
    return f"echo {values.quoted(kind, value, ClusterError, 'a value to write')} > {path}"


def pin_commands(state: HostState) -> list[str]:
    return [_echo("CPU list", cpu, AFFINITY.format(int(irq))) for irq, cpu in pins(state).items()]


def problems(
    state: HostState, *, profile: str | None, governor: bool, irqbalance: bool, pinned: bool
) -> list[str]:
    """What the read-back shows is not as wanted (empty: verified)."""
    found = []
    if profile and state.tuned != profile:
        found.append(f"tuned profile is {state.tuned}, not {profile}")
    if governor and state.governors and set(state.governors) != {"performance"}:
        found.append(f"CPU governors are {','.join(sorted(set(state.governors)))}, not performance")
    if irqbalance and state.irqbalance == "active":
        found.append("irqbalance is still active")
    if pinned and pins(state):
        found.append(f"{len(pins(state))} NIC IRQs are not pinned")
    return found


def restore_commands(before: HostState, now: HostState) -> list[str]:
    """Put back every value that differs from `before`, tuned last so its own changes are undone first."""
    # irqbalance stopped before the pins are written: it would move them again (and freezes them on stop)
    lines = []
    if before.irqbalance_enabled == "disabled" and now.irqbalance_enabled == "enabled":
        lines.append("systemctl disable irqbalance")
    if before.irqbalance == "inactive" and now.irqbalance == "active":
        lines.append("systemctl stop irqbalance")
    lines += [
        _echo("CPU list", v, AFFINITY.format(int(irq)))
        for irq, v in before.irqs.items()
        if now.irqs.get(irq) != v
    ]
    if before.governors and now.governors:
        lines += [
            _echo("CPU governor", g, GOVERNOR.format(c))
            for c, (g, n) in enumerate(zip(before.governors, now.governors, strict=False))
            if g != n
        ]
    if before.irqbalance_enabled == "enabled" and now.irqbalance_enabled != "enabled":
        lines.append("systemctl enable irqbalance")
    if before.irqbalance == "active" and now.irqbalance != "active":
        lines.append("systemctl start irqbalance")
    if before.tuned != now.tuned:
        if now.tuned == NOT_INSTALLED:
            lines.append("apt-get install -y tuned")  # removed since: needed to set the profile back
        if before.tuned == NOT_INSTALLED:
            lines.append("apt-get remove -y tuned")
        else:
            profile = (
                before.tuned
                if before.tuned == "none"
                else values.quoted("tuned profile", before.tuned, ClusterError, "the saved tuned profile")
            )
            lines.append("tuned-adm off" if before.tuned == "none" else f"tuned-adm profile {profile}")
    return lines


def differences(saved: HostState, now: HostState) -> list[str]:
    """How `now` differs from `saved`, one line per setting (empty: as saved); IRQs only those `saved` has."""
    found = [f"{now.cpus} CPUs, saved with {saved.cpus}"] if now.cpus != saved.cpus else []
    if now.tuned != saved.tuned:
        found.append(f"tuned profile {now.tuned} (saved {saved.tuned})")
    if now.governors != saved.governors:
        if not now.governors or not saved.governors or len(now.governors) != len(saved.governors):
            found.append(f"CPU governors {_governors(now.governors)} (saved {_governors(saved.governors)})")
        else:
            pairs: dict[tuple[str, str], list[str]] = {}
            for cpu, (n, s) in enumerate(zip(now.governors, saved.governors, strict=True)):
                if n != s:
                    pairs.setdefault((n, s), []).append(str(cpu))
            found += [f"CPU governor {n} on CPUs {','.join(c)} (saved {s})" for (n, s), c in pairs.items()]
    if now.irqbalance != saved.irqbalance:
        found.append(f"irqbalance {now.irqbalance} (saved {saved.irqbalance})")
    if now.irqbalance_enabled != saved.irqbalance_enabled:
        found.append(f"irqbalance {now.irqbalance_enabled} at boot (saved {saved.irqbalance_enabled})")
    found += [
        f"IRQ {irq} on CPUs {now.irqs.get(irq, 'none (no such IRQ now)')} (saved {cpus})"
        for irq, cpus in saved.irqs.items()
        if now.irqs.get(irq) != cpus
    ]
    return found


def _governors(governors: tuple[str, ...] | None) -> str:
    return "/".join(sorted(set(governors))) if governors else "none (no cpufreq)"
