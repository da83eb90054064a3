"""The files a command may read or write on an emulated node: /proc, /sys cpufreq, /proc/irq, /boot/config-*.

Read by cat and grep, by the interpreter's glob expansion and `>` redirections, and written by tee.
Contents are generated from the NodeProfile
(kernel, CPUs, NIC, current `host` settings, see `state.host_settings`); a path not generated here does not
exist. Writable: each CPU's scaling_governor and each NIC IRQ's smp_affinity_list, and only from
the host's namespaces (nsenter) or a privileged container (whose /sys and /proc are read-write);
elsewhere they are on a read-only file system. A write changes the node's host settings through
`ExecContext.write_host`. Simplifications: /boot is visible from the pod (as with a hostPath mount);
only the preemption lines of the kernel config exist; interrupt counters are constants; cpufreq
files exist only where the profile says `cpufreq: "true"` (VMs often have none); a pinned IRQ stays
pinned even while irqbalance runs (the real daemon would move it again); no other file is writable.
"""

from __future__ import annotations

from collections.abc import Callable

from cilium_lab.sim.agent.runtime import ExecContext
from cilium_lab.sim.shell import node_view

CPUFREQ = "/sys/devices/system/cpu/cpu{}/cpufreq/scaling_governor"
CPUFREQ_AVAILABLE = "/sys/devices/system/cpu/cpu{}/cpufreq/scaling_available_governors"
IRQ_AFFINITY = "/proc/irq/{}/smp_affinity_list"
GOVERNORS = ("conservative", "ondemand", "userspace", "powersave", "performance", "schedutil")
IRQ_BASE = 40  # first NIC interrupt number (assumption; only has to be stable)
PREEMPT_CONFIG = {
    "none": ("CONFIG_PREEMPT_NONE=y", "# CONFIG_PREEMPT_VOLUNTARY is not set", "# CONFIG_PREEMPT is not set"),
    "voluntary": (
        "# CONFIG_PREEMPT_NONE is not set",
        "CONFIG_PREEMPT_VOLUNTARY=y",
        "# CONFIG_PREEMPT is not set",
    ),
    "full": ("# CONFIG_PREEMPT_NONE is not set", "# CONFIG_PREEMPT_VOLUNTARY is not set", "CONFIG_PREEMPT=y"),
    # PREEMPT_DYNAMIC kernels build with full preemption and pick the model at boot (preempt=)
    "dynamic": (
        "# CONFIG_PREEMPT_NONE is not set",
        "CONFIG_PREEMPT_VOLUNTARY=y",
        "# CONFIG_PREEMPT is not set",
    ),
}


def read(ctx: ExecContext, path: str) -> str | None:
    """The content of `path` on the pod's node, or None when it does not exist."""
    generator = _files(ctx).get(path)
    return generator() if generator else None


def paths(ctx: ExecContext) -> list[str]:
    return list(_files(ctx))


def _files(ctx: ExecContext) -> dict[str, Callable[[], str]]:
    node = ctx.node
    files: dict[str, Callable[[], str]] = {
        "/proc/version": lambda: _proc_version(ctx),
        "/proc/cmdline": lambda: f"BOOT_IMAGE=/boot/vmlinuz-{node.kernel} root=/dev/sda1 ro quiet\n",
        "/proc/interrupts": lambda: _interrupts(ctx),
        "/etc/hostname": lambda: node_view.hostname(ctx) + "\n",
        f"/boot/config-{node.kernel}": lambda: _kernel_config(ctx),
        "/sys/kernel/mm/transparent_hugepage/enabled": lambda: "always [madvise] never\n",
    }
    if node.host.get("cpufreq", "false") == "true":
        for cpu in range(node.cpus):
            files[CPUFREQ.format(cpu)] = lambda cpu=cpu: _governor(ctx, cpu) + "\n"
            files[CPUFREQ_AVAILABLE.format(cpu)] = lambda: " ".join(GOVERNORS) + "\n"
    for i in range(node_view.queues(ctx)):
        files[IRQ_AFFINITY.format(IRQ_BASE + i)] = lambda i=i: _affinity(ctx, i)
    return files


def write(ctx: ExecContext, path: str, text: str | None) -> str | None:
    """Write `text` to `path` (None: only open it); None when done, else the reason as strerror says it."""
    if not (ctx.on_host or node_view.privileged(ctx)) or ctx.write_host is None:
        return "Read-only file system"
    setting = _setting_of(ctx, path)
    if setting is None:
        return "Permission denied" if path in _files(ctx) else "Directory nonexistent"
    if text is None:
        return None
    value = text.strip()
    key, valid = setting
    if not valid(value):
        return "Invalid argument"
    return node_view.change_host(ctx, {key: value})


