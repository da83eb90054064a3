"""Host tuning commands in emulated pods and on the host: nsenter, tuned-adm, systemctl.

`nsenter` gets the shell's runner to run its command. Changes go through `ExecContext.write_host`
(state in `state.host_settings`). Reads work wherever the tool exists (the agent image answers
`tuned-adm active` and `systemctl is-active` as the host would: see `dispatch`). Changes need the host:
`nsenter -t 1 -m ... -- CMD` from a pod that is privileged and hostPID runs CMD with
`ExecContext.on_host`; from any other pod nsenter fails as util-linux's does without the
privilege ("cannot open /proc/1/ns/mnt: Permission denied"), and systemctl/tuned-adm changes fail as they do
in a container without systemd or D-Bus.

Messages are the tools' own where known; tuned-adm's unknown-profile text is from memory of tuned 2.x
(unverified).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from cilium_lab.sim.agent.runtime import ExecContext, ExecResult
from cilium_lab.sim.shell import node_files, node_view
from cilium_lab.sim.shell.node_view import fail, ok

Runner = Callable[[ExecContext, list[str]], ExecResult]
NAMESPACE_FLAGS = {"m": "mnt", "u": "uts", "i": "ipc", "n": "net", "p": "pid", "U": "user", "C": "cgroup"}
LONG_FLAGS = {
    "--mount": "m",
    "--uts": "u",
    "--ipc": "i",
    "--net": "n",
    "--pid": "p",
    "--user": "U",
    "--cgroup": "C",
}
NO_SYSTEMD = (
    "System has not been booted with systemd as init system (PID 1). Can't operate.\n"
    "Failed to connect to bus: Host is down"
)
NO_TUNED_DAEMON = "Cannot talk to TuneD daemon via DBus.\nIs TuneD daemon running?"
TUNED_PROFILES = (
    "accelerator-performance",
    "balanced",
    "desktop",
    "hpc-compute",
    "latency-performance",
    "network-latency",
    "network-throughput",
    "powersave",
    "throughput-performance",
    "virtual-guest",
    "virtual-host",
)  # the profiles tuned 2.x ships (tuned-adm list)


# nsenter ----------------------------------------------------------------------------------------------
def nsenter(ctx: ExecContext, argv: list[str], run: Runner) -> ExecResult:
    """`nsenter -t 1 -m -u -i -n -p -- CMD`: CMD in the host's namespaces, for a privileged hostPID pod."""
    target, spaces, command = _nsenter_args(argv[1:])
    if target is None:
        return fail("nsenter: neither filename nor target pid supplied for ns/mnt")
    if not (node_view.privileged(ctx) and node_view.host_pid(ctx)) or target != "1":
        first = NAMESPACE_FLAGS[spaces[0]] if spaces else "mnt"
        why = "Permission denied" if target == "1" else "No such file or directory"
        return fail(f"nsenter: cannot open /proc/{target}/ns/{first}: {why}")
    if not command:
        return ExecResult()  # an interactive shell with no terminal reads EOF and exits
    return run(dataclasses.replace(ctx, on_host=ctx.on_host or "m" in spaces), command)


def _nsenter_args(args: list[str]) -> tuple[str | None, list[str], list[str]]:
    target, spaces = None, []
    while args and args[0].startswith("-"):
        arg = args.pop(0)
        if arg == "--":
            break
        if arg in ("-t", "--target") and args:
            target = args.pop(0)
        elif arg.startswith("--target="):
            target = arg.split("=", 1)[1]
        elif arg in ("-a", "--all"):
            spaces += list(NAMESPACE_FLAGS)
        elif arg in LONG_FLAGS:
            spaces.append(LONG_FLAGS[arg])
        elif arg.startswith("-t"):
            target = arg[2:]
        else:
            spaces += [c for c in arg[1:] if c in NAMESPACE_FLAGS]
    return target, spaces, args


# tuned-adm --------------------------------------------------------------------------------------------
def tuned_adm(ctx: ExecContext, argv: list[str], stdin: str) -> ExecResult:
    host = ctx.node.host
    if not tuned_installed(host):
        return fail("sh: 1: tuned-adm: not found", 127)
    profile, sub = host.get("tuned_profile", "none"), argv[1:2]
    if sub == ["active"]:
        return ok(
            "No current active profile.\n" if profile == "none" else f"Current active profile: {profile}\n"
        )
    if sub == ["recommend"]:
        return ok(recommended(ctx) + "\n")
    if sub == ["list"]:
        lines = "".join(f"- {p}\n" for p in TUNED_PROFILES)
        return ok(f"Available profiles:\n{lines}Current active profile: {profile}\n")
    if sub not in (["profile"], ["off"]) or (sub == ["profile"] and len(argv) != 3):
        return fail("tuned-adm: only `tuned-adm active|list|recommend|off|profile NAME` is emulated", 1)
    if not ctx.on_host or ctx.write_host is None or host.get("tuned_service") == "inactive":
        return fail(NO_TUNED_DAEMON)
    wanted = argv[2] if sub == ["profile"] else "none"
    if wanted not in (*TUNED_PROFILES, "none"):
        where = "['/etc/tuned', '/usr/lib/tuned']"
        return fail(
            f"Unable to switch profile: Cannot load profile(s) '{wanted}': Cannot find profile '{wanted}' in '{where}'."
        )
    if why := node_view.change_host(ctx, {"tuned_profile": wanted}):
        return fail(f"Unable to switch profile: {why}")
    return ExecResult()


