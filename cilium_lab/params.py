"""Lab parameters: the papermill contract, checked and turned into one typed object.

Every lab's `parameters` cell holds literals only; the cell after it calls `session.start(...)`,
which builds `LabParams` here. A wrong type or value is one InputError line that names the
parameter, what it got and what it accepts, raised before anything touches a cluster.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cilium_lab import targets
from cilium_lab.errors import InputError

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
    extra: dict[str, Any] = field(default_factory=dict)  # the lab's own parameters, checked by the lab


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


def build(**given: Any) -> LabParams:
    """Check the common parameters; anything else goes to `extra` for the lab to check."""
    defaults = LabParams()
    common = {name: given.pop(name) for name in list(given) if name in LabParams.__dataclass_fields__}
    cluster = _typed("cluster", common.get("cluster", defaults.cluster), str)
    targets.parse(cluster)
    scenario = _typed("scenario", common.get("scenario", defaults.scenario), str)
    if scenario not in SCENARIOS:
        raise InputError(f"parameter scenario must be one of {', '.join(SCENARIOS)}, got {scenario!r}")
    results_dir = _typed("results_dir", common.get("results_dir", defaults.results_dir), str)
    if not results_dir.strip():
        raise InputError("parameter results_dir must name a folder, got an empty string")
    return LabParams(
        cluster=cluster,
        kubeconfig=_typed("kubeconfig", common.get("kubeconfig", defaults.kubeconfig), str),
        approve=_typed("approve", common.get("approve", defaults.approve), bool),
        results_dir=results_dir,
        seed=_bounded("seed", common.get("seed", defaults.seed), 0, 2**31 - 1),
        samples=_bounded("samples", common.get("samples", defaults.samples), 1, 1000),
        duration=_bounded("duration", common.get("duration", defaults.duration), 1, 3600),
        tests=_tests(common.get("tests", ",".join(defaults.tests))),
        scenario=scenario,
        streams=_bounded("streams", common.get("streams", defaults.streams), 1, 256),
        extra=given,
    )
