"""The result record a lab writes at the end: what was decided, per node, and what was measured.

Tests, batch runs and lab 99 read these JSON files (`<results_dir>/<lab>.json`) instead of the
notebooks' outputs. No credentials go in: the target is named by its kind, context and server URL.
The decision and the outcomes are `change.outcomes` StrEnums: the file holds their plain strings.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

from cilium_lab import outputs

if TYPE_CHECKING:
    from cilium_lab.session.lab import LabSession


def build(session: LabSession) -> dict[str, object]:
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
    }


def write(session: LabSession) -> Path:
    folder = Path(session.results_dir)
    folder.mkdir(parents=True, exist_ok=True)
    # an earlier record of this lab is replaced; a file of another origin is kept and this one goes beside it
    path = outputs.place(folder / f"{session.lab}.json", _record)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(build(session), indent=2, default=str))
    tmp.replace(path)  # a reader never sees half a record
    return path


def _record(path: Path) -> bool:
    return outputs.head_has(path, '"run_id"') and outputs.head_has(path, '"lab"')
