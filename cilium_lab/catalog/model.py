"""The records the tuning catalogue is made of: items, requirements, checks and readiness.

Written as data in `datapath_items` and `node_items`, read by `requirements`, `verify` and `evaluate`,
and by the labs and the change planner. Calls `errors`, and `cilium.SETTINGS` to refuse a config look
that names no logical setting. Every record is frozen; the only behaviour here is filling an item's
cluster parameters into its target settings.

Requirements come from one vocabulary of features (`Requirement.feature`):
  "kernel"          the node's kernel is at least a version (a series-aware threshold)
  "nic-driver"      the node's main device uses one of a set of drivers
  "underlay-mtu"    the node's device can carry frames of a size
  "cilium-version"  the running Cilium is at least a version
  "item"            another catalogue item is enabled first (a prerequisite, never a blocker by itself)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar, Literal

from cilium_lab.cilium.settings import SETTINGS
from cilium_lab.errors import InputError

__all__ = [
    "BLOCKED",
    "CANARY_NODES",
    "CAN_ENABLE",
    "DEMONSTRATE",
    "ENABLED",
    "NOT_APPLICABLE",
    "RESTART_AGENTS",
    "RESTART_NODE",
    "RESTART_PODS",
    "STATES",
    "Check",
    "CiliumAtLeast",
    "DeviceMtuAtLeast",
    "Item",
    "ItemEnabled",
    "KernelAtLeast",
    "Look",
    "NicDriverIn",
    "Param",
    "ParamForm",
    "Readiness",
    "Requirement",
    "in_config",
    "in_facts",
    "in_host",
    "in_status",
]

# What has to restart for a change to take effect (reference A.1 "Restart" column).
RESTART_AGENTS = "agents"
RESTART_PODS = "pods"
RESTART_NODE = "node reboot"

ENABLED = "enabled"
CAN_ENABLE = "can-enable"
BLOCKED = "blocked"
NOT_APPLICABLE = "n/a"
STATES = (ENABLED, CAN_ENABLE, BLOCKED, NOT_APPLICABLE)


@dataclass(frozen=True)
class KernelAtLeast:
    """Kernel >= a threshold. Several thresholds name stable backports: ("4.19.57", "5.1.16", "5.2")
    means 4.19.57+ in the 4.19 series, 5.1.16+ in 5.1, or anything from 5.2 on."""

    versions: tuple[str, ...]
    why: str  # what the kernel brings: "bpf_redirect_neigh/peer"
    source: str
    setting: str | None = None  # only this target setting needs it; None: the whole item
    what: str | None = None  # who needs it, when not the whole item: "IPv4 BIG TCP"
    feature: ClassVar[str] = "kernel"


@dataclass(frozen=True)
class NicDriverIn:
    """The node's main device uses one of these drivers (names as `ethtool -i` prints them)."""

    drivers: frozenset[str]
    why: str
    source: str
    setting: str | None = None
    what: str | None = None
    feature: ClassVar[str] = "nic-driver"


@dataclass(frozen=True)
class DeviceMtuAtLeast:
    """The node's device can take frames of `mtu` bytes (its max MTU); the switches are not visible."""

    mtu: int
    why: str
    source: str
    setting: str | None = None
    what: str | None = None
    feature: ClassVar[str] = "underlay-mtu"


@dataclass(frozen=True)
class CiliumAtLeast:
    """The running Cilium is at least `version` ("1.14")."""

    version: str
    why: str
    source: str
    setting: str | None = None
    what: str | None = None
    feature: ClassVar[str] = "cilium-version"


@dataclass(frozen=True)
class ItemEnabled:
    """Another catalogue item must be enabled first."""

    item: str
    why: str
    source: str
    feature: ClassVar[str] = "item"


Requirement = KernelAtLeast | NicDriverIn | DeviceMtuAtLeast | CiliumAtLeast | ItemEnabled


@dataclass(frozen=True)
class Look:
    """One place to read whether a setting is in effect, and the values that mean "yes".

    where: "status" (a CiliumStatus attribute), "config" (a logical setting of `cilium.SETTINGS`, read
    from cilium-config with the node's Cilium version; `accept` holds logical values: True, "native"),
    "facts" (a NodeFacts attribute; "kernel" and "preemption" read the parsed kernel), "host" (a
    NodeFacts.host key).
    """

    where: Literal["status", "config", "facts", "host"]
    name: str
    accept: tuple[object, ...] = ()
    at_least: float | str | None = None  # a number, or a kernel version for where="facts", name="kernel"
    # where="status": the status attribute whose line answers this look (default: `name` itself). When
    # that line is there, the status decides even if `name` is None: `BandwidthManager: Disabled` means
    # no BBR, whatever cilium-config asks for.
    line: str | None = None
    # A NodeFacts attribute that caps what the node can carry ("max_mtu"): a larger value is not in effect.
    within: str | None = None

    def __post_init__(self) -> None:
        if self.where == "config" and self.name not in SETTINGS:
            raise InputError(
                f"config look {self.name!r} is not a logical Cilium setting (cilium-config keys differ"
                f" per version); use one of {', '.join(SETTINGS)}"
            )


def in_status(name: str, *accept: object, at_least: float | None = None, line: str | None = None) -> Look:
    """A CiliumStatus attribute; `line` names the attribute whose presence means the status answers."""
    return Look("status", name, accept, at_least, line=line)


