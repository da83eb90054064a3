"""Cilium knowledge: status parsing (text, JSON, YAML), versions, and config keys across versions.

Called by `cluster` (snapshots), `catalog`, `change` and the labs; calls only `cilium_lab.errors`
and the standard library plus PyYAML. Nothing here talks to a cluster.

- `parse_status(text) -> CiliumStatus`: what `cilium-dbg status [--verbose] [-o json|yaml]` printed.
- `CiliumVersion.parse("1.14.0-snapshot.4")`: comparable versions.
- `SETTINGS`, `translate(version, changes, current) -> ConfigChange`, `read(version, configmap)`:
  the tuning settings as cilium-config keys and Helm values of a given version.
"""

from cilium_lab.cilium.config import ConfigChange, ConflictingSettings, read, translate
from cilium_lab.cilium.parse import parse_status
from cilium_lab.cilium.settings import SETTINGS, Era, Setting
from cilium_lab.cilium.status import CiliumStatus
from cilium_lab.cilium.versions import CiliumVersion

__all__ = [
    "SETTINGS",
    "CiliumStatus",
    "CiliumVersion",
    "ConfigChange",
    "ConflictingSettings",
    "Era",
    "Setting",
    "parse_status",
    "read",
    "translate",
]
