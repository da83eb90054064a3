"""The parsed form of `cilium-dbg status`: one frozen record per agent.

Built by `cilium_lab.cilium.parse.parse_status` (through `status_text` or `status_json`); read by
`cluster.snapshot`, the catalogue's readiness and verify checks, and the labs. It calls nothing.

Every attribute is None when its line (or JSON field) is absent: a value is never guessed. Modes are
spelled as the text output prints them (reference cilium-tuning.md B.1), also when parsed from JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Kube-proxy replacement modes that mean "full replacement" (reference A.0 "KPR value rename").
KPR_FULL_MODES = frozenset({"Strict", "True"})
KPR_PARTIAL_MODES = frozenset({"Disabled", "False", "Partial", "Probe"})


def kpr_full_from_mode(mode: str | None) -> bool | None:
    """True for Strict/True, False for the other known modes, None when unknown or absent."""
    if mode in KPR_FULL_MODES:
        return True
    if mode in KPR_PARTIAL_MODES:
        return False
    return None


@dataclass(frozen=True)
class CiliumStatus:
    """One agent's status. Attribute names are a public contract (see the package docstring)."""

    version: str | None = None  # "1.13.4" from `Cilium:  Ok   1.13.4 (v1.13.4-4061cdfc)`
    cilium_state: str | None = None  # "Ok", "Warning", "Failure"
    kube_proxy_replacement: str | None = None  # as printed: Strict/True/Disabled/False/Partial/Probe
    kpr_full: bool | None = None
    kpr_devices: tuple[str, ...] | None = None  # device names from the KPR line
    socket_lb: bool | None = None  # verbose KPR details / JSON features.socketLB
    host_routing: str | None = None  # "BPF" / "Legacy"
    routing_network: str | None = None  # "Native" / "Tunnel" (1.16+ only)
    tunnel_protocol: str | None = None  # "vxlan" / "geneve" (1.16+ only)
    masquerading: str | None = None  # "BPF" / "IPTables" / "Disabled"
    masquerading_devices: tuple[str, ...] | None = None
    bandwidth_manager: bool | None = None
    congestion_control: str | None = None  # "BBR" / "CUBIC"
    bandwidth_devices: tuple[str, ...] | None = None
    ipv4_big_tcp: bool | None = None
    ipv6_big_tcp: bool | None = None
    # family ("ipv4"/"ipv6") -> (max GRO, max GSO); only where the output prints sizes (1.14+)
    big_tcp_sizes: dict[str, tuple[int, int]] = field(default_factory=dict, hash=False)
    hubble: str | None = None  # first word of its state: "Ok", "Disabled", "Warning"
    device_mode: str | None = None  # "veth" / "netkit" / "netkit-l2" (1.16+)
    attach_mode: str | None = None  # "TCX" / "Legacy TC" (1.16+)
    xdp_acceleration: str | None = None  # "Disabled" / "Native" / "Generic" / "Best-Effort" (verbose)
    nodeport_mode: str | None = None  # "SNAT" / "DSR" / "Hybrid" (verbose)
    dsr_dispatch: str | None = None  # "IP Option/Extension" / "IPIP" / "Geneve" (verbose, 1.15+)
    clock_source: str | None = None  # "ktime" / "jiffies"
    map_dynamic_size_ratio: float | None = None  # 0.0 when dynamic sizing is off (verbose)
    maps: dict[str, int] = field(default_factory=dict, hash=False)  # BPF Maps table (verbose)
    encryption: str | None = None  # "Disabled" / "Wireguard" / "IPsec"
    source: str = "text"  # "text", "json" or "yaml": which form was parsed
    lines: tuple[str, ...] = ()  # the cleaned input lines, unknown ones included
    fields: dict[str, str] = field(default_factory=dict, hash=False)  # top-level label -> value
