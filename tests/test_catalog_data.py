"""The catalogue's data holds together: order, ids, labs, sources, requirements, checks, targets."""

import dataclasses
import typing

import pytest

from cilium_lab import catalog
from cilium_lab.catalog.model import Check, CiliumAtLeast, KernelAtLeast
from cilium_lab.cilium.status import CiliumStatus
from cilium_lab.cilium.versions import CiliumVersion
from cilium_lab.errors import InputError
from cilium_lab.facts import NodeFacts
from cilium_lab.kernel import parse_kernel

# The logical setting names shared with cilium/settings.py (the brief's vocabulary).
LOGICAL_SETTINGS = {
    "routing", "tunnel_protocol", "native_routing_cidr", "auto_direct_node_routes", "kube_proxy_replacement",
    "bpf_masquerade", "lb_mode", "dsr_dispatch", "no_conntrack_iptables_rules", "host_legacy_routing",
    "ipv4_big_tcp", "ipv6_big_tcp", "hubble", "mtu", "bandwidth_manager", "bbr", "bbr_hostns_only",
    "xdp_acceleration", "map_dynamic_size_ratio", "ct_tcp_max", "ct_any_max", "nat_max", "bpf_clock_probe",
    "datapath_mode",
}  # fmt: skip
STATUS_ATTRIBUTES = {f.name for f in dataclasses.fields(CiliumStatus)}
FACT_NAMES = {f.name for f in dataclasses.fields(NodeFacts)} | {"kernel", "preemption"}


def test_the_series_in_order_with_overview_and_summary():
    assert [item.number for item in catalog.ITEMS] == [*range(16), 99]
    assert catalog.ITEMS[0].kind == "overview" and catalog.ITEMS[-1].kind == "summary"
    assert len(catalog.TUNINGS) == 15
    assert len({item.id for item in catalog.ITEMS}) == len(catalog.ITEMS)


@pytest.mark.parametrize("item", catalog.ITEMS, ids=lambda i: i.id)
def test_each_item_is_complete(item):
    assert item.lab == f"{item.number:02d}-{item.id}"
    assert item.title and item.summary
    assert item.sources and all(url.startswith("https://") for url in item.sources)
    assert all(req.source.startswith("https://") for req in item.requires)
    assert set(item.restart) <= {catalog.RESTART_AGENTS, catalog.RESTART_PODS, catalog.RESTART_NODE}
    if item.kind == "tuning":
        assert item.verify, "every tuning says how to verify it"
        assert item.caveats, "every tuning carries the guide's risks"
    else:
        assert not (item.targets or item.requires or item.verify)


@pytest.mark.parametrize("item", catalog.ITEMS, ids=lambda i: i.id)
def test_targets_use_the_logical_vocabulary(item):
    assert set(item.targets) <= LOGICAL_SETTINGS
    scoped = {req.setting for req in item.requires if getattr(req, "setting", None)}
    scoped |= {check.setting for check in item.verify if check.setting}
    assert scoped <= set(item.targets)


def test_targets_are_known_to_the_settings_table_with_accepted_values():
    settings = pytest.importorskip("cilium_lab.cilium.settings")
    for item in catalog.TUNINGS:
        for name, value in item.targets.items():
            assert name in settings.SETTINGS, (item.id, name)
            choices = settings.SETTINGS[name].choices
            if choices and isinstance(value, str):
                assert value in choices, (item.id, name, value)


@pytest.mark.parametrize("item", catalog.TUNINGS, ids=lambda i: i.id)
def test_checks_read_attributes_that_exist(item):
    for check in item.verify:
        assert isinstance(check, Check)
        for look in check.looks:
            assert look.accept or look.at_least is not None
            if look.where == "status":
                assert look.name in STATUS_ATTRIBUTES
            if look.where == "facts":
                assert look.name in FACT_NAMES


def test_prerequisites_come_earlier_in_the_series_so_there_is_no_cycle():
    for item in catalog.TUNINGS:
        for req in item.requires:
            if isinstance(req, catalog.ItemEnabled):
                assert catalog.get(req.item).number < item.number, (item.id, req.item)
        for other in (item.fallback, item.moot_when):
            if other is not None:
                assert catalog.get(other).kind == "tuning"


def test_thresholds_parse():
    for item in catalog.ITEMS:
        for req in item.requires:
            if isinstance(req, KernelAtLeast):
                assert [parse_kernel(v) for v in req.versions] == sorted(
                    parse_kernel(v) for v in req.versions
                )
            if isinstance(req, CiliumAtLeast):
                CiliumVersion.parse(req.version)  # raises on a bad one


@pytest.mark.parametrize(
    ("item_id", "kernel"),
    [("bpf-host-routing", "5.10"), ("bandwidth-manager", "5.1"), ("bbr", "5.18")],
)
def test_kernel_thresholds_match_the_reference(item_id, kernel):
    # reference cilium-tuning.md A.1 / A.2; the URL travels with the threshold
    (req,) = [r for r in catalog.get(item_id).requires if isinstance(r, KernelAtLeast)]
    assert req.versions == (kernel,)
    assert "docs.cilium.io" in req.source


def test_records_are_frozen():
    item = catalog.get("bbr")
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.title = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        item.targets["bbr"] = False  # type: ignore[index]


def test_native_routing_needs_the_pod_cidr_as_a_parameter():
    item = catalog.get("native-routing")
    with pytest.raises(InputError, match="pod_cidr="):
        item.resolve_targets()
    assert item.resolve_targets(pod_cidr="10.42.0.0/16") == {
        "routing": "native",
        "auto_direct_node_routes": True,
        "native_routing_cidr": "10.42.0.0/16",
    }
    assert [p.name for p in item.params] == ["pod_cidr"]


def test_jumbo_mtu_defaults_to_9000_and_takes_another():
    item = catalog.get("jumbo-mtu")
    assert item.resolve_targets() == {"mtu": 9000}
    assert item.resolve_targets(mtu=8500) == {"mtu": 8500}


def test_requirement_records_name_their_feature():
    features = {r.feature for item in catalog.ITEMS for r in item.requires}
    assert features == {"kernel", "nic-driver", "underlay-mtu", "cilium-version", "item"}
    assert set(typing.get_args(catalog.Requirement)) == {
        catalog.KernelAtLeast,
        catalog.NicDriverIn,
        catalog.DeviceMtuAtLeast,
        catalog.CiliumAtLeast,
        catalog.ItemEnabled,
    }


def test_public_names_are_one_sorted_all():
    assert catalog.__all__ == sorted(catalog.__all__, key=lambda n: (not n.isupper(), n))
    assert all(hasattr(catalog, name) for name in catalog.__all__)
