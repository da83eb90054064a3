"""What we know about one node: the input to readiness checks and the scorecard.

Built by `cluster.snapshot` from the Node object and from commands run in the node's Cilium agent
pod (which shares the host's network namespace); read by `catalog.evaluate` and the labs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cilium_lab.cilium.status import CiliumStatus


@dataclass(frozen=True)
class NodeFacts:
    """One node as observed. Unknown values are None, never guessed."""

    name: str
    kernel: str  # release string as the node reports it: "6.2.0-39-generic"
    arch: str  # as Kubernetes reports it: "amd64", "arm64"
    os_image: str = ""
    kernel_build: str | None = None  # `uname -v`: "#40-Ubuntu SMP PREEMPT_DYNAMIC ..."
    ready: bool = True
    device: str | None = None  # the node's main network device (default route)
    nic_driver: str | None = None  # `ethtool -i <device>` driver: "virtio_net", "mlx5_core"
    mtu: int | None = None  # the device MTU
    max_mtu: int | None = None  # from `ip -d link show`
    # The MTU Cilium runs on the node: cilium_host's MTU (`ip link show cilium_host`), None when no agent
    # runs or it was not read. What pods are given, as opposed to what cilium-config asks for.
    pod_mtu: int | None = None
    cilium_version: str | None = None
    status: CiliumStatus | None = None  # parsed `cilium-dbg status --verbose` of this node's agent
    config: dict[str, str] = field(default_factory=dict)  # effective cilium-config for this node
    sysctls: dict[str, str] = field(default_factory=dict)
    host: dict[str, str] = field(default_factory=dict)  # governor, tuned profile, irqbalance, ...
