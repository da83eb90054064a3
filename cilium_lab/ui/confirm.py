"""The confirmation beside a plan: Apply / Cancel buttons and an output area for the ApplyReport.

Called by the labs after `change.config.planning`; calls back into the function the lab passes (normally
`change.config.applying.apply` with the connection bound), so `ui` needs no cluster import. It never blocks a
cell waiting for a click (reference notebook-practice.md §3: the kernel cannot see a click while a
cell runs, and under papermill no click can arrive): with `approve=True` it applies at once;
otherwise it shows the buttons, prints "not applied: ..." as plain text, and returns. The result
is a `Decision` whose `report` fills in when the learner clicks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as widgets
from IPython.display import HTML, display

from cilium_lab.errors import InputError, LabError

NOT_APPLIED = "not applied: run with approve=True or click Apply"


@dataclass
class Decision:
    """What happened to a plan: "pending" (buttons shown), "applied" (report set), "cancelled"."""

    state: str = "pending"
    report: Any = None  # the ApplyReport once applied
    error: str = ""
    widget: Any = field(default=None, repr=False)

    @property
    def applied(self) -> bool:
        return self.report is not None


def confirm(plan: Any, apply: Callable[..., Any], *, approve: bool = False, show: bool = True) -> Decision:
    """Show `plan`; apply with `apply(plan, approved=True)` now (approve=True) or on a click."""
    if not isinstance(approve, bool):
        raise InputError(f"approve must be True or False, got {approve!r}")
    if not callable(apply):
        raise InputError("apply must be a function taking (plan, approved=...)")
    decision = Decision()
    if show:
        display(HTML(plan.to_html()) if hasattr(plan, "to_html") else plan)
    if approve:
        _run(decision, plan, apply, None)
        if show:
            display(HTML(decision.report.to_html()) if decision.report is not None else decision.error)
        return decision
    out = widgets.Output()
    apply_button = widgets.Button(description="Apply", button_style="danger", icon="check")
    cancel_button = widgets.Button(description="Cancel", icon="times")

    def on_apply(_: Any) -> None:
        apply_button.disabled = cancel_button.disabled = True
        _run(decision, plan, apply, out)

    def on_cancel(_: Any) -> None:
        apply_button.disabled = cancel_button.disabled = True
        decision.state = "cancelled"
        with out:
            print("cancelled: nothing changed")

    apply_button.on_click(on_apply)
    cancel_button.on_click(on_cancel)
    decision.widget = widgets.VBox([widgets.HBox([apply_button, cancel_button]), out])
    if show:
        display(decision.widget)
        print(NOT_APPLIED)  # the line a headless run and a static HTML export keep
    return decision


def _run(decision: Decision, plan: Any, apply: Callable[..., Any], out: Any) -> None:
    try:
        decision.report = apply(plan, approved=True)
        decision.state = "applied"
    except LabError as err:
        decision.state, decision.error = "failed", str(err)
    if out is not None:
        with out:
            display(HTML(decision.report.to_html())) if decision.report is not None else print(decision.error)
