"""Tests generated from data/agent_rules.yaml: every row, inside and outside its versions, condition on/off.

For each row with a `test` block: an agent of `test.version` with `test.config` / `test.node` must
show the row's effect and exactly `test.expect` (its last line when it stops, one of its lines for a
fallback or info row, a note for an ignored setting); with `test.off` the row must not fire; and an
agent of the nearest emulated version outside the row's range must not fire it either.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from cilium_lab.sim.agent import rule_table, startup
from cilium_lab.sim.agent.rule_table import in_range
from cilium_lab.sim.state import profiles

TABLE = rule_table.load()
SEED, MODERN = profiles.load("seed-mixed"), profiles.load("modern")
NODE = MODERN.nodes[0]  # kernel 6.8, mlx5 (native XDP, BIG TCP), a MAC address
EMULATED = [(1, minor, 0) for minor in range(startup.SUPPORTED[0][1], startup.SUPPORTED[1][1] + 1)]
TESTED = [r for r in TABLE.rules if r.test and "skip" not in r.test]


def _base(version: str) -> dict[str, str]:
    """A chart-rendered cilium-config of that era: the 1.13 series' for <1.14, the 1.18 chart's after."""
    v = startup.parse_version(version)
    return dict((SEED if v < (1, 14) else MODERN).cilium_config)


def _merge(config: dict[str, str], changes: dict[str, Any] | None) -> dict[str, str]:
    out = dict(config)
    for key, value in (changes or {}).items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = str(value)
    return out


def _node(overrides: dict[str, Any] | None, base=NODE):
    overrides = dict(overrides or {})
    nic = replace(base.nic, **overrides.pop("nic", {}))
    if "kernel" in overrides and "kernel_build" not in overrides:
        overrides["kernel_build"] = "#1 SMP"  # no patch level hidden in the build string
    return replace(base, nic=nic, **overrides)


def _case(rule: rule_table.Rule, off: bool = False, version: str | None = None):
    test = rule.test or {}
    config = _merge(_base(version or test["version"]), test.get("config"))
    node = _node(test.get("node"))
    if off:
        config = _merge(config, test["negative"].get("config"))
        node = _node(test["negative"].get("node"), base=node)
    return startup.start(version or test["version"], config, node)


def _outside(rule: rule_table.Rule) -> str | None:
    """The emulated version nearest to the row's range without being in it (None: the range covers all)."""
    inside = startup.parse_version(rule.test["version"])
    candidates = [v for v in EMULATED if not in_range(v, rule.versions)]
    if not candidates:
        return None
    nearest = min(candidates, key=lambda v: abs(v[1] - inside[1]))
    return ".".join(map(str, nearest))


@pytest.mark.parametrize("rule", TESTED, ids=lambda r: r.id)
def test_row_fires_with_its_exact_log_text(rule):
    d, fatal = _case(rule)
    assert in_range(d.version, rule.versions), f"{rule.id}: test.version lies outside the row's range"
    assert rule.id in d.fired, f"{rule.id} did not fire; fired: {d.fired}; log: {d.log}"
    expect = rule.test["expect"]
    if rule.effect == "stop":
        assert fatal is not None and fatal.rule == rule.id
        assert fatal.line == expect
    else:
        assert fatal is None, fatal and fatal.line
        if rule.effect == "ignored":
            assert any(expect in note and note.startswith("(no agent log line") for note in d.notes), d.notes
            assert ("unsourced" in next(n for n in d.notes if expect in n)) == rule.unsourced
        else:
            assert expect in d.log, "\n".join(d.log)
            for key, value in rule.sets.items():
                assert (d.nodeport if key == "nodeport" else d.fields[key]) == value


@pytest.mark.parametrize("rule", TESTED, ids=lambda r: r.id)
def test_row_does_not_fire_when_its_condition_is_false(rule):
    d, fatal = _case(rule, off=True)
    assert rule.id not in d.fired, (d.fired, fatal and fatal.line)
    if rule.effect != "stop":
        assert rule.test["expect"] not in d.log


@pytest.mark.parametrize(
    "rule", [r for r in TESTED if r.test.get("outside") != "none" and _outside(r)], ids=lambda r: r.id
)
def test_row_does_not_fire_outside_its_versions(rule):
    version = _outside(rule)
    d, _ = _case(rule, version=version)
    assert rule.id not in d.fired, f"{rule.id} fired on {version}"


def test_every_row_has_a_test_or_says_why_not():
    for rule in TABLE.rules:
        assert rule.test, f"{rule.id}: give it a test block"
        assert "skip" in rule.test or {"version", "expect", "negative"} <= set(rule.test), rule.id


def test_unsourced_rows_carry_the_marker_and_sourced_rows_cite_a_source():
    for rule in TESTED:
        if rule.effect in ("stop", "fallback", "info"):
            marked = re.search(r"emulator=unsourced(\s|$)", rule.test["expect"]) is not None
            assert marked == rule.unsourced, rule.id
        if not rule.unsourced:
            assert rule.source, rule.id


def test_no_row_claims_to_be_approximate():
    # "(approx.)" was the old marker for invented text; a row is either sourced or unsourced: true
    assert not [r.id for r in TABLE.rules if "approx" in r.log]
