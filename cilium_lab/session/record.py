"""The result record a lab writes at the end: what was decided, per node, and what was measured.

Tests, batch runs and lab 99 read these JSON files (`<results_dir>/<lab>.json`) instead of the
notebooks' outputs. No credentials go in: the target is named by its kind, context and server URL.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pandas as pd

from cilium_lab.change.files import write_atomic


def _jsonable(value: Any) -> Any:
    if isinstance(value, pd.DataFrame):
        return value.to_dict(orient="records")
    if hasattr(value, "to_record"):
        return value.to_record()
    return value


def build(session: Any) -> dict[str, Any]:
    target = session.target
    connection = target.connection
    return {
        "lab": session.lab,
        "item": session.item.id,
        "run_id": session.run_id,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "target": {
            "kind": target.spec.kind,
            "label": target.label,
            "simulated": target.simulated,
            "context": getattr(connection, "context", ""),
            "server": getattr(connection, "server", ""),
        },
        "approve": session.params.approve,
        "decision": session.decision,
        "readiness": session.readiness_rows,
        "apply": _jsonable(session.report) if session.report is not None else None,
        "comparison": _jsonable(session.comparison) if session.comparison is not None else [],
        "extra": getattr(session, "record_extra", {}),
        "exit_code": exit_code(session),
    }


def exit_code(session: Any) -> int:
    """The lab's exit code (README's table): the change's own, 3 when the cluster stopped it before any
    write, 4 when every node refused it, else 0."""
    report = session.report
    if report is None:
        return 3 if session.decision == "failed" else 0
    code = int(getattr(report, "exit_code", 0) or 0)
    if not code and session.params.approve and getattr(report, "outcome", "") == "refused":
        return 4
    return code


def write(session: Any) -> Path:
    path = Path(session.results_dir) / f"{session.lab}.json"
    # temp file, fsync, rename: a reader never sees half a record, and a crash right after keeps it
    return write_atomic(path, json.dumps(build(session), indent=2, default=str))
