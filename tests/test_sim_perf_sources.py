"""The README says every constant of the performance model names its basis. `constants.load` checks only
the effects and services; this walks every number in cilium_lab/data/perfmodel.yaml (hardware classes,
same-node, UDP, TCP sends, host tuning, congestion, bandwidth manager, noise) and wants a `basis`,
`source` or `why` on the entry that holds it or on one above it."""

from __future__ import annotations

from typing import Any

import yaml

from cilium_lab.sim.perf import constants

NAMED = {"basis", "source", "why"}
UNMODELLED = {"version", "steps"}  # the file's format number, and the README steps table's own records


def unnamed(node: Any, path: str = "", named: bool = False) -> list[str]:
    """The paths of the numbers under `node` that no entry on their way names a basis for."""
    if isinstance(node, dict):
        named = named or bool(NAMED & set(node))
        return [miss for key, value in node.items() for miss in unnamed(value, f"{path}.{key}", named)]
    if isinstance(node, list):
        return [miss for i, value in enumerate(node) for miss in unnamed(value, f"{path}[{i}]", named)]
    number = isinstance(node, int | float) and not isinstance(node, bool)
    return [path.lstrip(".")] if number and not named else []


def test_every_number_of_the_model_names_its_basis():
    raw = yaml.safe_load(constants.PERFMODEL_FILE.read_text())
    sections = {k: v for k, v in raw.items() if k not in UNMODELLED}
    assert {"hardware", "effects", "services", "host", "noise"} <= set(sections)
    assert unnamed(sections) == []


def test_a_number_without_a_basis_is_found():
    raw = yaml.safe_load(constants.PERFMODEL_FILE.read_text())
    raw["hardware"]["planted"] = {"stream_gbps": 3.0, "rr_tps": {"value": 9.0, "basis": "estimate"}}
    raw["noise"]["planted"] = 0.5  # the noise section names its basis once, for all its numbers
    raw["planted"] = [{"factor": 2}]
    found = unnamed({k: v for k, v in raw.items() if k not in UNMODELLED})
    assert found == ["hardware.planted.stream_gbps", "planted[0].factor"]
