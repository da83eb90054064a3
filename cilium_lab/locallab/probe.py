"""Feature probe: which local-lab knobs this kernel and toolset can run, and why not for the rest.

Called by `locallab.knob_runs` and `cilium-lab local --probe`; calls `which`, reads /proc, and (as root)
tries each kernel feature for real in a scratch namespace `cl-probe` (VXLAN device, TBF qdisc,
IPv6 gso_max_size above 64 KiB, loading the tc BPF program), as kernel-lab.md §4.1 recommends:
kernels differ (the project's VM has no netem, fq or Geneve), so trying beats reading configs.
"""

from __future__ import annotations

import os
import platform
import tempfile
from collections.abc import Iterable

from cilium_lab.locallab import bpfprog, shell
from cilium_lab.locallab.knobs import Knob
from cilium_lab.locallab.shell import PREFIX
from cilium_lab.locallab.topology import host_lock, ip, remove_namespace

PROBE_NS = f"{PREFIX}probe"
TOOLS = {  # feature -> (binaries, what to install)
    "netperf": (
        ("netperf", "netserver"),
        "netperf (Debian non-free: enable it in debian.sources Components)",
    ),
    "iptables": (("iptables", "iptables-restore"), "iptables"),
    "ethtool": (("ethtool",), "ethtool"),
    "iperf3": (("iperf3",), "iperf3"),
    "bpf": (("clang", "tc"), "clang, llvm and libbpf-dev"),
}
KERNEL_FEATURES = ("vxlan", "tbf", "big-tcp-ipv6", "bpf")
FEATURES = ("root", *TOOLS, "vxlan", "tbf", "big-tcp-ipv6", "bbr-cubic")
BPF_HEADER = "/usr/include/bpf/bpf_helpers.h"

Features = dict[str, str]  # feature -> "" when available, else the reason it is not


def detect() -> Features:
    """Probe this host. Kernel features are tried only as root, with every tool they need present."""
    found: Features = {"root": "" if os.geteuid() == 0 else "not root: run as root"}
    for feature, (binaries, package) in TOOLS.items():
        missing = [b for b in binaries if not shell.have(b)]
        found[feature] = f"{', '.join(missing)} not installed (install {package})" if missing else ""
    if not found["bpf"] and not os.path.exists(BPF_HEADER):
        found["bpf"] = f"{BPF_HEADER} missing (install libbpf-dev)"
    found["bbr-cubic"] = congestion_controls_reason(
        _read("/proc/sys/net/ipv4/tcp_available_congestion_control")
    )
    if found["root"]:
        for feature in ("vxlan", "tbf", "big-tcp-ipv6"):
            found[feature] = "not probed: not root"
        if not found["bpf"]:
            found["bpf"] = "not probed: not root"
        return found
    found.update(probe_kernel(bpf_tools=not found["bpf"]))
    return found


def congestion_controls_reason(available: str) -> str:
    """'' when both cubic and bbr are available, else which are missing."""
    missing = [cc for cc in ("cubic", "bbr") if cc not in available.split()]
    return f"kernel lacks TCP congestion control {', '.join(missing)}" if missing else ""


def support(knobs: Iterable[Knob], features: Features) -> dict[str, str]:
    """Per knob: '' when it can run here, else the first missing feature's reason."""
    out: dict[str, str] = {}
    for knob in knobs:
        blocking = [features.get(f, f"feature {f!r} was not probed") for f in knob.requires]
        out[knob.name] = next((reason for reason in blocking if reason), "")
    return out


def host() -> dict[str, object]:
    """What the numbers were measured on: kernel, CPUs and the iptables build. The iptables backend
    matters: with 10,000 rules iptables-nft was ~3x slower than iptables-legacy (kernel-lab.md §2.2)."""
    iptables = shell.run(["iptables", "--version"], check=False).strip() if shell.have("iptables") else ""
    return {
        "kernel": platform.release(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "iptables": iptables.removeprefix("iptables ") or "not installed",
    }


def describe_host(found: dict[str, object]) -> str:
    """One line for a report: 'kernel 6.18.44, x86_64, 2 CPUs, iptables v1.8.9 (nf_tables)'."""
    return f"kernel {found['kernel']}, {found['machine']}, {found['cpus']} CPUs, iptables {found['iptables']}"


def probe_kernel(*, bpf_tools: bool) -> Features:
    """Try each kernel feature in a scratch namespace, then remove it."""
    with host_lock():
        remove_namespace(PROBE_NS)
        shell.run(["ip", "netns", "add", PROBE_NS])
        try:
            shell.run(ip(PROBE_NS, "link", "add", "cl-p0", "type", "veth", "peer", "name", "cl-p1"))
            found = {
                "vxlan": _try(ip(PROBE_NS, "link", "add", "cl-pvx", "type", "vxlan", "id", "42", "dstport", "8472"),
                              "kernel has no VXLAN support"),
                "tbf": _try(shell.in_netns(PROBE_NS, ["tc", "qdisc", "add", "dev", "cl-p0", "root", "tbf", "rate",
                                                      "100mbit", "burst", "32kb", "latency", "200ms"]),
                            "kernel has no TBF qdisc (sch_tbf)"),
                "big-tcp-ipv6": _big_tcp(),
            }  # fmt: skip
            if bpf_tools:
                found["bpf"] = _bpf_loads()
            return found
        finally:
            remove_namespace(PROBE_NS)


def _try(argv: list[str], reason: str) -> str:
    return "" if shell.succeeds(argv) else reason


def _big_tcp() -> str:
    if not shell.succeeds(
        ip(PROBE_NS, "link", "set", "dev", "cl-p0", "gso_max_size", "196608", "gro_max_size", "196608")
    ):
        return "kernel or iproute2 cannot set gso_max_size above 64 KiB (IPv6 BIG TCP needs kernel >= 5.19)"
    shown = shell.run(ip(PROBE_NS, "-d", "link", "show", "dev", "cl-p0"), check=False)
    return "" if "gso_max_size 196608" in shown else "kernel ignored gso_max_size 196608 (no IPv6 BIG TCP)"


def _bpf_loads() -> str:
    with tempfile.TemporaryDirectory(prefix=PREFIX) as tmp:
        obj = os.path.join(tmp, "probe.o")
        argv = bpfprog.compile_argv(obj, ifindex=1, dmac="02:00:00:00:00:01", smac="02:00:00:00:00:02",
                                    dst4="10.200.2.2", dst6="fd00:2::2")  # fmt: skip
        if not shell.succeeds(argv, timeout=120):
            return "clang could not compile the tc BPF program (check clang, llvm, libbpf-dev)"
        try:
            bpfprog.attach(PROBE_NS, "cl-p0", obj)
        except shell.LocalLabError as err:
            return f"kernel refused the tc BPF program: {err}"
    return ""


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""
