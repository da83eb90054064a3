"""The snapshot's per-node columns, each read from where the running Cilium version keeps it.

The agent's status line first (reference cilium-tuning.md B.1); where this version prints no such line
(the routing mode has a status line only from 1.16: `Routing: Network: Tunnel [vxlan]`, PR
cilium/cilium#32036), the node's effective cilium-config under this version's key (`tunnel: vxlan` up to
1.13, `routing-mode`/`tunnel-protocol` from 1.14: `cilium.read`). A value no source holds is said as
"unknown (why)", never left as None.
"""

from __future__ import annotations

from collections.abc import Callable

from cilium_lab import cilium
from cilium_lab.cilium import commands as cli
from cilium_lab.cilium.status import CiliumStatus
from cilium_lab.errors import LabError
from cilium_lab.facts import NodeFacts

Config = dict[str, object]


def _routing(status: CiliumStatus | None, config: Config, version: str) -> str | None:
    if status is not None and status.routing_network:
        proto = f" [{status.tunnel_protocol}]" if status.tunnel_protocol else ""
        return f"{status.routing_network}{proto}"
    mode = config.get("routing")
    if mode == "tunnel":
        return f"Tunnel [{config.get('tunnel_protocol') or 'vxlan'}] (cilium-config {cli.config_key('routing', version)})"
    if mode == "native":
        return f"Native (cilium-config {cli.config_key('routing', version)})"
    return None


def _status_or_config(attribute: str, setting: str, on: str, off: str) -> Callable[..., str | None]:
    def read(status: CiliumStatus | None, config: Config, version: str) -> str | None:
        seen = getattr(status, attribute, None) if status is not None else None
        if seen is not None:
            return seen
        value = config.get(setting)
        if value is None:
            return None
        return f"{on if value else off} (cilium-config {cli.config_key(setting, version)})"

    return read


def _congestion(status: CiliumStatus | None, config: Config, version: str) -> str | None:
    if status is not None and status.congestion_control:
        return status.congestion_control
    if status is not None and status.bandwidth_manager is False:
        return "none (BandwidthManager: Disabled; the kernel's default for pods)"
    return None


# column -> its reader: status first, then cilium-config; None when neither says
COLUMNS: dict[str, Callable[[CiliumStatus | None, Config, str], object]] = {
    "routing": _routing,
    "KPR": _status_or_config("kube_proxy_replacement", "kube_proxy_replacement", "True", "False"),
    "masquerading": _status_or_config("masquerading", "bpf_masquerade", "BPF", "IPTables"),
    "host routing": _status_or_config("host_routing", "host_legacy_routing", "Legacy", "BPF if the node can"),
    "bandwidth mgr": _status_or_config("bandwidth_manager", "bandwidth_manager", "True", "False"),
    "congestion": _congestion,
    "hubble": _status_or_config("hubble", "hubble", "Ok", "Disabled"),
}


def row(node: NodeFacts, version: str, problem: str = "") -> dict[str, object]:
    """Every column for one node; "unknown (why)" where neither the status nor cilium-config says."""
    try:
        config = cilium.read(version, node.config) if node.config else {}
    except LabError as err:  # an unreadable config is a reason to show, not a crash of the snapshot
        config, problem = {}, problem or f"cilium-config unreadable: {err}"
    found = {}
    for column, reader in COLUMNS.items():
        value = reader(node.status, config, version)
        if value is None:
            why = problem or (
                "no agent status"
                if node.status is None
                else f"neither the status of {version} nor cilium-config says"
            )
            value = f"unknown ({why})"
        found[column] = value
    return found
