"""Lab parameters: the papermill contract, checked and turned into one typed object.

Every lab's `parameters` cell holds literals only; the cell after it calls `session.start(...)`,
which builds `LabParams` here: the common parameters below, and the lab's own as its catalogue item
declares them (`catalog.Param`: type, bounds, form, help). A wrong type or value, or a name the lab
does not take, is one InputError line that names the parameter, what it got and what it accepts,
raised before anything touches a cluster.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cilium_lab import limits, outputs, targets
from cilium_lab.catalog import Item, Param
from cilium_lab.errors import InputError

Value = bool | int | str | None  # what a parameters cell's literal can be (None: decided at run time)
V = TypeVar("V", bool, int, str)
# a Kubernetes node name is an RFC 1123 subdomain (k8s.io/apimachinery validation.IsDNS1123Subdomain)
_NODE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")  # a tuned profile name (`change.host.plan_host`)

NODE_NAME_MAX = (
    253  # a DNS-1123 subdomain's length (k8s.io/apimachinery validation.DNS1123SubdomainMaxLength)
)
NODE_NAMES_MAX = 4096  # a comma list of node names: room for a few dozen long names
TESTS = ("TCP_STREAM", "TCP_STREAM_MULTI", "TCP_RR", "TCP_CRR")
SCENARIOS = ("pod-to-pod", "pod-to-pod-same-node", "host-to-host", "pod-to-service")


@dataclass(frozen=True)
class LabParams:
    cluster: str = "sim:seed-mixed"
    kubeconfig: str = ""
    approve: bool = False
    results_dir: str = "runs"
    seed: int = 0
    samples: int = 5
    duration: int = 10
    tests: tuple[str, ...] = ("TCP_STREAM", "TCP_RR", "TCP_CRR")
    scenario: str = "pod-to-pod"
    streams: int = 4
    extra: Mapping[str, Value] = field(
        default_factory=dict
    )  # the lab's own parameters, checked, defaults filled

    def get(self, name: str, kind: type[V], default: V) -> V:
        """One of the lab's own parameters (checked by `build`); `default` for a lab that does not take it."""
        value = self.extra.get(name, default)
        if not isinstance(value, kind):  # build checked it against the declaration: a programming error
            raise TypeError(f"parameter {name} is {type(value).__name__}, asked for {kind.__name__}")
        return value


def _typed(name: str, value: object, kind: type) -> Any:
    # bool is an int in Python: refuse True for an int parameter and 1 for a bool one
    if isinstance(value, bool) != (kind is bool) or not isinstance(value, kind):
        raise InputError(f"parameter {name} must be {kind.__name__}, got {value!r} ({type(value).__name__})")
    return value


def _bounded(name: str, value: object, low: int, high: int) -> int:
    number = _typed(name, value, int)
    if not low <= number <= high:
        raise InputError(f"parameter {name} must be between {low} and {high}, got {number}")
    return number


def _tests(value: object) -> tuple[str, ...]:
    text = _typed("tests", value, str)
    chosen = tuple(t.strip().upper() for t in text.split(",") if t.strip())
    unknown = [t for t in chosen if t not in TESTS]
    if not chosen or unknown:
        raise InputError(f"parameter tests must be a comma list of {', '.join(TESTS)}, got {text!r}")
    return chosen


