"""Config knowledge per Cilium version: keys, values, deletions, defaults and refusals."""

from __future__ import annotations

import pytest

import cilium_lab.cilium as cilium
from cilium_lab.cilium import SETTINGS, ConflictingSettings, read, translate
from cilium_lab.errors import InputError, UnsupportedSetting

VOCABULARY = {
    "routing", "tunnel_protocol", "native_routing_cidr", "auto_direct_node_routes", "kube_proxy_replacement",
    "bpf_masquerade", "lb_mode", "dsr_dispatch", "no_conntrack_iptables_rules", "host_legacy_routing",
    "ipv4_big_tcp", "ipv6_big_tcp", "hubble", "mtu", "bandwidth_manager", "bbr", "bbr_hostns_only",
    "xdp_acceleration", "map_dynamic_size_ratio", "ct_tcp_max", "ct_any_max", "nat_max", "bpf_clock_probe",
    "datapath_mode", "distributed_lru",
}  # fmt: skip


def test_vocabulary_is_exactly_the_shared_names_and_each_has_a_source() -> None:
    assert set(SETTINGS) == VOCABULARY
    assert all(setting.source and setting.eras for setting in SETTINGS.values())


def test_public_names_are_sorted_and_importable() -> None:
    # ruff's isort-style order (RUF022): CONSTANTS, then Classes, then functions.
    assert cilium.__all__ == sorted(cilium.__all__, key=lambda n: (not n.isupper(), not n[0].isupper(), n))
    assert all(hasattr(cilium, name) for name in cilium.__all__)


@pytest.mark.parametrize(
    ("version", "changes", "current", "configmap"),
    [
        ("1.13.4", {"routing": "native"}, {"tunnel": "vxlan"}, {"tunnel": "disabled"}),
        ("1.13.4", {"routing": "tunnel"}, {"tunnel": "disabled"}, {"tunnel": "vxlan"}),
        ("1.13.4", {"routing": "tunnel", "tunnel_protocol": "geneve"}, {"tunnel": "disabled"}, {"tunnel": "geneve"}),
        ("1.13.4", {"kube_proxy_replacement": True}, {}, {"kube-proxy-replacement": "strict"}),
        ("1.13.4", {"kube_proxy_replacement": False}, {}, {"kube-proxy-replacement": "disabled"}),
        ("1.14.2", {"routing": "native"}, {"tunnel": "vxlan"}, {"routing-mode": "native", "tunnel": None}),
        ("1.14.2", {"routing": "native"}, {"tunnel": "geneve"}, {"routing-mode": "native", "tunnel": None, "tunnel-protocol": "geneve"}),
        ("1.14.2", {"routing": "native"}, {}, {"routing-mode": "native"}),
        ("1.15.0", {"routing": "native", "tunnel_protocol": "geneve"}, {}, {"routing-mode": "native", "tunnel-protocol": "geneve"}),
        ("1.14.2", {"kube_proxy_replacement": True}, {"kube-proxy-replacement": "strict"}, {"kube-proxy-replacement": "true"}),
        ("1.16.1", {"kube_proxy_replacement": False}, {}, {"kube-proxy-replacement": "false"}),
        ("1.18.0", {"bpf_masquerade": True, "host_legacy_routing": False}, {}, {"enable-bpf-masquerade": "true", "enable-host-legacy-routing": "false"}),
        ("1.14.0", {"ipv4_big_tcp": True, "ipv6_big_tcp": True}, {}, {"enable-ipv4-big-tcp": "true", "enable-ipv6-big-tcp": "true"}),
        ("1.13.0", {"hubble": False}, {"enable-hubble": "true"}, {"enable-hubble": "false"}),
        ("1.13.0", {"mtu": 9000}, {}, {"mtu": "9000"}),
        ("1.13.0", {"mtu": 0}, {"mtu": "9000"}, {"mtu": None}),
        ("1.13.0", {"mtu": 0}, {}, {}),
        ("1.17.0", {"bandwidth_manager": True, "bbr": True}, {}, {"enable-bandwidth-manager": "true", "enable-bbr": "true"}),
        ("1.18.0", {"bbr_hostns_only": True}, {}, {"enable-bbr-hostns-only": "true"}),
        ("1.15.0", {"xdp_acceleration": "best-effort"}, {}, {"bpf-lb-acceleration": "best-effort"}),
        ("1.13.0", {"lb_mode": "DSR", "routing": "native"}, {}, {"bpf-lb-mode": "dsr", "tunnel": "disabled"}),
        ("1.18.0", {"map_dynamic_size_ratio": 0.08, "distributed_lru": True}, {}, {"bpf-map-dynamic-size-ratio": "0.08", "bpf-distributed-lru": "true"}),
        ("1.13.0", {"ct_tcp_max": 1048576, "ct_any_max": 524288, "nat_max": 1048576}, {}, {"bpf-ct-global-tcp-max": "1048576", "bpf-ct-global-any-max": "524288", "bpf-nat-global-max": "1048576"}),
        ("1.16.0", {"datapath_mode": "netkit"}, {}, {"datapath-mode": "netkit"}),
        ("1.12.0", {"bpf_clock_probe": True}, {"enable-bpf-clock-probe": "true"}, {}),
        ("1.13.0", {"native_routing_cidr": "10.42.0.0/16", "auto_direct_node_routes": True, "routing": "native"}, {}, {"tunnel": "disabled", "ipv4-native-routing-cidr": "10.42.0.0/16", "auto-direct-node-routes": "true"}),
    ],
)  # fmt: skip
def test_configmap_changes_per_version(version, changes, current, configmap) -> None:
    change = translate(version, changes, current)
    assert change.configmap == configmap
    values = read(version, change.apply(current))
    assert {name: values[name] for name in changes} == change.settings


