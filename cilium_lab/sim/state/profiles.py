"""Cluster profiles for the embedded cluster: the nodes, their hardware and the Cilium install.

Profiles are YAML files in `data/profiles/` (each with a header naming its sources). This module
only loads and validates them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cilium_lab.errors import InputError
from cilium_lab.package_files import load_yaml, shipped

PROFILE_DIR = shipped("data", "profiles")


@dataclass(frozen=True)
class Nic:
    name: str  # "enp1s0"
    driver: str  # as `ethtool -i` prints it: "virtio_net", "mlx5_core", "ice"
    speed_mbps: int
    mtu: int = 1500
    max_mtu: int = 9000
    xdp_native: bool = False  # driver has native XDP support
    big_tcp: bool = False  # driver accepts GSO/GRO sizes above 64k
    mac: str = "52:54:00:00:00:01"
    ipv6_link_local: bool = False  # the NIC carries an fe80:: address (Cilium 1.15+ lists it)
    ipv6_global: str = ""  # a global IPv6 address on the NIC, as a Docker network with IPv6 gives kind nodes


@dataclass(frozen=True)
class NodeProfile:
    name: str
    arch: str  # "amd64" | "arm64"
    os_image: str
    kernel: str  # `uname -r`
    kernel_build: str  # `uname -v`, carries the preemption model and, on Debian, the upstream patch level
    preempt: str  # "none" | "voluntary" | "full" | "dynamic"
    cpus: int
    memory_gib: int
    nic: Nic
    internal_ip: str
    pod_cidr: str
    control_plane: bool = False
    underlay_mtu: int = 1500  # the largest frame the switches/underlay carry
    host: dict[str, str] = field(default_factory=dict)  # governor, tuned_profile, irqbalance, cpufreq


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    kubernetes_version: str  # "v1.26.6+k3s1"
    cilium_version: str  # "1.13.4"
    cilium_config: dict[str, str]  # the cilium-config ConfigMap data as installed
    helm_managed: bool
    service_cidr: str
    nodes: tuple[NodeProfile, ...]
    perf: dict[str, Any] = field(default_factory=dict)  # per-profile performance-model overrides
    sources: tuple[str, ...] = ()


def available() -> list[str]:
    """Names of the profiles shipped in data/profiles."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


def load(name_or_path: str) -> Profile:
    """Load a profile by name (`seed-mixed`) or by path to a YAML file."""
    path = Path(name_or_path)
    if not path.suffix:
        path = PROFILE_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        raise InputError(
            f"unknown simulator profile {name_or_path!r}: choose one of {', '.join(available())} "
            "or give a path to a profile YAML file"
        )
    raw = load_yaml(path)
    try:
        return _build(raw)
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(
            f"profile {path} is malformed ({err!r}): compare it with data/profiles/seed-mixed.yaml"
        ) from err


def _build(raw: dict[str, Any]) -> Profile:
    nodes = tuple(
        NodeProfile(
            **{**n, "nic": Nic(**n["nic"]), "host": {k: str(v) for k, v in n.get("host", {}).items()}}
        )
        for n in raw["nodes"]
    )
    return Profile(
        name=raw["name"],
        description=raw["description"],
        kubernetes_version=raw["kubernetes_version"],
        cilium_version=str(raw["cilium_version"]),
        cilium_config={k: str(v) for k, v in raw["cilium_config"].items()},
        helm_managed=bool(raw.get("helm_managed", True)),
        service_cidr=raw["service_cidr"],
        nodes=nodes,
        perf=raw.get("perf", {}),
        sources=tuple(raw.get("sources", ())),
    )