def in_config(
    setting: str, *accept: object, at_least: float | None = None, within: str | None = None
) -> Look:
    """A logical setting ("routing") as cilium-config holds it for the node's version; accept logical values."""
    return Look("config", setting, accept, at_least, within=within)


def in_facts(
    name: str, *accept: object, at_least: float | str | None = None, within: str | None = None
) -> Look:
    return Look("facts", name, accept, at_least, within=within)


def in_host(key: str, *accept: object) -> Look:
    return Look("host", key, accept)


@dataclass(frozen=True)
class Check:
    """How to see one part of an item in effect.

    When the agent's status has the line a status look reads, that status look decides and nothing
    else is consulted; otherwise the first other look that finds a value decides (see `verify.run`).
    """

    what: str
    looks: tuple[Look, ...]
    setting: str | None = None  # skipped when this setting is blocked on the node


# What a str parameter must look like, beyond its type (`params.check` holds the rule for each form):
#   "cidr"        an IP network such as 10.42.0.0/16
#   "node-names"  a comma list of Kubernetes node names (RFC 1123 subdomains)
#   "name"        one lowercase name such as a tuned profile (network-latency)
# An empty string is accepted when it is the parameter's default (it then means "read it" or "all").
ParamForm = Literal["", "cidr", "node-names", "name"]


@dataclass(frozen=True)
class Param:
    """A lab parameter, declared once by the item that takes it: its type, bounds, default and help.

    The lab's `parameters` cell repeats it as a literal with `help` as its comment (the papermill
    contract; a test checks they agree), and `params.build` checks a given value against it before
    anything touches a cluster. In an item's `targets` it is also the value of a setting (the pod CIDR).
    """

    name: str
    help: str  # the parameters cell's comment, word for word
    default: bool | int | str | None = (
        ""  # the parameters cell's literal; None: decided at run time (`help` says how)
    )
    kind: type[bool] | type[int] | type[str] = str
    low: int | None = None  # int parameters: the smallest value accepted
    high: int | None = None  # int parameters: the largest value accepted
    form: ParamForm = ""

    def __post_init__(self) -> None:
        if self.default is None:
            return
        if not isinstance(self.default, self.kind) or isinstance(self.default, bool) != (self.kind is bool):
            raise InputError(f"parameter {self.name}: default {self.default!r} is not a {self.kind.__name__}")


# Every item that changes Cilium's config can go to some nodes first (`change.plan`'s canary).
CANARY_NODES = Param(
    "canary_nodes", "nodes to change first (CiliumNodeConfig), comma list; empty: all", "", form="node-names"
)

# Where a step's feature is already in effect, a lab can show its effect as the articles do: switch it
# off on the chosen nodes, measure, switch it back, measure (`session.demonstration`). None: decided by the
# target (`session.demonstration.wanted`): on for the embedded cluster, off on a real one.
DEMONSTRATE = Param(
    "demonstrate",
    "where the step is in effect already: switch it off and back on to measure it; None: on for the embedded cluster only",
    None,
    bool,
)


@dataclass(frozen=True)
class Item:
    """One step of the tuning series, as data."""

    id: str
    number: int
    title: str
    lab: str
    summary: str
    sources: tuple[str, ...]
    targets: Mapping[str, object] = field(default_factory=dict, hash=False)  # logical setting -> value
    requires: tuple[Requirement, ...] = ()
    restart: tuple[str, ...] = ()
    verify: tuple[Check, ...] = ()
    caveats: tuple[str, ...] = ()
    fallback: str | None = None  # the series' advice where this item is blocked
    moot_when: str | None = None  # "n/a" once this other item is enabled
    kind: Literal["tuning", "overview", "summary"] = "tuning"
    options: tuple[Param, ...] = ()  # lab parameters that are no target value (lab 08's keep_disabled)

    def __post_init__(self) -> None:
        object.__setattr__(self, "targets", MappingProxyType(dict(self.targets)))

    @property
    def params(self) -> tuple[Param, ...]:
        """The parameters that fill in target settings (the planner takes them)."""
        return tuple(value for value in self.targets.values() if isinstance(value, Param))

    @property
    def parameters(self) -> tuple[Param, ...]:
        """Every parameter of this item's lab beyond the common ones (`params.LabParams`), in cell order."""
        canary = (CANARY_NODES,) if self.targets else ()
        return self.params + self.options + canary

    def resolve_targets(self, **params: object) -> dict[str, object]:
        """The target settings with cluster parameters filled in; a missing one is an InputError."""
        resolved = {}
        for setting, value in self.targets.items():
            if isinstance(value, Param):
                value = params.get(value.name, value.default)
                if value is None or value == "":  # "" in a lab: read it from the cluster first
                    raise InputError(f"{self.id}: give {setting}'s value as {_param_help(self, setting)}")
            resolved[setting] = value
        return resolved


def _param_help(item: Item, setting: str) -> str:
    param = item.targets[setting]
    assert isinstance(param, Param)
    return f"parameter {param.name}= ({param.help})"


@dataclass(frozen=True)
class Readiness:
    """Where one node stands on one item, with the reasons in words."""

    item: str
    node: str
    state: str  # one of STATES
    reasons: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()  # item ids to enable first, in catalogue order
    blocked_settings: tuple[str, ...] = ()  # target settings this node cannot take (item still usable)
    fallback: str | None = None  # item id the series advises instead, when blocked
