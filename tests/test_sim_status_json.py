"""`cilium-dbg status -o json` / `-o yaml` of the emulated agents: field names per version, omitempty."""

from __future__ import annotations

import json

import yaml

from cilium_lab.cilium.parse import parse_status
from cilium_lab.sim.agent import startup, status_output_json
from cilium_lab.sim.state import profiles

SEED = profiles.load("seed-mixed")
VM = SEED.nodes[0]


def doc(version: str, changes: dict[str, str] | None = None, form: str = "json") -> str:
    config = {**SEED.cilium_config, **(changes or {})}
    b = startup.boot(version, config, VM)
    assert b.ok, b.error
    render = status_output_json.render_json if form == "json" else status_output_json.render_yaml
    return render(b.datapath, VM, version, config)


def test_113_uses_host_routing_and_has_no_ipv4_big_tcp():
    d = json.loads(doc("1.13.4"))
    assert d["host-routing"] == {"mode": "Legacy"}
    assert "routing" not in d and "ipv4-big-tcp" not in d
    assert d["ipv6-big-tcp"] == {}  # enabled: false is omitted, the object stays
    assert d["kube-proxy-replacement"]["mode"] == "Disabled"
    assert d["masquerading"]["mode"] == "iptables"


def test_omitempty_drops_false_booleans():
    d = json.loads(doc("1.13.4"))
    assert d["bandwidth-manager"] == {}
    assert "enabled" not in d["kube-proxy-replacement"]["features"]["nodePort"]
    assert d["masquerading"]["enabled"] is True and "ipv6" not in d["masquerading"]["enabledProtocols"]


def test_118_routing_object_and_big_tcp_sizes():
    d = json.loads(doc("1.18.6", {"kube-proxy-replacement": "false", "routing-mode": "tunnel"}))
    assert d["routing"] == {
        "inter-host-routing-mode": "Tunnel",
        "intra-host-routing-mode": "Legacy",
        "tunnel-protocol": "vxlan",
    }
    assert "host-routing" not in d
    assert d["ipv4-big-tcp"] == {"maxGRO": 65536, "maxGSO": 65536}
    assert (d["attach-mode"], d["datapath-mode"]) == ("tc", "veth")


def test_yaml_keys_lose_dashes_and_keep_false():
    y = yaml.safe_load(doc("1.18.6", {"kube-proxy-replacement": "false"}, form="yaml"))
    assert y["ipv4bigtcp"] == {"enabled": False, "maxgro": 65536, "maxgso": 65536}
    assert y["kubeproxyreplacement"]["mode"] == "False"


def test_project_parser_reads_the_json():
    status = parse_status(doc("1.13.4"))
    assert (status.source, status.host_routing, status.kube_proxy_replacement) == (
        "json",
        "Legacy",
        "Disabled",
    )
    assert status.version == "1.13.4"
