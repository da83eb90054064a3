"""The emulated agent's start: what it reads from cilium-config per version, and where it decides.

The `derive_*` functions apply in order on a `Draft`. Each one reads the version's keys (names and
values change between releases), sets the Datapath fields the agent asks for, then fires the table's
rows for that point of start-up (`rule_table`, data/agent_rules.yaml): those rows, not this module,
decide every fallback, log line and fatal error, with their sources. Raises InputError for an
unparsable version or kernel.

Simplifications: one device per node (the NIC), IPv4 pod traffic, no CNI chaining.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from cilium_lab.errors import InputError
from cilium_lab.sim.agent import rule_table
from cilium_lab.sim.agent.rule_table import Fatal, flag
from cilium_lab.sim.state.profiles import NodeProfile

__all__ = ["Draft", "Fatal", "kernel_version", "parse_version"]

Version = tuple[int, int, int]
BIG_TCP_SIZE = 196608  # bigTCPGSOMaxSize / bigTCPGROMaxSize (pkg/datapath/linux/bigtcp, PR #20349)


@dataclass
class Draft:
    """The agent's view while it starts: inputs, the Datapath fields derived so far, what fired."""

    version: Version
    config: dict[str, str]
    node: NodeProfile
    kernel: Version
    fields: dict[str, Any] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fired: list[str] = field(default_factory=list)  # ids of the table rows that fired, in order
    nodeport: bool = False  # BPF NodePort enabled (full KPR, or partial/false with enable-node-port)

    def flag(self, key: str) -> bool:
        return flag(self, key)

    def value(self, key: str) -> str:
        return rule_table.config_value(self, key)


def parse_version(text: str) -> Version:
    """'1.13.4' or 'v1.18.6' (pre-release suffixes ignored) -> (1, 13, 4)."""
    m = re.match(r"v?(\d+)\.(\d+)(?:\.(\d+))?", text.strip())
    if not m:
        raise InputError(f"not a Cilium version: {text!r}: give major.minor.patch such as 1.13.4")
    return int(m[1]), int(m[2]), int(m[3] or 0)


def kernel_version(node: NodeProfile) -> Version:
    """Upstream version of the node's kernel; Debian hides the patch level in `uname -v` (ref A.3)."""
    m = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", node.kernel)
    if not m:
        raise InputError(f"node {node.name}: kernel release {node.kernel!r} is not a kernel version")
    major, minor, patch = int(m[1]), int(m[2]), int(m[3] or 0)
    build = re.search(rf"\b{major}\.{minor}\.(\d+)", node.kernel_build)
    if build and int(build[1]) > patch:
        patch = int(build[1])
    return major, minor, patch


def derive_routing(d: Draft) -> None:
    """Tunnel vs native routing from the version's keys (ref A.0 "Routing-mode rename"), then the
    initEnv checks and Validate()."""
    v = d.version
    if v < (1, 14) or (v < (1, 15) and (d.config.get("tunnel") or "").strip()):
        # <=1.13 reads only `tunnel`; 1.14 still honours the deprecated key when it is set
        tunnel = d.value("tunnel")
        mode, protocol = ("native", None) if tunnel == "disabled" else ("tunnel", tunnel)
    else:
        mode = d.value("routing-mode")
        protocol = d.value("tunnel-protocol") if mode == "tunnel" else None
    d.fields.update(routing=mode, tunnel_protocol=protocol)
    rule_table.apply(d, "init")
    rule_table.apply(d, "validate")


def derive_kpr(d: Draft) -> None:
    """Kube-proxy replacement: full (strict/true, or probe on a capable kernel before 1.13) or not;
    BPF NodePort with full KPR or with partial/false plus enable-node-port (ref A.0)."""
    value = d.value("kube-proxy-replacement")
    full = value in ("strict", "true") or (value == "probe" and d.kernel >= (4, 19, 57))
    d.nodeport = full or (value in ("partial", "false") and d.flag("enable-node-port"))
    d.fields.update(kpr=full, kpr_mode=value.capitalize())
    rule_table.apply(d, "kpr")


def derive_masquerade_request(d: Draft) -> None:
    """What masquerading the config asks for; the table decides later whether BPF holds."""
    masq = d.flag("enable-ipv4-masquerade") or d.flag("masquerade")
    d.fields["masquerade"] = (
        "disabled" if not masq else ("bpf" if d.flag("enable-bpf-masquerade") else "iptables")
    )


def derive_lb_mode(d: Draft) -> None:
    """SNAT/DSR/Hybrid, DSR dispatch, XDP and conntrack-bypass checks of the KPR init (ref A.1, D.9)."""
    mode = d.value("bpf-lb-mode") if d.nodeport else "snat"
    d.fields.update(lb_mode=mode, dsr_dispatch=None)
    rule_table.apply(d, "lb")
    if d.fields["lb_mode"] != "snat":
        d.fields["dsr_dispatch"] = d.value("bpf-lb-dsr-dispatch") if d.version >= (1, 14) else "opt"
    d.fields["no_conntrack"] = d.flag("install-no-conntrack-iptables-rules")


def derive_host_routing(d: Draft) -> None:
    """BPF host routing unless forced legacy or a table row falls back (ref A.1 row 6, D.1, D.2)."""
    d.fields["host_routing"] = "legacy" if d.flag("enable-host-legacy-routing") else "bpf"
    rule_table.apply(d, "host_routing")


def derive_masquerade(d: Draft) -> None:
    """The BPF-masquerading checks that follow finishKubeProxyReplacementInit (ref A.1 rows 1, 3)."""
    rule_table.apply(d, "masquerade")