def _setting_of(ctx: ExecContext, path: str) -> tuple[str, Callable[[str], bool]] | None:
    """The host-settings key a writable file stands for, and what the kernel accepts there."""
    node = ctx.node
    if node.host.get("cpufreq", "false") == "true":
        for cpu in range(node.cpus):
            if path == CPUFREQ.format(cpu):
                return f"governor.cpu{cpu}", lambda v: v in GOVERNORS
    for i in range(node_view.queues(ctx)):
        if path == IRQ_AFFINITY.format(IRQ_BASE + i):
            return f"irq.{IRQ_BASE + i}", lambda v: _cpu_list_ok(v, node.cpus)
    return None


def _cpu_list_ok(value: str, cpus: int) -> bool:
    """`2`, `0-3`, `1,3`: every CPU named must exist (the kernel answers EINVAL otherwise)."""
    try:
        for part in value.split(","):
            low, _, high = part.partition("-")
            if not 0 <= int(low) <= int(high or low) < cpus:
                return False
    except ValueError:
        return False
    return bool(value)


def _governor(ctx: ExecContext, cpu: int) -> str:
    host = ctx.node.host
    return host.get(f"governor.cpu{cpu}") or host.get("governor", "ondemand")


def _proc_version(ctx: ExecContext) -> str:
    node = ctx.node
    builder = "buildd@lcy02-amd64-045" if "Ubuntu" in node.kernel_build else "debian-kernel@lists.debian.org"
    return f"Linux version {node.kernel} ({builder}) (gcc (GCC) 12.2.0, GNU ld 2.40) {node.kernel_build}\n"


def _kernel_config(ctx: ExecContext) -> str:
    lines = [
        "#",
        f"# Automatically generated file; DO NOT EDIT. Linux/{node_view.machine(ctx)} {ctx.node.kernel}",
        "#",
    ]
    lines += PREEMPT_CONFIG.get(ctx.node.preempt, PREEMPT_CONFIG["voluntary"])
    if ctx.node.preempt == "dynamic":
        lines += ["CONFIG_PREEMPT_BUILD=y", "CONFIG_PREEMPT_DYNAMIC=y"]
    lines += [
        "CONFIG_PREEMPT_COUNT=y",
        "CONFIG_PREEMPTION=y" if ctx.node.preempt != "none" else "# CONFIG_PREEMPTION is not set",
    ]
    lines += ["CONFIG_HZ_250=y", "CONFIG_HZ=250", "CONFIG_BPF=y", "CONFIG_BPF_SYSCALL=y", "CONFIG_BPF_JIT=y"]
    return "\n".join(lines) + "\n"


def queue_name(ctx: ExecContext, i: int) -> str:
    nic = ctx.node.nic
    return {
        "virtio_net": f"virtio0-input.{i}",
        "mlx5_core": f"mlx5_comp{i}@pci:0000:41:00.0",
        "ice": f"ice-{nic.name}-TxRx-{i}",
    }.get(nic.driver, f"{nic.name}-rx-{i}")


def _interrupts(ctx: ExecContext) -> str:
    cpus = ctx.node.cpus
    header = "     " + "".join(f"{'CPU' + str(c):>11}" for c in range(cpus))
    rows = [header]
    for i in range(node_view.queues(ctx)):
        counts = "".join(f"{(1_000_003 * (i + 1) if c == i % cpus else 0):>11}" for c in range(cpus))
        rows.append(f"{IRQ_BASE + i:>4}:{counts}  PCI-MSI {524289 + i}-edge      {queue_name(ctx, i)}")
    rows.append(f" NMI:{''.join(f'{0:>11}' for _ in range(cpus))}   Non-maskable interrupts")
    return "\n".join(rows) + "\n"


def _affinity(ctx: ExecContext, queue: int) -> str:
    """A pinned IRQ keeps its CPUs; irqbalance spreads queues one per CPU; else they stay on all CPUs."""
    cpus = ctx.node.cpus
    if pinned := ctx.node.host.get(f"irq.{IRQ_BASE + queue}"):
        return pinned + "\n"
    if ctx.node.host.get("irqbalance") == "active" or ctx.node.host.get("irq_affinity") == "pinned":
        return f"{queue % cpus}\n"
    return f"0-{cpus - 1}\n"
