"""Readiness of one item on one node: enabled, can-enable (perhaps after other items), blocked, or n/a.

Called by the labs (the readiness table before a change), the scorecard (lab 00) and the change flow
(refusing a node). Calls `requirements` for hard node facts, `verify` for what is in effect, and
itself for prerequisite items.

The order of the questions:
  1. Not a tuning step (overview, summary)                  -> n/a
  2. Seen in effect on the node (status, else config/facts)  -> enabled
  3. Made pointless by another enabled item                  -> n/a (conntrack bypass after host routing)
  4. A hard node fact fails (kernel, driver, MTU, Cilium)    -> blocked, with the series' fallback
  5. A prerequisite item is blocked on this node             -> blocked
  6. Otherwise                                               -> can-enable, with `needs` = items to enable first
A requirement limited to one setting (IPv4 BIG TCP needs 6.3) blocks only that setting, unless it was
the last one. Facts that cannot be read never block: the reasons say what could not be checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cilium_lab.catalog import items, requirements, verify
from cilium_lab.catalog.model import (
    BLOCKED,
    CAN_ENABLE,
    ENABLED,
    NOT_APPLICABLE,
    Item,
    ItemEnabled,
    Readiness,
)
from cilium_lab.facts import NodeFacts


@dataclass
class _HardFacts:
    """What the node's hard facts say about an item."""

    blocking: list[str] = field(default_factory=list)  # reasons that block the whole item
    blocked_settings: dict[str, list[str]] = field(default_factory=dict)  # setting -> reasons
    unknown: list[str] = field(default_factory=list)


def evaluate(item: Item | str | int, node: NodeFacts, *, cilium_version: str | None = None) -> Readiness:
    """Where `node` stands on `item`; `cilium_version` overrides the node's own when given (for the
    version thresholds and for how cilium-config is read)."""
    item = items.get(item)
    if item.kind != "tuning":
        return Readiness(
            item.id, node.name, NOT_APPLICABLE, (f"{item.title}: a view of the series, not a tuning step",)
        )
    hard = _hard_facts(item, node, cilium_version)
    skipped = tuple(hard.blocked_settings)
    seen = verify.observe(item, node, skip_settings=skipped, cilium_version=cilium_version)
    partial = tuple(reason for reasons in hard.blocked_settings.values() for reason in reasons)
    if seen.enabled:
        return Readiness(item.id, node.name, ENABLED, seen.evidence + partial, blocked_settings=skipped)
    moot = _moot(item, node, cilium_version)
    if moot is not None:
        return Readiness(item.id, node.name, NOT_APPLICABLE, (moot,))
    if hard.blocking:
        return _blocked(item, node, [*hard.blocking, *partial, *hard.unknown], skipped)
    needs, blocking = _prerequisites(item, node, cilium_version)
    if blocking:
        return _blocked(item, node, blocking, skipped)
    reasons = _can_enable_reasons(item, node, needs, seen) + partial + tuple(hard.unknown)
    return Readiness(item.id, node.name, CAN_ENABLE, reasons, needs=needs, blocked_settings=skipped)


def _hard_facts(item: Item, node: NodeFacts, cilium_version: str | None) -> _HardFacts:
    hard = _HardFacts()
    for req in item.requires:
        if isinstance(req, ItemEnabled):
            continue
        found = requirements.check(req, node, needed_by=item.title, cilium_version=cilium_version)
        if found.met is None:
            hard.unknown.append(f"could not check: {found.reason}")
        elif not found.met and req.setting is not None:
            hard.blocked_settings.setdefault(req.setting, []).append(f"{req.setting} blocked: {found.reason}")
        elif not found.met:
            hard.blocking.append(found.reason)
    if item.targets and set(hard.blocked_settings) >= set(item.targets):
        hard.blocking.extend(reason for reasons in hard.blocked_settings.values() for reason in reasons)
        hard.blocked_settings.clear()
    return hard


def _moot(item: Item, node: NodeFacts, cilium_version: str | None) -> str | None:
    if item.moot_when is None:
        return None
    other = items.get(item.moot_when)
    if verify.observe(other, node, cilium_version=cilium_version).enabled:
        return f"{other.title} is enabled, so {item.title.lower()} does not matter on this node"
    return None


def _prerequisites(
    item: Item, node: NodeFacts, cilium_version: str | None
) -> tuple[tuple[str, ...], list[str]]:
    """(items to enable first, in catalogue order; reasons a blocked prerequisite blocks this item)."""
    needs: set[str] = set()
    blocking: list[str] = []
    for req in item.requires:
        if not isinstance(req, ItemEnabled):
            continue
        before = evaluate(req.item, node, cilium_version=cilium_version)
        if before.state == BLOCKED:
            first = before.reasons[0] if before.reasons else "see that item"
            blocking.append(f"needs {items.get(req.item).title} ({req.why}), which is blocked here: {first}")
        elif before.state == CAN_ENABLE:
            needs.update((*before.needs, req.item))
    ordered = tuple(i.id for i in items.ITEMS if i.id in needs)
    return ordered, blocking


def _blocked(item: Item, node: NodeFacts, reasons: list[str], skipped: tuple[str, ...]) -> Readiness:
    if item.fallback is not None:
        reasons = [*reasons, f"the series' advice instead: {items.get(item.fallback).title}"]
    return Readiness(
        item.id, node.name, BLOCKED, tuple(reasons), blocked_settings=skipped, fallback=item.fallback
    )


def _can_enable_reasons(
    item: Item, node: NodeFacts, needs: tuple[str, ...], seen: verify.Observation
) -> tuple[str, ...]:
    if seen.enabled is False:
        reasons = [f"{item.title} is not in effect yet"]
    else:
        reasons = [f"cannot see whether {item.title} is on: nothing reports {', '.join(seen.unseen)}"]
    if node.status is None and any(look.where == "status" for c in item.verify for look in c.looks):
        reasons.append("no agent status for this node: judged from cilium-config and node facts")
    reasons.extend(seen.evidence)
    if needs:
        reasons.append(f"enable first: {', '.join(items.get(n).title for n in needs)}")
    return tuple(reasons)
