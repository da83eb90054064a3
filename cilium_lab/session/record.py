"""The result record a lab writes at the end: what was decided, per node, and what was measured.

Tests, batch runs and lab 99 read these JSON files (`<results_dir>/<lab>.json`) instead of the
notebooks' outputs. No credentials go in: the target is named by its kind, context and server URL.
The decision and the outcomes are `change.outcomes` StrEnums: the file holds their plain strings.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from cilium_lab import exit_codes, outputs, scrub
from cilium_lab.change.files import write_atomic
from cilium_lab.change.outcomes import Decision, Outcome

if TYPE_CHECKING:
    from cilium_lab.session.run_view import RunView


def build(session: RunView) -> dict[str, object]:
    target = session.target
    connection = target.connection  # None on the local kernel lab
    return {
        "lab": session.lab,
        "item": session.item.id,
        "run_id": session.run_id,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "target": {
            "kind": target.spec.kind,
            "label": target.label,
            "simulated": target.simulated,
            "context": connection.context if connection is not None else "",
            "server": connection.server if connection is not None else "",
        },
        "approve": session.params.approve,
        "decision": str(session.decision),
        "readiness": session.readiness_rows,
        "apply": session.report.to_record() if session.report is not None else None,
        "comparison": session.comparison.to_dict(orient="records") if session.comparison is not None else [],
        "extra": session.record_extra,
        "exit_code": exit_code(session),
    }


def exit_code(session: RunView) -> int:
    """The lab's exit code (README's table): the change's own (5 rolled back, 6 unfinished, 130/143
    interrupted), 3 when the cluster stopped it before any write, 4 when it was refused (every node, or
    the plan; approved or not), else 0. `exit_codes.of_lab` reads it back."""
    report = session.report
    if report is None:
        return {Decision.FAILED: exit_codes.CLUSTER, Decision.REFUSED: exit_codes.REFUSED}.get(
            session.decision, 0
        )
    if not report.exit_code and report.outcome == Outcome.REFUSED:
        return exit_codes.REFUSED
    return report.exit_code


def write(session: RunView) -> Path:
    folder = Path(session.results_dir)
    # an earlier record of this lab is replaced; a file of another origin is kept and this one goes beside it
    path = outputs.place(folder / f"{session.lab}.json", _record)
    # temp file, fsync, rename: a reader never sees half a record, and a crash right after keeps it
    return write_atomic(path, scrub.dumps(build(session), indent=2, default=str))


def _record(path: Path) -> bool:
    return outputs.head_has(path, '"run_id"') and outputs.head_has(path, '"lab"')
