"""Labs 14 and 15: the node itself (kernel, preemption model, tuned, governor, irqbalance).

These steps are not Cilium settings: the lab inspects, explains, and prints the exact commands per
node. Commands are general Linux administration (distribution packages, tuned-adm, cpupower,
systemctl, /proc/irq); they are shown, not run, unless lab 15's privileged path is approved
(`change.host.apply_host`, which also decides the commands).
"""

from __future__ import annotations

import pandas as pd

from cilium_lab import catalog
from cilium_lab.catalog import Item
from cilium_lab.change.host import tuning as host
from cilium_lab.cluster.snapshot import Snapshot
from cilium_lab.facts import NodeFacts
from cilium_lab.kernel import parse_kernel
from cilium_lab.session import show


# Kernel thresholds the series depends on, from the catalogue (so they are written once).
def kernel_gates() -> list[tuple[str, str, str]]:
    """(item title, setting or '', lowest threshold) for every kernel requirement in the catalogue."""
    gates = []
    for item in catalog.TUNINGS:
        for req in item.requires:
            if isinstance(req, catalog.KernelAtLeast):
                gates.append((req.what or item.title, item.id, req.versions[-1]))
    return gates


def kernel_report(snap: Snapshot) -> pd.DataFrame:
    rows = []
    for node in snap.nodes:
        kernel = parse_kernel(node.kernel, node.kernel_build)
        blocked = [f"{what} (>= {need})" for what, _, need in kernel_gates() if not kernel.at_least(need)]
        rows.append({"node": node.name, "kernel": kernel.label, "preemption": kernel.preemption or "unknown",
                     "blocked by this kernel": ", ".join(blocked) or "nothing"})  # fmt: skip
    return pd.DataFrame(rows)


def host_report(snap: Snapshot) -> pd.DataFrame:
    rows = []
    for node in snap.nodes:
        host = node.host
        rows.append({"node": node.name, "tuned profile": host.get("tuned_profile") or "not installed",
                     "CPU governor": host.get("cpu_governor") or "no cpufreq",
                     "irqbalance": host.get("irqbalance") or "unknown", "device": node.device})  # fmt: skip
    return pd.DataFrame(rows)


def kernel_commands(node: NodeFacts) -> list[str]:
    os_image = (node.os_image or "").lower()
    if "debian" in os_image:
        # Debian 10 ships 4.19; buster-backports carries 5.10 (the first kernel with BPF host routing)
        return ["apt-get install -t buster-backports linux-image-$(dpkg --print-architecture)", "reboot"]
    if "ubuntu" in os_image:
        return ["apt-get install --install-recommends linux-generic-hwe-$(lsb_release -rs)", "reboot"]
    return ["install your distribution's newest LTS kernel (>= 6.8 unlocks every step)", "reboot"]


def host_commands(node: NodeFacts, profile: str) -> list[str]:
    """Only what this node still needs, in the order that makes sense (`change.host` decides it)."""
    return host.node_plan(node, profile).commands


def node_report(item: Item, snap: Snapshot, label: str) -> pd.DataFrame:
    """Lab 14's kernels or lab 15's host settings, per node."""
    frame = kernel_report(snap) if item.id == "kernel" else host_report(snap)
    show.table(frame, caption=f"**{item.title}: per node** [{label}]")
    return frame


def node_commands(item: Item, snap: Snapshot, profile: str) -> dict[str, list[str]]:
    """What to run on each node, shown; lab 15 runs them itself only after approval."""
    commands = {}
    for node in snap.nodes:
        if item.id == "kernel":
            commands[node.name] = kernel_commands(node)
        else:
            commands[node.name] = host_commands(node, profile)
    text = "\n\n".join(f"# {name}\n" + "\n".join(lines) for name, lines in commands.items())
    show.markdown(f"Run on each node as root, one node at a time:\n\n```sh\n{text}\n```")
    return commands
