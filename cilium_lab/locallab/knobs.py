"""The tuning knobs the local kernel lab can reproduce, as a registry of A/B configurations.

Called by `locallab.knob_runs`, `locallab.probe` and `cilium-lab local`; calls iptables, tc, ip and
ethtool inside the lab's namespaces, `locallab.bpfprog` and `locallab.measure`. Each knob has a
set-up (once per fresh topology), an `apply_a`/`apply_b` pair that switch the same topology between
the two arms (so samples interleave A/B/A/B), and a `sample` that measures its tests once.
Every effect and recipe here was measured in /work/shared/reference/kernel-lab.md (section given).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cilium_lab.errors import InputError
from cilium_lab.locallab import bpfprog, measure, rules
from cilium_lab.locallab import topology as topo_mod
from cilium_lab.locallab.shell import LocalLabError
from cilium_lab.locallab.topology import NODE1, NODE2, POD_A, POD_B, POD_C, POD_DEV, Pod, Topology

Step = Callable[[Topology], None]


def _nothing(topo: Topology) -> None:
    """A set-up or arm that needs no change."""


@dataclass(frozen=True)
class Counter:
    """A kernel counter read around every sample; how much it grew per sample is reported per arm (the
    state a knob leaves behind, e.g. conntrack table churn), next to the rates the tests measure."""

    metric: str
    unit: str
    read: Callable[[Topology], int]


@dataclass(frozen=True)
class Knob:
    """One A/B comparison: B is the tuned (or, for costs, the loaded) configuration."""

    name: str
    title: str
    a_label: str
    b_label: str
    tests: tuple[str, ...]
    requires: tuple[str, ...]  # feature names from locallab.probe.FEATURES
    apply_a: Step
    apply_b: Step
    setup: Step = _nothing
    client: Pod = POD_A
    server: Pod = POD_B
    host: str = ""  # address the client targets; default the server pod's IPv4
    data_port: int | None = None
    cc: tuple[str, str] = ("", "")  # congestion control per arm (latency-under-load knobs)
    counter: Counter | None = None
    note: str = ""
    source: str = ""

    def target(self) -> str:
        return self.host or self.server.ipv4

    def sample(self, topo: Topology, arm: str, *, seconds: int) -> dict[str, float]:
        """Measure every test of this knob once, in the arm currently applied ('a' or 'b')."""
        if "LATENCY_UNDER_LOAD" in self.tests:
            cc = self.cc[0] if arm == "a" else self.cc[1]
            return measure.latency_under_load(topo, self.client, self.server, seconds=seconds, cc=cc)
        return {
            test: measure.netperf(
                topo, self.client, self.target(), test, seconds=seconds, data_port=self.data_port
            )
            for test in self.tests
        }


# --- set-ups and arms -------------------------------------------------------------------------


def _bpf_routing_on(topo: Topology) -> None:
    for src, dst in ((POD_A, POD_B), (POD_B, POD_A)):
        obj = topo.workdir + f"/to_{dst.netns}.o"
        bpfprog.attach(NODE1, src.host_dev, obj)
        if not bpfprog.attached(NODE1, src.host_dev):
            raise LocalLabError(f"tc shows no redirect_peer program on {src.host_dev} after attaching it")


def _bpf_routing_off(topo: Topology) -> None:
    for pod in (POD_A, POD_B):
        bpfprog.detach(NODE1, pod.host_dev)


def _compile_bpf(topo: Topology) -> None:
    for dst in (POD_A, POD_B):
        bpfprog.build_redirect(topo, dst)


def _kube_proxy_host(topo: Topology) -> None:
    """Node 1 as a kube-proxy host: conntrack on (one ctstate rule) plus 1,000 FORWARD rules."""
    rules.load(NODE1, rules.forward_rules(rules.DEFAULT_FORWARD_RULES, conntrack=True))


def _conntrack_both(topo: Topology) -> None:
    for node in (NODE1, NODE2):
        rules.load(node, rules.forward_rules(0, conntrack=True))


def _conntrack_entries(topo: Topology) -> int:
    """Entries in both nodes' conntrack tables (each network namespace has its own)."""
    path = "/proc/sys/net/netfilter/nf_conntrack_count"
    return sum(int(topo.exec(node, ["cat", path]).strip() or 0) for node in (NODE1, NODE2))


def _track(topo: Topology) -> None:
    for node in (NODE1, NODE2):
        rules.clear(node, "raw", "PREROUTING")


