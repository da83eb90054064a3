"""Readiness of every item on the series' two node kinds (reference cilium-tuning.md A.3), before any
tuning: the default install, with no agent status collected."""

import dataclasses

import pytest

from cilium_lab import catalog
from cilium_lab.catalog.series_fleet import DEBIAN_BOARD, UBUNTU_VM

# Expected states per item from reference A.3 (VM: kernel 6.2, virtio_net; board: 4.19.289, driver unknown).
EXPECTED = {
    "overview": ("n/a", "n/a"),
    "native-routing": ("can-enable", "can-enable"),
    "kube-proxy-replacement": ("can-enable", "can-enable"),
    "bpf-masquerade": ("can-enable", "can-enable"),
    "nodeport-dsr": ("can-enable", "can-enable"),
    "bypass-iptables-conntrack": ("can-enable", "can-enable"),
    "bpf-host-routing": ("can-enable", "blocked"),
    "big-tcp": ("blocked", "blocked"),
    "hubble-overhead": ("can-enable", "can-enable"),
    "jumbo-mtu": ("can-enable", "can-enable"),
    "bandwidth-manager": ("can-enable", "blocked"),
    "bbr": ("can-enable", "blocked"),
    "xdp-acceleration": ("can-enable", "can-enable"),
    "map-sizing": ("can-enable", "can-enable"),
    "kernel": ("can-enable", "can-enable"),
    "host-tuning": ("can-enable", "can-enable"),
    "summary": ("n/a", "n/a"),
}


def test_the_expectation_table_covers_every_item():
    assert list(EXPECTED) == [item.id for item in catalog.ITEMS]


@pytest.mark.parametrize("item_id", list(EXPECTED))
@pytest.mark.parametrize(("node", "column"), [(UBUNTU_VM, 0), (DEBIAN_BOARD, 1)], ids=["vm", "board"])
def test_every_item_on_both_node_kinds(item_id, node, column):
    readiness = catalog.evaluate(item_id, node)
    assert readiness.state == EXPECTED[item_id][column], readiness.reasons
    assert readiness.item == item_id
    assert readiness.node == node.name
    assert readiness.reasons, "every verdict says why"
    if readiness.state == "blocked":
        assert not readiness.needs


def test_bpf_host_routing_is_blocked_on_the_boards_by_the_kernel_with_the_series_fallback():
    readiness = catalog.evaluate("bpf-host-routing", DEBIAN_BOARD)
    assert readiness.reasons[0] == (
        "kernel 4.19.0-25-arm64 (upstream 4.19.289) is older than 5.10, which BPF host routing needs "
        "(bpf_redirect_neigh/peer)"
    )
    assert readiness.fallback == "bypass-iptables-conntrack"
    assert catalog.evaluate(readiness.fallback, DEBIAN_BOARD).state == "can-enable"


def test_bpf_host_routing_on_the_vms_needs_kpr_and_bpf_masquerading_first():
    readiness = catalog.evaluate("bpf-host-routing", UBUNTU_VM)
    assert readiness.needs == ("kube-proxy-replacement", "bpf-masquerade")
    assert readiness.fallback is None


def test_bbr_needs_its_whole_chain_on_the_vms_and_is_blocked_by_the_kernel_on_the_boards():
    assert catalog.evaluate("bbr", UBUNTU_VM).needs == (
        "kube-proxy-replacement",
        "bpf-masquerade",
        "bpf-host-routing",
        "bandwidth-manager",
    )
    board = catalog.evaluate("bbr", DEBIAN_BOARD)
    assert "older than 5.18" in board.reasons[0]


def test_bandwidth_manager_is_blocked_on_the_boards_by_the_5_1_threshold():
    (reason,) = catalog.evaluate("bandwidth-manager", DEBIAN_BOARD).reasons
    assert "older than 5.1," in reason


