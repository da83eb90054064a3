"""What the embedded cluster's performance model assumed for one step, to show beside a simulated comparison.

Reads the `steps:` section of cilium_lab/data/perfmodel.yaml (the file the model itself reads; `sim/` stands
apart, so the data reaches a lab through this file, not through the model's code): per step the
entries the model applies, each with its values, basis and source, and the step's published figure,
local-kernel-lab measurement and the factor by which the real effect may differ. The simulated
effect on the series' fleet is in README.md ('What the model assumes, step by step').
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from cilium_lab.errors import InputError
from cilium_lab.package_files import load_yaml, shipped
from cilium_lab.results.labels import SIMULATED

PERFMODEL_FILE = shipped("data", "perfmodel.yaml")
SECTIONS = ("effects", "services", "same_node", "host", "congestion", "bandwidth_manager")
KINDS = ("stream", "rr", "crr")


@functools.cache
def _load(path: Path = PERFMODEL_FILE) -> dict[str, Any]:
    try:
        return load_yaml(path) or {}
    except (OSError, yaml.YAMLError) as err:
        raise InputError(f"cannot read the performance model's data {path}: {err}") from err


def step(item_id: str, path: Path = PERFMODEL_FILE) -> dict[str, Any] | None:
    """The steps entry of a catalogue item; None for an item that is not a tuning step (00, 99)."""
    return (_load(path).get("steps") or {}).get(item_id)


def assumptions(item_id: str, path: Path = PERFMODEL_FILE) -> pd.DataFrame:
    """One row per model entry the step switches: its values, how they apply, basis and source."""
    data = _load(path)
    entry_of = {name: data[s][name] for s in SECTIONS for name in (data.get(s) or {})}
    rows = []
    for name in (step(item_id, path) or {}).get("effects", []):
        entry = entry_of.get(name) or data.get(name) or {}  # a whole section, e.g. congestion
        rows.append(
            {
                "model entry": name,
                "values": _values(entry),
                "per": entry.get("per", ""),
                "basis": entry.get("basis", ""),
                "source": entry.get("source") or entry.get("figure") or "",
                "why": entry.get("derivation") or entry.get("why") or "",
            }
        )
    return pd.DataFrame(rows, columns=["model entry", "values", "per", "basis", "source", "why"])


def markdown(item_id: str, path: Path = PERFMODEL_FILE) -> str:
    """The step's assumptions as a short paragraph and table; empty for an item that is not a step."""
    entry = step(item_id, path)
    if entry is None:
        return ""
    differ = entry["may_differ"]
    lab = entry.get("local_lab")
    measured = f"{lab['test']} B/A {lab['measured'][0]}–{lab['measured'][1]}" if lab else "not measured there"
    lines = [
        f"**What the model assumed for this step** ({SIMULATED}: these numbers come from the model, not from "
        "a measurement)",
        f"- basis: {entry['basis']}; the real effect may differ by x{differ['factor']:g} ({differ['why']})",
        f"- published: {entry['published']}",
        f"- local kernel lab (real packets): {measured}",
    ]
    table = assumptions(item_id, path)
    if table.empty:
        lines.append("- the model applies no entry of its own for this step")
    else:
        lines += ["", "| model entry | values | per | basis | source |", "|---|---|---|---|---|"]
        for row in table.itertuples(index=False):
            cells = (row[0], row[1], row[2], row[3], row[4])
            lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def _values(entry: dict[str, Any]) -> str:
    """stream/rr/crr multipliers, or the other numbers of an entry (host tables, congestion constants)."""
    if any(k in entry for k in KINDS):
        return ", ".join(f"{k} x{entry[k]}" for k in KINDS if k in entry)
    parts = []
    for key, value in entry.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            parts.append(f"{key} {value}")
        elif isinstance(value, dict) and all(isinstance(v, int | float) for v in value.values()):
            parts.append(f"{key}: " + " ".join(f"{k} {v}" for k, v in value.items()))
    return "; ".join(parts)