def _notrack(topo: Topology) -> None:
    for node in (NODE1, NODE2):
        rules.load(node, rules.notrack())


def _bpf_over_kube_proxy(topo: Topology) -> None:
    _kube_proxy_host(topo)
    _compile_bpf(topo)


def _bpf_routing_setup(topo: Topology) -> None:
    _compile_bpf(topo)
    _bpf_routing_on(topo)


def _set_link(topo: Topology, *settings: str) -> None:
    for pod in (POD_A, POD_B):
        topo_mod.run_ip(pod.node, "link", "set", "dev", pod.host_dev, *settings)
        topo_mod.run_ip(pod.netns, "link", "set", "dev", POD_DEV, *settings)


def _offloads_off(topo: Topology) -> None:
    topo.exec(POD_A.netns, ["ethtool", "-K", POD_DEV, "tso", "off", "gso", "off"])


def _tunnel_mtu(mtu: int) -> Step:
    def step(topo: Topology) -> None:
        for pod in (POD_A, POD_C):
            topo_mod.run_ip(pod.netns, "link", "set", "dev", POD_DEV, "mtu", str(mtu))

    return step


def _vxlan_setup(topo: Topology) -> None:
    topo_mod.add_vxlan()
    _offloads_off(topo)


def _native(topo: Topology) -> None:
    topo_mod.set_cross_node_routes(tunnel=False)
    _tunnel_mtu(1500)(topo)


def _tunnel(topo: Topology) -> None:
    topo_mod.set_cross_node_routes(tunnel=True)
    _tunnel_mtu(1450)(topo)  # Cilium lowers the pod MTU by the VXLAN overhead in tunnel mode


def _bottleneck(topo: Topology) -> None:
    # a deep-buffered 100 Mbit/s bottleneck towards pod B: bufferbloat without netem (§2.8)
    topo.exec(NODE1, ["tc", "qdisc", "add", "dev", POD_B.host_dev, "root", "tbf", "rate", "100mbit",
                      "burst", "32kb", "latency", "200ms"])  # fmt: skip
    topo.start_server(POD_B.netns, ["iperf3", "-s", "-p", "5201"], 5201)


# --- the registry -----------------------------------------------------------------------------

