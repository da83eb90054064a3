"""Which effects a path takes, and the limits that shape the aggregate: the rules of the performance model.

Every number comes from `constants`; kernel and host tuning from `host_effects`. Each rule here names the
datapath fields it reads; the YAML entry of the same name says where its value comes from. Simplifications: an
end without an agent is modelled as the host stack; both directions of a path are alike; the tunnel counts
only when both ends are pods (traffic to a node address is routed).
"""

from __future__ import annotations

import math

from cilium_lab.sim.perf import constants
from cilium_lab.sim.perf import host_effects as host
from cilium_lab.sim.perf.path import Path, Side

TCP_IP_HEADERS = 52  # IPv4 20 + TCP 20 + timestamps 12: MSS = MTU - 52
ETHERNET_ON_WIRE = 38  # header 14 + FCS 4 + preamble 8 + inter-frame gap 12
TUNNEL_OVERHEAD = 50  # VXLAN/Geneve outer headers (reference A.1 row 9)


def base_rate(path: Path, kind: str) -> float:
    """Host-to-host reference rate: the slower stream, or the mean of the per-transaction times."""
    hw = [constants.hardware(s.node, path.perf) for s in (path.client, path.server)]
    if kind == "stream":
        gain = constants.value("same_node", "host_stream_gain", "value") if path.same_node else 1.0
        return min(h.rate(kind) for h in hw) * gain
    gain = constants.value("same_node", "host_rr_gain", "value") if path.same_node else 1.0
    return 2.0 / sum(1.0 / h.rate(kind) for h in hw) * gain


def collect(path: Path, kind: str) -> list[tuple[str, float]]:
    """Every named rate multiplier the path takes for a test kind."""
    named: list[tuple[str, float]] = []
    for side in (path.client, path.server):
        named += _end(side, kind, path.same_node)
        named += host.factors(side.node, kind)
    named += _tunnel(path, kind) + _mtu(path, kind) + _big_tcp(path, kind) + _service(path, kind)
    return [(name, f) for name, f in named if f != 1.0]


def _end(side: Side, kind: str, same_node: bool) -> list[tuple[str, float]]:
    """The per-end effects of a pod end: how it leaves its netns and what the host stack does to it."""
    dp = side.datapath
    if side.host_network or dp is None:
        return []
    at = f"@{side.node.name}"
    named = []
    if same_node:
        named.append(("same_node_pod" + at, constants.factor("same_node", "pod_end", kind)))
        if dp.host_routing != "bpf":
            named.append(("same_node_legacy" + at, constants.factor("same_node", "legacy_end", kind)))
    elif dp.host_routing == "bpf":
        named.append(("bpf_host_routing" + at, constants.factor("effects", "bpf_host_routing", kind)))
    else:
        named.append(("legacy_host_routing" + at, constants.factor("effects", "legacy_host_routing", kind)))
        if not dp.no_conntrack:
            f = constants.factor("effects", "legacy_iptables_conntrack", kind)
            named.append(("legacy_iptables_conntrack" + at, f))
    if dp.hubble:
        named.append(("hubble" + at, constants.factor("effects", "hubble", kind)))
    return named


def _tunnel(path: Path, kind: str) -> list[tuple[str, float]]:
    protocol = tunnel_protocol(path)
    return (
        [(f"tunnel_{protocol}", constants.factor("effects", f"tunnel_{protocol}", kind))] if protocol else []
    )


def tunnel_protocol(path: Path) -> str | None:
    """ "vxlan"/"geneve" when pod-to-pod traffic between two nodes is encapsulated, else None."""
    ends = (path.client, path.server)
    if path.same_node or any(s.host_network or s.datapath is None for s in ends):
        return None
    if all(s.datapath.routing == "tunnel" for s in ends):  # type: ignore[union-attr]
        return path.client.datapath.tunnel_protocol or "vxlan"  # type: ignore[union-attr]
    return None


def path_mtu(path: Path) -> int:
    """The MTU TCP segments by: the smaller of the two ends' (pod route MTU, or the host's device MTU)."""
    return min(_end_mtu(s) for s in (path.client, path.server))


def _end_mtu(side: Side) -> int:
    dp = side.datapath
    if side.host_network or dp is None:
        return dp.device_mtu if dp else side.node.nic.mtu
    return dp.mtu


def _mtu(path: Path, kind: str) -> list[tuple[str, float]]:
    if kind != "stream" or path.same_node:
        return []
    exponent = constants.value("effects", "mtu", "stream_exponent")
    return [(f"mtu_{path_mtu(path)}", (path_mtu(path) / 1500) ** exponent)]


def mtu_blackhole(path: Path) -> bool:
    """Full-size frames larger than the underlay (or a NIC) carries are dropped: bulk TCP stalls."""
    frame = path_mtu(path) + (TUNNEL_OVERHEAD if tunnel_protocol(path) else 0)
    nodes = (path.client.node, path.server.node)
    return frame > min(min(n.underlay_mtu, n.nic.max_mtu) for n in nodes)


def _big_tcp(path: Path, kind: str) -> list[tuple[str, float]]:
    dps = [s.datapath for s in (path.client, path.server)]
    if kind == "stream" and all(dp is not None and dp.ipv4_big_tcp for dp in dps):
        return [("big_tcp", constants.factor("effects", "big_tcp", kind))]
    return []


