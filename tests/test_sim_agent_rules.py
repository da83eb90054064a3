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


def test_114_refuses_tunnel_with_non_default_routing_mode():
    assert "tunnel" in fatal("1.14.1", {**NATIVE_NEW, "tunnel": "vxlan"})


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
    assert boot("1.18.6", {**changes, "enable-ipv4-masquerade": "false"}).ok


def test_bpf_masquerade_without_nodeport_is_fatal():
    assert (
        fatal("1.13.4", {"enable-bpf-masquerade": "true"})
        == 'BPF masquerade requires NodePort (--enable-node-port="true").'
    )


def test_dsr_in_tunnel_mode_on_113_falls_back_to_snat_with_a_warning():
    b = boot("1.13.4", {"kube-proxy-replacement": "strict", "bpf-lb-mode": "dsr"})
    assert b.datapath.lb_mode == "snat"
    assert any('Disabling NodePort\'s \\"dsr\\" mode' in line for line in b.log)


def test_dsr_geneve_dispatch_needs_geneve_tunnel_from_114():
    changes = {"kube-proxy-replacement": "true", "bpf-lb-mode": "dsr", "bpf-lb-dsr-dispatch": "geneve"}
    assert (
        fatal("1.15.1", changes)
        == 'Node Port "dsr" mode with geneve dispatch requires geneve tunnel protocol.'
    )
    dp = boot("1.15.1", {**changes, "tunnel-protocol": "geneve"}).datapath
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
    ("node", "changes", "reason"),
    [
        (VM, NATIVE_NEW, "kernel 6.3"),  # 6.2 is below IPv4 BIG TCP's 6.3
        (replace(VM, kernel="6.5.0-1-generic"), NATIVE_NEW, "does not support"),  # virtio_net
        (MODERN, {**NATIVE_NEW, "routing-mode": "tunnel"}, "tunneling"),
        (MODERN, {**NATIVE_NEW, "enable-host-legacy-routing": "true"}, "BPF host routing"),
    ],
)
def test_big_tcp_reverts_to_defaults_with_a_log_line(node, changes, reason):
    b = boot("1.18.6", {**changes, "enable-ipv4-big-tcp": "true"}, node=node)
    assert b.ok and b.datapath.ipv4_big_tcp is False and b.datapath.big_tcp_size == 65536
    assert any("Cannot enable IPv4 BIG TCP" in line and reason in line for line in b.log)


def test_ipv4_big_tcp_key_is_unknown_to_113():
    assert boot("1.13.4", {**NATIVE_113, "enable-ipv4-big-tcp": "true"}).datapath.ipv4_big_tcp is False


def test_bandwidth_manager_needs_kernel_5_1():
    old = replace(BOARD, kernel="4.19.0-25-arm64")
    b = boot("1.13.4", {"enable-bandwidth-manager": "true"}, node=old)
    assert b.datapath.bandwidth_manager is False
    assert any("needs kernel 5.1 or newer" in line for line in b.log)
    assert boot("1.13.4", {"enable-bandwidth-manager": "true"}, node=VM).datapath.bandwidth_manager is True


def test_bbr_needs_kernel_5_18_and_from_118_bpf_host_routing():
    bbr = {"enable-bandwidth-manager": "true", "enable-bbr": "true"}
    assert "5.18" in fatal("1.13.4", bbr, node=replace(VM, kernel="5.15.0-91-generic"))
    assert "BPF host routing" in fatal("1.18.6", bbr)  # defaults: legacy host routing
    assert boot("1.18.6", {**bbr, "enable-bbr-hostns-only": "true"}).datapath.congestion == "bbr"
    assert boot("1.18.6", {**NATIVE_NEW, **bbr}).datapath.congestion == "bbr"
    assert boot("1.13.4", bbr, node=VM).datapath.congestion == "bbr"  # allowed before 1.18, noted


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
    assert "MTU" in fatal("1.13.4", {"mtu": "abc"})


def test_geneve_subtracts_its_overhead():
    assert boot("1.18.6", {"tunnel-protocol": "geneve"}).datapath.mtu == 1450


def test_map_sizes_scale_with_ratio_and_memory():
    small = boot("1.18.6", {}).datapath.map_sizes
    big = boot("1.18.6", {"bpf-map-dynamic-size-ratio": "0.08"}).datapath.map_sizes
    assert small["TCP connection tracking"] == 66280 * 8  # 8 GiB at the default 0.0025
    assert big["TCP connection tracking"] > small["TCP connection tracking"]
    assert big["Non-TCP connection tracking"] == big["TCP connection tracking"] // 2
    tiny = boot("1.13.4", {}, node=replace(BOARD, memory_gib=1)).datapath.map_sizes
    assert tiny["TCP connection tracking"] == 131072  # the floor
    assert (
        boot("1.18.6", {"bpf-ct-global-tcp-max": "524288"}).datapath.map_sizes["TCP connection tracking"]
        == 524288
    )


def test_clock_probe_selects_jiffies():
    assert boot("1.13.4", {"enable-bpf-clock-probe": "true"}).datapath.clock_source == "jiffies"
    assert boot("1.13.4", {}).datapath.clock_source == "ktime"


def test_netkit_needs_116_and_kernel_6_8():
    netkit = {**NATIVE_NEW, "datapath-mode": "netkit"}
    assert boot("1.18.6", netkit).datapath.device_mode == "netkit"
    assert fatal("1.15.1", netkit) == "Invalid datapath mode"
    assert "6.8" in fatal("1.18.6", netkit, node=VM)


def test_tcx_attach_from_116_on_kernel_6_6():
    assert boot("1.18.6", {}).datapath.attach_mode == "tcx"
    assert boot("1.18.6", {}, node=VM).datapath.attach_mode == "tc"
    assert boot("1.15.1", {}).datapath.attach_mode == "tc"
