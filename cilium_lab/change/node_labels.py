"""The node labels a change of ours sets to select its CiliumNodeConfig: one per item, with a prefix per kind.

A canary's label is `cilium-lab.io/canary-<item>`, a change narrowed to the nodes that can take it
`cilium-lab.io/takes-<item>`, a demonstration's `cilium-lab.io/demo-<item>`; a backup records these labels per node, so a restore puts them back.
"""

from __future__ import annotations

CANARY_LABEL = "cilium-lab.io/canary"  # prefix: one label per item, so two canaries on a node keep both
TAKES_LABEL = "cilium-lab.io/takes"  # prefix: the nodes a change narrowed to (the others cannot take it)
DEMO_LABEL = "cilium-lab.io/demo"  # prefix: the nodes a demonstration switches an item off on, for a while
PREFIXES = (f"{CANARY_LABEL}-", f"{TAKES_LABEL}-", f"{DEMO_LABEL}-")


def canary_label(item_id: str) -> str:
    """The node label whose CiliumNodeConfig carries this item's canary (value "true")."""
    return f"{CANARY_LABEL}-{item_id}"


def takes_label(item_id: str) -> str:
    """The node label whose CiliumNodeConfig carries this item on the nodes that can take it."""
    return f"{TAKES_LABEL}-{item_id}"


def demo_label(item_id: str) -> str:
    """The node label whose CiliumNodeConfig switches this item off during a demonstration."""
    return f"{DEMO_LABEL}-{item_id}"