@pytest.mark.parametrize(
    ("version", "changes", "helm"),
    [
        ("1.13.4", {"routing": "native", "kube_proxy_replacement": True}, {"tunnel": "disabled", "kubeProxyReplacement": "strict"}),
        ("1.14.1", {"routing": "native", "kube_proxy_replacement": True}, {"routingMode": "native", "kubeProxyReplacement": "true"}),
        ("1.18.0", {"bpf_masquerade": True, "datapath_mode": "netkit", "mtu": 9000}, {"bpf.masquerade": True, "bpf.datapathMode": "netkit", "MTU": 9000}),
        ("1.18.0", {"bandwidth_manager": True, "bbr": True, "distributed_lru": True}, {"bandwidthManager.enabled": True, "bandwidthManager.bbr": True, "bpf.distributedLRU.enabled": True}),
        ("1.15.0", {"xdp_acceleration": "native", "lb_mode": "hybrid", "routing": "native"}, {"loadBalancer.acceleration": "native", "loadBalancer.mode": "hybrid", "routingMode": "native"}),
    ],
)  # fmt: skip
def test_helm_values_per_version(version, changes, helm) -> None:
    assert translate(version, changes).helm == helm


def test_cli_lines_restart_only_once_and_describe_lists_everything() -> None:
    change = translate("1.14.2", {"routing": "native", "hubble": False}, {"tunnel": "disabled"})
    assert change.cli == (
        "cilium config set routing-mode native --restart=false",
        "cilium config delete tunnel --restart=false",
        "cilium config set enable-hubble false",
    )
    assert change.helm_args() == ("--set routingMode=native", "--set hubble.enabled=false")
    text = change.describe()
    assert "tunnel: (delete)" in text and "--set routingMode=native" in text and "1.14.2" in text


def test_nothing_to_change_when_current_already_matches() -> None:
    change = translate("1.16.0", {"bpf_masquerade": True}, {"enable-bpf-masquerade": "true"})
    assert change.configmap == {} and change.cli == ()
    assert translate("1.16.0", {}).describe() == "Cilium 1.16.0: nothing to change"


def test_apply_leaves_its_input_alone() -> None:
    current = {"tunnel": "vxlan"}
    translate("1.15.0", {"routing": "native"}, current).apply(current)
    assert current == {"tunnel": "vxlan"}


@pytest.mark.parametrize(
    ("version", "configmap", "expected"),
    [
        ("1.13.0", {}, {"routing": "tunnel", "tunnel_protocol": "vxlan", "kube_proxy_replacement": False}),
        ("1.13.0", {"tunnel": "disabled"}, {"routing": "native", "tunnel_protocol": None}),
        ("1.13.0", {"tunnel": "geneve"}, {"routing": "tunnel", "tunnel_protocol": "geneve"}),
        ("1.13.0", {"kube-proxy-replacement": "partial"}, {"kube_proxy_replacement": False}),
        ("1.14.0", {"tunnel": "disabled"}, {"routing": "native", "tunnel_protocol": "vxlan"}),
        ("1.14.0", {"tunnel": "geneve"}, {"routing": "tunnel", "tunnel_protocol": "geneve"}),
        ("1.15.0", {"tunnel": "disabled"}, {"routing": "tunnel"}),
        ("1.15.0", {"kube-proxy-replacement": "strict"}, {"kube_proxy_replacement": True}),
        ("1.16.0", {"kube-proxy-replacement": "strict"}, {"kube_proxy_replacement": None}),
        (
            "1.16.0",
            {},
            {"bpf_masquerade": False, "hubble": False, "mtu": 0, "datapath_mode": "veth", "lb_mode": "snat"},
        ),
        ("1.16.0", {"mtu": "garbage", "enable-hubble": "maybe"}, {"mtu": None, "hubble": None}),
        (
            "1.18.0",
            {"bpf-map-dynamic-size-ratio": "0.0025"},
            {"map_dynamic_size_ratio": 0.0025, "ct_tcp_max": None},
        ),
    ],
)
def test_read_with_version_defaults(version, configmap, expected) -> None:
    values = read(version, configmap)
    assert {name: values[name] for name in expected} == expected


