"""The only values lab 15 and restore-host put into a node's root shell, each checked against a full-match pattern.

Every value that reaches a command (a tuned profile, a CPU governor, a CPU list, an IRQ number, a NIC name, a
CPU count) comes from a lab parameter, a host backup file or what a node answered; each is checked here with
`re.fullmatch` (a `$` would admit a trailing newline) over ASCII classes (`str.isdigit()` takes "²"), with a
length bound, and is then quoted with `shlex.quote` where a command is built. `check` raises the caller's
error class with one line that names what was wrong, the value shown cut short.
"""

from __future__ import annotations

import re
import shlex

from cilium_lab.errors import LabError

# tuned profile names are directory names under /usr/lib/tuned (network-latency, throughput-performance, ...)
PROFILE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
# cpufreq governors: performance, powersave, schedutil, ondemand, conservative, userspace
GOVERNOR = re.compile(r"[a-z][a-z0-9_]{0,31}")
# a cpulist as /proc/irq/N/smp_affinity_list prints and takes it (Documentation/core-api/irq/irq-affinity.rst)
CPU_LIST = re.compile(r"[0-9]{1,4}(-[0-9]{1,4})?(,[0-9]{1,4}(-[0-9]{1,4})?){0,255}")
NUMBER = re.compile(r"[0-9]{1,6}")  # an IRQ number or a CPU count
# a Linux interface name: < IFNAMSIZ (16) bytes, no '/', ':' or space (net/core/dev.c dev_valid_name);
# narrowed to the characters real NIC names use (eth0, ens5, enp0s3, bond0.100, lan_1)
DEVICE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,14}")
# what `systemctl is-active` / `is-enabled` print (active, inactive, failed, enabled, disabled, masked, ...)
UNIT_STATE = re.compile(r"[a-z][a-z-]{0,31}")

KINDS = {
    "tuned profile": PROFILE,
    "CPU governor": GOVERNOR,
    "CPU list": CPU_LIST,
    "IRQ number": NUMBER,
    "CPU count": NUMBER,
    "NIC name": DEVICE,
    "systemd unit state": UNIT_STATE,
}


def shown(value: object) -> str:
    """A value as an error line shows it: repr (newlines escaped), cut at 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def valid(kind: str, value: object) -> bool:
    return isinstance(value, str) and KINDS[kind].fullmatch(value) is not None


def check(kind: str, value: object, error: type[LabError], where: str) -> str:
    """`value` if it is a valid `kind`; else `error` with one line saying where it came from."""
    if not valid(kind, value):
        raise error(f"{where}: {shown(value)} is not a {kind}; nothing was sent to the node")
    return str(value)


def quoted(kind: str, value: object, error: type[LabError], where: str) -> str:
    """Checked, then quoted for a shell word."""
    return shlex.quote(check(kind, value, error, where))
