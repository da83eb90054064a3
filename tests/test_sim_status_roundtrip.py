"""Every `cilium-dbg status` the emulated agent renders parses back to the datapath it runs.

A matrix of versions (1.10 to 1.20) and the features whose lines appear, vanish or change with them:
kube-proxy replacement, masquerading (BPF / iptables / off), host routing (BPF / legacy), Bandwidth
Manager with BBR, BIG TCP, CNI chaining. Each agent's text (plain and --verbose), JSON and YAML go
through `parse_status`, and the parsed features must be what the agent's Datapath says it runs.
The lines themselves are checked against real outputs in test_sim_status_real_lines.py.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from cilium_lab.cilium import CiliumStatus, parse_status
from cilium_lab.sim.agent import startup, status_output, status_output_json
from cilium_lab.sim.agent.datapath import Datapath
from cilium_lab.sim.agent.startup_rules import parse_version
from cilium_lab.sim.state import profiles

MODERN = profiles.load("modern")
NODE = MODERN.nodes[0]  # kernel 6.8, a NIC with BIG TCP and native XDP: every feature can start
VERSIONS = ("1.10.20", "1.12.19", "1.13.4", "1.14.1", "1.15.6", "1.16.5", "1.17.2", "1.18.6", "1.20.0")

FEATURES: dict[str, dict[str, str]] = {
    "kpr": {"kube-proxy-replacement": "true"},
    "bpf-masq": {"enable-bpf-masquerade": "true"},
    "no-masq": {"enable-ipv4-masquerade": "false", "enable-ipv6-masquerade": "false"},
    "legacy-routing": {"enable-host-legacy-routing": "true"},
    "bwm-bbr": {"enable-bandwidth-manager": "true", "enable-bbr": "true"},
    "big-tcp": {"enable-ipv4-big-tcp": "true", "enable-ipv6-big-tcp": "true", "enable-ipv6": "true"},
    "chained": {"cni-chaining-mode": "portmap"},
    "wireguard": {"enable-wireguard": "true"},
    "etcd": {"kvstore": "etcd", "kvstore-opt": '{"etcd.address": "https://etcd.kube-system.svc:2379"}'},
}
COMBOS = [(), ("kpr",), ("kpr", "bpf-masq"), ("kpr", "bpf-masq", "legacy-routing"), ("no-masq",)]
COMBOS += [("kpr", "bpf-masq", "bwm-bbr"), ("kpr", "bpf-masq", "big-tcp"), ("chained",)]
COMBOS += [("wireguard", "etcd")]


def config_for(version: str, combo: tuple[str, ...]) -> dict[str, str]:
    """The chart's config for `version` with the combo's keys, as an install would render it."""
    v = parse_version(version)
    config = {**MODERN.cilium_config, "routing-mode": "native", "ipv4-native-routing-cidr": "10.0.0.0/8"}
    config["auto-direct-node-routes"] = "true"
    if v < (1, 14):  # routing-mode came with 1.14; before it, tunnel=disabled
        del config["routing-mode"], config["tunnel-protocol"]
        config["tunnel"] = "disabled"
    for name in combo:
        config.update(FEATURES[name])
    if v < (1, 14) and config.get("kube-proxy-replacement") == "true":
        config["kube-proxy-replacement"] = "strict"  # the 1.10-1.13 spelling
    if v < (1, 14) and config["kube-proxy-replacement"] == "false":
        config["kube-proxy-replacement"] = "disabled"
    return config


CASES = [
    pytest.param(version, combo, id=f"{version}-{'+'.join(combo) or 'defaults'}")
    for version, combo in itertools.product(VERSIONS, COMBOS)
]


def boot(version: str, combo: tuple[str, ...]) -> tuple[Datapath, dict[str, str]]:
    config = config_for(version, combo)
    b = startup.boot(version, config, NODE)
    assert b.ok, b.error
    assert b.datapath is not None
    return b.datapath, config


def expected(dp: Datapath, version: str, config: dict[str, str]) -> dict[str, Any]:
    """What each form must say about the features this agent runs."""
    v = parse_version(version)
    want: dict[str, Any] = {
        "encryption": "Wireguard" if config.get("enable-wireguard") == "true" else "Disabled",
        "kube_proxy_replacement": dp.kpr_mode,
        "kpr_full": dp.kpr,
        "host_routing": "BPF" if dp.host_routing == "bpf" else "Legacy",
        "masquerading": {"bpf": "BPF", "iptables": "IPTables", "disabled": "Disabled"}[dp.masquerade],
        "bandwidth_manager": dp.bandwidth_manager,
        "hubble": "Ok" if dp.hubble else "Disabled",
    }
    if dp.bandwidth_manager:
        want["congestion_control"] = dp.congestion.upper()
    if v >= (1, 13):
        want["ipv6_big_tcp"] = dp.ipv6_big_tcp
    if v >= (1, 14):
        want["ipv4_big_tcp"] = dp.ipv4_big_tcp
    if v >= (1, 16):
        want["routing_network"] = "Native" if dp.routing == "native" else "Tunnel"
        want["device_mode"] = dp.device_mode
    return want


def check(status: CiliumStatus, want: dict[str, Any], form: str) -> None:
    for name, value in want.items():
        assert getattr(status, name) == value, f"{form}: {name}"


@pytest.mark.parametrize(("version", "combo"), CASES)
def test_text_verbose_json_and_yaml_parse_to_the_running_datapath(
    version: str, combo: tuple[str, ...]
) -> None:
    dp, config = boot(version, combo)
    want = expected(dp, version, config)
    kw = {"kubernetes_version": MODERN.kubernetes_version}
    plain = status_output.render_text(dp, NODE, version, config, **kw)
    verbose = status_output.render_text(dp, NODE, version, config, verbose=True, **kw)
    check(parse_status(plain), want, "text")
    full = parse_status(verbose)
    check(full, want, "verbose text")
    # the verbose-only blocks: the KPR details agree with the summary line, the clock with the agent
    assert full.socket_lb == dp.kpr and full.clock_source == dp.clock_source
    mode = {"snat": "SNAT", "dsr": "DSR", "hybrid": "Hybrid"}[dp.lb_mode] if dp.kpr else None
    assert full.nodeport_mode == mode
    for form, render in (("json", status_output_json.render_json), ("yaml", status_output_json.render_yaml)):
        check(parse_status(render(dp, NODE, version, config, **kw)), want, form)
    kvstore = parse_status(plain).fields["KVStore"]
    if "etcd" in combo:  # one endpoint, connected, with quorum (pkg/kvstore/etcd.go statusChecker)
        assert kvstore.startswith("Ok etcd: 1/1 connected, ") and "has-quorum=true: https://etcd." in kvstore
    else:
        assert "etcd" not in kvstore
    chaining = parse_status(plain).fields.get("CNI Chaining")
    if parse_version(version) >= (1, 12):
        assert chaining == config.get("cni-chaining-mode", "none")
    else:
        assert chaining is None


def test_the_matrix_reaches_every_state_it_claims() -> None:
    """The combos do turn each feature on and off somewhere: a matrix of one state tests nothing."""
    seen: dict[str, set[object]] = {}
    for version, combo in itertools.product(VERSIONS, COMBOS):
        dp, config = boot(version, combo)
        for name, value in expected(dp, version, config).items():
            seen.setdefault(name, set()).add(value)
    assert seen["kpr_full"] == {True, False}
    assert seen["host_routing"] == {"BPF", "Legacy"}
    assert seen["masquerading"] == {"BPF", "IPTables", "Disabled"}
    assert seen["bandwidth_manager"] == {True, False} and "BBR" in seen["congestion_control"]
    assert seen["ipv4_big_tcp"] == {True, False} and seen["ipv6_big_tcp"] == {True, False}
    assert {"True", "False", "Strict", "Disabled"} <= seen["kube_proxy_replacement"]
    assert seen["encryption"] == {"Wireguard", "Disabled"}
