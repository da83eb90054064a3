"""Running commands for the local kernel lab: argv building and one checked `subprocess` wrapper.

Called by topology, knobs, probe and measure. Every command that touches networking is built with
`in_netns(...)` or `ip -n NAME ...`, so nothing here can run against the root namespace's interfaces,
routes or iptables unless a caller passes a bare argv (only read-only probes do that).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence

from cilium_lab.errors import LabError

PREFIX = "cl-"  # every namespace and interface the lab creates carries this prefix


class LocalLabError(LabError):
    """The local kernel lab could not set up, change or measure something on this host."""


class NotRoot(LocalLabError):
    """The local kernel lab needs root (network namespaces, iptables, tc)."""


class LocalLabBusy(LocalLabError):
    """Another local kernel lab run holds the host-wide lock."""


def in_netns(netns: str, argv: Sequence[str]) -> list[str]:
    """Return `argv` wrapped so that it runs inside network namespace `netns` (one of ours)."""
    if not netns.startswith(PREFIX):
        raise LocalLabError(
            f"refusing to run in namespace {netns!r}: the lab only uses '{PREFIX}*' namespaces"
        )
    return ["ip", "netns", "exec", netns, *argv]


NICE = -10  # measurement processes outrank other work on a shared host (fewer preemptions mid-sample)


def pinned(cpu: int | None, argv: Sequence[str]) -> list[str]:
    """Return `argv` at raised priority, under `taskset -c CPU` unless `cpu` is None."""
    niced = ["nice", "-n", str(NICE), *argv]
    return niced if cpu is None else ["taskset", "-c", str(cpu), *niced]


def run(argv: Sequence[str], *, timeout: float = 60, stdin: str | None = None, check: bool = True) -> str:
    """Run `argv`, return its stdout; raise LocalLabError with the command and its stderr on failure."""
    try:
        done = subprocess.run(
            list(argv), input=stdin, capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError as err:
        raise LocalLabError(
            f"{argv[0]} is not installed: install it (see `cilium-lab local --probe`)"
        ) from err
    except subprocess.TimeoutExpired as err:
        raise LocalLabError(f"`{' '.join(argv)}` did not finish within {timeout:g} s") from err
    if check and done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise LocalLabError(
            f"`{' '.join(argv)}` failed (exit {done.returncode}): {detail[-1] if detail else 'no output'}"
        )
    return done.stdout


def succeeds(argv: Sequence[str], *, timeout: float = 30) -> bool:
    """True when `argv` exits 0 (used by feature probes)."""
    try:
        return subprocess.run(list(argv), capture_output=True, timeout=timeout, check=False).returncode == 0
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return False


def have(tool: str) -> bool:
    """True when `tool` is on PATH (including the sbin directories root uses)."""
    return shutil.which(tool, path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") is not None
