"""The "enabled" state: read from a parsed agent status first, from cilium-config and node facts after.

Status texts here are constructed in the 1.13 and 1.16 formats of reference cilium-tuning.md B.1/B.3.
"""

import dataclasses

import pytest

from cilium_lab import catalog
from cilium_lab.catalog.series_fleet import DEBIAN_BOARD, UBUNTU_VM
from cilium_lab.cilium.parse import parse_status
from cilium_lab.facts import NodeFacts

TUNED_1_16 = """\
KubeProxyReplacement:    True   [enp1s0   192.168.1.11 (Direct Routing)]
Cilium:                  Ok   1.16.5 (v1.16.5-ad688277)
IPv4 BIG TCP:            Enabled   [196608]
IPv6 BIG TCP:            Enabled   [196608]
BandwidthManager:        EDT with BPF [BBR] [enp1s0]
Routing:                 Network: Native   Host: BPF
Masquerading:            BPF   [enp1s0]   10.42.0.0/16  [IPv4: Enabled, IPv6: Disabled]
Hubble:                  Disabled
KubeProxyReplacement Details:
  Status:                 True
  Mode:                   DSR
  XDP Acceleration:       Native
BPF Maps:   dynamic sizing: on (ratio: 0.080000)
"""

# The series' default install on 1.13.4 (reference B.3: tunnel, KPR disabled, legacy host routing).
DEFAULT_1_13 = """\
KubeProxyReplacement:    Disabled
Cilium:                  Ok   1.13.4 (v1.13.4-4061cdfc)
IPv6 BIG TCP:            Disabled
BandwidthManager:        Disabled
Host Routing:            Legacy
Masquerading:            IPTables [IPv4: Enabled, IPv6: Disabled]
Hubble:                  Ok   Current/Max Flows: 2327/4095 (56.83%), Flows/s: 10.75   Metrics: Disabled
"""

TUNED_NODE = NodeFacts(
    name="tuned",
    kernel="6.8.0-31-generic",
    arch="amd64",
    kernel_build="#31-Ubuntu SMP Sat Apr 20 00:40:06 UTC 2024",
    nic_driver="mlx5_core",
    device="enp1s0",
    mtu=9000,
    max_mtu=9978,
    cilium_version="1.16.5",
    status=parse_status(TUNED_1_16),
    config={"mtu": "9000"},
    host={
        "tuned_profile": "Current active profile: network-latency",  # `tuned-adm active` as captured
        "cpu_governor": "performance",
        "irqbalance": "inactive",
    },
)

ENABLED_ON_TUNED = [
    "native-routing",
    "kube-proxy-replacement",
    "bpf-masquerade",
    "nodeport-dsr",
    "bpf-host-routing",
    "big-tcp",
    "hubble-overhead",
    "jumbo-mtu",
    "bandwidth-manager",
    "bbr",
    "xdp-acceleration",
    "map-sizing",
    "kernel",
    "host-tuning",
]


@pytest.mark.parametrize("item_id", ENABLED_ON_TUNED)
def test_a_fully_tuned_node_reports_every_item_enabled(item_id):
    readiness = catalog.evaluate(item_id, TUNED_NODE)
    assert readiness.state == "enabled", readiness.reasons
    assert readiness.reasons, "enabled says what it saw"


def test_conntrack_bypass_does_not_matter_once_bpf_host_routing_is_on():
    readiness = catalog.evaluate("bypass-iptables-conntrack", TUNED_NODE)
    assert readiness.state == "n/a"
    assert "BPF host routing is enabled" in readiness.reasons[0]


def test_evidence_names_the_source():
    readiness = catalog.evaluate("bpf-host-routing", TUNED_NODE)
    assert readiness.reasons == ("BPF host routing: host_routing = BPF (agent status)",)


@pytest.mark.parametrize(
    ("item_id", "state", "needs"),
    [
        ("native-routing", "can-enable", ()),  # 1.13 has no routing line and no config here: unseen
        ("kube-proxy-replacement", "can-enable", ()),
        ("bpf-masquerade", "can-enable", ("kube-proxy-replacement",)),
        ("bpf-host-routing", "can-enable", ("kube-proxy-replacement", "bpf-masquerade")),
        ("hubble-overhead", "can-enable", ()),
        ("bandwidth-manager", "can-enable", ("kube-proxy-replacement",)),
    ],
)
def test_the_series_default_install_on_a_vm(item_id, state, needs):
    node = dataclasses.replace(UBUNTU_VM, status=parse_status(DEFAULT_1_13))
    readiness = catalog.evaluate(item_id, node)
    assert (readiness.state, readiness.needs) == (state, needs)


