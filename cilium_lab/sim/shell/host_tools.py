"""Host tools in emulated pods and on the host: cpupower, apt-get (tuned only), tee, nproc.

Writes to the cpufreq and IRQ files go through `node_files`; whether tuned is installed and its
recommended profile come from `host_commands`. cpupower
and apt-get exist only on the host (after nsenter); tee and nproc in every image (coreutils).

Decided here (documented for lab 15): `apt-get install -y tuned` installs tuned on the host and
tuned starts with its recommended profile (virtual-guest where the node has no cpufreq, as a VM,
else balanced), as Debian's package does; `apt-get remove` takes it away again. Other packages are
unknown.
"""

from __future__ import annotations

from cilium_lab.sim.agent.runtime import ExecContext, ExecResult
from cilium_lab.sim.shell import host_commands, node_files, node_view
from cilium_lab.sim.shell.node_view import fail, ok

CPUPOWER_ERROR = (
    "Error setting new values. Common errors:\n"
    "- Do you have proper administration rights? (super-user?)\n"
    "- Is the governor you requested available and modprobed?\n"
    "- Trying to set an invalid policy?\n"
    "- Trying to set a specific frequency, but userspace governor is not available,\n"
    "   for example because of hardware which cannot be set to a specific frequency\n"
    "   or because the userspace governor isn't loaded?\n"
)  # tools/power/cpupower/utils/cpufreq-set.c print_error; exit 237 (-ENODEV) where cpufreq is missing


# cpupower ---------------------------------------------------------------------------------------------
def cpupower(ctx: ExecContext, argv: list[str], stdin: str) -> ExecResult:
    args = argv[1:]
    if len(args) != 3 or args[0] != "frequency-set" or args[1] not in ("-g", "--governor"):
        return fail("cpupower: only `cpupower frequency-set -g GOVERNOR` is emulated")
    governor, out = args[2], []
    for cpu in range(ctx.node.cpus):
        out.append(f"Setting cpu: {cpu}\n")
        why = node_files.write(ctx, node_files.CPUFREQ.format(cpu), governor + "\n")
        if why:
            code = 237 if why == "Directory nonexistent" else 234  # -ENODEV, -EINVAL
            return ExecResult(stdout="".join(out), stderr=CPUPOWER_ERROR, code=code)
    return ok("".join(out))


# apt-get ----------------------------------------------------------------------------------------------
def apt_get(ctx: ExecContext, argv: list[str], stdin: str) -> ExecResult:
    flags = {a for a in argv[1:] if a.startswith("-")}
    words = [a for a in argv[1:] if not a.startswith("-")]
    if words[:1] == ["update"]:
        return ok("Reading package lists... Done\n")
    if len(words) < 2 or words[0] not in ("install", "remove", "purge"):
        return fail("E: only `apt-get update|install|remove|purge -y PACKAGE` is emulated", 100)
    unknown = [p for p in words[1:] if p != "tuned"]
    if unknown:
        return fail(f"E: Unable to locate package {unknown[0]}", 100)
    if ctx.write_host is None or not ctx.on_host:
        return fail(
            "E: Could not open lock file /var/lib/dpkg/lock-frontend - open (30: Read-only file system)", 100
        )
    installed = host_commands.tuned_installed(ctx.node.host)
    header = "Reading package lists...\nBuilding dependency tree...\nReading state information...\n"
    if (words[0] == "install") == installed:
        state = (
            "tuned is already the newest version (2.19.0-1).\n"
            if installed
            else "Package 'tuned' is not installed, so not removed\n"
        )
        return ok(header + state + "0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n")
    if not flags & {"-y", "--yes", "--assume-yes", "-qq"}:
        return ExecResult(stdout=header + "Do you want to continue? [Y/n] Abort.\n", code=1)
    install = words[0] == "install"
    changes = {"tuned_installed": "true", "tuned_service": "active", "tuned_enabled": "enabled"}
    changes = (
        {**changes, "tuned_profile": host_commands.recommended(ctx)}
        if install
        else {**dict.fromkeys(changes, ""), "tuned_installed": "false", "tuned_profile": "none"}
    )
    if why := node_view.change_host(ctx, changes):
        return fail(f"E: Sub-process /usr/bin/dpkg returned an error code (1): {why}", 100)
    if install:
        return ok(
            header
            + "The following NEW packages will be installed:\n  tuned\nSetting up tuned (2.19.0-1) ...\n"
        )
    return ok(header + "The following packages will be REMOVED:\n  tuned\nRemoving tuned (2.19.0-1) ...\n")


# coreutils --------------------------------------------------------------------------------------------
def tee(ctx: ExecContext, argv: list[str], stdin: str) -> ExecResult:
    files = [a for a in argv[1:] if a not in ("-a", "--append")]
    errors = []
    for path in files:
        why = node_files.write(ctx, path, stdin)
        if why:
            why = "No such file or directory" if why == "Directory nonexistent" else why
            errors.append(f"tee: {path}: {why}\n")
    return ExecResult(stdout=stdin, stderr="".join(errors), code=1 if errors else 0)


def nproc(ctx: ExecContext, argv: list[str], stdin: str) -> ExecResult:
    return ok(f"{ctx.node.cpus}\n")


COMMANDS = {"cpupower": cpupower, "apt-get": apt_get, "tee": tee, "nproc": nproc}
