"""The change steps of a lab: plan, confirm (apply), verify, and lab 08's restore.

Functions over the lab's state that return what they found (`LabSession` keeps it); they call
`change.plan`, `change.apply`, `change.host` and `ui.confirm`, and show each result. The lab's own
parameters reach them already checked (`params.build`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd

from cilium_lab import catalog
from cilium_lab.catalog import Item
from cilium_lab.change.outcomes import Decision
from cilium_lab.cluster.snapshot import Snapshot
from cilium_lab.errors import InputError
from cilium_lab.params import LabParams
from cilium_lab.session import show

if TYPE_CHECKING:
    from cilium_lab.change.config.plans import Plan
    from cilium_lab.change.host.tuning import HostPlan
    from cilium_lab.change.reports import ApplyReport
    from cilium_lab.session.run_view import RunView
    from cilium_lab.ui.confirm import Decision as Confirmation


def canary_nodes(text: str) -> tuple[str, ...] | None:
    nodes = tuple(n.strip() for n in text.split(",") if n.strip())
    return nodes or None


def plan(snap: Snapshot, item: Item, params: LabParams) -> tuple[Plan | None, bool]:
    """The item's plan with the lab's parameters, and whether the planner refused them."""
    from cilium_lab.change.config import planning

    nodes = canary_nodes(params.get(catalog.CANARY_NODES.name, str, ""))
    given = {p.name: params.extra[p.name] for p in item.params if p.name in params.extra}
    if "pod_cidr" in given and not given["pod_cidr"]:
        given["pod_cidr"] = snap.config.get("cluster-pool-ipv4-cidr") or ""
    try:
        planned = planning.plan(snap, item.id, nodes=nodes, **given)
    except InputError as err:
        show.markdown(f"**Not planned**: {err}")
        return None, True
    show.html_or_text(planned)
    return planned, False


def host_plan(snap: Snapshot, params: LabParams) -> HostPlan:
    """Lab 15 changes nodes, not Cilium: a privileged pod per node, only after approval."""
    from cilium_lab.change.host import tuning as host

    return host.plan_host(snap, profile=params.get("profile", str, "network-latency"))


def confirm(
    session: RunView, planned: Plan | HostPlan, apply: Callable[..., ApplyReport] | None = None
) -> Confirmation:
    """Show the plan with Apply/Cancel (or apply at once with approve=True) and what came of it; `apply`
    replaces the plain apply (a demonstration's off, measure, back)."""
    from cilium_lab.ui import confirm as confirming

    applier = apply or _applier(session)
    decision = confirming.confirm(planned, applier, approve=session.params.approve, show=False)
    if decision.report is not None:
        show.html_or_text(decision.report)
    elif decision.error:
        show.markdown(f"**Not applied**: {decision.error}")
    else:
        if show.in_notebook() and decision.widget is not None:
            from IPython.display import display

            display(decision.widget)
        print(confirming.NOT_APPLIED)
    return decision


def _applier(session: RunView) -> Callable[..., ApplyReport]:
    """The apply function the confirmation calls: Cilium's config, or lab 15's host path."""
    from cilium_lab.change.config import applying
    from cilium_lab.change.host import tuning as host

    run = host.apply_host if session.item.id == "host-tuning" else applying.apply
    return functools.partial(run, session.target.connection, results_dir=str(session.results_dir))


def decision_of(confirmation: Confirmation) -> Decision:
    """The lab's decision once the confirm step returned: the change's outcome, or why there is none."""
    if confirmation.report is not None:
        return Decision.of(confirmation.report.outcome)
    return Decision.FAILED if confirmation.error else Decision.NOT_APPROVED


def verify(item: Item, snap: Snapshot, report: ApplyReport | None, *, changed: bool) -> pd.DataFrame:
    """What each agent runs now, beside each node's outcome."""
    rows = []
    outcomes = report.nodes if report is not None else {}
    for node in snap.nodes:
        seen = catalog.observe(item, node)
        outcome = outcomes.get(node.name)
        rows.append({"node": node.name, "outcome": str(outcome.outcome) if outcome else "-",
                     "why": outcome.reason if outcome else "", "in effect": seen.enabled,
                     "observed": "; ".join(seen.evidence)})  # fmt: skip
    frame = pd.DataFrame(rows)
    if report is None:
        note = " (nothing was applied: this is the state as it was)"
    else:
        note = "" if changed else f" (the change ended {report.outcome})"
    show.table(frame, caption=f"**What the agents run now{note}**")
    return frame


def restore(session: RunView, applied: Plan | HostPlan) -> ApplyReport | None:
    """Undo an applied change of Cilium's config: each target back (a flag negated), approved with it."""
    from cilium_lab.change.config import applying, planning, plans

    if not isinstance(applied, plans.Plan):
        show.markdown("_Restore: nothing to undo (not a change of Cilium's config)._")
        return None
    undo = {
        name: (not value) if isinstance(value, bool) else value for name, value in applied.targets.items()
    }
    undo_plan = planning.plan(session.take_snapshot(), session.item.id, target=undo)
    report = applying.apply(
        session.target.connection, undo_plan, approved=True, results_dir=str(session.results_dir)
    )
    show.html_or_text(report)
    return report


def fallback_advice(item: Item, snap: Snapshot) -> dict[str, dict[str, str]]:
    """Where nodes cannot take `item`: per node the reason, the series' advice (`Item.fallback`) and
    whether that advice is in effect there; shown, and returned for the record ({} when none)."""
    if item.fallback is None:
        return {}
    advice = catalog.get(item.fallback)
    found = {}
    for node in snap.nodes:
        readiness = catalog.evaluate(item, node, cilium_version=snap.cilium_version)
        if readiness.state != catalog.BLOCKED:
            continue
        state = catalog.evaluate(advice, node, cilium_version=snap.cilium_version).state
        found[node.name] = {"reason": "; ".join(readiness.reasons), "advice": advice.id,
                            "advice_lab": advice.lab, "advice_state": state}  # fmt: skip
    if found:
        show.markdown(
            f"**Where {item.title} cannot be had** ({', '.join(found)}): "
            f"{next(iter(found.values()))['reason']}. The series' advice for these nodes: "
            f"{advice.title} (lab {advice.number:02d}), now "
            + ", ".join(f"{n}: {v['advice_state']}" for n, v in found.items())
            + "."
        )
    return found