def tuned_installed(host: dict[str, str]) -> bool:
    """Profiles may leave `tuned_installed` out: then an active profile means tuned is there."""
    return (
        host.get("tuned_installed", "true" if host.get("tuned_profile", "none") != "none" else "false")
        == "true"
    )


def recommended(ctx: ExecContext) -> str:
    return "balanced" if ctx.node.host.get("cpufreq") == "true" else "virtual-guest"


# systemctl --------------------------------------------------------------------------------------------
def systemctl(ctx: ExecContext, argv: list[str], stdin: str) -> ExecResult:
    args = [a for a in argv[1:] if a not in ("--now", "-q", "--quiet")]
    now = "--now" in argv
    if len(args) != 2:
        return fail(
            "systemctl: only `systemctl is-active|is-enabled|start|stop|enable|disable UNIT` is emulated"
        )
    verb, unit = args[0], args[1].removesuffix(".service")
    active, enabled = _unit_state(ctx, unit)
    if verb == "is-active":
        return ExecResult(stdout=active + "\n", code=0 if active == "active" else 3)
    if verb == "is-enabled":
        return ExecResult(stdout=enabled + "\n", code=0 if enabled == "enabled" else 1)
    if verb not in ("start", "stop", "restart", "enable", "disable"):
        return fail(f"systemctl: verb {verb!r} is not emulated")
    if not ctx.on_host or ctx.write_host is None:
        return fail(NO_SYSTEMD)
    if unit not in ("irqbalance", "tuned") or (unit == "tuned" and enabled == "not-found"):
        return fail(f"Failed to {verb} {unit}.service: Unit {unit}.service not loaded.", 5)
    changes = _unit_changes(unit, verb, now)
    if unit == "irqbalance" and active == "active" and changes.get("irqbalance") == "inactive":
        changes.update(_frozen_affinity(ctx))
    if why := node_view.change_host(ctx, changes):
        return fail(f"Failed to {verb} {unit}.service: {why}")
    return ExecResult(stderr=_symlink_note(unit, verb))


def _frozen_affinity(ctx: ExecContext) -> dict[str, str]:
    """irqbalance leaves each IRQ where it last put it when it stops: those become pinned values."""
    files = node_files.paths(ctx)
    irqs = [p for p in files if p.startswith("/proc/irq/") and p.endswith("/smp_affinity_list")]
    return {
        f"irq.{p.split('/')[3]}": (node_files.read(ctx, p) or "").strip()
        for p in irqs
        if not ctx.node.host.get(f"irq.{p.split('/')[3]}")
    }


def _unit_state(ctx: ExecContext, unit: str) -> tuple[str, str]:
    host = ctx.node.host
    if unit == "irqbalance":
        return host.get("irqbalance", "inactive"), host.get("irqbalance_enabled", "disabled")
    if unit == "tuned":
        if not tuned_installed(host):
            return "inactive", "not-found"
        return host.get("tuned_service", "active"), host.get("tuned_enabled", "enabled")
    if unit == "kubelet":
        return "active", "enabled"
    return "inactive", "not-found"


def _unit_changes(unit: str, verb: str, now: bool) -> dict[str, str]:
    active_key, enabled_key = (
        ("irqbalance", "irqbalance_enabled") if unit == "irqbalance" else ("tuned_service", "tuned_enabled")
    )
    changes = {}
    if verb in ("enable", "disable"):
        changes[enabled_key] = verb + "d"
    if verb in ("start", "restart") or (verb == "enable" and now):
        changes[active_key] = "active"
    if verb == "stop" or (verb == "disable" and now):
        changes[active_key] = "inactive"
    return changes


def _symlink_note(unit: str, verb: str) -> str:
    link = f"/etc/systemd/system/multi-user.target.wants/{unit}.service"
    if verb == "enable":
        return f"Created symlink {link} \u2192 /lib/systemd/system/{unit}.service.\n"
    return f'Removed "{link}".\n' if verb == "disable" else ""


COMMANDS = {
    "tuned-adm": tuned_adm,
    "systemctl": systemctl,
}
