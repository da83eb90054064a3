"""A CNI-like datapath built from network namespaces and veth pairs, and its guaranteed teardown.

Called by `locallab.knob_runs` (one fresh topology per knob) and by the root tests; calls `ip`, `sysctl`,
`netserver` through `locallab.shell`. Layout (all names start with `cl-`, all addresses exist only
inside these namespaces; the "nodes" are namespaces too, so the root namespace is never touched)::

    cl-a (10.200.1.2) --cl-lxca--+                                   +--cl-lxcc-- cl-c (10.200.3.2)
                                 cl-n1 --cl-ul (10.250.0.0/24)-- cl-n2
    cl-b (10.200.2.2) --cl-lxcb--+      [cl-vx0 VXLAN 10.251.0.0/24]

Pods A and B share node 1 (the same-node path most knobs use); pod C sits behind node 2 (the
cross-node path, native routing over the underlay or a VXLAN tunnel). Pods A and B also have IPv6
(fd00:1::2, fd00:2::2) for BIG TCP. Source of the recipe: /work/shared/reference/kernel-lab.md §1, §2.5.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType, TracebackType

from cilium_lab.locallab import shell
from cilium_lab.locallab.shell import PREFIX, LocalLabBusy, LocalLabError, NotRoot

NODE1, NODE2 = f"{PREFIX}n1", f"{PREFIX}n2"
POD_DEV = f"{PREFIX}eth0"
UNDERLAY_DEV, VXLAN_DEV = f"{PREFIX}ul", f"{PREFIX}vx0"
UNDERLAY_IP = {NODE1: "10.250.0.1", NODE2: "10.250.0.2"}
VXLAN_IP = {NODE1: "10.251.0.1", NODE2: "10.251.0.2"}
VXLAN_VNI, VXLAN_PORT = 42, 8472  # Cilium's VXLAN port
NETPERF_PINNED_PORT, NETPERF_FREE_PORT = 12865, 12866
SERVER_LIFETIME_S = 3600  # servers stop themselves even if teardown never runs
LOCK_PATH = "/run/lock/cilium-lab-local.lock"


@dataclass(frozen=True)
class Pod:
    """One pod namespace: its node, the host-side veth on that node, and its addresses."""

    netns: str
    node: str
    host_dev: str
    ipv4: str
    gw4: str
    ipv6: str = ""
    gw6: str = ""


POD_A = Pod(f"{PREFIX}a", NODE1, f"{PREFIX}lxca", "10.200.1.2", "10.200.1.1", "fd00:1::2", "fd00:1::1")
POD_B = Pod(f"{PREFIX}b", NODE1, f"{PREFIX}lxcb", "10.200.2.2", "10.200.2.1", "fd00:2::2", "fd00:2::1")
POD_C = Pod(f"{PREFIX}c", NODE2, f"{PREFIX}lxcc", "10.200.3.2", "10.200.3.1")
PODS = (POD_A, POD_B, POD_C)


def ip(netns: str, *args: str) -> list[str]:
    """`ip -n NETNS ...` for one of our namespaces."""
    if not netns.startswith(PREFIX):
        raise LocalLabError(f"refusing to touch namespace {netns!r}")
    return ["ip", "-n", netns, *args]


def run_ip(netns: str, *args: str) -> str:
    """Run `ip -n NETNS ...` in one of our namespaces."""
    return shell.run(ip(netns, *args))


def our_namespaces() -> list[str]:
    """Names of existing network namespaces carrying the lab's prefix (leftovers included)."""
    names = (line.split()[0] for line in shell.run(["ip", "netns", "list"]).splitlines() if line.strip())
    return [name for name in names if name.startswith(PREFIX)]


def remove_namespace(netns: str) -> None:
    """Kill the processes inside one of our namespaces (by PID), then delete the namespace."""
    pids = [int(p) for p in shell.run(["ip", "netns", "pids", netns], check=False).split()]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 1.0
        while pids and time.monotonic() < deadline:
            pids = [p for p in pids if os.path.exists(f"/proc/{p}")]
            time.sleep(0.02)
    shell.run(["ip", "netns", "del", netns], check=False)


def sweep() -> list[str]:
    """Remove every namespace with the lab's prefix; return their names. Deleting a namespace removes
    its veths, qdiscs, iptables rules and BPF attachments with it."""
    found = our_namespaces()
    for netns in found:
        remove_namespace(netns)
    return found


