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
    }


def write(session: Any) -> Path:
    folder = Path(session.results_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{session.lab}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(build(session), indent=2, default=str))
    tmp.replace(path)  # a reader never sees half a record
    return path