def test_read_lists_only_what_the_version_has() -> None:
    assert "ipv4_big_tcp" not in read("1.13.4", {}) and "ipv6_big_tcp" in read("1.13.4", {})
    assert "datapath_mode" not in read("1.15.7", {}) and "datapath_mode" in read("1.16.0", {})
    assert "bbr_hostns_only" not in read("1.17.3", {}) and "bbr_hostns_only" in read("1.18.0", {})
    assert "ipv6_big_tcp" not in read("1.12.0", {}) and "bbr" in read("1.12.0", {})


@pytest.mark.parametrize(
    ("version", "changes", "error", "words"),
    [
        ("1.13.4", {"datapath_mode": "netkit"}, UnsupportedSetting, ["1.13.4", "1.16", "upgrade"]),
        ("1.14.9", {"xdp_acceleration": "best-effort"}, UnsupportedSetting, ["1.14.9", "1.15", "disabled, native"]),
        ("1.13.4", {"ipv4_big_tcp": True}, UnsupportedSetting, ["1.13.4", "1.14"]),
        ("1.13.4", {"dsr_dispatch": "geneve"}, UnsupportedSetting, ["1.13.4", "opt, ipip"]),
        ("1.17.9", {"bbr_hostns_only": True}, UnsupportedSetting, ["1.18"]),
        ("1.16.0", {"mtu": 100000}, InputError, ["mtu", "1280", "65535"]),
        ("1.16.0", {"mtu": 576}, InputError, ["mtu"]),
        ("1.16.0", {"mtu": "9000"}, InputError, ["integer"]),
        ("1.16.0", {"mtu": True}, InputError, ["integer"]),
        ("1.16.0", {"hubble": "false"}, InputError, ["true or false"]),
        ("1.16.0", {"hubble": 0}, InputError, ["true or false"]),
        ("1.16.0", {"routing": "direct"}, InputError, ["native, tunnel"]),
        ("1.16.0", {"map_dynamic_size_ratio": 0}, InputError, ["(0.0, 1.0]"]),
        ("1.16.0", {"map_dynamic_size_ratio": 1.5}, InputError, ["(0.0, 1.0]"]),
        ("1.16.0", {"map_dynamic_size_ratio": float("nan")}, InputError, ["number"]),
        ("1.16.0", {"ct_tcp_max": 0}, InputError, ["1024"]),
        ("1.16.0", {"nat_max": 1 << 25}, InputError, ["16777216"]),
        ("1.16.0", {"native_routing_cidr": "10.0.0.1/8"}, InputError, ["CIDR"]),
        ("1.16.0", {"native_routing_cidr": "10.0.0.0"}, InputError, ["prefix length"]),
        ("1.16.0", {"turbo": True}, UnsupportedSetting, ["unknown setting", "routing"]),
        ("1.9.18", {"hubble": False}, UnsupportedSetting, ["1.9.18", "1.10"]),
        ("latest", {"hubble": False}, InputError, ["MAJOR.MINOR"]),
        ("1.13.4", {"routing": "native", "tunnel_protocol": "geneve"}, UnsupportedSetting, ["1.13.4", "tunnel", "1.14"]),
        ("1.13.4", {"routing": "tunnel", "auto_direct_node_routes": True}, ConflictingSettings, ["native", "#15196"]),
        ("1.16.0", {"lb_mode": "dsr"}, ConflictingSettings, ["DSR"]),
        ("1.16.0", {"lb_mode": "dsr", "routing": "native", "dsr_dispatch": "geneve"}, ConflictingSettings, ["geneve", "#30845"]),
    ],
)  # fmt: skip
def test_refusals_are_one_line_and_say_what_to_do(version, changes, error, words) -> None:
    with pytest.raises(error) as caught:
        translate(version, changes)
    message = str(caught.value)
    assert "\n" not in message
    assert all(word in message for word in words), message


def test_changes_must_be_a_mapping() -> None:
    with pytest.raises(InputError, match="mapping"):
        translate("1.16.0", [("hubble", False)])  # type: ignore[arg-type]


def test_dsr_in_tunnel_mode_with_geneve_is_accepted_from_1_14() -> None:
    changes = {"routing": "tunnel", "tunnel_protocol": "geneve", "lb_mode": "dsr", "dsr_dispatch": "geneve"}
    change = translate("1.14.0", changes)
    assert change.configmap["bpf-lb-dsr-dispatch"] == "geneve"
    assert change.configmap["tunnel-protocol"] == "geneve"