_lock_fd: int | None = None
_lock_depth = 0


@contextlib.contextmanager
def host_lock(wait_s: float = 120) -> Iterator[None]:
    """Hold the host-wide local-lab lock (re-entrant within this process): one lab run at a time, so
    a run's sweep never removes another run's namespaces and runs don't disturb each other's numbers."""
    global _lock_fd, _lock_depth
    if _lock_depth == 0:
        _lock_fd = _acquire(wait_s)
    _lock_depth += 1
    try:
        yield
    finally:
        _lock_depth -= 1
        if _lock_depth == 0 and _lock_fd is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(LOCK_PATH)  # while still holding it: a waiter on this inode then retries (_acquire)
            os.close(_lock_fd)  # closing releases the flock
            _lock_fd = None


def _acquire(wait_s: float) -> int:
    os.makedirs(os.path.dirname(LOCK_PATH), exist_ok=True)
    deadline = time.monotonic() + wait_s
    while True:
        fd = os.open(LOCK_PATH, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() >= deadline:
                raise LocalLabBusy(
                    f"another local lab run holds {LOCK_PATH}; wait for it to finish and retry"
                ) from None
            time.sleep(0.2)
            continue
        if _is_current(fd):
            return fd
        os.close(fd)  # the holder removed the file as it released it: lock the new one


def _is_current(fd: int) -> bool:
    """Whether `fd` is still the file at LOCK_PATH (the releasing holder unlinks it, so the lab
    leaves no lock file behind; a waiter that locked the old file must start again)."""
    try:
        return os.fstat(fd).st_ino == os.stat(LOCK_PATH).st_ino
    except FileNotFoundError:
        return False


def require_root() -> None:
    """Raise NotRoot unless this process is root."""
    if os.geteuid() != 0:
        raise NotRoot("the local kernel lab needs root (network namespaces, iptables, tc): run it as root")


class Topology:
    """Context manager: lock, sweep leftovers, build, and always tear down (error, ^C, SIGTERM)."""

    def __init__(self, *, cpu: int | None = None, lock_wait_s: float = 120) -> None:
        self.cpu = cpu if cpu is not None else max(0, (os.cpu_count() or 1) - 1)
        self.workdir = ""
        self._lock = host_lock(lock_wait_s)
        self._old_handlers: dict[int, object] = {}

    def __enter__(self) -> Topology:
        require_root()
        self._lock.__enter__()
        self._trap_signals()
        try:
            sweep()
            self.workdir = tempfile.mkdtemp(prefix=PREFIX)
            build()
            self._start_netservers()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, kind: type | None, err: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Tear everything down; safe to call twice."""
        try:
            sweep()
            if self.workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)
                self.workdir = ""
        finally:
            self._restore_signals()
            self._unlock()

    def _unlock(self) -> None:
        if self._lock is not None:
            lock, self._lock = self._lock, None
            lock.__exit__(None, None, None)

    def exec(self, netns: str, argv: list[str], *, timeout: float = 60, stdin: str | None = None) -> str:
        """Run `argv` inside one of our namespaces and return its stdout."""
        return shell.run(shell.in_netns(netns, argv), timeout=timeout, stdin=stdin)

    def start_server(self, netns: str, argv: list[str], port: int) -> None:
        """Start a self-stopping server in `netns` and wait until it listens on `port`."""
        cmd = shell.in_netns(netns, ["timeout", str(SERVER_LIFETIME_S), *argv])
        subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if shell.run(shell.in_netns(netns, ["ss", "-Hltn", f"sport = :{port}"]), check=False).strip():
                return
            time.sleep(0.05)
        raise LocalLabError(f"server `{' '.join(argv)}` in {netns} did not listen on port {port} within 5 s")

    def _start_netservers(self) -> None:
        # one pinned netserver (RR/CRR: client and server share a CPU) and one free one (streams)
        for pod in (POD_B, POD_C):
            for port, cpu in ((NETPERF_PINNED_PORT, self.cpu), (NETPERF_FREE_PORT, None)):
                self.start_server(pod.netns, shell.pinned(cpu, ["netserver", "-D", "-p", str(port)]), port)

    def _trap_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set from the main thread
        for sig in (signal.SIGTERM, signal.SIGHUP):
            self._old_handlers[sig] = signal.signal(sig, _raise_interrupt)

    def _restore_signals(self) -> None:
        for sig, handler in self._old_handlers.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._old_handlers.clear()


@contextlib.contextmanager
def interrupt_on_term() -> Iterator[None]:
    """SIGTERM and SIGHUP raise KeyboardInterrupt inside the block (main thread only), so teardown runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {sig: signal.signal(sig, _raise_interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    # turns SIGTERM/SIGHUP into KeyboardInterrupt so every `finally` (teardown) runs
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def build() -> None:
    """Create the namespaces, veths, underlay, VXLAN device, addresses, routes and sysctls."""
    for netns in (NODE1, NODE2, *(pod.netns for pod in PODS)):
        shell.run(["ip", "netns", "add", netns])
        shell.run(ip(netns, "link", "set", "lo", "up"))
    for node in (NODE1, NODE2):
        shell.run(shell.in_netns(node, ["sysctl", "-qw", "net.ipv4.ip_forward=1"]))
        shell.run(shell.in_netns(node, ["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"]))
    for pod in PODS:
        _attach_pod(pod)
    _build_underlay()


def _attach_pod(pod: Pod) -> None:
    shell.run(
        ip(pod.node, "link", "add", pod.host_dev, "type", "veth", "peer", "name", POD_DEV, "netns", pod.netns)
    )
    shell.run(ip(pod.node, "link", "set", pod.host_dev, "up"))
    shell.run(ip(pod.netns, "link", "set", POD_DEV, "up"))
    shell.run(ip(pod.node, "addr", "add", f"{pod.gw4}/24", "dev", pod.host_dev))
    shell.run(ip(pod.netns, "addr", "add", f"{pod.ipv4}/24", "dev", POD_DEV))
    shell.run(ip(pod.netns, "route", "add", "default", "via", pod.gw4))
    if pod.ipv6:
        shell.run(ip(pod.node, "addr", "add", f"{pod.gw6}/64", "dev", pod.host_dev, "nodad"))
        shell.run(ip(pod.netns, "addr", "add", f"{pod.ipv6}/64", "dev", POD_DEV, "nodad"))
        shell.run(ip(pod.netns, "-6", "route", "add", "default", "via", pod.gw6))
    # without these, TCP_CRR exhausts ports in TIME_WAIT and collapses (kernel-lab.md §2.5)
    shell.run(shell.in_netns(pod.netns, ["sysctl", "-qw", "net.ipv4.tcp_tw_reuse=1"]))
    shell.run(shell.in_netns(pod.netns, ["sysctl", "-qw", "net.ipv4.ip_local_port_range=10000 65000"]))


def _build_underlay() -> None:
    shell.run(
        ip(NODE1, "link", "add", UNDERLAY_DEV, "type", "veth", "peer", "name", UNDERLAY_DEV, "netns", NODE2)
    )
    for node in (NODE1, NODE2):
        shell.run(ip(node, "addr", "add", f"{UNDERLAY_IP[node]}/24", "dev", UNDERLAY_DEV))
        shell.run(ip(node, "link", "set", UNDERLAY_DEV, "up"))
    set_cross_node_routes(tunnel=False)


def add_vxlan() -> None:
    """Create the VXLAN device between the nodes (VNI 42, port 8472), as Cilium's tunnel mode does."""
    for node, peer in ((NODE1, NODE2), (NODE2, NODE1)):
        local, remote = UNDERLAY_IP[node], UNDERLAY_IP[peer]
        shell.run(
            ip(
                node,
                "link",
                "add",
                VXLAN_DEV,
                "type",
                "vxlan",
                "id",
                str(VXLAN_VNI),
                "local",
                local,
                "remote",
                remote,
                "dstport",
                str(VXLAN_PORT),
                "dev",
                UNDERLAY_DEV,
            )
        )
        shell.run(ip(node, "addr", "add", f"{VXLAN_IP[node]}/24", "dev", VXLAN_DEV))
        shell.run(ip(node, "link", "set", VXLAN_DEV, "up"))


def set_cross_node_routes(*, tunnel: bool) -> None:
    """Route pod CIDRs between the nodes natively over the underlay, or through the VXLAN device."""
    table = VXLAN_IP if tunnel else UNDERLAY_IP
    dev = VXLAN_DEV if tunnel else UNDERLAY_DEV
    for pod in PODS:
        other = NODE2 if pod.node == NODE1 else NODE1
        cidr = pod.ipv4.rsplit(".", 1)[0] + ".0/24"
        shell.run(ip(other, "route", "replace", cidr, "via", table[pod.node], "dev", dev))
