"""The performance model's constants: data/perfmodel.yaml, loaded once and checked.

Every number the model uses is in that file beside its source; this module adds no numbers of its own. It
also picks a node's hardware class (by NIC driver, then arch, or a profile's override).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cilium_lab.errors import InputError
from cilium_lab.package_files import load_yaml, shipped
from cilium_lab.sim.state.profiles import NodeProfile

PERFMODEL_FILE = shipped("data", "perfmodel.yaml")
REQUIRED_SECTIONS = (
    "hardware",
    "same_node",
    "effects",
    "services",
    "host",
    "congestion",
    "bandwidth_manager",
    "noise",
    "udp",
    "tcp_send",
    "steps",
)
KINDS = ("stream", "rr", "crr")


@dataclass(frozen=True)
class Hardware:
    """Reference rates of a host-to-host path between two nodes of one class."""

    name: str
    stream_mbps: float
    rr_tps: float
    crr_cps: float
    noise_scale: float

    def rate(self, kind: str) -> float:
        return {"stream": self.stream_mbps, "rr": self.rr_tps, "crr": self.crr_cps}[kind]


@functools.cache
def load(path: Path = PERFMODEL_FILE) -> dict[str, Any]:
    """The parsed constants; raises InputError naming the missing piece if the file is malformed."""
    try:
        raw = load_yaml(path)
    except (OSError, yaml.YAMLError) as err:
        raise InputError(f"cannot read the performance model constants {path}: {err}") from err
    missing = [s for s in REQUIRED_SECTIONS if s not in (raw or {})]
    if missing:
        raise InputError(f"{path} lacks section(s) {', '.join(missing)}: restore them from git")
    for name, effect in {**raw["effects"], **raw["services"]}.items():
        if not ("source" in effect or "why" in effect):
            raise InputError(
                f"{path}: effect {name!r} has neither `source` nor `why`: every constant needs one"
            )
    return raw


def factor(section: str, name: str, kind: str) -> float:
    """The multiplier of effect `name` in `section` for a test kind; 1.0 where the effect has none."""
    entry = load()[section][name]
    value = entry.get(kind, 1.0)
    return float(value)


def value(*keys: str) -> Any:
    """A nested constant, e.g. value("congestion", "mathis_c")."""
    node: Any = load()
    for key in keys:
        node = node[key]
    return node


def hardware(node: NodeProfile, perf: Mapping[str, Any] | None = None) -> Hardware:
    """The hardware class of a node: a profile's pin, else the first class whose `match` fits."""
    perf = perf or {}
    classes = load()["hardware"]
    name = (perf.get("hardware_class") or {}).get(node.name) or _match(node, classes)
    if name not in classes:
        raise InputError(
            f"profile pins node {node.name} to unknown hardware class {name!r}: use one of {', '.join(classes)}"
        )
    entry = {k: (v["value"] if isinstance(v, dict) else v) for k, v in classes[name].items() if k != "match"}
    entry.update((perf.get("hardware") or {}).get(name) or {})
    return Hardware(
        name=name,
        stream_mbps=float(entry["stream_gbps"]) * 1000.0,
        rr_tps=float(entry["rr_tps"]),
        crr_cps=float(entry["crr_cps"]),
        noise_scale=float(entry["noise_scale"]),
    )


def _match(node: NodeProfile, classes: Mapping[str, Any]) -> str:
    for name, entry in classes.items():
        match = entry.get("match") or {}
        if "driver" in match and node.nic.driver not in match["driver"]:
            continue
        if "arch" in match and node.arch != match["arch"]:
            continue
        return name
    raise InputError("data/perfmodel.yaml has no catch-all hardware class (one with an empty `match`)")
