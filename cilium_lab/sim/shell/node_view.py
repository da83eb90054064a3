"""What a command inside an emulated pod sees of its node: shared helpers of the shell's commands.

A hostNetwork pod (the Cilium agent) sees the node's NIC, addresses and sysctls; any
other pod sees its own eth0 in its own network namespace. Kernel, CPUs and /proc are the node's
for every pod, as on a real node.
"""

from __future__ import annotations

from cilium_lab.sim.agent.datapath import Datapath
from cilium_lab.sim.agent.runtime import ExecContext, ExecResult
from cilium_lab.sim.state.host_settings import HostWriteError

MACHINE = {"amd64": "x86_64", "arm64": "aarch64"}


def host_network(ctx: ExecContext) -> bool:
    return bool((ctx.pod.get("spec") or {}).get("hostNetwork"))


def privileged(ctx: ExecContext) -> bool:
    """The exec's container runs with securityContext.privileged."""
    spec = ctx.pod.get("spec") or {}
    for container in spec.get("containers", []) + spec.get("initContainers", []):
        if container.get("name") == ctx.container:
            return bool((container.get("securityContext") or {}).get("privileged"))
    return False


def host_pid(ctx: ExecContext) -> bool:
    return bool((ctx.pod.get("spec") or {}).get("hostPID"))


def datapath(ctx: ExecContext) -> Datapath | None:
    """The node's running datapath, or None while its agent is not running."""
    return ctx.boot.datapath if ctx.boot is not None and ctx.boot.ok else None


def hostname(ctx: ExecContext) -> str:
    if host_network(ctx):
        return ctx.node.name
    return str((ctx.pod.get("metadata") or {}).get("name") or ctx.node.name)


def machine(ctx: ExecContext) -> str:
    return MACHINE.get(ctx.node.arch, ctx.node.arch)


def image(ctx: ExecContext) -> str:
    """The image of the container the command runs in ("" when the pod spec does not say)."""
    spec = ctx.pod.get("spec") or {}
    for container in spec.get("containers", []) + spec.get("initContainers", []):
        if container.get("name") == ctx.container:
            return str(container.get("image", ""))
    return ""


def queues(ctx: ExecContext) -> int:
    """NIC queue count: one per CPU up to the driver's usual limit (assumption: 8 for virtio and boards)."""
    limit = 64 if ctx.node.nic.driver in ("mlx5_core", "ice", "i40e") else 8
    return max(1, min(ctx.node.cpus, limit))


def change_host(ctx: ExecContext, changes: dict[str, str]) -> str | None:
    """Change the node's host settings; None when done, else the reason (strerror) it failed."""
    if ctx.write_host is None:
        return "Read-only file system"
    try:
        ctx.node = ctx.write_host(changes)
    except HostWriteError:
        return "Input/output error"
    return None


def ok(text: str = "") -> ExecResult:
    return ExecResult(stdout=text)


def fail(text: str, code: int = 1) -> ExecResult:
    return ExecResult(stderr=text if text.endswith("\n") else text + "\n", code=code)