KNOBS: dict[str, Knob] = {
    k.name: k
    for k in (
        Knob(
            "iptables-rules",
            "kube-proxy-like iptables FORWARD rules on the node",
            "no rules",
            f"{rules.DEFAULT_FORWARD_RULES:,} FORWARD rules",
            ("TCP_RR", "TCP_STREAM"),
            ("root", "netperf", "iptables"),
            apply_a=lambda t: rules.clear(NODE1, "filter", "FORWARD"),
            apply_b=lambda t: rules.load(NODE1, rules.forward_rules(rules.DEFAULT_FORWARD_RULES)),
            setup=lambda t: rules.clear(NODE1, "filter", "FORWARD"),
            source="kernel-lab.md §2.2: 1k rules 0.37x RR, 0.65x throughput",
        ),
        Knob(
            "service-nat",
            "kube-proxy-style KUBE-SERVICES DNAT chain (service count)",
            f"{rules.FEW_SERVICES} services",
            f"{rules.MANY_SERVICES:,} services",
            ("TCP_CRR",),
            ("root", "netperf", "iptables"),
            apply_a=lambda t: rules.load_services(NODE1, rules.FEW_SERVICES),
            apply_b=lambda t: rules.load_services(NODE1, rules.MANY_SERVICES),
            host=rules.CLUSTER_IP,
            data_port=rules.SERVICE_DATA_PORT,
            note="the client connects to a ClusterIP that exists only as a DNAT rule in node 1",
            source="kernel-lab.md §2.3: 10k services cut CRR by 58% (nft); RR and throughput unchanged",
        ),
        Knob(
            "conntrack",
            "conntrack against a NOTRACK bypass (raw table) on both nodes",
            "conntrack",
            "NOTRACK",
            ("TCP_CRR",),
            ("root", "netperf", "iptables"),
            setup=_conntrack_both,
            apply_a=_track,
            apply_b=_notrack,
            server=POD_C,
            # kernel-lab.md §2.2: ~20k entries per 2-s CRR run with conntrack, none with NOTRACK
            counter=Counter("conntrack_entries", "entries", _conntrack_entries),
            note="cross-node path: the flow is tracked on both nodes, as in a cluster",
            source="kernel-lab.md §2.2: NOTRACK CRR +7% on one node; RR and throughput within noise",
        ),
        Knob(
            "mtu",
            "pod and host veth MTU",
            "MTU 1500",
            "MTU 9000",
            ("TCP_STREAM",),
            ("root", "netperf", "ethtool"),
            setup=_offloads_off,
            apply_a=lambda t: _set_link(t, "mtu", "1500"),
            apply_b=lambda t: _set_link(t, "mtu", "9000"),
            note="TSO/GSO are OFF on pod A's eth0 so that packets are cut at MTU size, standing in for a "
            "real NIC or tunnel path; with offloads on, a veth passes 64 KB packets and MTU has no effect",
            source="kernel-lab.md §2.4: 1500 -> 9000 gives 3.1x with offloads off, nothing with them on",
        ),
        Knob(
            "vxlan",
            "VXLAN tunnel against native routing between nodes",
            "native routing",
            "VXLAN",
            ("TCP_STREAM", "TCP_RR"),
            ("root", "netperf", "vxlan"),
            setup=_vxlan_setup,
            apply_a=_native,
            apply_b=_tunnel,
            server=POD_C,
            note="pod A (node 1) to pod C (node 2); pod MTU 1450 in tunnel mode, as Cilium sets it. "
            "TSO/GSO are OFF on pod A's eth0 in both arms, so packets are cut at wire size as on a real "
            "NIC path: with offloads on, 64 KB super-packets cross the veths whole, the tunnel's work is "
            "paid once per 64 KB, and this host measured no throughput cost (ratio 1.03-1.38)",
            source="kernel-lab.md §2.5: VXLAN costs 11-29% throughput, ~20% RR",
        ),
        Knob(
            "bpf-host-routing",
            "BPF host routing (tc bpf_redirect_peer) against routing through "
            f"a node with {rules.DEFAULT_FORWARD_RULES:,} iptables rules",
            f"routed, conntrack + {rules.DEFAULT_FORWARD_RULES:,} rules",
            "BPF host routing (same rules)",
            ("TCP_RR",),
            ("root", "netperf", "iptables", "bpf"),
            setup=_bpf_over_kube_proxy,
            apply_a=_bpf_routing_off,
            apply_b=_bpf_routing_on,
            note="bpf_redirect_peer hands packets to the destination pod's netns, skipping the node's "
            "routing and netfilter",
            source="kernel-lab.md §2.7: 3x RR against a host with 1k rules, +15% against a clean one",
        ),
        Knob(
            "big-tcp",
            "IPv6 BIG TCP (gso/gro_max_size) with BPF host routing",
            "GSO/GRO 64 KiB",
            "GSO/GRO 192 KiB",
            ("TCP_STREAM",),
            ("root", "netperf", "bpf", "big-tcp-ipv6"),
            setup=_bpf_routing_setup,
            apply_a=lambda t: _set_link(t, "gso_max_size", "65536", "gro_max_size", "65536"),
            apply_b=lambda t: _set_link(t, "gso_max_size", "196608", "gro_max_size", "196608"),
            host=POD_B.ipv6,
            note="IPv6 only (IPv4 BIG TCP needs a newer iproute2); with plain stack forwarding BIG TCP "
            "collapses, which is why Cilium requires BPF host routing for it",
            source="kernel-lab.md §2.6: +26% with BPF host routing",
        ),
        Knob(
            "bbr",
            "BBR against CUBIC through a deep-buffered 100 Mbit/s bottleneck",
            "CUBIC",
            "BBR",
            ("LATENCY_UNDER_LOAD", "TCP_STREAM"),
            ("root", "netperf", "iperf3", "tbf", "bbr-cubic"),
            setup=_bottleneck,
            apply_a=_nothing,
            apply_b=_nothing,
            cc=("cubic", "bbr"),
            note="latency is a TCP_RR probe's mean round trip while one bulk flow fills the TBF queue",
            source="kernel-lab.md §2.8: same ~95 Mbit/s, RTT 117 ms (CUBIC) vs 4 ms (BBR)",
        ),
    )
}


def resolve(names: list[str] | tuple[str, ...]) -> list[Knob]:
    """Knobs by name, in the registry's order when `names` is empty; unknown names raise InputError."""
    unknown = [n for n in names if n not in KNOBS]
    if unknown:
        raise InputError(f"unknown knob(s) {', '.join(unknown)}: choose from {', '.join(KNOBS)}")
    return [KNOBS[n] for n in names] if names else list(KNOBS.values())
