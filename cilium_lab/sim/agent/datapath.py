"""The effective datapath of one emulated node: what its Cilium agent actually runs.

Derived by the agent's start-up from cilium-config, the node's
CiliumNodeConfig overrides, the node's kernel and NIC and the Cilium version (falling back as Cilium
does); the status output prints it and the performance model turns the datapaths on a path into
throughput and latency. Simplification: one device per node, IPv4 pod traffic.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Datapath:
    """Effective state; every field is what the agent runs, not what was asked for."""

    routing: str = "tunnel"  # "native" | "tunnel"
    tunnel_protocol: str | None = "vxlan"  # "vxlan" | "geneve" | None when native
    kpr: bool = False  # full kube-proxy replacement active
    kpr_mode: str = "Disabled"  # as status prints it for this version: Strict/Disabled/True/False
    masquerade: str = "iptables"  # "bpf" | "iptables" | "disabled"
    host_routing: str = "legacy"  # "bpf" | "legacy"
    lb_mode: str = "snat"  # "snat" | "dsr" | "hybrid"
    dsr_dispatch: str | None = None  # "opt" | "ipip" | "geneve"
    no_conntrack: bool = False  # iptables NOTRACK rules for pod traffic installed
    ipv4_big_tcp: bool = False
    ipv6_big_tcp: bool = False
    big_tcp_size: int = 65536  # GSO/GRO max bytes
    hubble: bool = True
    mtu: int = 1450  # pod/route MTU in effect (device MTU minus tunnel overhead)
    device_mtu: int = 1500
    bandwidth_manager: bool = False
    congestion: str = "cubic"  # "cubic" | "bbr" (pods)
    xdp: str = "disabled"  # "disabled" | "native" | "best-effort" | "generic"
    map_size_ratio: float = 0.0025
    map_sizes: dict[str, int] = field(default_factory=dict)
    clock_source: str = "ktime"  # "ktime" | "jiffies"
    device_mode: str = "veth"  # "veth" | "netkit"
    attach_mode: str = "tc"  # "tc" | "tcx"
    notes: tuple[
        str, ...
    ] = ()  # agent log lines explaining fallbacks ("Re-enabling host legacy routing ...")
