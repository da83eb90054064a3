"""Cilium's fallback and fatal rules in the emulated agent, per version (reference A.0, A.1, D)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cilium_lab.sim.agent import startup
from cilium_lab.sim.state import profiles

SEED = profiles.load("seed-mixed")
VM, BOARD = SEED.nodes[0], SEED.nodes[3]
MODERN = replace(
    VM,
    kernel="6.8.0-49-generic",
    kernel_build="#49-Ubuntu SMP PREEMPT_DYNAMIC Mon Nov  4 02:06:24 UTC 2024",
    nic=replace(VM.nic, name="enp65s0f0np0", driver="mlx5_core", xdp_native=True, big_tcp=True),
)
NATIVE_NEW = {
    "routing-mode": "native",
    "ipv4-native-routing-cidr": "10.42.0.0/16",
    "kube-proxy-replacement": "true",
    "enable-bpf-masquerade": "true",
}
NATIVE_113 = {**NATIVE_NEW, "tunnel": "disabled", "kube-proxy-replacement": "strict"}
del NATIVE_113["routing-mode"]


def boot(version: str, changes: dict[str, str], node=MODERN):
    base = {k: v for k, v in SEED.cilium_config.items() if k != "tunnel"}
    if not version.startswith(("1.13", "1.14", "1.15")):
        base["kube-proxy-replacement"] = "false"  # 1.16 removed "disabled"
    return startup.boot(version, {**base, **changes}, node)


def fatal(version: str, changes: dict[str, str], node=MODERN) -> str:
    b = boot(version, changes, node)
    assert not b.ok and b.datapath is None, b.log
    assert b.log[-1].startswith("level=fatal")
    return b.error


# --- key names and values per version ---------------------------------------------------------


def test_113_reads_tunnel_and_ignores_routing_mode():
    assert boot("1.13.4", {"routing-mode": "native"}).datapath.routing == "tunnel"
    assert boot("1.13.4", NATIVE_113).datapath.routing == "native"


def test_114_maps_tunnel_disabled_to_native_with_a_deprecation_warning():
    b = boot("1.14.1", {**NATIVE_NEW, "routing-mode": "tunnel", "tunnel": "disabled"})
    assert b.datapath.routing == "native"
    assert any(line.startswith("level=warning") and "deprecated" in line for line in b.log)


def test_115_ignores_the_removed_tunnel_key():
    b = boot("1.15.1", {"tunnel": "disabled"})
    assert b.datapath.routing == "tunnel"
    assert any("PR #29053" in note for note in b.datapath.notes)


@pytest.mark.parametrize(
    ("version", "value", "mode"),
    [
        ("1.13.4", "strict", "Strict"),
        ("1.14.1", "strict", "Strict"),
        ("1.14.1", "true", "True"),
        ("1.18.6", "true", "True"),
    ],
)
def test_kpr_values_accepted_per_version(version, value, mode):
    dp = boot(version, {**NATIVE_NEW, "kube-proxy-replacement": value}).datapath
    assert (dp.kpr_mode, dp.kpr) == (mode, True)


@pytest.mark.parametrize(
    ("version", "value"),
    [("1.13.4", "true"), ("1.13.4", "probe"), ("1.16.5", "strict"), ("1.18.6", "disabled")],
)
def test_kpr_values_refused_per_version(version, value):
    assert "kube-proxy-replacement" in fatal(version, {**NATIVE_NEW, "kube-proxy-replacement": value})


def test_kpr_strict_on_a_kernel_below_4_19_57_is_fatal():
    old = replace(BOARD, kernel="4.19.0-5-arm64", kernel_build="#1 SMP Debian 4.19.37-5 (2019-06-19)")
    assert "4.19.57" in fatal("1.13.4", NATIVE_113, node=old)


# --- routing, masquerading, load balancing -----------------------------------------------------


def test_auto_direct_node_routes_with_tunnel_is_fatal():
    assert fatal("1.13.4", {"auto-direct-node-routes": "true"}).startswith(
        "auto-direct-node-routes cannot be used with tunneling"
    )


def test_native_routing_without_native_routing_cidr_is_fatal_when_masquerading():
    changes = {k: v for k, v in NATIVE_NEW.items() if k != "ipv4-native-routing-cidr"}
    assert "--ipv4-native-routing-cidr" in fatal("1.18.6", changes)
    no_masq = {**changes, "enable-ipv4-masquerade": "false", "enable-bpf-masquerade": "false"}
    assert boot("1.18.6", no_masq).ok


def test_bpf_masquerade_without_nodeport_falls_back_on_113_and_stops_from_115():
    # The example: 1.13.4 warns, masquerades with iptables, keeps legacy host routing and runs
    b = boot("1.13.4", {"enable-bpf-masquerade": "true"})
    assert b.ok and (b.datapath.masquerade, b.datapath.host_routing) == ("iptables", "legacy")
    assert (
        'level=warning msg="Falling back to iptables-based masquerading." '
        'error="BPF masquerade requires NodePort (--enable-node-port=\\"true\\")" subsys=daemon'
    ) in b.log
    assert b.log[-1] == 'level=info msg="Daemon initialization completed" subsys=daemon'
    b = boot("1.15.1", {"enable-bpf-masquerade": "true"})
    assert b.log[-1] == (
        'level=fatal msg="failed to start: daemon creation failed: unable to initialize BPF masquerade support: '
        'BPF masquerade requires NodePort (--enable-node-port=\\"true\\")" subsys=daemon'
    )


def test_dsr_in_tunnel_mode_on_113_falls_back_to_snat_with_a_warning():
    b = boot("1.13.4", {"kube-proxy-replacement": "strict", "bpf-lb-mode": "dsr"})
    assert b.datapath.lb_mode == "snat"
    assert any('Disabling NodePort\'s \\"dsr\\" mode' in line for line in b.log)


def test_dsr_geneve_dispatch_needs_geneve_tunnel_from_116():
    changes = {"kube-proxy-replacement": "true", "bpf-lb-mode": "dsr", "bpf-lb-dsr-dispatch": "geneve"}
    # the real checks run in this order: vxlan first, then the dispatch, then the protocol
    assert fatal("1.18.6", changes).endswith('Node Port "dsr" mode cannot be used with vxlan tunneling.')
    assert fatal("1.18.6", {**NATIVE_NEW, **changes}).endswith(
        'Node Port "dsr" mode with geneve dispatch requires geneve tunnel protocol.'
    )
    dp = boot("1.18.6", {**changes, "tunnel-protocol": "geneve"}).datapath
    assert (dp.lb_mode, dp.dsr_dispatch, dp.tunnel_protocol) == ("dsr", "geneve", "geneve")


def test_dsr_with_native_routing():
    dp = boot("1.18.6", {**NATIVE_NEW, "bpf-lb-mode": "dsr"}).datapath
    assert (dp.lb_mode, dp.dsr_dispatch) == ("dsr", "opt")


def test_no_conntrack_rules_need_native_routing_kpr_and_bpf_masquerade():
    key = {"install-no-conntrack-iptables-rules": "true"}
    assert "direct routing mode" in fatal("1.13.4", key)
    no_kpr = {**NATIVE_113, **key, "kube-proxy-replacement": "disabled", "enable-bpf-masquerade": "false"}
    assert "kube-proxy-replacement=strict" in fatal("1.13.4", no_kpr)
    assert "enable-bpf-masquerade" in fatal("1.13.4", {**NATIVE_113, **key, "enable-bpf-masquerade": "false"})
    assert boot("1.13.4", {**NATIVE_113, **key}, node=BOARD).datapath.no_conntrack is True


# --- performance features ---------------------------------------------------------------------


def test_big_tcp_on_a_capable_node():
    dp = boot("1.18.6", {**NATIVE_NEW, "enable-ipv4-big-tcp": "true"}).datapath
    assert (dp.ipv4_big_tcp, dp.big_tcp_size) == (True, 196608)


@pytest.mark.parametrize(
    ("node", "line"),
    [
        (VM, 'level=warning msg="Cannot enable --enable-ipv4-big-tcp, needs kernel 6.3 or newer"'),  # 6.2
        (
            replace(VM, kernel="6.5.0-1-generic"),  # virtio_net cannot take GSO sizes above 64k
            'level=warning msg="Could not modify IPv6 gro_max_size and gso_max_size, disabling BIG TCP" '
            'device=enp1s0 error="invalid argument"',
        ),
    ],
)
def test_big_tcp_reverts_to_defaults_with_a_log_line(node, line):
    b = boot("1.18.6", {**NATIVE_NEW, "enable-ipv4-big-tcp": "true"}, node=node)
    assert b.ok and b.datapath.ipv4_big_tcp is False and b.datapath.big_tcp_size == 65536
    assert line in b.log


def test_big_tcp_in_tunnel_mode_stops_the_agent_113_and_from_115():
    # The example: the real 1.13 agent stops (log.Fatal in bigtcp.InitBIGTCP)
    b = boot("1.13.4", {"enable-ipv6-big-tcp": "true"})
    assert b.log[-1] == 'level=fatal msg="IPv6 BIG TCP is not supported in tunneling mode" subsys=big-tcp'
    assert "BIG TCP is not supported in tunneling mode" in fatal("1.15.1", {"enable-ipv6-big-tcp": "true"})
    legacy = {**NATIVE_NEW, "enable-ipv4-big-tcp": "true", "enable-host-legacy-routing": "true"}
    assert "not supported with legacy host routing" in fatal("1.18.6", legacy)


def test_ipv4_big_tcp_key_is_unknown_to_113():
    assert boot("1.13.4", {**NATIVE_113, "enable-ipv4-big-tcp": "true"}).datapath.ipv4_big_tcp is False


def test_bandwidth_manager_needs_kernel_5_1():
    old = replace(BOARD, kernel="4.19.0-25-arm64")
    b = boot("1.13.4", {"enable-bandwidth-manager": "true"}, node=old)
    assert b.datapath.bandwidth_manager is False
    assert any("needs kernel 5.1 or newer" in line for line in b.log)
    assert boot("1.13.4", {"enable-bandwidth-manager": "true"}, node=VM).datapath.bandwidth_manager is True


def test_bbr_needs_kernel_5_18_and_bpf_host_routing():
    bbr = {"enable-bandwidth-manager": "true", "enable-bbr": "true"}
    old_kernel = replace(VM, kernel="5.15.0-91-generic")
    assert boot("1.13.4", bbr, node=old_kernel).log[-1] == (
        'level=fatal msg="Cannot enable --enable-bbr, needs kernel 5.18 or newer." subsys=bandwidth-manager'
    )
    # already 1.12-1.14 stop on BBR with legacy host routing (bandwidth.InitBandwidthManager log.Fatal)
    assert boot("1.13.4", bbr, node=VM).log[-1] == (
        'level=fatal msg="BPF bandwidth manager\'s BBR setup requires BPF host routing." subsys=bandwidth-manager'
    )
    assert "BPF host routing" in fatal("1.18.6", bbr)  # defaults: legacy host routing
    assert boot("1.13.4", {**NATIVE_113, **bbr}, node=VM).datapath.congestion == "bbr"
    assert boot("1.18.6", {**NATIVE_NEW, **bbr}).datapath.congestion == "bbr"
    # 1.18's escape hatch: BBR for the host's sockets only, pods keep CUBIC
    hostns = boot("1.18.6", {**bbr, "enable-bbr-hostns-only": "true"})
    assert hostns.ok and hostns.datapath.congestion == "cubic"


def test_xdp_native_on_a_driver_without_native_xdp_is_fatal():
    xdp = {**NATIVE_NEW, "bpf-lb-acceleration": "native"}
    assert (
        fatal("1.18.6", xdp, node=VM) == "attaching XDP program to interface enp1s0: operation not supported"
    )
    assert boot("1.18.6", xdp).datapath.xdp == "native"


def test_xdp_best_effort_from_115_skips_unsupported_devices():
    changes = {**NATIVE_NEW, "bpf-lb-acceleration": "best-effort"}
    b = boot("1.15.1", changes, node=VM)
    assert b.ok and b.datapath.xdp == "best-effort"
    assert any("Skipping XDP acceleration" in line for line in b.log)
    assert "bpf-lb-acceleration" in fatal("1.14.1", changes)


def test_xdp_with_tunnel_is_fatal_before_115():
    assert "Cannot use NodePort acceleration with tunneling" in fatal(
        "1.13.4", {"kube-proxy-replacement": "strict", "bpf-lb-acceleration": "native"}
    )


def test_mtu_setting_overrides_detection_and_notes_fragmentation():
    dp = boot("1.13.4", {"mtu": "9000"}, node=BOARD).datapath
    assert (dp.device_mtu, dp.mtu) == (9000, 8950)
    assert any("max_mtu 1500" in note for note in dp.notes)
    dp = boot("1.13.4", {"mtu": "9000"}, node=replace(VM, underlay_mtu=1500)).datapath
    assert any("underlay MTU 1500" in note for note in dp.notes)
    assert "MTU '-1' cannot be negative" in fatal("1.13.4", {"mtu": "-1"})
    assert boot("1.13.4", {"mtu": "abc"}, node=BOARD).datapath.device_mtu == BOARD.nic.mtu  # read as 0


def test_geneve_subtracts_its_overhead():
    assert boot("1.18.6", {"tunnel-protocol": "geneve"}).datapath.mtu == 1450


def test_map_sizes_scale_with_ratio_and_memory():
    small = boot("1.18.6", {}).datapath.map_sizes
    big = boot("1.18.6", {"bpf-map-dynamic-size-ratio": "0.08"}).datapath.map_sizes
    # 8 GiB x 0.0025 / 285 B per entry is below the floor, as a real 8 GB node shows (table map_sizing)
    assert small["TCP connection tracking"] == 131072
    assert big["TCP connection tracking"] == int(8 * 2**30 * 0.08) // 285
    assert big["Non-TCP connection tracking"] == big["TCP connection tracking"] // 2
    assert (
        boot("1.18.6", {"bpf-ct-global-tcp-max": "524288"}).datapath.map_sizes["TCP connection tracking"]
        == 524288
    )


def test_map_sizing_reproduces_a_real_110_log():
    # cilium/cilium#16492: 126634762240 B x 0.0025 -> bpf-ct-global-tcp-max 1110831, any 555415
    total = 126634762240
    assert int(total * 0.0025) // 285 == 1110831 and 1110831 // 2 == 555415


def test_clock_probe_selects_jiffies():
    assert boot("1.13.4", {"enable-bpf-clock-probe": "true"}).datapath.clock_source == "jiffies"
    assert boot("1.13.4", {}).datapath.clock_source == "ktime"


def test_netkit_needs_116_and_kernel_6_8():
    netkit = {**NATIVE_NEW, "datapath-mode": "netkit"}
    assert boot("1.18.6", netkit).datapath.device_mode == "netkit"
    assert fatal("1.15.1", netkit) == "Invalid datapath mode"  # unsourced wording, marked in the log
    assert "6.8" in fatal("1.18.6", netkit, node=VM)


def test_tcx_attach_from_116_on_kernel_6_6():
    assert boot("1.18.6", {}).datapath.attach_mode == "tcx"
    assert boot("1.18.6", {}, node=VM).datapath.attach_mode == "tc"
    assert boot("1.15.1", {}).datapath.attach_mode == "tc"
