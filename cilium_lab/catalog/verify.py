"""Whether an item is in effect on a node, read from the agent's status, cilium-config and node facts.

Called by `evaluate` (the "enabled" state) and by the change flow after a rollout. Calls `configured`
for cilium-config (logical settings, read per Cilium version) and `kernel` for the facts about the
kernel.

"Enabled" means in effect, not merely configured. When the agent's status has the line a check's
status look reads (`Look.line`), the status decides and cilium-config is never consulted: the agent
may have fallen back from what the config asks for (BBR with `BandwidthManager: Disabled` is off).
Only when the status is silent (no agent, an older format without the line) does the first other
look that finds a value decide. A value above what the node can carry (`Look.within`, e.g. an MTU
above the device's max MTU) is not in effect either.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from cilium_lab.catalog import configured
from cilium_lab.catalog.model import Check, Item, Look
from cilium_lab.errors import InputError
from cilium_lab.facts import NodeFacts
from cilium_lab.kernel import KernelVersion, parse_kernel

WHERE = {"status": "agent status", "config": "cilium-config", "facts": "node facts", "host": "host facts"}


@dataclass(frozen=True)
class Observation:
    """enabled: True when every check passed, False when one failed, None when some could not be read."""

    enabled: bool | None
    evidence: tuple[str, ...] = ()  # what was seen, one line per check that found a value
    unseen: tuple[str, ...] = ()  # checks no source could answer


def observe(
    item: Item, node: NodeFacts, *, skip_settings: Collection[str] = (), cilium_version: str | None = None
) -> Observation:
    """Run the item's checks on one node, leaving out those for settings the node cannot take.

    `cilium_version` (the cluster's) decides how cilium-config is read; without it, the node's own.
    """
    checks = [c for c in item.verify if c.setting is None or c.setting not in skip_settings]
    results = [(check, run(check, node, cilium_version)) for check in checks]
    evidence = tuple(line for _, (ok, line) in results if ok is not None)
    unseen = tuple(check.what for check, (ok, _) in results if ok is None)
    oks = [ok for _, (ok, _) in results]
    if not checks or (None in oks and False not in oks):
        return Observation(None, evidence, unseen or (item.title,))
    return Observation(all(oks), evidence, unseen)


def run(check: Check, node: NodeFacts, cilium_version: str | None = None) -> tuple[bool | None, str]:
    """(passed, what was seen): the status when it answers, else the first look that finds a value;
    (None, "") when none does."""
    answering = next((look for look in check.looks if status_answers(look, node)), None)
    if answering is not None:
        return _judged(check, answering, node, _status_sighting(answering, node))
    for look in check.looks:
        seen = None if look.where == "status" else sighting(look, node, cilium_version)
        if seen is not None:
            return _judged(check, look, node, seen)
    return None, ""


def status_answers(look: Look, node: NodeFacts) -> bool:
    """Does the node's status have the line this status look reads?"""
    if look.where != "status" or node.status is None:
        return False
    return getattr(node.status, look.line or look.name, None) is not None


def _status_sighting(look: Look, node: NodeFacts) -> tuple[str, object, object]:
    value = getattr(node.status, look.name, None)
    if value is None:  # the line is there without this part: say what it shows instead
        line = look.line or look.name
        return look.name, None, f"none ({line} = {getattr(node.status, line, None)})"
    return look.name, value, value


def _judged(check: Check, look: Look, node: NodeFacts, seen: tuple[str, object, object]) -> tuple[bool, str]:
    name, value, shown = seen
    cap = getattr(node, look.within, None) if look.within else None
    over = cap is not None and _number(value) is not None and _number(value) > cap
    suffix = f", above the {look.within} {cap} {node.device or 'the device'} carries" if over else ""
    return accepts(look, value) and not over, f"{check.what}: {name} = {shown}{suffix} ({WHERE[look.where]})"


def _number(value: object) -> float | None:
    try:
        return float(str(value))
    except ValueError:
        return None


def sighting(
    look: Look, node: NodeFacts, cilium_version: str | None = None
) -> tuple[str, object, object] | None:
    """(name to show, value to judge, text to show) of what a look points at; None when its source is silent.

    A config look shows the key and text as they stand in cilium-config, and is judged on the logical value.
    """
    if look.where == "config":
        found = configured.configured(look.name, node, cilium_version)
        return None if found is None else (found.key, found.value, found.text)
    value = read(look, node)
    if value is None:
        return None
    return look.name, value, value.label if isinstance(value, KernelVersion) else value


def read(look: Look, node: NodeFacts) -> object | None:
    """The value a status, facts or host look points at, or None when that source does not have it."""
    if look.where == "status":
        return getattr(node.status, look.name, None) if node.status is not None else None
    if look.where == "host":
        # Command output as captured: "Current active profile: network-latency" -> "network-latency".
        raw = node.host.get(look.name) or ""
        return raw.rsplit(":", 1)[-1].strip() or None
    if look.name in ("kernel", "preemption"):
        kernel = _kernel(node)
        return kernel if look.name == "kernel" or kernel is None else kernel.preemption
    return getattr(node, look.name, None)


def accepts(look: Look, value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, KernelVersion):
        return value.at_least(str(look.at_least))
    if look.at_least is not None:
        try:
            return float(str(value)) >= float(look.at_least)
        except ValueError:
            return False
    return value in look.accept


def _kernel(node: NodeFacts) -> KernelVersion | None:
    try:
        return parse_kernel(node.kernel, node.kernel_build)
    except InputError:
        return None
