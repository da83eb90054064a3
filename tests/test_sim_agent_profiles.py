"""The shipped profiles boot, and the hardware they describe allows what their sources say it does."""

from __future__ import annotations

import pytest

from cilium_lab.sim.agent import startup
from cilium_lab.sim.state import profiles


@pytest.mark.parametrize("name", ["seed-mixed", "modern", "bench-2021"])
def test_every_node_of_every_profile_boots(name):
    p = profiles.load(name)
    for node in p.nodes:
        b = startup.boot(p.cilium_version, p.cilium_config, node)
        assert b.ok, (node.name, b.error)


def test_modern_defaults_are_the_118_chart_defaults():
    p = profiles.load("modern")
    dp = startup.boot(p.cilium_version, p.cilium_config, p.nodes[0]).datapath
    assert (dp.routing, dp.kpr_mode, dp.masquerade, dp.host_routing) == (
        "tunnel",
        "False",
        "iptables",
        "legacy",
    )
    assert (dp.attach_mode, dp.device_mode) == ("tcx", "veth")


def test_modern_takes_the_full_recommended_profile():
    p = profiles.load("modern")
    tuned = {
        **p.cilium_config,
        "routing-mode": "native",
        "ipv4-native-routing-cidr": "10.0.0.0/8",
        "kube-proxy-replacement": "true",
        "enable-bpf-masquerade": "true",
        "enable-ipv6-masquerade": "false",
        "enable-ipv4-big-tcp": "true",
        "datapath-mode": "netkit",
        "enable-bandwidth-manager": "true",
        "enable-bbr": "true",
        "bpf-lb-acceleration": "native",
    }
    b = startup.boot(p.cilium_version, tuned, p.nodes[1])
    assert b.ok, b.error
    dp = b.datapath
    assert (dp.host_routing, dp.ipv4_big_tcp, dp.device_mode, dp.congestion, dp.xdp) == (
        "bpf",
        True,
        "netkit",
        "bbr",
        "native",
    )


def test_bench_2021_runs_the_benchmarks_ebpf_configuration():
    p = profiles.load("bench-2021")
    dp = startup.boot(p.cilium_version, p.cilium_config, p.nodes[0]).datapath
    assert (dp.routing, dp.kpr, dp.masquerade, dp.host_routing, dp.no_conntrack) == (
        "native",
        True,
        "bpf",
        "bpf",
        True,
    )
    assert dp.mtu == 1500 and dp.hubble is False
    assert p.nodes[0].preempt == "none" and p.nodes[0].nic.driver == "ice"
