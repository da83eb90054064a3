"""One lab run's state and its steps: each step a method a notebook cell calls, the flow of DESIGN.md.

parameters -> connect -> snapshot -> readiness -> baseline -> plan -> confirm/apply -> verify ->
after -> compare -> record. `LabSession` owns every field of the run and is the only one to set
them: the step modules (`changing`, `measuring`, `local_kernel`, `nodes`, `summary`, `catchup`)
are functions that read the run and return what they found. Steps never raise for a skipped step:
a headless run without approval says "not applied" and the later steps say they were skipped.
"""

from __future__ import annotations

import time
import uuid
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from cilium_lab import catalog, targets
from cilium_lab.catalog import Item
from cilium_lab.change.cancellation import Interrupted
from cilium_lab.change.outcomes import Decision, Outcome
from cilium_lab.params import LabParams
from cilium_lab.session import (
    about,
    catchup,
    changing,
    commands,
    demonstration,
    local_kernel,
    measuring,
    nodes,
    record,
    show,
    status_columns,
    summary,
)

if TYPE_CHECKING:
    from cilium_lab.bench import Measurement, ResultStore
    from cilium_lab.change.config.plans import Plan
    from cilium_lab.change.host.tuning import HostPlan
    from cilium_lab.change.reports import ApplyReport
    from cilium_lab.cluster.snapshot import Snapshot
    from cilium_lab.ui.confirm import Decision as Confirmation


