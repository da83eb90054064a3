"""Whether a node meets one hard requirement of an item: kernel, NIC driver, device MTU, Cilium version.

Called by `evaluate` (item prerequisites, the "item" feature, are evaluate's business, not this
module's). Calls `kernel` to read the node's kernel and `configured` for the node's Cilium version.
Each check answers met / not met / cannot tell, with a reason in words; "cannot tell" never blocks,
it is reported.
"""

from __future__ import annotations

from dataclasses import dataclass

from cilium_lab.catalog import configured
from cilium_lab.catalog.model import CiliumAtLeast, DeviceMtuAtLeast, KernelAtLeast, NicDriverIn
from cilium_lab.cilium.versions import CiliumVersion
from cilium_lab.errors import InputError
from cilium_lab.facts import NodeFacts
from cilium_lab.kernel import KernelVersion, parse_kernel

HardRequirement = KernelAtLeast | NicDriverIn | DeviceMtuAtLeast | CiliumAtLeast


@dataclass(frozen=True)
class Finding:
    """met is True, False, or None when the node's facts cannot tell; reason is empty when met."""

    met: bool | None
    reason: str = ""


def check(req: HardRequirement, node: NodeFacts, *, needed_by: str, cilium_version: str | None) -> Finding:
    """Check one requirement; `needed_by` names who needs it in the reason ("BPF host routing")."""
    who = req.what or needed_by
    if isinstance(req, KernelAtLeast):
        return _kernel(req, node, who)
    if isinstance(req, NicDriverIn):
        return _driver(req, node, who)
    if isinstance(req, DeviceMtuAtLeast):
        return _mtu(req, node, who)
    return _cilium(req, node, who, cilium_version)


def kernel_meets(kernel: KernelVersion, versions: tuple[str, ...]) -> bool:
    """Series-aware: the newest threshold, or a stable backport in the kernel's own series."""
    thresholds = [parse_kernel(v) for v in versions]
    if kernel >= max(thresholds):
        return True
    return any(kernel.numbers[:2] == t.numbers[:2] and kernel >= t for t in thresholds)


def _kernel(req: KernelAtLeast, node: NodeFacts, who: str) -> Finding:
    try:
        kernel = parse_kernel(node.kernel, node.kernel_build)
    except InputError as err:
        return Finding(None, f"cannot check the kernel {who} needs: {err}")
    wanted = " / ".join(req.versions)
    if kernel_meets(kernel, req.versions):
        return Finding(True)
    if _patch_hidden(kernel, req.versions):
        return Finding(
            None,
            f"kernel {kernel.label} hides its upstream patch level; {who} needs {wanted} ({req.why}): "
            "collect `uname -v` (NodeFacts.kernel_build) to tell",
        )
    return Finding(False, f"kernel {kernel.label} is older than {wanted}, which {who} needs ({req.why})")


def _patch_hidden(kernel: KernelVersion, versions: tuple[str, ...]) -> bool:
    """A ".0" release with a distribution suffix may be any patch level of that series (Debian, Ubuntu)."""
    if kernel.patch != 0 or kernel.patch_from_build or not kernel.suffix.startswith("-"):
        return False
    return any(parse_kernel(v).numbers[:2] == kernel.numbers[:2] for v in versions)


def _driver(req: NicDriverIn, node: NodeFacts, who: str) -> Finding:
    known = ", ".join(sorted(req.drivers))
    if node.nic_driver is None:
        return Finding(None, f"the NIC driver is unknown; {who} needs {req.why} ({known})")
    if node.nic_driver in req.drivers:
        return Finding(True)
    device = f" on {node.device}" if node.device else ""
    return Finding(False, f"NIC driver {node.nic_driver}{device} is not one {who} supports ({known})")


def _mtu(req: DeviceMtuAtLeast, node: NodeFacts, who: str) -> Finding:
    device = node.device or "the node's device"
    if node.mtu is not None and node.mtu >= req.mtu:
        return Finding(True)
    if node.max_mtu is None:
        return Finding(None, f"the largest MTU {device} takes is unknown; {who} needs {req.mtu} bytes")
    if node.max_mtu >= req.mtu:
        return Finding(True)
    return Finding(False, f"{device} takes at most {node.max_mtu} bytes; {who} needs {req.mtu} ({req.why})")


def _cilium(req: CiliumAtLeast, node: NodeFacts, who: str, given: str | None) -> Finding:
    running = configured.running_version(node, given)
    version = configured.parsed_version(running)
    if version is None:
        return Finding(
            None, f"the Cilium version is unknown ({running!r}); {who} needs {req.version} or newer"
        )
    # Thresholds name a minor line: a 1.14 pre-release already has 1.14's options.
    if version.minor_tuple >= CiliumVersion.parse(req.version).minor_tuple:
        return Finding(True)
    return Finding(False, f"Cilium {running} is older than {req.version}, which {who} needs ({req.why})")