def test_status_beats_config_when_the_agent_fell_back():
    node = dataclasses.replace(
        UBUNTU_VM, status=parse_status(DEFAULT_1_13), config={"enable-bpf-masquerade": "true"}
    )
    readiness = catalog.evaluate("bpf-masquerade", node)
    assert readiness.state == "can-enable"
    assert "eBPF masquerading: masquerading = IPTables (agent status)" in readiness.reasons


def test_without_status_the_config_decides_and_says_so():
    # routing-mode and KPR "true" are 1.14+ spellings, so the node runs a version that has them.
    node = dataclasses.replace(
        UBUNTU_VM,
        cilium_version="1.15.6",
        config={"routing-mode": "native", "kube-proxy-replacement": "True"},
    )
    native = catalog.evaluate("native-routing", node)
    assert native.state == "enabled"
    assert native.reasons == ("native routing: routing-mode = native (cilium-config)",)
    assert catalog.evaluate("kube-proxy-replacement", node).state == "enabled"


def test_on_1_13_native_routing_is_read_from_the_tunnel_key():
    node = dataclasses.replace(DEBIAN_BOARD, status=parse_status(DEFAULT_1_13), config={"tunnel": "disabled"})
    assert catalog.evaluate("native-routing", node).state == "enabled"


def test_the_conntrack_bypass_on_a_board_is_enabled_from_config():
    node = dataclasses.replace(
        DEBIAN_BOARD,
        status=parse_status(DEFAULT_1_13),
        config={"install-no-conntrack-iptables-rules": "true"},
    )
    assert catalog.evaluate("bypass-iptables-conntrack", node).state == "enabled"


def test_ipv6_big_tcp_enabled_counts_as_enabled_where_ipv4_is_blocked():
    status = parse_status(
        TUNED_1_16.replace("IPv4 BIG TCP:            Enabled   [196608]", "IPv4 BIG TCP:   Disabled")
    )
    node = dataclasses.replace(TUNED_NODE, kernel="6.2.0-39-generic", status=status)
    readiness = catalog.evaluate("big-tcp", node)
    assert readiness.state == "enabled"
    assert readiness.blocked_settings == ("ipv4_big_tcp",)
    assert any("older than 6.3" in r for r in readiness.reasons)


def test_big_tcp_with_only_one_family_on_where_both_are_possible_is_not_enabled():
    status = parse_status(
        TUNED_1_16.replace("IPv6 BIG TCP:            Enabled   [196608]", "IPv6 BIG TCP:   Disabled")
    )
    readiness = catalog.evaluate("big-tcp", dataclasses.replace(TUNED_NODE, status=status))
    assert readiness.state == "can-enable"


def test_a_kernel_with_forced_preemption_is_not_the_tuned_kernel():
    node = dataclasses.replace(TUNED_NODE, kernel_build="#1 SMP PREEMPT_DYNAMIC Mon Apr 1 2024")
    readiness = catalog.evaluate("kernel", node)
    assert readiness.state == "can-enable"
    assert "no forced preemption: preemption = dynamic (node facts)" in readiness.reasons


def test_a_map_ratio_below_the_guide_is_not_enabled():
    status = parse_status(TUNED_1_16.replace("ratio: 0.080000", "ratio: 0.002500"))
    node = dataclasses.replace(TUNED_NODE, status=status)
    assert catalog.evaluate("map-sizing", node).state == "can-enable"


def test_a_prerequisite_blocked_on_the_node_blocks_the_item():
    # No catalogue item can hit this today (each one's own kernel threshold is at least its
    # prerequisites'), so a made-up item that needs only BPF host routing, on a board.
    item = catalog.Item(
        id="made-up",
        number=42,
        title="Made-up step",
        lab="42-made-up",
        summary="",
        sources=("https://example.invalid/",),
        targets={"bbr": True},
        requires=(catalog.ItemEnabled("bpf-host-routing", "host routing", "https://example.invalid/"),),
        verify=(catalog.Check("BBR", (catalog.Look("status", "congestion_control", ("BBR",)),)),),
    )
    readiness = catalog.evaluate(item, DEBIAN_BOARD)
    assert readiness.state == "blocked"
    assert readiness.reasons[0].startswith(
        "needs BPF host routing (host routing), which is blocked here: kernel 4.19.0-25-arm64"
    )


def test_observe_reports_unseen_checks():
    seen = catalog.observe(catalog.get("host-tuning"), UBUNTU_VM)
    assert seen.enabled is None
    assert seen.unseen == ("tuned profile", "CPU governor", "irqbalance stopped")


def test_host_tuning_with_a_powersave_governor_is_not_enabled():
    node = dataclasses.replace(TUNED_NODE, host={**TUNED_NODE.host, "cpu_governor": "powersave\n"})
    readiness = catalog.evaluate("host-tuning", node)
    assert readiness.state == "can-enable"
    assert "CPU governor: cpu_governor = powersave (host facts)" in readiness.reasons
