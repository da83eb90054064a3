"""Whether an item is in effect on a node, read from the agent's status, cilium-config and node facts.

Called by `evaluate` (the "enabled" state) and by the change flow after a rollout. Calls `configured`
for cilium-config (logical settings, read per Cilium version) and `kernel` for the facts about the
kernel. Each check takes the first of its looks that finds a value: a status line beats a config key,
because the agent may have fallen back from what the config asks for.
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
    """(passed, what was seen) from the first look that finds a value; (None, "") when none does."""
    for look in check.looks:
        seen = sighting(look, node, cilium_version)
        if seen is not None:
            name, value, shown = seen
            return accepts(look, value), f"{check.what}: {name} = {shown} ({WHERE[look.where]})"
    return None, ""


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
