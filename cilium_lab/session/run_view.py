"""What the step modules read of a lab run: the typed surface of `LabSession` that they use, so that they
depend on this and not on the class that calls them (no import circle between the run and its steps)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import pandas as pd

    from cilium_lab import targets
    from cilium_lab.bench import ResultStore
    from cilium_lab.catalog import Item
    from cilium_lab.change.config.plans import Plan
    from cilium_lab.change.host.tuning import HostPlan
    from cilium_lab.change.outcomes import Decision
    from cilium_lab.change.reports import ApplyReport
    from cilium_lab.cluster.snapshot import Snapshot
    from cilium_lab.params import LabParams


class RunView(Protocol):
    """The fields and calls of one lab run that the step modules read."""

    lab: str
    item: Item
    params: LabParams
    target: targets.Target
    run_id: str
    results_dir: Path
    readiness_rows: list[dict[str, str]]
    plan_: Plan | HostPlan | None
    report: ApplyReport | None
    decision: Decision
    comparison: pd.DataFrame | None
    record_extra: dict[str, object]

    @property
    def store(self) -> ResultStore: ...

    def take_snapshot(self) -> Snapshot: ...
