"""The series' fifteen steps through the performance model: what each step does on a fleet, and alone.

Reads the `steps:` section of data/perfmodel.yaml (per step: the config keys or node settings it
changes, the hardware classes of the fleet that take it, its published figure, basis and the local
kernel lab's measurement). `fleet_effects` walks the series on a profile's nodes as a batch run does:
each step's keys go to the nodes of the classes that take it, the emulated agent boots on the new
config (a node whose agent would not start keeps its old config, as a rollback leaves it) and the
model's noise-free rates before and after give the step's B/A per hardware class. `local_lab_checks`
puts the model on the arms the local kernel lab measured. `python -m cilium_lab.sim.control.perf_steps`
prints the table README.md carries. Everything here is SIMULATED.

Simplifications: one pair of nodes per hardware class (the first two), single-process tests, no load.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from cilium_lab.sim.agent.datapath import Datapath
from cilium_lab.sim.control import behaviour
from cilium_lab.sim.perf import constants, network_model
from cilium_lab.sim.perf.path import Path, Side
from cilium_lab.sim.state import profiles
from cilium_lab.sim.state.profiles import NodeProfile

TESTS = ("TCP_STREAM", "TCP_RR", "TCP_CRR")
FLEET_PROFILE = "seed-mixed"  # the series' own cluster
LOCAL_LAB_HOSTS = "bench-2021"  # no line rate binds there, as none does between the local lab's veths
# the arms of a local-lab comparison start from here: native routing, KPR, BPF masquerading, legacy
# host routing with conntrack (what a node that cannot take BPF host routing runs), Hubble off
LOCAL_LAB_BASE = Datapath(
    routing="native", tunnel_protocol=None, kpr=True, masquerade="bpf", host_routing="legacy",
    hubble=False, mtu=1500, device_mtu=1500,
)  # fmt: skip


@dataclass(frozen=True)
class StepEffect:
    """One step's simulated B/A per hardware class and test (None: the class does not take the step)."""

    item: str
    lab: str
    knob: str
    scenario: str
    ratios: Mapping[str, Mapping[str, float] | None]


@dataclass(frozen=True)
class LocalLabCheck:
    """The model on the two arms the local kernel lab measured, against what it measured."""

    item: str
    knob: str
    test: str
    model: float
    low: float
    high: float
    factor: float

    @property
    def direction_agrees(self) -> bool:
        """A measured range above 1 wants the model above 1, below 1 below; one that spans 1 wants no side."""
        measured = 1 if self.low > 1 else -1 if self.high < 1 else 0
        return measured == 0 or (self.model - 1) * measured > 0

    @property
    def within_factor(self) -> bool:
        return self.low / self.factor <= self.model <= self.high * self.factor


def steps() -> dict[str, dict[str, Any]]:
    """The steps section, keyed by catalogue item id, in series order."""
    return dict(constants.value("steps"))


def fleet_effects(profile_name: str = FLEET_PROFILE) -> list[StepEffect]:
    """Walk the series on the profile's fleet; each step's noise-free B/A per hardware class."""
    profile = profiles.load(profile_name)
    nodes = {n.name: n for n in profile.nodes}
    configs = {n.name: dict(profile.cilium_config) for n in profile.nodes}
    pairs = _pairs(profile.nodes, profile.perf)
    effects = []
    for item, step in steps().items():
        before = {cls: _rates(pair, nodes, configs, profile, step["scenario"]) for cls, pair in pairs.items()}
        for name, node in list(nodes.items()):
            if constants.hardware(node, profile.perf).name in step["fleet"]:
                _take(step, name, nodes, configs, profile.cilium_version)
        ratios: dict[str, dict[str, float] | None] = {}
        for cls, pair in pairs.items():
            after = _rates(pair, nodes, configs, profile, step["scenario"])
            ratios[cls] = {t: after[t] / before[cls][t] for t in TESTS} if cls in step["fleet"] else None
        for name in configs if step.get("afterwards") else ():
            configs[name].update(step["afterwards"])
        effects.append(StepEffect(item, step["lab"], step["knob"], step["scenario"], ratios))
    return effects