class LabSession:
    """The state of one lab run; created by `session.start`.

    Each step shows its result and returns None (a notebook would otherwise show it twice); what a
    step found stays on the session: `snapshot_before`, `readiness_rows`, `plan_`, `report`,
    `decision`, `measurements`, `comparison`, `record_path`.
    """

    def __init__(self, lab: str, item: Item, params: LabParams, target: targets.Target) -> None:
        self.lab = lab
        self.item = item
        self.params = params
        self.target = target
        self.run_id = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
        self.results_dir = Path(params.results_dir)
        self.snapshot_before: Snapshot | None = None
        self.snapshot_after: Snapshot | None = None
        self.readiness_rows: list[dict[str, str]] = []
        self.plan_: Plan | HostPlan | None = None
        self.demo_plan: Plan | None = None  # the switch-off of a demonstration (`session.demonstration`)
        self.confirmation: Confirmation | None = None
        self.report: ApplyReport | None = None
        # a view of the series changes nothing; a tuning lab's decision comes from its confirm step
        self.decision = Decision.NOT_REACHED if item.kind == "tuning" else Decision.VIEW
        self.record_path: Path | None = None
        self.measurements: dict[str, Measurement] = {}
        self.summaries: dict[str, pd.DataFrame] = {}
        self.comparison: pd.DataFrame | None = None
        self.record_extra: dict[str, object] = {}  # JSON-able, under "extra" in the record
        self.nodes_for_bench: dict[str, tuple[str | None, str | None]] = {}

    # -- the cluster as it is -------------------------------------------------------------

    @property
    def local(self) -> bool:
        return self.target.spec.kind == "local"

    @cached_property
    def store(self) -> ResultStore:
        """The results folder's sample store: every lab of the folder appends to it (lab 99 reads it)."""
        from cilium_lab import bench

        return bench.ResultStore(self.results_dir / "samples", run_id=self.run_id)

    def catch_up(self) -> None:
        """On this run's own embedded cluster, apply the series' earlier steps first (`session.catchup`)."""
        items = catchup.to_catch_up(self.target, self.item)
        if items is None:
            return
        done = catchup.catch_up(self.target.connection, items, self.results_dir / "catch-up")
        catchup.announce(done)
        if done:
            self.record_extra["catch_up"] = done
        targets.mark_done(self.target, {self.item.number, *(i.number for i in items)})

    def about(self) -> None:
        show.markdown(about.markdown(self.item))

    def take_snapshot(self) -> Snapshot:
        from cilium_lab.cluster import snapshot

        return snapshot.take(self.target.connection)

    def snapshot(self) -> None:
        if self._skip_local("the cluster snapshot"):
            return
        self.snapshot_before = self.take_snapshot()
        snap = self.snapshot_before
        head = f"Cilium {snap.cilium_version} on {len(snap.nodes)} nodes ({self.target.label.lower()})"
        if snap.helm_managed:
            head += "; cilium-config is managed by Helm"
        show.table(nodes_frame(snap), caption=f"**{head}**")
        for node, why in sorted(snap.problems.items()):
            show.markdown(f"- {node}: {why}")
        self._commands("snapshot", commands.snapshot(snap))

    def readiness(self) -> None:
        if self._skip_local("readiness"):
            return
        snap = self._need_snapshot()
        rows = []
        for node in snap.nodes:
            r = catalog.evaluate(self.item, node, cilium_version=snap.cilium_version)
            rows.append({"node": node.name, "kernel": node.kernel, "state": r.state,
                         "reasons": "; ".join(r.reasons), "needs first": ", ".join(r.needs)})  # fmt: skip
        self.readiness_rows = rows
        show.table(pd.DataFrame(rows), caption=f"**{self.item.title}: readiness per node**")
        if self.item.kind == "tuning":
            self._commands("readiness", commands.readiness(self.item, snap))

    def _need_snapshot(self) -> Snapshot:
        if self.snapshot_before is None:
            self.snapshot_before = self.take_snapshot()
        return self.snapshot_before

    def _skip_local(self, what: str) -> bool:
        if self.local:
            show.markdown(f"_{what}: skipped, the local kernel lab has no cluster._")
        return self.local

    # -- measurements ------------------------------------------------------------------------

    def measure(self, phase: str) -> None:
        if self.local:
            frame = local_kernel.measure(self.item, self.lab, self.params, phase, self.store)
            if frame is not None:
                self.comparison = frame
                self.decision = Decision.MEASURED_LOCALLY
            return
        if phase == "after" and not self.applied() and self.item.kind == "tuning" and self.plan_ is not None:
            show.markdown("_After: skipped, the change was not applied (nothing to compare)._")
            return
        if phase not in self.nodes_for_bench:
            self.nodes_for_bench[phase] = self.nodes_for_bench.get("before") or measuring.pick_nodes(
                self._need_snapshot(), self.readiness_rows
            )
        # the session's snapshot when nothing has changed since it was taken (saves one per measurement);
        # after a change, the one verify took (None if verify did not run: the engine takes a fresh one)
        current = self.snapshot_before if self.report is None else self.snapshot_after
        result = measuring.measure(self, phase, self.nodes_for_bench[phase], current)
        self.measurements[phase] = result
        self.summaries[phase] = result.summary  # computed once: bootstrap CIs are not free
        self._commands(
            f"measure {phase}",
            commands.measurement(
                self.params.tests, self.params.duration, result.client_node, result.server_node
            ),
        )

    def compare(self) -> None:
        if self.local:
            return  # the local kernel lab compared A and B in its one measurement
        # a demonstration compares the feature switched off against it on again (the "after")
        before = demonstration.PHASE if demonstration.PHASE in self.measurements else "before"
        if before not in self.measurements or "after" not in self.measurements:
            show.markdown("_Comparison: skipped, there is no before and after pair from this run._")
            return
        states = self.record_extra.get("demonstration") if before == demonstration.PHASE else None
        caption = demonstration.caption(self.item, states) if isinstance(states, dict) else None
        self.comparison = measuring.compare(
            self, self.summaries[before], self.summaries["after"], before, caption=caption
        )

    def journey(self) -> None:
        measuring.journey(self.results_dir)

    # -- the change ------------------------------------------------------------------------

    def plan(self) -> None:
        if self._skip_local("the plan"):
            return
        planned, refused = changing.plan(self._need_snapshot(), self.item, self.params)
        self.plan_ = planned
        if refused:
            self.decision = Decision.REFUSED
        self.demo_plan = demonstration.plan(self, self._need_snapshot(), planned)
        shown = self.demo_plan or planned
        if shown is not None:
            self._commands("plan", commands.change(shown))

    def confirm(self) -> None:
        if self._skip_local("the change"):
            return
        if self.item.id == "host-tuning" and self.plan_ is None:
            # lab 15 changes nodes, not Cilium: its plan is made here, applied only after approval
            self.plan_ = changing.host_plan(self._need_snapshot(), self.params)
        if self.plan_ is None:
            show.markdown("_Nothing to confirm: there is no plan (see the plan step)._")
            return
        if self.demo_plan is not None:
            self.confirmation = changing.confirm(self, self.demo_plan, apply=self._demonstrate)
        else:
            self.confirmation = changing.confirm(self, self.plan_)
        self.report = self.confirmation.report
        self.decision = self._decision_of(changing.decision_of(self.confirmation))
        if self.report is not None:  # the record exists as soon as the change ended, whatever follows
            self.record_path = record.write(self)
            if self.report.interrupted:  # a signal cancelled it: after its rollback, the notebook stops
                raise Interrupted(self.report.interrupted)

    def _demonstrate(self, off: Plan, *, approved: bool) -> ApplyReport:
        """The confirmation's apply for a demonstration: off, measure, back (`session.demonstration`)."""
        if not approved:
            raise ValueError("a demonstration runs only once approved")
        if "before" not in self.nodes_for_bench:
            self.nodes_for_bench["before"] = measuring.pick_nodes(self._need_snapshot(), self.readiness_rows)
        report, measured, states = demonstration.run(self, off, self.nodes_for_bench["before"])
        if measured is not None:
            self.measurements[demonstration.PHASE] = measured
            self.summaries[demonstration.PHASE] = measured.summary
        self.record_extra["demonstration"] = {
            "switched_off": list(off.scoped), "phase": demonstration.PHASE, **states
        }  # fmt: skip
        return report

    def _decision_of(self, decision: Decision) -> Decision:
        demonstrated = self.demo_plan is not None and decision == Decision.APPLIED
        return Decision.DEMONSTRATED if demonstrated else decision

    def applied(self) -> bool:
        """Whether the change is applied; takes in an Apply or Cancel clicked after the confirm cell returned."""
        confirmation = self.confirmation
        if confirmation is not None and confirmation.state == "cancelled":
            self.decision = Decision.CANCELLED
        if confirmation is not None and confirmation.report is not None and self.report is None:
            self.report = confirmation.report  # clicked in JupyterLab after the cell returned
            self.decision = self._decision_of(Decision.of(confirmation.report.outcome))
        return self.report is not None and self.report.outcome == Outcome.APPLIED

    def verify(self) -> None:
        if self._skip_local("verification"):
            return
        changed = self.applied()
        # the snapshot apply verified against is current (nothing changed since); otherwise read again
        verified = self.report.after if self.report is not None else None
        self.snapshot_after = verified if verified is not None else self.take_snapshot()
        changing.verify(self.item, self.snapshot_after, self.report, changed=changed)
        self._commands("verify", commands.verification(self.item, self.snapshot_after))

    def _commands(self, step: str, lines: list[str]) -> None:
        """Show the commands behind a step, collapsed; the record keeps them per step."""
        commands.shown(lines)
        if lines:
            shown = self.record_extra.setdefault("commands_behind", {})
            assert isinstance(shown, dict)
            shown[step] = lines

    def restore(self) -> None:
        """Undo this lab's change (lab 08 measures Hubble's cost, then turns it back on by default)."""
        if self._skip_local("the restore"):
            return
        keep = self.params.get("keep_disabled", bool, False)
        if keep or not self.applied() or self.plan_ is None:
            show.markdown("_Restore: nothing to undo_" + (" (keep_disabled=True)._" if keep else "._"))
            return
        report = changing.restore(self, self.plan_)
        if report is not None:
            self.record_extra["restore"] = report.to_record()

    # -- views of the series -----------------------------------------------------------------

    def scorecard(self) -> None:
        if self._skip_local("the scorecard"):
            return
        self.record_extra["scorecard"] = summary.scorecard(self._need_snapshot())

    def checklist(self) -> None:
        if self._skip_local("the checklist"):
            return
        self.record_extra["checklist"] = summary.checklist(self.take_snapshot(), self.results_dir)

    def how_to_undo(self) -> None:
        """The command that restores the cluster as it was before the changes this results folder records."""
        if self._skip_local("how to undo the series"):
            return
        found = summary.how_to_undo(self.target, self.params, self.results_dir)
        if found is not None:
            self.record_extra["undo"] = found

    # -- the nodes (labs 14 and 15) ---------------------------------------------------------

    def node_report(self) -> None:
        if self._skip_local("the node report"):
            return
        frame = nodes.node_report(self.item, self._need_snapshot(), self.target.label)
        self.record_extra["nodes"] = frame.to_dict(orient="records")

    def node_commands(self) -> None:
        if self._skip_local("the node commands"):
            return
        profile = self.params.get("profile", str, "network-latency")
        self.record_extra["commands"] = nodes.node_commands(self.item, self._need_snapshot(), profile)
        if self.item.id == "kernel":
            self.decision = Decision.COMMANDS_SHOWN

    # -- record ------------------------------------------------------------------------------

    def finish(self) -> None:
        if self.item.kind == "tuning" and not self.local and self.item.fallback is not None:
            snap = self.snapshot_after or self._need_snapshot()
            advice = changing.fallback_advice(self.item, snap)
            if advice:
                self.record_extra["fallback"] = advice
        self.record_path = record.write(self)
        show.markdown(f"Result record: `{self.record_path}`; decision: **{self.decision}**.")


def nodes_frame(snap: Snapshot) -> pd.DataFrame:
    rows = []
    for n in snap.nodes:
        row = {"node": n.name, "arch": n.arch, "kernel": n.kernel, "os": n.os_image, "ready": n.ready,
               "device": n.device, "driver": n.nic_driver, "mtu": n.mtu}  # fmt: skip
        row.update(status_columns.row(n, snap.cilium_version, snap.problems.get(n.name, "")))
        rows.append(row)
    return pd.DataFrame(rows)
