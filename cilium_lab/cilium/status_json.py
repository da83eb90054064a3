"""Parse `cilium-dbg status -o json` (and `-o yaml`) into a `CiliumStatus`.

Called by `cilium_lab.cilium.parse.parse_status`; calls `cilium_lab.cilium.status`, `json` and PyYAML.
Field names are in reference cilium-tuning.md B.2. Keys are matched case-insensitively with dashes
and underscores ignored, so one reader serves JSON (`kube-proxy-replacement`, `maxGRO`) and YAML
(`kubeproxyreplacement`, `maxgro`). Booleans are `omitempty` in JSON: a missing `enabled` inside a
present object means false; an absent object means unknown (None). Values of the wrong type are
treated as absent, never trusted.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from cilium_lab.cilium.status import CiliumStatus, kpr_full_from_mode
from cilium_lab.errors import StatusParseError

_VERSION = re.compile(r"v?(\d+\.\d+\.\d+[0-9A-Za-z.\-]*)")
_YAML_START = re.compile(r"^[a-z0-9-]+:")
# Top-level sections only a status document has (reference B.2).
_SECTIONS = frozenset(
    {"kubeproxyreplacement", "cilium", "masquerading", "routing", "hostrouting", "kvstore", "kubernetes"}
    | {"hubble", "bandwidthmanager", "ipam", "clocksource", "bpfmaps", "encryption", "nodemonitor"}
    | {"ipv4bigtcp", "ipv6bigtcp", "controllers", "proxy", "cnichaining", "hostfirewall", "clustermesh"}
)
# JSON spells some modes differently from the text output; map them to the text spelling (B.1, B.2).
_MASQUERADE_MODES = {"bpf": "BPF", "iptables": "IPTables"}
_ATTACH_MODES = {"tc": "Legacy TC", "tcx": "TCX"}
_ACCELERATION = {"None": "Disabled", "Disabled": "Disabled"}


def _norm(key: object) -> str:
    return str(key).lower().replace("-", "").replace("_", "")


def _get(node: object, *path: str) -> Any:
    """Follow normalized keys through nested dicts; None when any step is missing or not a dict."""
    for name in path:
        if not isinstance(node, dict):
            return None
        node = next((value for key, value in node.items() if _norm(key) == name), None)
    return node


def _obj(node: object, *path: str) -> dict[str, Any] | None:
    found = _get(node, *path)
    return found if isinstance(found, dict) else None


def _str(node: object, *path: str) -> str | None:
    found = _get(node, *path)
    return found if isinstance(found, str) and found else None


def _int(node: object, *path: str) -> int | None:
    found = _get(node, *path)
    return found if isinstance(found, int) and not isinstance(found, bool) else None


def _flag(section: dict[str, Any] | None, key: str = "enabled") -> bool | None:
    """omitempty boolean: None without the section, False when the section lacks the key."""
    return None if section is None else _get(section, key) is True


def _names(items: object) -> tuple[str, ...] | None:
    if not isinstance(items, list):
        return None
    names = [item if isinstance(item, str) else _str(item, "name") for item in items]
    return tuple(name for name in names if name)


def _kpr(doc: dict[str, Any]) -> dict[str, Any]:
    kpr = _obj(doc, "kubeproxyreplacement")
    mode = _str(kpr, "mode")
    nodeport = _obj(kpr, "features", "nodeport")
    acceleration = _str(nodeport, "acceleration")
    devices = _names(_get(kpr, "devicelist"))
    return {
        "kube_proxy_replacement": mode,
        "kpr_full": kpr_full_from_mode(mode),
        "kpr_devices": devices if devices else _names(_get(kpr, "devices")),
        "socket_lb": _flag(_obj(kpr, "features", "socketlb")) if kpr else None,
        "nodeport_mode": _str(nodeport, "mode"),
        "dsr_dispatch": _str(nodeport, "dsrmode"),
        "xdp_acceleration": _ACCELERATION.get(acceleration or "", acceleration),
    }


def _routing(doc: dict[str, Any]) -> dict[str, Any]:
    routing = _obj(doc, "routing")
    protocol = _str(routing, "tunnelprotocol")
    network = _str(routing, "interhostroutingmode")
    return {
        "host_routing": _str(routing, "intrahostroutingmode") or _str(doc, "hostrouting", "mode"),
        "routing_network": network,
        "tunnel_protocol": protocol.lower() if protocol and network == "Tunnel" else None,
    }


def _masquerading(doc: dict[str, Any]) -> dict[str, Any]:
    masq = _obj(doc, "masquerading")
    if masq is None:
        return {}
    protocols = _obj(masq, "enabledprotocols")
    if protocols is not None:  # the text output says Disabled when neither family is masqueraded
        enabled = bool(_flag(protocols, "ipv4") or _flag(protocols, "ipv6"))
    else:
        enabled = bool(_flag(masq))
    mode = _str(masq, "mode")
    mode = _MASQUERADE_MODES.get((mode or "").lower(), mode) if enabled else "Disabled"
    # The text line prints the KPR devices for BPF masquerading, so the JSON source is the same list.
    devices = _names(_get(doc, "kubeproxyreplacement", "devices")) if mode == "BPF" else None
    return {"masquerading": mode, "masquerading_devices": devices}


def _bandwidth(doc: dict[str, Any]) -> dict[str, Any]:
    bwm = _obj(doc, "bandwidthmanager")
    enabled = _flag(bwm)
    congestion = _str(bwm, "congestioncontrol")
    return {
        "bandwidth_manager": enabled,
        "congestion_control": congestion.upper() if congestion and enabled else None,
        "bandwidth_devices": _names(_get(bwm, "devices")) if enabled else None,
    }


def _big_tcp(doc: dict[str, Any]) -> dict[str, Any]:
    sizes: dict[str, tuple[int, int]] = {}
    updates: dict[str, Any] = {}
    for family in ("ipv4", "ipv6"):
        section = _obj(doc, f"{family}bigtcp")
        updates[f"{family}_big_tcp"] = _flag(section)
        gro, gso = _int(section, "maxgro"), _int(section, "maxgso")
        if gro is not None and gso is not None:
            sizes[family] = (gro, gso)
    return {**updates, "big_tcp_sizes": sizes}


def _maps(doc: dict[str, Any]) -> dict[str, Any]:
    bpf_maps = _obj(doc, "bpfmaps")
    if bpf_maps is None:
        return {}
    ratio = _get(bpf_maps, "dynamicsizeratio")
    rows = _get(bpf_maps, "maps")
    maps = {_str(row, "name"): _int(row, "size") for row in (rows if isinstance(rows, list) else [])}
    return {
        "map_dynamic_size_ratio": float(ratio) if isinstance(ratio, int | float) else 0.0,
        "maps": {name: size for name, size in maps.items() if name and size is not None},
    }


def _general(doc: dict[str, Any]) -> dict[str, Any]:
    message = _str(doc, "cilium", "msg") or ""
    version = _VERSION.match(message)
    attach = _str(doc, "attachmode")
    return {
        "cilium_state": _str(doc, "cilium", "state"),
        "version": version.group(1) if version else None,
        "hubble": _str(doc, "hubble", "state"),
        "device_mode": _str(doc, "datapathmode"),
        "attach_mode": _ATTACH_MODES.get(attach or "", attach),
        "clock_source": _str(doc, "clocksource", "mode"),
        "encryption": _str(doc, "encryption", "mode"),
    }


_EXTRACTORS = (_general, _kpr, _routing, _masquerading, _bandwidth, _big_tcp, _maps)


def _compact(value: object) -> str:
    """One-line JSON of a top-level value; YAML can produce keys JSON cannot hold (dates), then repr."""
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return repr(value)


def from_document(doc: object, lines: list[str], source: str) -> CiliumStatus:
    """Build a status from a decoded JSON/YAML document; raise StatusParseError if it is not one."""
    if not isinstance(doc, dict) or not any(isinstance(_get(doc, name), dict) for name in _SECTIONS):
        raise StatusParseError(
            f"{source} is not `cilium-dbg status -o {source}` output: expected an object with sections"
            " such as 'cilium' and 'kube-proxy-replacement'"
        )
    values: dict[str, Any] = {}
    for extract in _EXTRACTORS:
        values.update(extract(doc))
    fields = {str(key): _compact(value) for key, value in doc.items()}
    return CiliumStatus(**values, source=source, lines=tuple(lines), fields=fields)


def parse_json(body: str, lines: list[str]) -> CiliumStatus:
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as err:
        raise StatusParseError(
            f"status output starts like JSON but does not decode ({err}); pass the whole output"
        ) from None
    return from_document(doc, lines, "json")


def load_yaml(body: str) -> object | None:
    """The decoded document when `body` looks like `-o yaml` output, else None (then it is text)."""
    if not _YAML_START.match(body):
        return None
    try:
        doc = yaml.safe_load(body)
    except Exception:  # PyYAML raises several unrelated types on arbitrary text; any means "not YAML"
        return None
    return doc if isinstance(doc, dict) else None
