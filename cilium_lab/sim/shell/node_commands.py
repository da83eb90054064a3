"""Host facts in emulated pods: uname, sysctl, ethtool (tuned-adm, systemctl: `sim.shell.host_commands`).

Values come from the NodeProfile (kernel, arch, NIC) and from the node's running datapath where Cilium changes
them: Bandwidth Manager sets fq as default qdisc and server-grade sysctls, BBR sets the congestion control
(reference A.1 rows 10-11). Simplifications: sysctl writes are refused (the emulator does not model host
changes); a sysctl not listed here does not exist.
"""

from __future__ import annotations

from cilium_lab.sim.agent.runtime import ExecContext, ExecResult
from cilium_lab.sim.shell import node_view
from cilium_lab.sim.shell.node_view import fail, ok

UNAME_FLAGS = {
    "-s": "s",
    "-n": "n",
    "-r": "r",
    "-v": "v",
    "-m": "m",
    "-p": "m",
    "-i": "m",
    "-o": "o",
    "-a": "a",
}


def uname(ctx: ExecContext, argv: list[str], stdin: str) -> ExecResult:
    wanted = ""
    for arg in argv[1:] or ["-s"]:
        if arg in ("--all",):
            arg = "-a"
        if not arg.startswith("-") or any(f"-{c}" not in UNAME_FLAGS for c in arg[1:]):
            bad = arg if not arg.startswith("-") else next(c for c in arg[1:] if f"-{c}" not in UNAME_FLAGS)
            what = f"extra operand '{bad}'" if not arg.startswith("-") else f"invalid option -- '{bad}'"
            return fail(f"uname: {what}\nTry 'uname --help' for more information.")
        wanted += "".join(UNAME_FLAGS[f"-{c}"] for c in arg[1:])
    node, m = ctx.node, node_view.machine(ctx)
    fields = {
        "s": "Linux",
        "n": node_view.hostname(ctx),
        "r": node.kernel,
        "v": node.kernel_build,
        "o": "GNU/Linux",
    }
    if "a" in wanted:
        return ok(f"Linux {fields['n']} {node.kernel} {node.kernel_build} {m} {m} {m} GNU/Linux\n")
    order = [k for k in "snrvmo" if k in wanted]
    return ok(" ".join(fields.get(k, m) for k in order) + "\n")


def sysctls(ctx: ExecContext) -> dict[str, str]:
    """The sysctl values of the pod's view of the node."""
    dp = node_view.datapath(ctx)
    bwm = dp is not None and dp.bandwidth_manager
    bbr = dp is not None and dp.congestion == "bbr"
    values = {
        "kernel.osrelease": ctx.node.kernel,
        "kernel.version": ctx.node.kernel_build,
        "kernel.hostname": node_view.hostname(ctx),
        "kernel.ostype": "Linux",
        "kernel.numa_balancing": "0",
        "kernel.sched_autogroup_enabled": "1",
        "net.core.default_qdisc": "fq" if bwm else "fq_codel",
        "net.core.rmem_max": "212992",
        "net.core.wmem_max": "212992",
        "net.core.rmem_default": "212992",
        "net.core.wmem_default": "212992",
        "net.core.somaxconn": "4096",
        "net.core.netdev_max_backlog": "1000",
        "net.core.busy_poll": "0",
        "net.core.busy_read": "0",
        "net.ipv4.tcp_congestion_control": "bbr" if bbr else "cubic",
        "net.ipv4.tcp_available_congestion_control": "reno cubic bbr" if bbr else "reno cubic",
        "net.ipv4.tcp_max_syn_backlog": "4096" if bwm else "1024",
        "net.ipv4.tcp_rmem": "4096\t131072\t6291456",
        "net.ipv4.tcp_wmem": "4096\t16384\t4194304",
        "net.ipv4.tcp_slow_start_after_idle": "1",
        "net.ipv4.ip_local_port_range": "32768\t60999",
        "net.ipv4.ip_forward": "1",
        "net.netfilter.nf_conntrack_max": str(max(65536, ctx.node.memory_gib * 32768)),
    }
    return values


def sysctl(ctx: ExecContext, argv: list[str], stdin: str) -> ExecResult:
    args, value_only = argv[1:], False
    while args and args[0] in ("-n", "-e", "-q"):
        value_only |= args[0] == "-n"
        args = args[1:]
    if not args or (args[0].startswith("-") and args[0] not in ("-w",)):
        return fail("sysctl: unsupported invocation in the emulator: use sysctl [-n] KEY...", 255)
    if args[0] == "-w" or any("=" in a for a in args):
        key = args[-1].split("=")[0]
        return fail(f'sysctl: setting key "{key}": Read-only file system', 255)
    values, out, err = sysctls(ctx), [], []
    for key in args:
        key = key.replace("/", ".")
        if key not in values:
            err.append(f"sysctl: cannot stat /proc/sys/{key.replace('.', '/')}: No such file or directory\n")
        else:
            out.append(values[key] + "\n" if value_only else f"{key} = {values[key]}\n")
    return ExecResult(stdout="".join(out), stderr="".join(err), code=255 if err else 0)


def ethtool(ctx: ExecContext, argv: list[str], stdin: str) -> ExecResult:
    if len(argv) != 3 or argv[1] not in ("-i", "-k", "--driver", "--show-features"):
        return fail("ethtool: bad command line argument(s)\nFor more information run ethtool -h", 1)
    nic = ctx.node.nic
    if argv[2] != _device_name(ctx):
        what = "driver information" if argv[1] in ("-i", "--driver") else "device feature info"
        return fail(f"Cannot get {what}: No such device", 71)
    if argv[1] in ("-i", "--driver"):
        driver = nic.driver if node_view.host_network(ctx) else "veth"
        return ok(_driver_info(driver))
    return ok(_features(ctx))


def _device_name(ctx: ExecContext) -> str:
    return ctx.node.nic.name if node_view.host_network(ctx) else "eth0"


def _driver_info(driver: str) -> str:
    bus = "" if driver == "veth" else "0000:41:00.0"
    return (
        f"driver: {driver}\nversion: {'1.0' if driver == 'veth' else '6.8.0'}\nfirmware-version: \n"
        f"expansion-rom-version: \nbus-info: {bus}\nsupports-statistics: yes\nsupports-test: no\n"
        "supports-eeprom-access: no\nsupports-register-dump: no\nsupports-priv-flags: no\n"
    )


def _features(ctx: ExecContext) -> str:
    rows = [
        ("rx-checksumming", "on"),
        ("tx-checksumming", "on"),
        ("scatter-gather", "on"),
        ("tcp-segmentation-offload", "on"),
        ("generic-segmentation-offload", "on"),
        ("generic-receive-offload", "on"),
        ("large-receive-offload", "off [fixed]"),
        ("rx-vlan-offload", "off [fixed]"),
        ("receive-hashing", "on" if ctx.node.nic.driver in ("mlx5_core", "ice") else "off [fixed]"),
    ]
    return f"Features for {_device_name(ctx)}:\n" + "".join(f"{k}: {v}\n" for k, v in rows)


COMMANDS = {
    "uname": uname,
    "sysctl": sysctl,
    "ethtool": ethtool,
}