def test_big_tcp_on_the_vms_is_blocked_by_the_virtio_driver_and_ipv4_by_kernel_6_2():
    readiness = catalog.evaluate("big-tcp", UBUNTU_VM)
    assert any("NIC driver virtio_net" in r for r in readiness.reasons)
    assert readiness.blocked_settings == ("ipv4_big_tcp",)
    assert any("6.2.0-39-generic is older than 6.3" in r for r in readiness.reasons)


def test_ipv4_big_tcp_alone_is_blocked_on_a_6_2_node_with_a_supported_nic():
    node = dataclasses.replace(UBUNTU_VM, nic_driver="mlx5_core", cilium_version="1.14.5")
    readiness = catalog.evaluate("big-tcp", node)
    assert readiness.state == "can-enable"
    assert readiness.blocked_settings == ("ipv4_big_tcp",)
    assert any("older than 6.3" in r for r in readiness.reasons)
    on_6_8 = catalog.evaluate("big-tcp", dataclasses.replace(node, kernel="6.8.0-31-generic"))
    assert on_6_8.blocked_settings == ()


def test_the_cilium_version_parameter_overrides_the_nodes():
    node = dataclasses.replace(UBUNTU_VM, nic_driver="mlx5_core", kernel="6.8.0")
    assert catalog.evaluate("big-tcp", node).blocked_settings == ("ipv4_big_tcp",)  # 1.13.4 on the node
    assert catalog.evaluate("big-tcp", node, cilium_version="1.14.0").blocked_settings == ()


def test_conntrack_bypass_on_the_boards_needs_the_datapath_items_it_builds_on():
    readiness = catalog.evaluate("bypass-iptables-conntrack", DEBIAN_BOARD)
    assert readiness.needs == ("native-routing", "kube-proxy-replacement", "bpf-masquerade")


def test_unknown_facts_are_reported_not_guessed():
    big_tcp = catalog.evaluate("big-tcp", DEBIAN_BOARD)
    assert big_tcp.state == "blocked"
    assert any(r.startswith("could not check: the NIC driver is unknown") for r in big_tcp.reasons)
    xdp = catalog.evaluate("xdp-acceleration", DEBIAN_BOARD)
    assert any(r.startswith("could not check: the NIC driver is unknown") for r in xdp.reasons)
    kpr = catalog.evaluate("kube-proxy-replacement", UBUNTU_VM)
    assert any("no agent status for this node" in r for r in kpr.reasons)


def test_a_debian_kernel_without_uname_v_cannot_be_told_apart_from_4_19_0():
    node = dataclasses.replace(DEBIAN_BOARD, kernel_build=None)
    readiness = catalog.evaluate("kube-proxy-replacement", node)
    assert readiness.state == "can-enable"
    assert any("hides its upstream patch level" in r for r in readiness.reasons)


def test_a_board_driver_without_native_xdp_blocks_xdp():
    node = dataclasses.replace(DEBIAN_BOARD, nic_driver="st_gmac", device="eth0")
    (reason,) = catalog.evaluate("xdp-acceleration", node).reasons
    assert reason.startswith("NIC driver st_gmac on eth0 is not one XDP acceleration")


def test_jumbo_frames_blocked_by_a_device_that_cannot_take_them():
    node = dataclasses.replace(UBUNTU_VM, device="enp1s0", mtu=1500, max_mtu=1500)
    readiness = catalog.evaluate("jumbo-mtu", node)
    assert readiness.state == "blocked"
    assert "enp1s0 takes at most 1500 bytes" in readiness.reasons[0]
    assert catalog.evaluate("jumbo-mtu", dataclasses.replace(node, max_mtu=65535)).state == "can-enable"


def test_evaluate_takes_an_item_record_a_number_or_an_id_alike():
    by_record = catalog.evaluate(catalog.get("bbr"), UBUNTU_VM)
    assert by_record == catalog.evaluate(11, UBUNTU_VM) == catalog.evaluate("bbr", UBUNTU_VM)
