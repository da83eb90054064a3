"""`cilium-dbg status -o json` and `-o yaml` for an emulated node.

Prints the status response of `status_response.build`. The real CLI marshals the StatusResponse
with Go's encoding/json (2-space indent; `omitempty`, so false booleans, zero numbers, empty strings
and empty lists are absent, while empty objects stay) and with go-yaml for YAML, whose keys are the
Go field names lower-cased without dashes (`ipv4bigtcp`, `maxgro`) and which keeps false values
(reference B.2, issue #45513). Keys are sorted, as the generated models declare fields alphabetically;
that is an approximation of Go's declaration order for a few camelCase names.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from cilium_lab.sim.agent import status_response
from cilium_lab.sim.agent.datapath import Datapath
from cilium_lab.sim.state.profiles import NodeProfile


def render_json(
    dp: Datapath,
    node: NodeProfile,
    version: str,
    config: dict[str, str],
    *,
    kubernetes_version: str = "v1.26.6+k3s1",
    now: str = "2023-07-10T08:15:22Z",
) -> str:
    """The text of `cilium-dbg status -o json`."""
    model = status_response.build(dp, node, version, config, kubernetes_version, now)
    return json.dumps(omit_empty(model), indent=2, sort_keys=True) + "\n"


def render_yaml(
    dp: Datapath,
    node: NodeProfile,
    version: str,
    config: dict[str, str],
    *,
    kubernetes_version: str = "v1.26.6+k3s1",
    now: str = "2023-07-10T08:15:22Z",
) -> str:
    """The text of `cilium-dbg status -o yaml`."""
    model = status_response.build(dp, node, version, config, kubernetes_version, now)
    return yaml.safe_dump(yaml_keys(model), sort_keys=True, default_flow_style=False)


def omit_empty(value: Any) -> Any:
    """Go's `omitempty`: drop false, 0, "", None and empty lists; keep empty objects (pointers)."""
    if isinstance(value, dict):
        return {k: omit_empty(v) for k, v in value.items() if not _empty(v)}
    if isinstance(value, list):
        return [omit_empty(v) for v in value]
    return value


def _empty(value: Any) -> bool:
    if isinstance(value, bool):
        return value is False
    return value is None or value == "" or value == [] or (isinstance(value, int | float) and value == 0)


def yaml_keys(value: Any) -> Any:
    """go-yaml's default keys: the Go field name lower-cased, i.e. the JSON name without dashes."""
    if isinstance(value, dict):
        return {k.replace("-", "").lower(): yaml_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [yaml_keys(v) for v in value]
    return value