def local_lab_checks() -> list[LocalLabCheck]:
    """The model's B/A on each local-lab comparison's arms (C.1 hosts, pod to pod across nodes)."""
    a_node, b_node = profiles.load(LOCAL_LAB_HOSTS).nodes[:2]
    checks = []
    for item, step in steps().items():
        lab = step.get("local_lab")
        if not lab:
            continue
        service = lab.get("service", "none")
        arms = [replace(LOCAL_LAB_BASE, **lab[arm]) for arm in ("a", "b")]
        rates = [
            network_model.expected(
                Path(Side(a_node, dp, False), Side(b_node, dp, False), service),
                lab["test"],
            ).rate
            for dp in arms
        ]
        low, high = lab["measured"]
        checks.append(
            LocalLabCheck(
                item, lab["knob"], lab["test"], rates[1] / rates[0], low, high, step["may_differ"]["factor"]
            )
        )
    return checks


def markdown_table(profile_name: str = FLEET_PROFILE) -> str:
    """The README table: per step, the simulated effect on the fleet, the figures behind it, the basis."""
    effects = fleet_effects(profile_name)
    classes = list(effects[0].ratios)
    local = {c.item: c for c in local_lab_checks()}
    head = (
        ["lab", "step", "model entries"]
        + [f"simulated on {cls} (STREAM / RR / CRR)" for cls in classes]
        + ["published figure", "local kernel lab B/A (model)", "basis", "may differ by"]
    )
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    table = steps()
    for effect in effects:
        step = table[effect.item]
        cells = [effect.lab, f"{effect.knob} ({effect.scenario})", ", ".join(step["effects"]) or "none"]
        cells += [_ratios_text(effect.ratios[cls]) for cls in classes]
        check = local.get(effect.item)
        lab_text = (
            f"{step['local_lab']['test']} {check.low:.2f}–{check.high:.2f} ({check.model:.2f})"
            if check
            else "none"
        )
        cells += [step["published"], lab_text, step["basis"], f"x{step['may_differ']['factor']:g}"]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def _ratios_text(ratios: Mapping[str, float] | None) -> str:
    return "not taken" if ratios is None else " / ".join(f"x{ratios[t]:.2f}" for t in TESTS)


def _pairs(nodes: tuple[NodeProfile, ...], perf: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """The first two nodes of each hardware class that has two."""
    by_class: dict[str, list[str]] = {}
    for node in nodes:
        by_class.setdefault(constants.hardware(node, perf).name, []).append(node.name)
    return {cls: (names[0], names[1]) for cls, names in by_class.items() if len(names) >= 2}


def _take(step: Mapping[str, Any], name: str, nodes: dict, configs: dict, version: str) -> None:
    """Give one node the step's keys and settings, unless its agent would then not start."""
    node = nodes[name]
    changes = dict(step.get("node") or {})
    if "host" in changes:
        changes["host"] = {**node.host, **changes["host"]}
    candidate = replace(node, **changes)
    config = {**configs[name], **(step.get("config") or {})}
    if behaviour.boot(version, config, candidate).ok:
        nodes[name], configs[name] = candidate, config


def _rates(
    pair: tuple[str, str], nodes: dict, configs: dict, profile: Any, scenario: str
) -> dict[str, float]:
    sides = []
    for name in pair:
        boot = behaviour.boot(profile.cilium_version, configs[name], nodes[name])
        sides.append(Side(nodes[name], boot.datapath, False))
    service = "clusterip" if scenario == "pod-to-service" else "none"
    path = Path(sides[0], sides[1], service, perf=profile.perf)
    return {test: network_model.expected(path, test).rate for test in TESTS}


if __name__ == "__main__":
    print(markdown_table())
