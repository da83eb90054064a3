"""The JSON/YAML status parser: omitempty booleans, spelling maps, wrong types, refusals."""

from __future__ import annotations

import json

import pytest

from cilium_lab.cilium import parse_status
from cilium_lab.errors import StatusParseError


def _status(doc: dict[str, object]):
    return parse_status(json.dumps(doc, indent=2))


def test_omitempty_false_inside_present_object_and_none_when_absent() -> None:
    status = _status({"cilium": {"state": "Ok"}, "ipv6-big-tcp": {"maxGRO": 65536, "maxGSO": 65536}})
    assert status.ipv6_big_tcp is False
    assert status.ipv4_big_tcp is None
    assert status.big_tcp_sizes == {"ipv6": (65536, 65536)}


def test_json_spellings_map_to_text_spellings() -> None:
    status = _status(
        {
            "masquerading": {"enabled": True, "enabledProtocols": {"ipv4": True}, "mode": "iptables"},
            "attach-mode": "tc",
            "bandwidth-manager": {"enabled": True, "congestionControl": "bbr"},
            "kube-proxy-replacement": {"mode": "False", "features": {"nodePort": {"acceleration": "None"}}},
        }
    )
    assert status.masquerading == "IPTables"
    assert status.attach_mode == "Legacy TC"
    assert status.congestion_control == "BBR"
    assert status.xdp_acceleration == "Disabled"
    assert status.kpr_full is False


def test_masquerading_disabled_forms() -> None:
    assert _status({"masquerading": {}}).masquerading == "Disabled"
    both_off = {"masquerading": {"enabled": True, "enabledProtocols": {}, "mode": "BPF"}}
    assert _status(both_off).masquerading == "Disabled"


def test_tunnel_protocol_only_reported_in_tunnel_mode() -> None:
    native = {"routing": {"inter-host-routing-mode": "Native", "tunnel-protocol": "vxlan"}}
    assert _status(native).tunnel_protocol is None
    tunnel = {"routing": {"inter-host-routing-mode": "Tunnel", "tunnel-protocol": "VXLAN"}}
    assert _status(tunnel).tunnel_protocol == "vxlan"


def test_wrong_types_are_treated_as_absent() -> None:
    status = _status(
        {
            "cilium": {"state": 3, "msg": ["1.13.4"]},
            "kube-proxy-replacement": "Strict",
            "hubble": {"state": "Ok"},
            "bpf-maps": {"dynamic-size-ratio": "high", "maps": [{"name": "x", "size": "big"}, 7]},
            "ipv4-big-tcp": {"enabled": "yes", "maxGRO": True},
        }
    )
    assert (status.cilium_state, status.version, status.kube_proxy_replacement) == (None, None, None)
    assert status.map_dynamic_size_ratio == 0.0 and status.maps == {}
    assert status.ipv4_big_tcp is False and status.big_tcp_sizes == {}


def test_json_after_kubectl_preamble_and_fields_kept() -> None:
    text = 'Defaulted container "cilium-agent" out of: cilium-agent\n{"cilium": {"state": "Ok", "msg": "1.15.0 (v1.15.0-1)"}}'
    status = parse_status(text)
    assert (status.source, status.version) == ("json", "1.15.0")
    assert json.loads(status.fields["cilium"]) == {"state": "Ok", "msg": "1.15.0 (v1.15.0-1)"}


def test_yaml_form_with_lowercased_keys() -> None:
    text = "cilium:\n  state: Warning\n  msg: 1.16.2 (v1.16.2-ab12cd3)\nhostrouting:\n  mode: Legacy\n"
    status = parse_status(text)
    assert (status.source, status.cilium_state, status.version, status.host_routing) == (
        "yaml",
        "Warning",
        "1.16.2",
        "Legacy",
    )


def test_yaml_keys_that_json_cannot_hold_do_not_break_fields() -> None:
    status = parse_status("cilium:\n  state: Ok\n  2024-01-01: {1: x, a: y}\n")
    assert status.cilium_state == "Ok"
    assert "2024" in status.fields["cilium"]


@pytest.mark.parametrize(
    "text",
    ['{"cilium": ', "[1, 2, 3]", '{"kind": "Status", "message": "pods not found"}', '{"cilium": "Ok"}', "{}"],
)
def test_json_that_is_not_a_status_is_refused(text: str) -> None:
    with pytest.raises(StatusParseError) as err:
        parse_status(text)
    assert "\n" not in str(err.value)
