"""What a node's cilium-config says about one logical setting, read the way its Cilium version reads it.

Called by `verify` (config looks) and `requirements` (which Cilium a node runs). Calls `cilium.read`
and `cilium.SETTINGS`, so key names, renames, value spellings and version gates live only in
`cilium_lab.cilium.settings`: the catalogue names settings (`routing`), never keys (`routing-mode`).

A key that is absent is not evidence: `cilium.read` fills in the agent's default, but an empty or
partial `NodeFacts.config` may simply not have been collected, so only a key that is there counts.
An unknown or unparsable Cilium version, or a spelling that version does not accept, reads as nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from cilium_lab import cilium
from cilium_lab.cilium.versions import CiliumVersion
from cilium_lab.errors import InputError
from cilium_lab.facts import NodeFacts


@dataclass(frozen=True)
class Configured:
    """One setting as found in cilium-config: the key it was read from, its text, its logical value."""

    setting: str
    key: str
    text: str
    value: object


def running_version(node: NodeFacts, given: str | None = None) -> str | None:
    """The Cilium version to read `node` with: `given` (the cluster's), else the node's own, else its status."""
    return given or node.cilium_version or (node.status.version if node.status is not None else None)


def parsed_version(running: str | None) -> CiliumVersion | None:
    """`running` as a version, or None when it is missing or not a version."""
    try:
        return CiliumVersion.parse(running) if running else None
    except InputError:
        return None


def configured(name: str, node: NodeFacts, cilium_version: str | None = None) -> Configured | None:
    """Setting `name` as `node`'s cilium-config holds it for its Cilium version; None when it does not say."""
    setting = cilium.SETTINGS[name]  # a Look has checked the name
    version = parsed_version(running_version(node, cilium_version))
    if version is None or not node.config:
        return None
    try:
        values = cilium.read(version, node.config)
    except InputError:  # older than cilium-lab covers: its keys are not known here
        return None
    key = _key_present(setting, version, node.config)
    if key is None or values.get(name) is None:
        return None
    return Configured(name, key, str(node.config[key]).strip(), values[name])


def _key_present(setting: cilium.Setting, version: CiliumVersion, config: dict[str, str]) -> str | None:
    """The key `cilium.read` took the value from, or None when it fell back to the default.

    Mirrors `cilium.read`'s two sources (this era's key, else a replaced key the agent still honours):
    `read` returns values only, not where they came from.
    """
    era = setting.era(version)
    older = setting.previous_era(era)
    if era.key in config:
        return era.key
    if era.honours_replaced and older is not None and older.key in config:
        return older.key
    return None