def _service(path: Path, kind: str) -> list[tuple[str, float]]:
    client = path.client.datapath
    if path.service == "clusterip":
        name = "kpr_socket_lb" if client is not None and client.kpr else "kube_proxy_iptables"
        return [(name, constants.factor("services", name, kind))]
    if path.service != "nodeport":
        return []
    lb = (path.lb or path.server).datapath
    if lb is None or not lb.kpr:
        return [("nodeport_kube_proxy", constants.factor("services", "nodeport_kube_proxy", kind))]
    named = [("nodeport_bpf", constants.factor("services", "nodeport_bpf", kind))]
    if lb.xdp == "native":
        named.append(("nodeport_xdp", constants.factor("services", "nodeport_xdp", kind)))
    if lb.lb_mode in ("dsr", "hybrid"):
        named.append(("nodeport_dsr", constants.factor("services", "nodeport_dsr", kind)))
    return named


def speedup(path: Path, kind: str, concurrent: int) -> float:
    """Aggregate over `concurrent` processes relative to one: sublinear CPU scaling (C.1 fit)."""
    cpus = min(path.client.node.cpus, path.server.node.cpus)
    m = max(1, min(concurrent, cpus))
    scaling = constants.value("effects", "scaling")
    result = m / (1 + scaling[f"{kind}_alpha"] * (m - 1))
    for side in (path.client, path.server):
        if kind == "rr" and not side.host_network:
            result /= 1 + scaling["pod_rr_gamma"] * (m - 1)
        if kind == "crr" and conntrack(side):
            result /= 1 + constants.value("effects", "conntrack_contention", "crr_beta") * (m - 1)
    return result


def conntrack(side: Side) -> bool:
    """Does this end's traffic pass netfilter conntrack? Host sockets do; legacy pod ends without NOTRACK do."""
    dp = side.datapath
    if side.host_network or dp is None:
        return True
    return dp.host_routing != "bpf" and not dp.no_conntrack


def line_rate(path: Path, concurrent: int) -> float:
    """TCP goodput the slower NIC allows, in Mbit/s."""
    speed = min(path.client.node.nic.speed_mbps, path.server.node.nic.speed_mbps)
    mtu = path_mtu(path)
    overhead = ETHERNET_ON_WIRE + (TUNNEL_OVERHEAD if tunnel_protocol(path) else 0)
    efficiency = constants.value(
        "effects", "line_rate", "efficiency_single" if concurrent == 1 else "efficiency_multi"
    )
    return speed * (mtu - TCP_IP_HEADERS) / (mtu + overhead) * efficiency


def loss_rate(path: Path, kind: str, concurrent: int, aggregate: float) -> float:
    """Packet loss the senders see: a profile's `loss_rate`, plus drops when the link is saturated."""
    congestion = constants.value("congestion")
    saturated = kind == "stream" and not path.same_node and aggregate >= line_rate(path, concurrent)
    base = congestion["base_loss_at_line_rate"] if saturated else congestion["base_loss_single"]
    return base + float(path.perf.get("loss_rate", 0.0))


def congestion_cap(path: Path, concurrent: int, loss: float) -> float:
    """The rate congestion control keeps under `loss`: CUBIC's Mathis bound, or BBR's loss tolerance."""
    congestion = constants.value("congestion")
    if sender_congestion(path) == "bbr":
        tolerance = congestion["bbr_loss_tolerance"]
        return math.inf if loss < tolerance else line_rate(path, concurrent) * tolerance / loss
    rtt_us = 1e6 / (base_rate(path, "rr") * math.prod(f for _, f in collect(path, "rr")))
    mss_bits = (path_mtu(path) - TCP_IP_HEADERS) * 8
    return concurrent * mss_bits / rtt_us * congestion["mathis_c"] / math.sqrt(loss)


def sender_congestion(path: Path) -> str:
    """Pods take the agent's congestion control (BBR via the Bandwidth Manager); hosts run CUBIC."""
    client = path.client
    if client.host_network or client.datapath is None:
        return "cubic"
    return client.datapath.congestion


def retransmits(path: Path, kind: str, rate: float, loss: float) -> float:
    """Retransmitted segments per second of one STREAM process (0 for RR/CRR)."""
    if kind != "stream":
        return 0.0
    if not path.same_node and mtu_blackhole(path):
        return constants.value("effects", "mtu_blackhole", "retransmits_per_s")
    segments = rate * 1e6 / 8 / (path_mtu(path) - TCP_IP_HEADERS)
    bbr = constants.value("congestion", "bbr_retransmit_factor") if sender_congestion(path) == "bbr" else 1.0
    return segments * loss * bbr


def tail(path: Path) -> float:
    """Jitter: how far the percentiles above the median spread, from both nodes' kernel and tuning."""
    return host.tail(path.client.node) * host.tail(path.server.node)


def load_tail(path: Path, kind: str, load: int) -> tuple[float, float, float]:
    """Latency under load: multipliers on p90, p99 and the mean from `load` bulk streams sharing the path.

    With the Bandwidth Manager (EDT + FQ) on every node of the path, the added tail shrinks by the
    factors the Cilium 1.9 blog reports (C.2)."""
    if load == 0 or kind == "stream":
        return 1.0, 1.0, 1.0
    bwm = constants.value("bandwidth_manager")
    managed = all(s.datapath is not None and s.datapath.bandwidth_manager for s in (path.client, path.server))
    p90 = bwm["load_p90_gain"] * math.sqrt(load) / (bwm["bwm_p90_reduction"] if managed else 1.0)
    p99 = bwm["load_p99_gain"] * math.sqrt(load) / (bwm["bwm_p99_reduction"] if managed else 1.0)
    mean = bwm["load_mean_gain"] * math.sqrt(load) / (bwm["bwm_p99_reduction"] if managed else 1.0)
    return 1 + p90, 1 + p99, 1 + mean
