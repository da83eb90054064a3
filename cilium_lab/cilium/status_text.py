"""Parse the text form of `cilium-dbg status [--verbose]` into a `CiliumStatus`.

Called by `cilium_lab.cilium.parse.parse_status` with cleaned lines (no ANSI codes, no CR, no kubectl
preamble); calls only `cilium_lab.cilium.status`. Line formats per version are in reference
cilium-tuning.md B.1: a tabwriter label column, so split each line on its first ':' only, and
treat tabs and runs of spaces alike. Top-level lines go through `LINE_HANDLERS` (label -> function
returning attribute updates); indented lines belong to the block opened by the last top-level line,
and only the verbose `KubeProxyReplacement Details` and `BPF Maps` blocks are read.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from cilium_lab.cilium.status import CiliumStatus, kpr_full_from_mode
from cilium_lab.errors import StatusParseError

Updates = dict[str, object]

_BRACKETS = re.compile(r"\[([^\]]*)\]")
_VERSION = re.compile(r"^(\S+)\s+v?(\d+\.\d+\.\d+[0-9A-Za-z.\-]*)")
_BIG_TCP = re.compile(r"^(Enabled|Disabled)\b(?:\s*\[\s*(\d+)\s*(?:,\s*(\d+)\s*)?\])?")
_ROUTING_NETWORK = re.compile(r"Network:\s*(\w+)(?:\s*\[\s*(\w+)\s*\])?")
_ROUTING_HOST = re.compile(r"Host:\s*(\w+)")
_MAP_RATIO = re.compile(r"ratio:\s*([0-9.eE+-]+)")
_MAP_ROW = re.compile(r"^(.*?\S)\s+(\d+)$")
_CONGESTION_CONTROLS = frozenset({"BBR", "CUBIC"})


def _collapse(value: str) -> str:
    """One space for every run of tabs and spaces: the padding carries no meaning."""
    return " ".join(value.split())


def _first_word(value: str) -> str | None:
    words = value.split()
    return words[0] if words else None


def _device_names(bracket: str) -> tuple[str, ...]:
    """`eth0 192.168.7.5 (Direct Routing), eth1 10.0.0.1` -> ("eth0", "eth1")."""
    return tuple(part.split()[0] for part in bracket.split(",") if part.split())


def _enabled(word: str | None) -> bool | None:
    return {"Enabled": True, "Disabled": False}.get(word or "")


def _kpr(value: str) -> Updates:
    mode = _first_word(value)
    brackets = _BRACKETS.findall(value)
    return {
        "kube_proxy_replacement": mode,
        "kpr_full": kpr_full_from_mode(mode),
        "kpr_devices": _device_names(brackets[0]) if brackets else None,
    }


def _cilium(value: str) -> Updates:
    match = _VERSION.match(value)
    if match:
        return {"cilium_state": match.group(1), "version": match.group(2)}
    return {"cilium_state": _first_word(value)}


def _big_tcp(family: str) -> Callable[[str], Updates]:
    def handle(value: str) -> Updates:
        match = _BIG_TCP.match(value)
        if not match:
            return {}
        updates: Updates = {f"{family}_big_tcp": match.group(1) == "Enabled"}
        if match.group(2):
            gro = int(match.group(2))
            # One number when GRO and GSO agree, otherwise "[GRO, GSO]" (reference B.1).
            updates["_big_tcp_size"] = (family, (gro, int(match.group(3) or gro)))
        return updates

    return handle


def _bandwidth(value: str) -> Updates:
    word = _first_word(value)
    if word == "Disabled":
        return {"bandwidth_manager": False}
    if word != "EDT":
        return {}
    groups = [group.strip() for group in _BRACKETS.findall(value)]
    congestion = groups.pop(0) if groups and groups[0] in _CONGESTION_CONTROLS else None
    devices = _device_names(groups[0]) if groups else None
    return {"bandwidth_manager": True, "congestion_control": congestion, "bandwidth_devices": devices}


def _routing(value: str) -> Updates:
    updates: Updates = {}
    network = _ROUTING_NETWORK.search(value)
    if network:
        updates["routing_network"] = network.group(1)
        updates["tunnel_protocol"] = network.group(2).lower() if network.group(2) else None
    host = _ROUTING_HOST.search(value)
    if host:
        updates["host_routing"] = host.group(1)
    return updates


def _masquerading(value: str) -> Updates:
    brackets = [group for group in _BRACKETS.findall(value) if not group.lstrip().startswith("IPv4")]
    return {
        "masquerading": _first_word(value),
        "masquerading_devices": _device_names(brackets[0]) if brackets else None,
    }


def _attach_mode(value: str) -> Updates:
    return {"attach_mode": value.split("[")[0].strip() or None}


def _first_word_of(attribute: str) -> Callable[[str], Updates]:
    return lambda value: {attribute: _first_word(value)}


def _bpf_maps(value: str) -> Updates:
    if value.startswith("dynamic sizing: off"):
        return {"map_dynamic_size_ratio": 0.0}
    match = _MAP_RATIO.search(value)
    return {"map_dynamic_size_ratio": float(match.group(1))} if match else {}


LINE_HANDLERS: dict[str, Callable[[str], Updates]] = {
    "KubeProxyReplacement": _kpr,
    "Cilium": _cilium,
    "IPv4 BIG TCP": _big_tcp("ipv4"),
    "IPv6 BIG TCP": _big_tcp("ipv6"),
    "BandwidthManager": _bandwidth,
    "Host Routing": _first_word_of("host_routing"),
    "Routing": _routing,
    "Masquerading": _masquerading,
    "Hubble": _first_word_of("hubble"),
    "Device Mode": _first_word_of("device_mode"),
    "Attach Mode": _attach_mode,
    "Clock Source for BPF": _first_word_of("clock_source"),
    "Encryption": _first_word_of("encryption"),
    "BPF Maps": _bpf_maps,
}

# Top-level labels that only status output prints; one of them must be present.
STATUS_LABELS = frozenset(LINE_HANDLERS) | {
    "KVStore",
    "Kubernetes",
    "Kubernetes APIs",
    "Host firewall",
    "SRv6",
    "CNI Chaining",
    "CNI Config file",
    "NodeMonitor",
    "Cilium health daemon",
    "IPAM",
    "Controller Status",
    "Proxy Status",
    "Global Identity Range",
    "Cluster health",
    "Modules Health",
    "KubeProxyReplacement Details",
}

# Verbose "KubeProxyReplacement Details" sub-lines (reference B.1, sample from cilium/cilium#29132).
_KPR_DETAILS: dict[str, Callable[[str], Updates]] = {
    "Status": lambda value: {
        "kube_proxy_replacement": _first_word(value),
        "kpr_full": kpr_full_from_mode(_first_word(value)),
    },
    "Socket LB": lambda value: {"socket_lb": _enabled(_first_word(value))},
    "Mode": _first_word_of("nodeport_mode"),
    "DSR Dispatch Mode": lambda value: {"dsr_dispatch": value or None},
    "XDP Acceleration": _first_word_of("xdp_acceleration"),
}


def _split_label(line: str) -> tuple[str, str] | None:
    label, colon, value = line.partition(":")
    if not colon or not label.strip():
        return None
    return label.strip(), _collapse(value)


def _dedent(lines: list[str]) -> list[str]:
    """Remove indentation common to every non-empty line (pasted output is often indented)."""
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    cut = min(indents, default=0)
    return [line[cut:].rstrip() for line in lines]


class _Collector:
    """Accumulates attribute updates; top-level lines win over verbose details for the same attribute."""

    def __init__(self) -> None:
        self.values: Updates = {}
        self.sizes: dict[str, tuple[int, int]] = {}
        self.maps: dict[str, int] = {}
        self.fields: dict[str, str] = {}

    def add(self, updates: Updates, *, override: bool = True) -> None:
        for name, value in updates.items():
            if name == "_big_tcp_size":
                family, sizes = value  # type: ignore[misc]
                self.sizes[family] = sizes
            elif override or self.values.get(name) is None:
                self.values[name] = value


def _top_level(collector: _Collector, line: str) -> str | None:
    """Handle one unindented line; return its label (the block it opens) or None."""
    split = _split_label(line)
    if split is None:
        return None
    label, value = split
    collector.fields.setdefault(label, value)
    handler = LINE_HANDLERS.get(label)
    if handler:
        collector.add(handler(value))
    return label


def _indented(collector: _Collector, block: str | None, line: str) -> None:
    text = line.strip()
    if block == "BPF Maps":
        row = _MAP_ROW.match(_collapse(text))
        if row and row.group(1) != "Name":
            collector.maps[row.group(1)] = int(row.group(2))
    elif block == "KubeProxyReplacement Details":
        split = _split_label(text)
        handler = _KPR_DETAILS.get(split[0]) if split else None
        if split and handler:
            collector.add(handler(split[1]), override=False)


def parse_text(lines: list[str]) -> CiliumStatus:
    """Parse cleaned status lines; raise StatusParseError when no status label is present."""
    collector = _Collector()
    block: str | None = None
    for line in _dedent(lines):
        if not line.strip():
            continue
        if line[0].isspace():
            _indented(collector, block, line)
        else:
            block = _top_level(collector, line)
    if not STATUS_LABELS & collector.fields.keys():
        raise StatusParseError(
            "not Cilium status output: expected lines such as 'KubeProxyReplacement:' or 'Cilium:  Ok  1.x.y'"
            " from `cilium-dbg status` run in the agent pod"
        )
    return CiliumStatus(
        **collector.values,  # type: ignore[arg-type]
        big_tcp_sizes=collector.sizes,
        maps=collector.maps,
        source="text",
        lines=tuple(lines),
        fields=collector.fields,
    )
