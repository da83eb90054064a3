"""The tuning catalogue: the fifteen items of the series (plus overview and summary) as frozen records,
and per-node readiness.

Called by the labs, the scorecard, the change planner and the command line. Calls `kernel`, `facts`,
`cilium` (settings and `read`: cilium-config keys per version) and `errors`. Layout: `model` (the
records), `sources` (URLs), `datapath_items` and `node_items` (the data, one record per item), `items`
(order and lookups), `configured` (a logical setting as a node's cilium-config holds it),
`requirements` (hard node facts), `verify` (what is in effect), `evaluate` (readiness).
"""

from cilium_lab.catalog.evaluate import evaluate
from cilium_lab.catalog.items import ITEMS, TUNINGS, for_lab, get
from cilium_lab.catalog.model import (
    BLOCKED,
    CAN_ENABLE,
    CANARY_NODES,
    DEMONSTRATE,
    ENABLED,
    NOT_APPLICABLE,
    RESTART_AGENTS,
    RESTART_NODE,
    RESTART_PODS,
    STATES,
    Check,
    CiliumAtLeast,
    DeviceMtuAtLeast,
    Item,
    ItemEnabled,
    KernelAtLeast,
    Look,
    NicDriverIn,
    Param,
    ParamForm,
    Readiness,
    Requirement,
)
from cilium_lab.catalog.verify import Observation, observe

__all__ = [
    "BLOCKED",
    "CANARY_NODES",
    "CAN_ENABLE",
    "DEMONSTRATE",
    "ENABLED",
    "ITEMS",
    "NOT_APPLICABLE",
    "RESTART_AGENTS",
    "RESTART_NODE",
    "RESTART_PODS",
    "STATES",
    "TUNINGS",
    "Check",
    "CiliumAtLeast",
    "DeviceMtuAtLeast",
    "Item",
    "ItemEnabled",
    "KernelAtLeast",
    "Look",
    "NicDriverIn",
    "Observation",
    "Param",
    "ParamForm",
    "Readiness",
    "Requirement",
    "evaluate",
    "for_lab",
    "get",
    "observe",
]
