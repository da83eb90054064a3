"""Config looks read cilium-config the way the node's Cilium version does, through `cilium.read`.

Nodes here have no agent status, so cilium-config decides. Key names and spellings per version are
those of reference cilium-tuning.md A.0 (routing-mode rename PR #29053, KPR value rename PR #26577,
old KPR values removed in 1.16 PR #31286).
"""

import dataclasses

import pytest

from cilium_lab import catalog, cilium
from cilium_lab.catalog.series_fleet import UBUNTU_VM
from cilium_lab.errors import InputError


def _node(version: str | None, **config: str):
    return dataclasses.replace(UBUNTU_VM, cilium_version=version, config=dict(config))


@pytest.mark.parametrize(
    ("version", "config", "evidence"),
    [
        ("1.13.4", {"tunnel": "disabled"}, "native routing: tunnel = disabled (cilium-config)"),
        ("1.14.5", {"tunnel": "disabled"}, "native routing: tunnel = disabled (cilium-config)"),  # honoured
        ("1.14.5", {"routing-mode": "native"}, "native routing: routing-mode = native (cilium-config)"),
        ("1.15.6", {"routing-mode": "native"}, "native routing: routing-mode = native (cilium-config)"),
    ],
)
def test_native_routing_is_read_from_the_key_of_the_running_version(version, config, evidence):
    readiness = catalog.evaluate("native-routing", _node(version, **config))
    assert (readiness.state, readiness.reasons) == ("enabled", (evidence,))


@pytest.mark.parametrize(
    ("version", "config"),
    [
        ("1.13.4", {"routing-mode": "native"}),  # 1.13 has no routing-mode key
        ("1.15.6", {"tunnel": "disabled"}),  # 1.15 no longer reads the tunnel key
    ],
)
def test_a_key_the_version_does_not_read_is_no_evidence(version, config):
    seen = catalog.observe(catalog.get("native-routing"), _node(version, **config))
    assert (seen.enabled, seen.unseen) == (None, ("native routing",))


def test_a_vxlan_tunnel_on_1_13_is_seen_as_not_native():
    readiness = catalog.evaluate("native-routing", _node("1.13.4", tunnel="vxlan"))
    assert readiness.state == "can-enable"
    assert "native routing: tunnel = vxlan (cilium-config)" in readiness.reasons


@pytest.mark.parametrize(
    ("version", "text", "enabled"),
    [
        ("1.13.4", "strict", True),
        ("1.13.4", "probe", False),
        ("1.14.5", "true", True),
        ("1.14.5", "strict", True),  # the deprecated spelling still counts on 1.14/1.15
        ("1.15.6", "partial", False),
        ("1.16.5", "true", True),
        ("1.16.5", "false", False),
    ],
)
def test_kube_proxy_replacement_spellings_per_version(version, text, enabled):
    seen = catalog.observe(
        catalog.get("kube-proxy-replacement"), _node(version, **{"kube-proxy-replacement": text})
    )
    assert seen.enabled is enabled
    assert seen.evidence == (f"kube-proxy replacement: kube-proxy-replacement = {text} (cilium-config)",)


@pytest.mark.parametrize(("version", "text"), [("1.13.4", "true"), ("1.16.5", "strict")])
def test_a_spelling_the_version_refuses_is_unseen(version, text):
    # "true" arrived in 1.14; "strict" is refused from 1.16 on: neither tells what the agent runs.
    seen = catalog.observe(
        catalog.get("kube-proxy-replacement"), _node(version, **{"kube-proxy-replacement": text})
    )
    assert seen.enabled is None


def test_an_absent_key_is_not_read_as_the_agents_default():
    # cilium.read gives hubble=False for a missing enable-hubble; a config without it says nothing.
    node = _node("1.15.6", **{"routing-mode": "native"})
    assert cilium.read("1.15.6", node.config)["hubble"] is False
    assert catalog.observe(catalog.get("hubble-overhead"), node).enabled is None
    assert catalog.observe(
        catalog.get("hubble-overhead"), _node("1.15.6", **{"enable-hubble": "False"})
    ).enabled


def test_the_clusters_version_given_to_evaluate_decides_how_config_is_read():
    node = _node(None, **{"tunnel": "disabled", "kube-proxy-replacement": "strict"})
    assert catalog.observe(catalog.get("native-routing"), node).enabled is None  # version unknown
    assert catalog.evaluate("native-routing", node, cilium_version="1.13.4").state == "enabled"
    assert catalog.evaluate("native-routing", node, cilium_version="1.15.6").state == "can-enable"
    assert catalog.evaluate("kube-proxy-replacement", node, cilium_version="1.13.4").state == "enabled"


def test_the_version_override_also_reaches_the_moot_check():
    node = _node(None, **{"install-no-conntrack-iptables-rules": "false"})
    readiness = catalog.evaluate("bypass-iptables-conntrack", node, cilium_version="1.13.4")
    assert readiness.state == "can-enable"
    assert "no-conntrack iptables rules: install-no-conntrack-iptables-rules = false (cilium-config)" in (
        readiness.reasons
    )


@pytest.mark.parametrize("version", ["1.9.18", "not-a-version", None])
def test_an_unusable_version_leaves_config_unread_without_raising(version):
    seen = catalog.observe(catalog.get("bpf-masquerade"), _node(version, **{"enable-bpf-masquerade": "true"}))
    assert (seen.enabled, seen.unseen) == (None, ("eBPF masquerading",))


@pytest.mark.parametrize(("ratio", "enabled"), [("0.08", True), ("0.0025", False), ("lots", None)])
def test_map_ratio_from_config_is_judged_as_a_number(ratio, enabled):
    node = _node("1.15.6", **{"bpf-map-dynamic-size-ratio": ratio})
    assert catalog.observe(catalog.get("map-sizing"), node).enabled is enabled


def test_a_setting_new_in_a_later_version_is_not_read_on_an_older_one():
    node = _node("1.13.4", **{"enable-ipv4-big-tcp": "true", "enable-ipv6-big-tcp": "true"})
    seen = catalog.observe(catalog.get("big-tcp"), node)
    assert seen.evidence == ("IPv6 BIG TCP: enable-ipv6-big-tcp = true (cilium-config)",)
    assert seen.unseen == ("IPv4 BIG TCP",)


def test_a_config_look_on_a_raw_key_is_refused_with_the_logical_names():
    with pytest.raises(
        InputError, match=r"^config look 'routing-mode' is not a logical Cilium setting"
    ) as err:
        catalog.Look("config", "routing-mode", ("native",))
    assert "\n" not in str(err.value) and "routing" in str(err.value)


def test_every_config_look_names_a_setting_and_accepts_values_of_its_type():
    for item in catalog.TUNINGS:
        for look in (look for check in item.verify for look in check.looks if look.where == "config"):
            setting = cilium.SETTINGS[look.name]
            assert all(isinstance(value, setting.kind) for value in look.accept), (item.id, look)
            if look.at_least is not None:
                assert setting.kind in (int, float), (item.id, look)
