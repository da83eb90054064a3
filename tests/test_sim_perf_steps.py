"""The performance model step by step: every step of the series has a basis, the README's table is what
the model computes, and where the local kernel lab measured a knob the model agrees with it.

SIMULATED values throughout; the local kernel lab's ranges are the README's ('What the local kernel lab
measured'). The walk through the series runs the emulated agent and the model without HTTP.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cilium_lab import catalog, cilium
from cilium_lab.cilium.versions import CiliumVersion
from cilium_lab.sim.control import perf_steps as perfmodel_steps
from cilium_lab.sim.perf import constants as perfmodel_constants
from cilium_lab.sim.state import profiles

README = Path(__file__).resolve().parents[1] / "README.md"
BASES = ("published", "measured here", "estimate")
STEPS = perfmodel_steps.steps()


@pytest.fixture(scope="module")
def fleet() -> dict[str, perfmodel_steps.StepEffect]:
    return {e.item: e for e in perfmodel_steps.fleet_effects()}


def test_every_tuning_step_of_the_catalogue_has_a_row_in_series_order() -> None:
    tunings = [item.id for item in catalog.TUNINGS]
    assert list(STEPS) == tunings
    assert [STEPS[i]["lab"] for i in tunings] == [f"{n:02d}" for n in range(1, 16)]


@pytest.mark.parametrize("item", list(STEPS))
def test_each_step_names_its_basis_source_and_model_entries(item: str) -> None:
    step = STEPS[item]
    parts = re.split(r",\s*(?![^()]*\))", step["basis"])  # commas outside parentheses
    assert all(part.startswith(BASES) for part in parts), step["basis"]
    assert step["published"] and step["may_differ"]["factor"] >= 1 and step["may_differ"]["why"]
    constants = perfmodel_constants.load()
    sections = ("effects", "services", "host", "congestion", "bandwidth_manager")
    for name in step["effects"]:
        entry = next((constants[s][name] for s in sections if name in constants.get(s, {})), None)
        if entry is None and name in sections:  # a whole section, e.g. congestion
            entry = constants[name]
        assert entry is not None, f"{item}: {name} is not an entry of data/perfmodel.yaml"
        assert "source" in entry or "why" in entry, f"{item}: {name} has no source"


def test_the_steps_config_keys_are_what_the_catalogue_writes_on_the_series_version() -> None:
    profile = profiles.load(perfmodel_steps.FLEET_PROFILE)
    current = dict(profile.cilium_config)
    for item, step in STEPS.items():
        if not step.get("config"):
            continue
        targets = catalog.get(item).resolve_targets(pod_cidr="10.42.0.0/16", mtu=9000)
        known = {k: v for k, v in targets.items() if _exists(profile.cilium_version, k)}
        written = cilium.translate(profile.cilium_version, known, current).configmap
        assert {k: written.get(k) for k in step["config"]} == step["config"], item
        current.update({k: v for k, v in written.items() if v is not None})


def _exists(version: str, setting: str) -> bool:
    """Whether the version has the setting at all (1.13 has IPv6 BIG TCP only)."""
    return CiliumVersion.parse(version) >= CiliumVersion.parse(cilium.SETTINGS[setting].since)


def test_the_readme_table_is_what_the_model_computes() -> None:
    text = README.read_text()
    found = re.search(r"<!-- perfmodel steps: begin.*?-->\n(.*?)\n<!-- perfmodel steps: end -->", text, re.S)
    assert found, "README.md lacks the perfmodel steps table markers"
    assert found.group(1).strip() == perfmodel_steps.markdown_table(), (
        "README's table is stale: python -m cilium_lab.sim.control.perf_steps prints the current one"
    )


def test_lab_05_shows_at_most_x1_5_on_the_series_fleet(fleet) -> None:
    ratios = fleet["bypass-iptables-conntrack"].ratios
    taken = {cls: r for cls, r in ratios.items() if r is not None}
    assert taken, ratios
    for cls, r in taken.items():
        assert r["TCP_RR"] <= 1.5 and r["TCP_CRR"] <= 1.5, (cls, r)
    assert taken["arm64-board"]["TCP_CRR"] > 1.05  # the boards keep legacy routing: the bypass shows there


def test_host_routing_shows_where_the_agent_switches_it(fleet) -> None:
    # kernel 6.2 VMs switch to BPF host routing as soon as BPF masquerading completes its prerequisites
    vms = fleet["bpf-masquerade"].ratios["virtio-vm"]
    assert vms is not None and vms["TCP_RR"] > 2.5
    assert fleet["bpf-host-routing"].ratios["arm64-board"] is None  # kernel 4.19: refused


@pytest.mark.parametrize("check", perfmodel_steps.local_lab_checks(), ids=lambda c: c.item)
def test_the_model_agrees_with_the_local_kernel_lab(check: perfmodel_steps.LocalLabCheck) -> None:
    shown = f"{check.item} {check.test}: model {check.model:.3f}, measured {check.low}-{check.high}, x{check.factor}"
    assert check.direction_agrees, shown
    assert check.within_factor, shown


def test_the_agreement_check_fails_on_a_wrong_direction_or_size() -> None:
    wrong_way = perfmodel_steps.LocalLabCheck("x", "k", "TCP_CRR", model=0.9, low=1.07, high=1.16, factor=1.5)
    too_big = perfmodel_steps.LocalLabCheck("x", "k", "TCP_CRR", model=2.2, low=1.07, high=1.16, factor=1.5)
    assert not wrong_way.direction_agrees and too_big.direction_agrees and not too_big.within_factor
