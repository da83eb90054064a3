"""The whole catalogue in series order, and lookups by id, number or lab name.

Called by `evaluate`, the labs, the scorecard and the command line. Calls the two data modules.
"""

from __future__ import annotations

from cilium_lab.catalog.datapath_items import DATAPATH_ITEMS
from cilium_lab.catalog.model import Item
from cilium_lab.catalog.node_items import NODE_ITEMS
from cilium_lab.errors import InputError

ITEMS: tuple[Item, ...] = DATAPATH_ITEMS + NODE_ITEMS
TUNINGS: tuple[Item, ...] = tuple(item for item in ITEMS if item.kind == "tuning")

_BY_ID = {item.id: item for item in ITEMS}
_BY_NUMBER = {item.number: item for item in ITEMS}
_BY_LAB = {item.lab: item for item in ITEMS}


def get(item: str | int | Item) -> Item:
    """An item by id ("bpf-host-routing"), number (6, "06") or lab name ("06-bpf-host-routing")."""
    if isinstance(item, Item):
        return item
    if isinstance(item, int) and not isinstance(item, bool) and item in _BY_NUMBER:
        return _BY_NUMBER[item]
    if isinstance(item, str):
        key = item.strip()
        found = _BY_ID.get(key) or _BY_LAB.get(key)
        if found is None and key.isdigit():
            found = _BY_NUMBER.get(int(key))
        if found is not None:
            return found
    raise InputError(f"no tuning item {item!r}; valid ids: {', '.join(_BY_ID)} (or their numbers 0-15, 99)")


def for_lab(lab: str) -> Item:
    """The item a lab covers, from its name ("06-bpf-host-routing") or a path to its notebook or source."""
    if not isinstance(lab, str):
        raise InputError(f"lab name must be a string like '06-bpf-host-routing', got {lab!r}")
    stem = lab.strip().rsplit("/", 1)[-1].removesuffix(".py").removesuffix(".ipynb")
    if stem in _BY_LAB:
        return _BY_LAB[stem]
    raise InputError(f"no lab named {lab!r}; valid labs: {', '.join(_BY_LAB)}")