def check(param: Param, value: object) -> Value:
    """`value` as `param` declares it, or one InputError line saying what it accepts."""
    name = param.name
    if value is None and param.default is None:  # "auto": the lab decides from the target
        return None
    if param.kind is int:
        number = _typed(name, value, int)
        low = param.low if param.low is not None else -(2**63)
        high = param.high if param.high is not None else 2**63 - 1
        return _bounded(name, number, low, high)
    checked = _typed(name, value, param.kind)
    if not isinstance(checked, str) or not param.form or checked == param.default == "":
        return checked
    if param.form == "cidr":
        try:
            ipaddress.ip_network(checked, strict=False)
        except ValueError:
            checked = ""
        if "/" not in checked:
            raise InputError(f"parameter {name} must be an IP network such as 10.42.0.0/16, got {value!r}")
    elif param.form == "node-names":
        names = [n.strip() for n in checked.split(",") if n.strip()]
        bad = [n for n in names if not _NODE_NAME.match(n) or len(n) > NODE_NAME_MAX]
        if len(checked) > NODE_NAMES_MAX:
            raise InputError(
                f"parameter {name} must be at most {NODE_NAMES_MAX} characters of node names, got {len(checked)}"
            )
        if bad:
            raise InputError(
                f"parameter {name} must be a comma list of node names (lowercase letters, digits, '-', '.'),"
                f" got {value!r}"
            )
    elif param.form == "name" and not _NAME.match(checked):
        raise InputError(f"parameter {name} must be a lowercase name such as {param.default}, got {value!r}")
    return checked


def _own(item: Item | None, given: Mapping[str, object]) -> dict[str, Value]:
    """The lab's own parameters: every one its item declares (default filled in), none it does not."""
    declared = item.parameters if item is not None else ()
    unknown = sorted(set(given) - {p.name for p in declared})
    if unknown:
        where = f"lab {item.lab}" if item is not None else "a lab with no item"
        takes = ", ".join(p.name for p in declared) or "only the common ones"
        raise InputError(f"{where} takes no parameter {', '.join(unknown)}; its own parameters: {takes}")
    return {p.name: check(p, given.get(p.name, p.default)) for p in declared}


def build(item: Item | None = None, **given: Any) -> LabParams:
    """Check the common parameters and those `item`'s lab declares (`Item.parameters`)."""
    defaults = LabParams()
    common = {name: given.pop(name) for name in list(given) if name in LabParams.__dataclass_fields__}
    common.pop("extra", None)  # not a parameter: the lab's own come by name
    cluster = _typed("cluster", common.get("cluster", defaults.cluster), str)
    targets.parse(cluster)
    scenario = _typed("scenario", common.get("scenario", defaults.scenario), str)
    if scenario not in SCENARIOS:
        raise InputError(f"parameter scenario must be one of {', '.join(SCENARIOS)}, got {scenario!r}")
    results_dir = _typed("results_dir", common.get("results_dir", defaults.results_dir), str)
    outputs.check_folder(results_dir, "parameter results_dir")  # a file or unwritable: refused, nothing made
    return LabParams(
        cluster=cluster,
        kubeconfig=_typed("kubeconfig", common.get("kubeconfig", defaults.kubeconfig), str),
        approve=_typed("approve", common.get("approve", defaults.approve), bool),
        results_dir=results_dir,
        seed=_bounded("seed", common.get("seed", defaults.seed), *limits.SEED),
        samples=_bounded("samples", common.get("samples", defaults.samples), *limits.SAMPLES),
        duration=_bounded("duration", common.get("duration", defaults.duration), *limits.DURATION),
        tests=_tests(common.get("tests", ",".join(defaults.tests))),
        scenario=scenario,
        streams=_bounded("streams", common.get("streams", defaults.streams), *limits.STREAMS),
        extra=_own(item, given),
    )


def check_nodes(item: Item | None, checked: LabParams, known: Sequence[str]) -> None:
    """The lab's node-name parameters against the cluster's nodes: checked right after connecting, before
    the baseline is measured, so a typo in canary_nodes is one line, not a run that plans nothing."""
    for param in item.parameters if item is not None else ():
        value = checked.extra.get(param.name)
        if param.form != "node-names" or not isinstance(value, str):
            continue
        unknown = [n.strip() for n in value.split(",") if n.strip() and n.strip() not in known]
        if unknown:
            raise InputError(
                f"parameter {param.name} names {'a node' if len(unknown) == 1 else 'nodes'} the cluster does "
                f"not have: {', '.join(unknown)}; its nodes: {', '.join(known) or 'none'}"
            )
