"""The files a command may read on an emulated node: /proc, /sys cpufreq, /proc/irq, /boot/config-*.

Called by `sim.shell_text` (cat, grep FILE) and `sim.shell_interp` (glob expansion). Calls
`sim.shell_view`. Contents are generated from the NodeProfile (kernel, CPUs, NIC, `host` settings);
a path not generated here does not exist. Simplifications: /boot is visible from the pod (as with a
hostPath mount); only the preemption lines of the kernel config exist; interrupt counters are
constants; cpufreq files exist only where the profile says `cpufreq: "true"` (VMs often have none).
"""

from __future__ import annotations

from collections.abc import Callable

from cilium_lab.sim import shell_view
from cilium_lab.sim.runtime import ExecContext

CPUFREQ = "/sys/devices/system/cpu/cpu{}/cpufreq/scaling_governor"
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
        "/etc/hostname": lambda: shell_view.hostname(ctx) + "\n",
        f"/boot/config-{node.kernel}": lambda: _kernel_config(ctx),
        "/sys/kernel/mm/transparent_hugepage/enabled": lambda: "always [madvise] never\n",
    }
    if node.host.get("cpufreq", "false") == "true":
        governor = node.host.get("governor", "ondemand")
        for cpu in range(node.cpus):
            files[CPUFREQ.format(cpu)] = lambda g=governor: g + "\n"
    for i in range(shell_view.queues(ctx)):
        files[f"/proc/irq/{IRQ_BASE + i}/smp_affinity_list"] = lambda i=i: _affinity(ctx, i)
    return files


def _proc_version(ctx: ExecContext) -> str:
    node = ctx.node
    builder = "buildd@lcy02-amd64-045" if "Ubuntu" in node.kernel_build else "debian-kernel@lists.debian.org"
    return f"Linux version {node.kernel} ({builder}) (gcc (GCC) 12.2.0, GNU ld 2.40) {node.kernel_build}\n"


def _kernel_config(ctx: ExecContext) -> str:
    lines = [
        "#",
        f"# Automatically generated file; DO NOT EDIT. Linux/{shell_view.machine(ctx)} {ctx.node.kernel}",
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
    for i in range(shell_view.queues(ctx)):
        counts = "".join(f"{(1_000_003 * (i + 1) if c == i % cpus else 0):>11}" for c in range(cpus))
        rows.append(f"{IRQ_BASE + i:>4}:{counts}  PCI-MSI {524289 + i}-edge      {queue_name(ctx, i)}")
    rows.append(f" NMI:{''.join(f'{0:>11}' for _ in range(cpus))}   Non-maskable interrupts")
    return "\n".join(rows) + "\n"


def _affinity(ctx: ExecContext, queue: int) -> str:
    """irqbalance spreads queues one per CPU; without it they stay on all CPUs unless pinned."""
    cpus = ctx.node.cpus
    if ctx.node.host.get("irqbalance") == "active" or ctx.node.host.get("irq_affinity") == "pinned":
        return f"{queue % cpus}\n"
    return f"0-{cpus - 1}\n"
