"""The change steps of a lab: plan, confirm (apply), verify.

Called by `LabSession`; calls `change.plan`, `change.apply` and `ui.confirm`. The plan and the
decision are kept on the session so later cells know whether anything changed.
"""

from __future__ import annotations

import functools
from typing import Any

import pandas as pd

from cilium_lab import catalog
from cilium_lab.errors import InputError
from cilium_lab.session import show

NOT_APPROVED = "not approved"


def canary_nodes(text: str) -> tuple[str, ...] | None:
    nodes = tuple(n.strip() for n in text.split(",") if n.strip())
    return nodes or None


def plan(session: Any) -> Any:
    from cilium_lab.change.config import planning

    if session._skip_local("the plan"):
        return None
    snap = session._need_snapshot()
    extra = dict(session.params.extra)
    nodes = canary_nodes(_string(extra.pop("canary_nodes", ""), "canary_nodes"))
    params = {k: v for k, v in extra.items() if k in {p.name for p in session.item.params}}
    if "pod_cidr" in params and not params["pod_cidr"]:
        params["pod_cidr"] = snap.config.get("cluster-pool-ipv4-cidr") or None
    try:
        session.plan_ = planning.plan(snap, session.item.id, nodes=nodes, **params)
    except InputError as err:
        session.decision = "refused"
        show.markdown(f"**Not planned**: {err}")
        return None
    show.html_or_text(session.plan_)
    return session.plan_


def _string(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise InputError(f"parameter {name} must be str, got {value!r} ({type(value).__name__})")
    return value


def confirm(session: Any) -> Any:
    from cilium_lab.change.config import applying
    from cilium_lab.ui import confirm as confirming

    if session._skip_local("the change"):
        return None
    if session.item.id == "host-tuning":
        apply = _host_path(session)
    else:
        apply = functools.partial(
            applying.apply, session.target.connection, results_dir=str(session.results_dir)
        )
    if session.plan_ is None:
        show.markdown("_Nothing to confirm: there is no plan (see the plan step)._")
        return None

    def on_report(decision: Any) -> None:
        session.report = decision.report
        session.decision = decision.report.outcome if decision.report is not None else decision.state

    decision = confirming.confirm(session.plan_, apply, approve=session.params.approve, show=False)
    session.confirmation = decision
    if decision.report is not None:
        on_report(decision)
        show.html_or_text(decision.report)
        _record_now(session)
    elif decision.error:
        session.decision = "failed"
        show.markdown(f"**Not applied**: {decision.error}")
    else:
        session.decision = NOT_APPROVED
        if show.in_notebook() and decision.widget is not None:
            from IPython.display import display

            display(decision.widget)
        print(confirming.NOT_APPLIED)
    return decision


def _record_now(session: Any) -> None:
    """The record exists as soon as the change ended, whatever follows; a change a signal cancelled
    stops the notebook here (after its rollback), as the signal asked."""
    from cilium_lab.change.cancellation import Interrupted
    from cilium_lab.session import record

    session.record_path = record.write(session)
    signal_name = getattr(session.report, "interrupted", "")
    if signal_name:
        raise Interrupted(signal_name)


def _host_path(session: Any) -> Any:
    """Lab 15 changes nodes, not Cilium: a privileged pod per node, only after approval."""
    from cilium_lab.change.host import tuning as host

    if session.plan_ is None:
        profile = _string(session.params.extra.get("profile", "network-latency"), "profile")
        session.plan_ = host.plan_host(session._need_snapshot(), profile=profile)
    return functools.partial(host.apply_host, session.target.connection, results_dir=str(session.results_dir))


def applied(session: Any) -> bool:
    decision = getattr(session, "confirmation", None)
    if decision is not None and decision.state == "cancelled":
        session.decision = "cancelled"
    if decision is not None and decision.report is not None and session.report is None:
        session.report = decision.report  # clicked in JupyterLab after the cell returned
        session.decision = decision.report.outcome
    return session.report is not None and session.report.outcome == "applied"


def verify(session: Any) -> pd.DataFrame | None:
    if session._skip_local("verification"):
        return None
    changed = applied(session)
    # the snapshot apply verified against is current (nothing changed since); otherwise read again
    verified = getattr(session.report, "after", None)
    session.snapshot_after = verified if verified is not None else session.take_snapshot()
    snap = session.snapshot_after
    rows = []
    outcomes = session.report.nodes if session.report is not None else {}
    for node in snap.nodes:
        seen = catalog.observe(session.item, node)
        outcome = outcomes.get(node.name)
        rows.append({"node": node.name, "outcome": getattr(outcome, "outcome", "-"),
                     "why": getattr(outcome, "reason", ""), "in effect": seen.enabled,
                     "observed": "; ".join(seen.evidence)})  # fmt: skip
    frame = pd.DataFrame(rows)
    if session.report is None:
        note = " (nothing was applied: this is the state as it was)"
    else:
        note = "" if changed else f" (the change ended {session.report.outcome})"
    show.table(frame, caption=f"**What the agents run now{note}**")
    return frame


def restore(session: Any) -> Any:
    """Undo this lab's change (lab 08 measures Hubble's cost, then turns it back on by default)."""
    from cilium_lab.change.config import applying, planning

    if session._skip_local("the restore"):
        return None
    keep = session.params.extra.get("keep_disabled", False)
    if not isinstance(keep, bool):
        raise InputError(f"parameter keep_disabled must be bool, got {keep!r} ({type(keep).__name__})")
    if keep or not applied(session):
        show.markdown("_Restore: nothing to undo_" + (" (keep_disabled=True)._" if keep else "._"))
        return None
    previous = session.plan_.targets
    undo = {name: (not value) if isinstance(value, bool) else value for name, value in previous.items()}
    undo_plan = planning.plan(session.take_snapshot(), session.item.id, target=undo)
    report = applying.apply(
        session.target.connection, undo_plan, approved=True, results_dir=str(session.results_dir)
    )
    session.record_extra["restore"] = report.to_record()
    show.html_or_text(report)
    return report
