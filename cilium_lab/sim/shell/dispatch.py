"""Commands run inside emulated pods (`kubectl exec`): the entry point and the command table.

`run` takes an `ExecContext` and the argv. Which commands exist depends on the container's image, as
on a real cluster:
  - the Cilium agent image (quay.io/cilium/cilium): `cilium` (up to 1.14) or `cilium-dbg` (1.15+),
    ip, iptables, iptables-save, sysctl, uname, ethtool, cat/grep/wc/head/tail, hostname, date, and
    host tools the labs ask about (tuned-adm where the node has tuned, systemctl), answered as the
    host would since the agent runs with hostNetwork and the host's view (a simplification);
  - the benchmark image (quay.io/cilium/network-perf): netperf, netserver, iperf3, uname, ip and the
    text tools;
  - any other image: the text tools, uname, ip, sysctl;
  - every image: tee, nproc (coreutils) and nsenter (util-linux); the agent image has nsenter too.
`nsenter -t 1 -m ... -- CMD` in a privileged hostPID pod runs CMD on the host (`host_commands`):
there the host's tools exist (tuned-adm only where tuned is installed, systemctl, cpupower, apt-get)
and host settings can change.
`sh -c`/`bash -c` scripts go to `sh_interpreter`. An unknown command fails as sh does
(`sh: 1: <cmd>: not found`, exit 127).

netperf/netserver/iperf3 go to `netperf_emu.run(ctx, argv, concurrent=N)`, where `concurrent` is the
number of perf-tool processes running at the same time: N for each of N jobs started with `&` before
one `wait`, 1 for a command run on its own.
"""

from __future__ import annotations

from collections.abc import Callable

from cilium_lab.sim.agent.runtime import ExecContext, ExecResult
from cilium_lab.sim.shell import (
    cilium_commands,
    host_commands,
    host_tools,
    net_commands,
    netperf_emu,
    node_commands,
    node_files,
    sh_interpreter,
    text_tools,
)
from cilium_lab.sim.shell.node_view import fail, image

Handler = Callable[[ExecContext, list[str], str], ExecResult]
TEXT_TOOLS = frozenset(text_tools.COMMANDS) | {"tee", "nproc"}
PERF_TOOLS = frozenset({"netperf", "netserver", "iperf3"})
AGENT_TOOLS = TEXT_TOOLS | {
    "ip",
    "iptables",
    "iptables-save",
    "sysctl",
    "uname",
    "ethtool",
    "tuned-adm",
    "systemctl",
    "nsenter",
}
BENCH_TOOLS = TEXT_TOOLS | PERF_TOOLS | {"uname", "ip"}
OTHER_TOOLS = TEXT_TOOLS | {"uname", "ip", "sysctl", "nsenter"}
HOST_TOOLS = TEXT_TOOLS | {"uname", "ip", "iptables", "iptables-save", "sysctl", "ethtool", "systemctl"}
HOST_TOOLS |= {"cpupower", "apt-get", "nsenter"}
HANDLERS: dict[str, Handler] = {
    **text_tools.COMMANDS,
    **node_commands.COMMANDS,
    **host_commands.COMMANDS,
    **host_tools.COMMANDS,
    **net_commands.COMMANDS,
    **cilium_commands.COMMANDS,
}


def run(ctx: ExecContext, argv: list[str], stdin: str = "") -> ExecResult:
    """Run `argv` in the pod of `ctx` (with `stdin`, read to its end) and return what the process printed
    and its exit code."""
    if not argv:
        return fail("exec: no command given", 126)
    return _run(ctx, argv, stdin, 1)


def _run(ctx: ExecContext, argv: list[str], stdin: str, concurrent: int) -> ExecResult:
    name = argv[0].rsplit("/", 1)[-1]
    if name in ("sh", "bash"):
        return _shell(ctx, name, argv[1:])
    if name not in available(ctx):
        return fail(f"sh: 1: {name}: not found", 127)
    if name in PERF_TOOLS:
        return netperf_emu.run(ctx, argv, concurrent=concurrent)
    if name == "nsenter":
        return host_commands.nsenter(ctx, argv, lambda c, cmd: _entered(c, cmd, stdin, concurrent))
    return HANDLERS[name](ctx, argv, stdin)


def _entered(ctx: ExecContext, argv: list[str], stdin: str, concurrent: int) -> ExecResult:
    """The command nsenter executes: a missing program is nsenter's own error, not the shell's."""
    name = argv[0].rsplit("/", 1)[-1]
    if name not in ("sh", "bash") and name not in available(ctx):
        return fail(f"nsenter: failed to execute {argv[0]}: No such file or directory", 127)
    return _run(ctx, argv, stdin, concurrent)


def available(ctx: ExecContext) -> frozenset[str]:
    """The commands the container's image has (the host's, after nsenter)."""
    if ctx.on_host:
        return HOST_TOOLS | ({"tuned-adm"} if host_commands.tuned_installed(ctx.node.host) else set())
    ref = image(ctx)
    if "network-perf" in ref or "netperf" in ref:
        return BENCH_TOOLS
    if "cilium/cilium:" in ref or ref.endswith("cilium/cilium") or "cilium/cilium@" in ref:
        binary = "cilium-dbg" if cilium_commands.binary_exists(ctx, "cilium-dbg") else "cilium"
        return AGENT_TOOLS | {binary}
    return OTHER_TOOLS


def _shell(ctx: ExecContext, name: str, args: list[str]) -> ExecResult:
    if len(args) < 2 or args[0] != "-c":
        target = args[0] if args else ""
        return fail(f"{name}: 0: cannot open {target}: No such file", 2)

    def runner(c: ExecContext, argv: list[str], stdin: str, concurrent: int) -> ExecResult:
        return _run(c, argv, stdin, concurrent)

    return sh_interpreter.run_script(ctx, args[1], runner, lambda: node_files.paths(ctx), node_files.write)
